/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process.terminal: the container gets a pty from its own devpts; the
 * master travels to whoever listens on --console-socket in an SCM_RIGHTS
 * message whose payload is the pty's name, as runc sends it. */
#include "config.h"

#include "runtime-container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static gboolean
send_fd (int sock, int fd, const char *name)
{
  struct msghdr msg = { 0 };
  struct iovec iov;
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct cmsghdr *cmsg;
  ssize_t r;

  memset (&control, 0, sizeof control);
  iov.iov_base = (void *)name;
  iov.iov_len = strlen (name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r >= 0;
}

int
rt_console_create (const RtContainer *c, char **message)
{
  int master = rt_mount_open_ptmx (c);
  int slave;
  unsigned int n;
  int unlock = 0;
  char name[64];

  if (master < 0)
    {
      *message
        = g_strdup_printf ("cannot open the container's /dev/pts/ptmx: %s", g_strerror (errno));
      return -1;
    }
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0 || ioctl (master, TIOCGPTN, &n) < 0)
    {
      *message = g_strdup_printf ("cannot unlock the pty: %s", g_strerror (errno));
      close (master);
      return -1;
    }
  /* TIOCGPTPEER opens the slave without a path lookup. */
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    {
      *message = g_strdup_printf ("cannot open the pty's slave: %s", g_strerror (errno));
      close (master);
      return -1;
    }
  if (c->spec->console_rows && c->spec->console_cols)
    {
      struct winsize ws = { 0 };
      ws.ws_row = c->spec->console_rows;
      ws.ws_col = c->spec->console_cols;
      ioctl (slave, TIOCSWINSZ, &ws);
    }
  g_snprintf (name, sizeof name, "/dev/pts/%u", n);
  if (c->console_fd < 0 || !send_fd (c->console_fd, master, name))
    {
      *message = g_strdup_printf ("cannot send the pty to the console socket: %s",
                                  c->console_fd < 0 ? "none given" : g_strerror (errno));
      close (master);
      close (slave);
      return -1;
    }
  close (master);
  close (c->console_fd);
  return slave;
}

gboolean
rt_console_attach (int slave, char **message)
{
  if (setsid () < 0 || ioctl (slave, TIOCSCTTY, 0) < 0)
    {
      *message
        = g_strdup_printf ("cannot make the pty the controlling terminal: %s", g_strerror (errno));
      return FALSE;
    }
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      {
        *message = g_strdup_printf ("cannot attach the pty: %s", g_strerror (errno));
        return FALSE;
      }
  if (slave > 2)
    close (slave);
  return TRUE;
}
