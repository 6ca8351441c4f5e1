/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The parent's side of create: everything that can be prepared before the
 * clone is (spec, seccomp program, console socket, namespace fds), then the
 * child is cloned into its new namespaces, placed in its cgroup, and the
 * state is written once it reports ready. */
#include "config.h"

#include "runtime-create.h"
#include "runtime-cgroup-setup.h"
#include "runtime-container.h"
#include "runtime-seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int
rt_console_socket_connect (const char *path, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof addr.sun_path)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "the console socket path %s is too long",
                   path);
      return -1;
    }
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot connect to the console socket %s: %s",
                   path, g_strerror (errsv));
      return -1;
    }
  return fd;
}

/* clone3's arguments (glibc 2.36 has no header for them). */
struct rt_clone_args
{
  guint64 flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
    set_tid_size, cgroup;
};
#define RT_CLONE_INTO_CGROUP G_GUINT64_CONSTANT (0x200000000)

/* A fork into new namespaces, and with clone3 straight into the cgroup:
 * moving a process there afterwards costs the kernel an RCU grace period,
 * milliseconds on a loaded machine. Sets *placed when that worked. */
pid_t
rt_clone_into_cgroup (int flags, int cgroup_fd, gboolean *placed)
{
  pid_t pid;

  *placed = FALSE;
  if (cgroup_fd >= 0)
    {
      struct rt_clone_args args = { 0 };

      args.flags = (guint64)flags | RT_CLONE_INTO_CGROUP;
      args.exit_signal = SIGCHLD;
      args.cgroup = (guint64)cgroup_fd;
      pid = (pid_t)syscall (SYS_clone3, &args, sizeof args);
      if (pid >= 0)
        {
          *placed = TRUE;
          return pid;
        }
      if (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EOPNOTSUPP)
        return -1;
    }
  return (pid_t)syscall (SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static char *
owner_name (void)
{
  struct passwd *pw = getpwuid (getuid ());

  return g_strdup (pw ? pw->pw_name : "");
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

/* Kills and reaps a child that did not make it, removes what was made. */
static void
abandon (pid_t pid, RtState *state)
{
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  rt_cgroup_remove (state);
}

static void
remove_state_dir (const char *dir)
{
  g_autofree char *fifo = rt_state_fifo_path (dir);
  g_autofree char *state = g_build_filename (dir, "state", NULL);

  unlink (fifo);
  unlink (state);
  rmdir (dir);
}

pid_t
rt_create (const RtGlobal *global, const RtCreateOptions *options, GError **error)
{
  g_autoptr (RtSpec) spec = NULL;
  g_autoptr (RtState) state = g_new0 (RtState, 1);
  g_autofree char *fifo = NULL;
  g_autofree int *ns_fds = NULL;
  RtSeccompProgram seccomp = { NULL, 0, 0 };
  RtContainer c = { 0 };
  int sync[2] = { -1, -1 };
  int console_fd = -1, fifo_fd = -1, cgroup_fd = -1;
  gboolean placed = FALSE;
  pid_t pid = -1;
  BerthCgroupLayout layout;
  char reply[4096];
  ssize_t n;

  if (!rt_id_valid (options->id, error))
    return -1;
  spec = rt_spec_load (options->bundle, error);
  if (spec == NULL)
    return -1;
  if (spec->terminal && options->console_socket == NULL)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "process.terminal is true: pass --console-socket to receive the pty");
      return -1;
    }
  rt_log_debug ("config.json parsed");
  if (spec->seccomp)
    {
      g_autofree char *cache = g_build_filename (global->root, ".cache", NULL);
      if (!rt_seccomp_compile (spec->seccomp, cache, &seccomp, error))
        return -1;
    }

  rt_log_debug ("seccomp filter compiled (%u instructions)", seccomp.len);
  state->id = g_strdup (options->id);
  state->dir = rt_state_dir (global->root, options->id);
  state->bundle = g_strdup (spec->bundle);
  state->rootfs = g_strdup (spec->rootfs);
  state->owner = owner_name ();
  state->annotations = g_strdupv (spec->annotations);

  if (g_mkdir_with_parents (global->root, 0711) < 0)
    {
      int errsv = errno;
      g_free (seccomp.filter);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot create the state directory %s: %s",
                   global->root, g_strerror (errsv));
      return -1;
    }
  /* mkdir is the lock: two creates of one id cannot both succeed. */
  if (mkdir (state->dir, 0700) < 0)
    {
      int errsv = errno;
      g_free (seccomp.filter);
      if (errsv == EEXIST)
        g_set_error (error, RT_ERROR, RT_ERROR_STATE, "container %s already exists", options->id);
      else
        g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot create %s: %s", state->dir,
                     g_strerror (errsv));
      return -1;
    }

  fifo = rt_state_fifo_path (state->dir);
  if (mkfifo (fifo, 0600) < 0 || (fifo_fd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
    {
      rt_set_errno (error, errno, "cannot create %s", fifo);
      goto fail;
    }
  if (options->console_socket
      && (console_fd = rt_console_socket_connect (options->console_socket, error)) < 0)
    goto fail;

  ns_fds = g_new (int, spec->n_namespaces + 1);
  for (gsize i = 0; i < spec->n_namespaces; i++)
    {
      ns_fds[i] = -1;
      if (spec->namespaces[i].path == NULL)
        continue;
      ns_fds[i] = open (spec->namespaces[i].path, O_RDONLY | O_CLOEXEC);
      if (ns_fds[i] < 0)
        {
          rt_set_errno (error, errno, "cannot open the namespace %s", spec->namespaces[i].path);
          goto fail;
        }
      /* A pid namespace applies to children: join it before the clone. */
      if (spec->namespaces[i].nstype == CLONE_NEWPID && setns (ns_fds[i], CLONE_NEWPID) < 0)
        {
          rt_set_errno (error, errno, "cannot join the pid namespace %s", spec->namespaces[i].path);
          goto fail;
        }
    }

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    {
      rt_set_errno (error, errno, "cannot create a socket pair");
      goto fail;
    }

  if (!rt_cgroup_prepare (spec, options->id, global->systemd_cgroup, state, &cgroup_fd, error))
    goto fail;
  rt_log_debug ("cgroup prepared");

  layout = rt_cgroup_layout ();
  c.spec = spec;
  c.sync_fd = sync[1];
  c.fifo_fd = fifo_fd;
  c.console_fd = console_fd;
  c.ns_fds = ns_fds;
  c.last_cap = rt_capability_last ();
  c.seccomp.filter = seccomp.filter;
  c.seccomp.len = seccomp.len;
  c.seccomp_flags = seccomp.flags;
  c.preserve_fds = options->preserve_fds;
  c.cgroup_ns = (spec->clone_flags & CLONE_NEWCGROUP) != 0;
  c.has_unified = layout == BERTH_CGROUP_V2 || layout == BERTH_CGROUP_HYBRID;
  c.join_pidfd = -1;

  /* A fork into the new namespaces (the cgroup one comes later, once the
   * child is surely in its cgroup). This process has no other thread, so
   * the child may use malloc. */
  pid = rt_clone_into_cgroup (spec->clone_flags & ~CLONE_NEWCGROUP, cgroup_fd, &placed);
  if (pid < 0)
    {
      rt_set_errno (error, errno, "cannot create the container's namespaces");
      goto fail;
    }
  if (pid == 0)
    {
      close (sync[0]);
      rt_container_main (&c);
    }
  close_fd (&sync[1]);
  close_fd (&fifo_fd);
  close_fd (&console_fd);
  close_fd (&cgroup_fd);

  rt_log_debug ("cloned the container's process %d%s", (int)pid, placed ? " into its cgroup" : "");
  if (!rt_cgroup_join (spec, options->id, global->systemd_cgroup, pid, placed, state, error))
    goto fail;
  rt_log_debug ("cgroup ready");
  if (send (sync[0], "C", 1, MSG_NOSIGNAL) != 1)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "the container's process died at start");
      goto fail;
    }
  do
    n = recv (sync[0], reply, sizeof reply - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0 || reply[0] != 'R')
    {
      reply[MAX (n, 1)] = '\0';
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "%s",
                   n > 1 && reply[0] == 'E' ? reply + 1
                                            : "the container's process died during setup");
      goto fail;
    }
  close_fd (&sync[0]);
  rt_log_debug ("the container's process is ready");

  state->pid = pid;
  state->start_time = rt_proc_start_time (pid, NULL);
  state->created = g_get_real_time ();
  if (!rt_state_save (state, error))
    goto fail;
  if (options->pid_file)
    {
      g_autofree char *text = g_strdup_printf ("%d", (int)pid);
      if (!rt_write_file_atomic (options->pid_file, text, -1, error))
        goto fail;
    }
  for (gsize i = 0; i < spec->n_namespaces; i++)
    if (ns_fds[i] >= 0)
      close (ns_fds[i]);
  g_free (seccomp.filter);
  return pid;

fail:
  close_fd (&cgroup_fd);
  close_fd (&sync[0]);
  close_fd (&sync[1]);
  close_fd (&fifo_fd);
  close_fd (&console_fd);
  for (gsize i = 0; ns_fds && i < spec->n_namespaces; i++)
    if (ns_fds[i] >= 0)
      close (ns_fds[i]);
  g_free (seccomp.filter);
  abandon (pid, state);
  remove_state_dir (state->dir);
  return -1;
}

gboolean
rt_start_created (const RtGlobal *global, const char *id, GError **error)
{
  g_autofree char *dir = rt_state_dir (global->root, id);
  g_autofree char *fifo = rt_state_fifo_path (dir);
  int fd = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

  if (fd < 0)
    return rt_set_errno (error, errno, "cannot start container %s", id);
  unlink (fifo);
  if (write (fd, "s", 1) != 1)
    {
      int errsv = errno;
      close (fd);
      return rt_set_errno (error, errsv, "cannot start container %s", id);
    }
  close (fd);
  return TRUE;
}

void
rt_delete_stopped (const RtGlobal *global, const char *id)
{
  g_autoptr (RtState) state = rt_state_load (global->root, id, NULL);

  if (state == NULL)
    return;
  rt_cgroup_remove (state);
  remove_state_dir (state->dir);
}
