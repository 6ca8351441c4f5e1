/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec: a new process in a running container, with the bundle's process
 * settings (or a --process file, or command-line overrides): in the init's
 * cgroup (clone3 straight into it), pid namespace (joined here before the
 * clone) and the other namespaces (joined by the child through a pidfd). */
#include "config.h"

#include "runtime-cgroup-setup.h"
#include "runtime-container.h"
#include "runtime-create.h"
#include "runtime-seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static gboolean
apply_overrides (RtSpec *spec, const RtExecOptions *o, GError **error)
{
  if (o->process_file)
    return rt_spec_load_process (spec, o->process_file, error);
  if (o->args && o->args[0])
    {
      g_strfreev (spec->args);
      spec->args = g_strdupv (o->args);
    }
  if (o->env && o->env[0])
    {
      GPtrArray *env = g_ptr_array_new_with_free_func (g_free);

      /* KEY=VALUE given here replaces the bundle's KEY. */
      for (guint i = 0; spec->env && spec->env[i]; i++)
        {
          const char *eq = strchr (spec->env[i], '=');
          gsize len = eq ? (gsize)(eq - spec->env[i]) + 1 : strlen (spec->env[i]);
          gboolean replaced = FALSE;

          for (guint j = 0; o->env[j] && !replaced; j++)
            replaced = strncmp (o->env[j], spec->env[i], len) == 0;
          if (!replaced)
            g_ptr_array_add (env, g_strdup (spec->env[i]));
        }
      for (guint i = 0; o->env[i]; i++)
        g_ptr_array_add (env, g_strdup (o->env[i]));
      g_ptr_array_add (env, NULL);
      g_strfreev (spec->env);
      spec->env = (char **)g_ptr_array_free (env, FALSE);
    }
  if (o->cwd)
    {
      if (o->cwd[0] != '/')
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "--cwd must be absolute, not \"%s\"",
                       o->cwd);
          return FALSE;
        }
      g_free (spec->cwd);
      spec->cwd = g_strdup (o->cwd);
    }
  if (o->user)
    {
      g_auto (GStrv) parts = g_strsplit (o->user, ":", 2);
      guint64 uid, gid = 0;

      if (!g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT32 - 1, &uid, NULL)
          || (parts[1]
              && !g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT32 - 1, &gid, NULL)))
        {
          g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                       "--user wants a numeric UID[:GID], not \"%s\"", o->user);
          return FALSE;
        }
      spec->uid = (uid_t)uid;
      spec->gid = (gid_t)(parts[1] ? gid : 0);
      /* Another user: not the bundle's user's groups. */
      g_clear_pointer (&spec->additional_gids, g_free);
      spec->n_additional_gids = 0;
    }
  if (o->additional_gids && o->additional_gids[0])
    {
      guint n = g_strv_length (o->additional_gids);

      g_free (spec->additional_gids);
      spec->additional_gids = g_new0 (gid_t, n);
      spec->n_additional_gids = 0;
      for (guint i = 0; i < n; i++)
        {
          guint64 gid;

          if (!g_ascii_string_to_unsigned (o->additional_gids[i], 10, 0, G_MAXUINT32 - 1, &gid,
                                           NULL))
            {
              g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                           "--additional-gids wants numbers, not \"%s\"", o->additional_gids[i]);
              return FALSE;
            }
          spec->additional_gids[spec->n_additional_gids++] = (gid_t)gid;
        }
    }
  spec->terminal = o->tty;
  return TRUE;
}

static int
wait_forwarding (pid_t pid, const sigset_t *forwarded)
{
  for (;;)
    {
      siginfo_t info;
      int status;
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
      if (r < 0 && errno != EINTR)
        return 1;
      if (sigwaitinfo (forwarded, &info) < 0)
        continue;
      if (info.si_signo != SIGCHLD)
        kill (pid, info.si_signo);
    }
}

int
rt_exec (const RtGlobal *global, const RtExecOptions *o, GError **error)
{
  g_autoptr (RtState) state = NULL;
  g_autoptr (RtSpec) spec = NULL;
  RtSeccompProgram seccomp = { NULL, 0, 0 };
  RtContainer c = { 0 };
  int sync[2] = { -1, -1 };
  int pidfd = -1, cgroup_fd = -1, console_fd = -1, own_pidns = -1;
  gboolean placed = FALSE;
  sigset_t forwarded, previous;
  char reply[4096];
  ssize_t n;
  pid_t pid = -1;
  int ret = -1;

  state = rt_state_load (global->root, o->id, error);
  if (state == NULL)
    return -1;
  if (rt_state_status (state) != RT_STATUS_RUNNING)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_STATE, "cannot exec in container %s: it is %s", o->id,
                   rt_status_to_string (rt_state_status (state)));
      return -1;
    }
  spec = rt_spec_load (state->bundle, error);
  if (spec == NULL || !apply_overrides (spec, o, error))
    return -1;
  if (spec->terminal && o->console_socket == NULL)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "a terminal needs --console-socket to receive the pty");
      return -1;
    }
  if (spec->seccomp)
    {
      g_autofree char *cache = g_build_filename (global->root, ".cache", NULL);
      if (!rt_seccomp_compile (spec->seccomp, cache, &seccomp, error))
        return -1;
    }

  pidfd = rt_state_open_pidfd (state);
  if (pidfd < 0)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_STATE, "cannot exec in container %s: it stopped",
                   o->id);
      goto out;
    }
  if (state->cgroup_unified)
    cgroup_fd = open (state->cgroup_unified, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (o->console_socket && spec->terminal
      && (console_fd = rt_console_socket_connect (o->console_socket, error)) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    {
      rt_set_errno (error, errno, "cannot create a socket pair");
      goto out;
    }
  /* The pid namespace applies to children: joined here, before the clone,
   * and left right after it, so that nothing else this process forks (the
   * sanitizers' leak checker does) lands in the container. */
  own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own_pidns < 0)
    {
      rt_set_errno (error, errno, "cannot open /proc/self/ns/pid");
      goto out;
    }
  if (setns (pidfd, CLONE_NEWPID) < 0)
    {
      rt_set_errno (error, errno, "cannot join the pid namespace of container %s", o->id);
      goto out;
    }

  sigemptyset (&forwarded);
  if (!o->detach)
    {
      static const int signals[]
        = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
      for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
        sigaddset (&forwarded, signals[i]);
      sigprocmask (SIG_BLOCK, &forwarded, &previous);
    }

  c.spec = spec;
  c.sync_fd = sync[1];
  c.fifo_fd = -1;
  c.console_fd = console_fd;
  c.last_cap = rt_capability_last ();
  c.seccomp.filter = seccomp.filter;
  c.seccomp.len = seccomp.len;
  c.seccomp_flags = seccomp.flags;
  c.preserve_fds = o->preserve_fds;
  c.join_pidfd = pidfd;

  pid = rt_clone_into_cgroup (0, cgroup_fd, &placed);
  if (pid < 0)
    {
      rt_set_errno (error, errno, "cannot create the process");
      goto out;
    }
  if (pid == 0)
    {
      close (sync[0]);
      rt_container_exec_main (&c);
    }
  close (sync[1]);
  sync[1] = -1;
  if (setns (own_pidns, CLONE_NEWPID) < 0)
    {
      rt_set_errno (error, errno, "cannot return to the own pid namespace");
      goto out;
    }

  /* The other cgroups of the container (v1 controllers, or the unified one
   * when clone3 could not place the process). */
  for (guint i = 0; state->cgroup_dirs && state->cgroup_dirs[i]; i++)
    {
      g_autofree char *procs = NULL;
      g_autofree char *text = NULL;
      int fd;

      if (placed && g_strcmp0 (state->cgroup_dirs[i], state->cgroup_unified) == 0)
        continue;
      procs = g_build_filename (state->cgroup_dirs[i], "cgroup.procs", NULL);
      text = g_strdup_printf ("%d", (int)pid);
      fd = open (procs, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, text, strlen (text)) < 0)
        {
          rt_set_errno (error, errno, "cannot join the cgroup %s", state->cgroup_dirs[i]);
          if (fd >= 0)
            close (fd);
          goto out;
        }
      close (fd);
    }
  if (send (sync[0], "C", 1, MSG_NOSIGNAL) != 1)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "the new process died at start");
      goto out;
    }
  /* EOF: the program runs (the socket closed on exec). */
  do
    n = recv (sync[0], reply, sizeof reply - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    {
      int status = 0, code = RT_ERROR_FAILED;

      reply[n] = '\0';
      /* The child exits right after its message, with 127 or 126 when the
       * command is missing or not executable: shells' codes, which the
       * caller passes on (docker exec does the same). */
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
      pid = -1;
      if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
        code = RT_ERROR_EXEC_NOT_FOUND;
      else if (WIFEXITED (status) && WEXITSTATUS (status) == 126)
        code = RT_ERROR_EXEC_NOT_ALLOWED;
      g_set_error (error, RT_ERROR, code, "%s",
                   reply[0] == 'E' && n > 1 ? reply + 1 : "the new process failed");
      goto out;
    }
  if (o->pid_file)
    {
      g_autofree char *text = g_strdup_printf ("%d", (int)pid);
      if (!rt_write_file_atomic (o->pid_file, text, -1, error))
        goto out;
    }
  if (o->detach)
    {
      pid = -1; /* it runs on without us */
      ret = 0;
      goto out;
    }
  ret = wait_forwarding (pid, &forwarded);
  pid = -1;

out:
  if (pid > 0)
    {
      int status;

      kill (pid, SIGKILL);
      while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    }
  if (sync[0] >= 0)
    close (sync[0]);
  if (sync[1] >= 0)
    close (sync[1]);
  if (pidfd >= 0)
    close (pidfd);
  if (own_pidns >= 0)
    {
      setns (own_pidns, CLONE_NEWPID);
      close (own_pidns);
    }
  if (cgroup_fd >= 0)
    close (cgroup_fd);
  if (console_fd >= 0)
    close (console_fd);
  g_free (seccomp.filter);
  return ret;
}
