/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-overlay.h"
#include "berth-error.h"
#include "berth-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static gboolean
option_safe (const char *value)
{
  /* The overlay option parser splits on "," and lowerdir on ":"; a
   * backslash escapes them, which berth does not need to support. */
  return strpbrk (value, ",:\\") == NULL;
}

char *
berth_overlay_options (const char *const *lower_links, const char *upper_dir, const char *work_dir,
                       GError **error)
{
  g_autoptr (GString) options = g_string_new ("lowerdir=");
  long page = sysconf (_SC_PAGESIZE);

  if (lower_links == NULL || lower_links[0] == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "an overlay needs at least one lower layer");
      return NULL;
    }
  for (guint i = 0; lower_links[i]; i++)
    {
      if (!option_safe (lower_links[i]) || strchr (lower_links[i], '/') || *lower_links[i] == '\0')
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "invalid layer link name \"%s\"", lower_links[i]);
          return NULL;
        }
      if (i)
        g_string_append_c (options, ':');
      g_string_append (options, lower_links[i]);
    }
  if (upper_dir || work_dir)
    {
      if (upper_dir == NULL || work_dir == NULL || !g_path_is_absolute (upper_dir)
          || !g_path_is_absolute (work_dir) || !option_safe (upper_dir) || !option_safe (work_dir))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "the overlay upper and work directories must both be absolute paths "
                       "without \",\", \":\" or \"\\\"");
          return NULL;
        }
      g_string_append_printf (options, ",upperdir=%s,workdir=%s", upper_dir, work_dir);
    }
  if ((long)options->len >= page)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                   "the overlay options for %u layers are %" G_GSIZE_FORMAT
                   " bytes, over the kernel's limit of %ld",
                   g_strv_length ((char **)lower_links), options->len, page - 1);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&options), FALSE);
}

gboolean
berth_overlay_mount (const char *links_dir, const char *const *lower_links, const char *upper_dir,
                     const char *work_dir, const char *target, GError **error)
{
  g_autofree char *options = berth_overlay_options (lower_links, upper_dir, work_dir, error);

  if (options == NULL)
    return FALSE;

  /* Relative lowerdirs resolve against the working directory, which is the
   * whole process's: this thread takes its own (unshare CLONE_FS) and
   * changes that one alone, then goes back. Cheaper than a child process,
   * whose fork copies a busy daemon's page tables. */
  {
    berth_autofd int here = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int errsv = 0;

    if (here < 0)
      return berth_error_set_errno (error, errno, "cannot open the working directory");
    if (unshare (CLONE_FS) < 0)
      return berth_error_set_errno (error, errno, "cannot take a working directory of its own");
    if (chdir (links_dir) < 0)
      return berth_error_set_errno (error, errno, "cannot enter the layer links directory %s",
                                    links_dir);
    if (mount ("overlay", target, "overlay", 0, options) < 0)
      errsv = errno;
    if (fchdir (here) < 0)
      g_warning ("cannot return to the working directory: %s", g_strerror (errno));
    if (errsv)
      return berth_error_set_errno (error, errsv,
                                    "cannot mount the overlay on %s (layers in %s: %s)", target,
                                    links_dir, options);
  }
  return TRUE;
}

gboolean
berth_overlay_unmount (const char *target, GError **error)
{
  if (umount2 (target, UMOUNT_NOFOLLOW) == 0)
    return TRUE;
  if (errno == EINVAL || errno == ENOENT)
    return TRUE; /* not a mount point (any more) */
  if (errno == EBUSY && umount2 (target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    return TRUE;
  return berth_error_set_errno (error, errno, "cannot unmount %s", target);
}
