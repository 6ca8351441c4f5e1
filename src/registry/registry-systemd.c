/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two parts of systemd's service protocol berth-registry speaks,
 * readiness notification and socket activation, without libsystemd: both
 * are stable interfaces systemd documents for exactly this (sd_notify(3),
 * sd_listen_fds(3)), and not mapping libsystemd and what it pulls in
 * (libgcrypt, liblzma, liblz4, libcap...) keeps about 0.9 MB out of the
 * idle server's memory. The access log goes to the journal through GLib's
 * own journald writer. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "berth-fd.h"
#include "registry.h"

void
registry_notify (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  berth_autofd int fd = -1;
  gsize len;

  if (path == NULL || (path[0] != '/' && path[0] != '@')
      || (len = strlen (path)) >= sizeof addr.sun_path)
    return;
  memcpy (addr.sun_path, path, len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0'; /* an abstract socket */
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  if (sendto (fd, state, strlen (state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
              offsetof (struct sockaddr_un, sun_path) + len)
      < 0)
    g_debug ("cannot notify the service manager: %s", g_strerror (errno));
}

int
registry_listen_fds (void)
{
  const char *pid = g_getenv ("LISTEN_PID");
  const char *fds = g_getenv ("LISTEN_FDS");
  int n;

  if (pid == NULL || fds == NULL || g_ascii_strtoull (pid, NULL, 10) != (guint64)getpid ())
    n = 0;
  else
    n = (int)CLAMP (g_ascii_strtoll (fds, NULL, 10), 0, 64);
  /* Children (none today) must not take them for theirs. */
  g_unsetenv ("LISTEN_PID");
  g_unsetenv ("LISTEN_FDS");
  g_unsetenv ("LISTEN_FDNAMES");
  for (int fd = REGISTRY_LISTEN_FDS_START; fd < REGISTRY_LISTEN_FDS_START + n; fd++)
    fcntl (fd, F_SETFD, FD_CLOEXEC);
  return n;
}
