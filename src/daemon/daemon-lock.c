/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "daemon.h"

/* An open file description lock on <root>/berthd.lock. It goes away with the
 * process however it dies, so a crashed berthd never blocks its successor. */
gboolean
berth_daemon_lock_root (BerthDaemon *daemon, GError **error)
{
  g_autofree char *path = g_build_filename (daemon->root, "berthd.lock", NULL);
  berth_autofd int fd = -1;
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  char pid[32];
  int len;

  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open the lock file %s", path);

  if (fcntl (fd, F_OFD_SETLK, &lock) < 0)
    {
      char other[32] = "";
      ssize_t n;

      if (errno != EAGAIN && errno != EACCES)
        return berth_error_set_errno (error, errno, "cannot lock %s", path);

      n = pread (fd, other, sizeof other - 1, 0);
      other[n > 0 ? n : 0] = '\0';
      g_strstrip (other);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY,
                   "another berthd%s%s%s is already using the storage root %s; stop it first "
                   "or pass a different --root",
                   *other ? " (pid " : "", other, *other ? ")" : "", daemon->root);
      return FALSE;
    }

  len = g_snprintf (pid, sizeof pid, "%d\n", (int)getpid ());
  if (ftruncate (fd, 0) < 0 || pwrite (fd, pid, len, 0) != len)
    return berth_error_set_errno (error, errno, "cannot write %s", path);

  daemon->lock_fd = g_steal_fd (&fd);
  return TRUE;
}
