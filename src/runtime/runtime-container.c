/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's side of create: runs in the cloned child, which is
 * already in its new namespaces (but the cgroup one), and ends in exec.
 *
 * Protocol with the parent over a SOCK_SEQPACKET pair: the parent sends 'C'
 * once the child is in its cgroup (the child mounts meanwhile); the child
 * answers 'R' when everything up to exec is done, or 'E' followed by a
 * message and exits. Then it waits
 * for `start` to write into exec.fifo. */
#include "config.h"

#include "runtime-container.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

G_GNUC_NORETURN static void
report_failure (const RtContainer *c, const char *message, int status)
{
  g_autofree char *packet = g_strdup_printf ("E%s", message);

  if (c->sync_fd >= 0)
    (void)!send (c->sync_fd, packet, strlen (packet), MSG_NOSIGNAL);
  _exit (status);
}

/* After 'R' the parent may be gone: errors go to the container's stderr. */
G_GNUC_NORETURN static void
late_failure (const char *message, int status)
{
  g_autofree char *line = g_strdup_printf ("berth-runtime: %s\n", message);

  (void)!write (STDERR_FILENO, line, strlen (line));
  _exit (status);
}

static gboolean
join_namespaces (const RtContainer *c, char **message)
{
  const RtSpec *spec = c->spec;

  for (gsize i = 0; i < spec->n_namespaces; i++)
    {
      /* The pid namespace was joined by the parent before the clone. */
      if (c->ns_fds[i] < 0 || spec->namespaces[i].nstype == CLONE_NEWPID)
        continue;
      if (setns (c->ns_fds[i], spec->namespaces[i].nstype) < 0)
        {
          *message = g_strdup_printf ("cannot join the namespace %s: %s", spec->namespaces[i].path,
                                      g_strerror (errno));
          return FALSE;
        }
      close (c->ns_fds[i]);
    }
  return TRUE;
}

static const char *const namespaced_sysctl_prefixes[] = {
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",          "kernel.sem", "kernel.shmall",
  "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "fs.mqueue.", "net.",
};

static gboolean
set_sysctls (const RtContainer *c, char **message)
{
  const RtSpec *spec = c->spec;

  for (guint i = 0; spec->sysctl && spec->sysctl[i]; i++)
    {
      g_autofree char *key = g_strdup (spec->sysctl[i]);
      char *value = strchr (key, '=');
      g_autofree char *path = NULL;
      gboolean allowed = FALSE;
      int fd;

      *value++ = '\0';
      /* Only what the container's own namespaces scope may be written:
       * anything else would change the host. */
      for (gsize k = 0; k < G_N_ELEMENTS (namespaced_sysctl_prefixes); k++)
        if (g_str_has_prefix (key, namespaced_sysctl_prefixes[k]))
          allowed = g_str_has_prefix (key, "net.") ? (spec->clone_flags & CLONE_NEWNET) != 0
                                                   : (spec->clone_flags & CLONE_NEWIPC) != 0;
      if (!allowed)
        {
          *message = g_strdup_printf ("sysctl %s is not scoped by the container's namespaces", key);
          return FALSE;
        }
      g_strdelimit (key, ".", '/');
      path = g_strconcat ("/proc/sys/", key, NULL);
      fd = open (path, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, value, strlen (value)) < 0)
        {
          *message = g_strdup_printf ("cannot set sysctl %s: %s", path, g_strerror (errno));
          if (fd >= 0)
            close (fd);
          return FALSE;
        }
      close (fd);
    }
  return TRUE;
}

static gboolean
set_oom_score_adj (const RtSpec *spec, char **message)
{
  char value[16];
  int fd;

  if (!spec->has_oom_score_adj)
    return TRUE;
  g_snprintf (value, sizeof value, "%d", spec->oom_score_adj);
  fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, value, strlen (value)) < 0)
    {
      *message = g_strdup_printf ("cannot set oom_score_adj %s: %s", value, g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Blocks until `start` writes into the fifo. poll() on a fifo whose writer
 * never came does not report a hang-up, only the byte. */
static void
wait_for_start (const RtContainer *c)
{
  struct pollfd pfd = { c->fifo_fd, POLLIN, 0 };
  char byte;

  for (;;)
    {
      int r = poll (&pfd, 1, -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        late_failure ("cannot wait for start", 1);
      if (read (c->fifo_fd, &byte, 1) == 1)
        break;
      /* A writer came and went without a byte: wait for the next one. */
      if (pfd.revents & POLLHUP)
        g_usleep (1000);
    }
  close (c->fifo_fd);
}

void
rt_container_main (const RtContainer *c)
{
  const RtSpec *spec = c->spec;
  g_autofree char *message = NULL;
  g_autofree char *executable = NULL;
  int console_slave = -1;
  int exit_code = 1;
  char go;
  sigset_t all;

  /* If the parent dies before 'R', nobody would ever start us. */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  /* Modes in the spec (device nodes, mount points) are meant as given. */
  umask (0);

  if (!join_namespaces (c, &message))
    report_failure (c, message, 1);
  /* Meanwhile the parent places us in the cgroup: moving a process costs
   * the kernel an RCU grace period, milliseconds better spent mounting. */
  if (!rt_mount_prepare (c, &console_slave, &message))
    report_failure (c, message, 1);
  if (recv (c->sync_fd, &go, 1, 0) != 1 || go != 'C')
    _exit (1);
  if (c->cgroup_ns && unshare (CLONE_NEWCGROUP) < 0)
    report_failure (c, "cannot create the cgroup namespace", 1);
  if (!rt_mount_finish (c, &message))
    report_failure (c, message, 1);
  if (spec->hostname && *spec->hostname
      && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    report_failure (c, "cannot set the hostname", 1);
  if (!set_sysctls (c, &message) || !set_oom_score_adj (spec, &message))
    report_failure (c, message, 1);

  if (chdir (spec->cwd) < 0)
    {
      message = g_strdup_printf ("cannot change to the working directory %s: %s", spec->cwd,
                                 g_strerror (errno));
      report_failure (c, message, 1);
    }
  executable = rt_process_find_executable (spec, &exit_code, &message);
  if (executable == NULL)
    report_failure (c, message, exit_code);
  if (!rt_process_set_rlimits (spec, &message))
    report_failure (c, message, 1);
  umask (spec->umask >= 0 ? (mode_t)spec->umask : 022);

  if (console_slave >= 0)
    {
      if (!rt_console_attach (console_slave, &message))
        report_failure (c, message, 1);
    }
  else if (setsid () < 0)
    report_failure (c, "cannot start a new session", 1);

  /* From here on the container outlives create: cleared before 'R', or
   * the parent's exit could kill us. */
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (send (c->sync_fd, "R", 1, MSG_NOSIGNAL) != 1)
    _exit (1);
  close (c->sync_fd);

  wait_for_start (c);

  if (!rt_process_finalize (c, &message))
    late_failure (message, 1);

  /* The parent may have blocked signals to forward them: the container's
   * process starts with none blocked and default dispositions. */
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    signal (sig, SIG_DFL);
  /* Our own descriptors must not leak into the container. */
  syscall (SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);

  execve (executable, spec->args, spec->env);
  message = g_strdup_printf ("cannot execute %s: %s", executable, g_strerror (errno));
  late_failure (message, errno == ENOENT ? 127 : 126);
}

void
rt_container_exec_main (const RtContainer *c)
{
  const RtSpec *spec = c->spec;
  g_autofree char *message = NULL;
  g_autofree char *executable = NULL;
  int console_slave = -1;
  int exit_code = 1;
  char go;
  sigset_t all;

  if (recv (c->sync_fd, &go, 1, 0) != 1 || go != 'C')
    _exit (1);
  /* All at once through the pidfd; joining the mount namespace also makes
   * its root (the container's, after pivot_root) ours. */
  if (setns (c->join_pidfd,
             CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)
      < 0)
    {
      message = g_strdup_printf ("cannot join the container's namespaces: %s", g_strerror (errno));
      report_failure (c, message, 1);
    }
  close (c->join_pidfd);
  umask (spec->umask >= 0 ? (mode_t)spec->umask : 022);

  if (chdir (spec->cwd) < 0)
    {
      message = g_strdup_printf ("cannot change to the working directory %s: %s", spec->cwd,
                                 g_strerror (errno));
      report_failure (c, message, 1);
    }
  executable = rt_process_find_executable (spec, &exit_code, &message);
  if (executable == NULL)
    report_failure (c, message, exit_code);
  if (!rt_process_set_rlimits (spec, &message))
    report_failure (c, message, 1);
  if (spec->terminal)
    {
      console_slave = rt_console_create (c, &message);
      if (console_slave < 0 || !rt_console_attach (console_slave, &message))
        report_failure (c, message, 1);
    }
  if (!rt_process_finalize (c, &message))
    report_failure (c, message, 1);

  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    signal (sig, SIG_DFL);
  syscall (SYS_close_range, 3 + c->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);

  execve (executable, spec->args, spec->env);
  {
    int errsv = errno;
    message = g_strdup_printf ("cannot execute %s: %s", executable, g_strerror (errsv));
    report_failure (c, message, errsv == ENOENT ? 127 : 126);
  }
}
