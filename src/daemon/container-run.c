/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running a container through the OCI runtime command line (create, start,
 * kill, delete), asynchronously: the main loop only starts processes and
 * reacts when they end; the bundle is prepared in a worker thread.
 *
 * berthd is a child subreaper, so once `create` has exited the container's
 * PID 1 (berth-init) is berthd's child and its wait status is berthd's to
 * read. berth-init also writes the command's status into the bundle's
 * status directory, which is what tells berthd about exits that happened
 * while it was not running. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-oci-spec.h"
#include "berth-fsutil.h"
#include "berth-overlay.h"
#include "container.h"
#include "volume.h"

#define LOG_FILE "container.log"

static char *
runtime_root (BerthContainerRec *rec)
{
  g_autofree char *base = g_path_get_basename (rec->runtime);

  return g_strdup_printf ("%s/runtime-%s", rec->daemon->run_dir, base);
}

/* berth-runtime hands run, create and exec to berth-runtime-create beside
 * it, which links what they need (libseccomp, json-glib); berthd calls
 * that directly: one exec less on the way to a running container. Any
 * other runtime is called as it is. */
static char *
runtime_program (BerthContainerRec *rec, const char *command)
{
  g_autofree char *base = g_path_get_basename (rec->runtime);
  g_autofree char *dir = NULL;
  g_autofree char *helper = NULL;

  if (!g_str_equal (base, "berth-runtime")
      || !(g_str_equal (command, "run") || g_str_equal (command, "create")
           || g_str_equal (command, "exec")))
    return g_strdup (rec->runtime);
  dir = g_path_get_dirname (rec->runtime);
  helper = g_build_filename (dir, "berth-runtime-create", NULL);
  if (access (helper, X_OK) < 0)
    return g_strdup (rec->runtime);
  return g_steal_pointer (&helper);
}

/* The runtime's command line: global options, then the command's. */
static GPtrArray *
runtime_argv (BerthContainerRec *rec, const char *command)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, runtime_program (rec, command));
  g_ptr_array_add (argv, g_strdup ("--root"));
  g_ptr_array_add (argv, runtime_root (rec));
  if (rec->daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    g_ptr_array_add (argv, g_strdup ("--systemd-cgroup"));
  g_ptr_array_add (argv, g_strdup (command));
  return argv;
}

static char *
status_dir (BerthContainerRec *rec)
{
  return g_build_filename (rec->bundle, "status", NULL);
}

static char *
rootfs_dir (BerthContainerRec *rec)
{
  return g_build_filename (rec->bundle, "rootfs", NULL);
}

static char *
console_socket_path (BerthContainerRec *rec)
{
  /* Short: sun_path holds 108 bytes, and bundles live deep. */
  return g_strdup_printf ("%s/console-%.12s.sock", rec->daemon->run_dir, rec->id);
}

/* The last non-empty line of a runtime's output, for an error message. */
static char *
last_line (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  const char *last = NULL;

  for (guint i = 0; lines[i]; i++)
    if (*g_strstrip (lines[i]))
      last = lines[i];
  return g_strdup (last ? last : "no message");
}

static char *runtime_log_line_at (const char *path);

static char *
runtime_log_line (BerthContainerRec *rec)
{
  g_autofree char *path = g_build_filename (rec->bundle, "runtime.log", NULL);

  return runtime_log_line_at (path);
}

/* The last message in a runtime's --log file, or NULL when it is empty. */
static char *
runtime_log_line_at (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *line = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL) || *g_strstrip (text) == '\0')
    return NULL;
  line = last_line (text);
  /* runc and crun log JSON lines; take the message out. */
  if (line[0] == '{' && json_parser_load_from_data (parser, line, -1, NULL))
    {
      JsonNode *root = json_parser_get_root (parser);
      const char *msg
        = JSON_NODE_HOLDS_OBJECT (root)
            ? json_object_get_string_member_with_default (json_node_get_object (root), "msg", NULL)
            : NULL;
      if (msg)
        return g_strdup (msg);
    }
  return g_steal_pointer (&line);
}

/* --- start ---------------------------------------------------------------- */

typedef struct
{
  BerthContainerRec *rec;
  BerthContainerStartOptions options;
  int log_fd;
  int pipe_read[2]; /* systemd mode: stdout and stderr for the journal */
  int console_listen_fd;
  int terminal_fd;
  char *console_path;
  BerthUser *user; /* resolved in the worker thread */
} StartData;

static void
start_data_free (StartData *data)
{
  berth_close_fdp (&data->options.stdin_fd);
  berth_close_fdp (&data->options.stdout_fd);
  berth_close_fdp (&data->options.stderr_fd);
  berth_close_fdp (&data->log_fd);
  berth_close_fdp (&data->pipe_read[0]);
  berth_close_fdp (&data->pipe_read[1]);
  berth_close_fdp (&data->console_listen_fd);
  berth_close_fdp (&data->terminal_fd);
  if (data->console_path)
    g_unlink (data->console_path);
  g_free (data->console_path);
  berth_user_free (data->user);
  g_free (data);
}

static gboolean
make_dir (const char *path, GError **error)
{
  if (g_mkdir_with_parents (path, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", path);
  return TRUE;
}

static JsonNode *
make_spec (BerthContainerRec *rec, BerthUser *user, GError **error)
{
  g_autofree char *cgroups = berth_container_rec_cgroups_path (rec);
  g_autofree char *status = status_dir (rec);
  g_auto (GStrv) env = berth_container_env_with_home (rec->env, user->home);
  BerthOciSpecOptions o = {
    .args = (const char *const *)rec->command,
    .env = (const char *const *)env,
    .cwd = rec->workdir,
    .uid = user->uid,
    .gid = user->gid,
    .additional_gids = (const guint32 *)(gpointer)user->additional_gids->data,
    .n_additional_gids = user->additional_gids->len,
    .terminal = rec->tty,
    .hostname = rec->hostname,
    .readonly_rootfs = rec->read_only,
    .host_network = rec->host_network,
    .cgroups_path = cgroups,
    .memory_limit = (gint64)rec->memory,
    .cpus = rec->cpus,
    .pids_limit = rec->pids_limit,
    .init_path = rec->init ? rec->daemon->config->init : NULL,
    .status_dir = rec->init ? status : NULL,
  };

  return berth_oci_spec_new (&o, error);
}

/* In a worker thread: the bundle, the overlay mount and the log file. */
static void
prepare_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  StartData *data = task_data;
  BerthContainerRec *rec = data->rec;
  g_autoptr (GError) error = NULL;
  g_autofree char *rootfs = rootfs_dir (rec);
  g_autofree char *status = status_dir (rec);
  g_autofree char *upper = g_build_filename (rec->dir, "upper", NULL);
  g_autofree char *work = g_build_filename (rec->dir, "work", NULL);
  g_autofree char *exit_file = g_build_filename (status, BERTH_OCI_EXIT_STATUS_FILE, NULL);
  g_autofree char *pid_file = g_build_filename (rec->bundle, "pid", NULL);
  g_autofree char *log_file = g_build_filename (rec->bundle, "runtime.log", NULL);
  g_autoptr (JsonNode) spec = NULL;

  if (!make_dir (rootfs, &error) || !make_dir (status, &error) || !make_dir (upper, &error)
      || !make_dir (work, &error))
    goto fail;
  /* The upper directory's root is the container's "/", which every user
   * in it must be able to enter. */
  if (chmod (upper, 0755) < 0)
    {
      berth_error_set_errno (&error, errno, "cannot set up %s", rec->bundle);
      goto fail;
    }
  /* What a previous run left. */
  g_unlink (exit_file);
  g_unlink (pid_file);
  g_unlink (log_file);
  if (!berth_overlay_unmount (rootfs, &error))
    goto fail;
  if (!berth_store_mount_image (rec->daemon->store, rec->image_id, upper, work, rootfs, &error))
    goto fail;
  /* The user from the container's own files, now that they are there. */
  {
    /* Without a user given, the numbers the record holds (root, or what
     * the builder resolved). */
    g_autofree char *numeric = g_strdup_printf ("%u:%u", rec->uid, rec->gid);

    data->user = berth_container_resolve_user (rec, rec->user ? rec->user : numeric, &error);
  }
  if (data->user == NULL)
    {
      berth_overlay_unmount (rootfs, NULL);
      goto fail;
    }
  /* berth-init writes the status as the container's user; execs as
   * other users write into their own directories below. */
  if (chown (status, data->user->uid, data->user->gid) < 0 || chmod (status, 0711) < 0)
    {
      berth_error_set_errno (&error, errno, "cannot set up %s", rec->bundle);
      berth_overlay_unmount (rootfs, NULL);
      goto fail;
    }
  spec = make_spec (rec, data->user, &error);
  if (spec == NULL || !berth_container_volumes_add_to_spec (rec, spec, &error)
      || !berth_oci_spec_write (spec, rec->bundle, &error))
    {
      berth_overlay_unmount (rootfs, NULL);
      goto fail;
    }
  if (data->options.stdout_fd < 0 || data->options.stderr_fd < 0 || rec->tty)
    {
      g_autofree char *path = g_build_filename (rec->dir, LOG_FILE, NULL);

      data->log_fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
      if (data->log_fd < 0)
        {
          berth_error_set_errno (&error, errno, "cannot open the log %s", path);
          berth_overlay_unmount (rootfs, NULL);
          goto fail;
        }
    }
  g_task_return_boolean (task, TRUE);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
}

static int
dev_null (int flags)
{
  return open ("/dev/null", flags | O_CLOEXEC);
}

static void
launcher_take (GSubprocessLauncher *launcher, int *fd, int fallback, int target)
{
  int use = *fd >= 0 ? *fd : fallback >= 0 ? dup (fallback) : dev_null (O_RDWR);

  if (*fd >= 0)
    *fd = -1;
  g_subprocess_launcher_take_fd (launcher, use, target);
}

static GSubprocess *
spawn (GSubprocessLauncher *launcher, GPtrArray *argv, GError **error)
{
  g_ptr_array_add (argv, NULL);
  return g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, error);
}

static void start_after_create (GObject *source, GAsyncResult *result, gpointer user_data);
static void start_done (GTask *task);

static void
start_fail_cleanup (BerthContainerRec *rec)
{
  g_autofree char *rootfs = rootfs_dir (rec);
  g_autoptr (GPtrArray) argv = runtime_argv (rec, "delete");
  g_autoptr (GSubprocess) proc = NULL;

  /* Whatever create made; the runtime refuses quietly when there is nothing. */
  g_ptr_array_add (argv, g_strdup ("--force"));
  g_ptr_array_add (argv, g_strdup (rec->id));
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *)argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                            NULL);
  if (proc)
    g_subprocess_wait (proc, NULL, NULL);
  berth_overlay_unmount (rootfs, NULL);
}

void
berth_container_destroy_sync (BerthContainerRec *rec)
{
  g_autoptr (GError) error = NULL;

  start_fail_cleanup (rec);
  if (!berth_fs_rm_rf_at (AT_FDCWD, rec->bundle, &error))
    g_warning ("container %s: %s", rec->id, error->message);
}

static void
after_prepare (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  StartData *data = g_task_get_task_data (task);
  BerthContainerRec *rec = data->rec;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GPtrArray) argv = NULL;
  g_autofree char *pid_file = g_build_filename (rec->bundle, "pid", NULL);
  g_autofree char *log_file = g_build_filename (rec->bundle, "runtime.log", NULL);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* What the user resolved to, for inspect (saved once it runs). */
  rec->uid = data->user->uid;
  rec->gid = data->user->gid;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  /* No working directory of its own (every path given is absolute): GLib
   * then starts it with posix_spawn, a vfork, rather than copying berthd
   * with fork. */
  /* create and start in one runtime process (the OCI `run --detach`):
   * one process less on the way to a running container. */
  argv = runtime_argv (rec, "run");
  g_ptr_array_add (argv, g_strdup ("--detach"));
  /* The runtime's messages go to its log: the container's stderr may be
   * the user's terminal, and the error belongs in the D-Bus reply. */
  g_ptr_array_insert (argv, 1, g_strdup ("--log"));
  g_ptr_array_insert (argv, 2, g_strdup (log_file));
  g_ptr_array_add (argv, g_strdup ("--bundle"));
  g_ptr_array_add (argv, g_strdup (rec->bundle));
  g_ptr_array_add (argv, g_strdup ("--pid-file"));
  g_ptr_array_add (argv, g_strdup (pid_file));

  if (rec->tty)
    {
      struct sockaddr_un addr = { .sun_family = AF_UNIX };

      data->console_path = console_socket_path (rec);
      g_unlink (data->console_path);
      data->console_listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      g_strlcpy (addr.sun_path, data->console_path, sizeof addr.sun_path);
      if (data->console_listen_fd < 0
          || bind (data->console_listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0
          || listen (data->console_listen_fd, 1) < 0)
        {
          berth_error_set_errno (&error, errno, "cannot listen on %s", data->console_path);
          start_fail_cleanup (rec);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_ptr_array_add (argv, g_strdup ("--console-socket"));
      g_ptr_array_add (argv, g_strdup (data->console_path));
      launcher_take (launcher, &data->options.stdin_fd, -1, 0);
      launcher_take (launcher, &data->options.stdout_fd, data->log_fd, 1);
      launcher_take (launcher, &data->options.stderr_fd, data->log_fd, 2);
    }
  else
    {
      /* Under systemd the output goes to the journal through berthd. */
      for (int i = 0; i < 2; i++)
        {
          int *target = i == 0 ? &data->options.stdout_fd : &data->options.stderr_fd;
          int p[2];

          if (rec->daemon->cgroup_manager != BERTH_CGROUP_MANAGER_SYSTEMD || *target >= 0)
            continue;
          if (pipe2 (p, O_CLOEXEC) < 0)
            {
              berth_error_set_errno (&error, errno, "cannot make a pipe");
              start_fail_cleanup (rec);
              g_task_return_error (task, g_steal_pointer (&error));
              return;
            }
          data->pipe_read[i] = p[0];
          *target = p[1];
        }
      launcher_take (launcher, &data->options.stdin_fd, -1, 0);
      launcher_take (launcher, &data->options.stdout_fd, data->log_fd, 1);
      launcher_take (launcher, &data->options.stderr_fd, data->log_fd, 2);
    }
  g_ptr_array_add (argv, g_strdup (rec->id));

  proc = spawn (launcher, argv, &error);
  if (proc == NULL)
    {
      g_prefix_error (&error, "cannot run the OCI runtime %s: ", rec->runtime);
      start_fail_cleanup (rec);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The container holds the streams now; berthd keeps no copy. */
  g_clear_object (&launcher);
  berth_close_fdp (&data->log_fd);
  {
    GCancellable *cancellable = g_task_get_cancellable (task);

    g_subprocess_wait_check_async (proc, cancellable, start_after_create, g_steal_pointer (&task));
  }
}

/* The master end of the terminal, sent by the runtime over the console
 * socket during create; it is queued on the socket by now. */
static int
receive_terminal (int listen_fd, GError **error)
{
  berth_autofd int conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
  char buf[256];
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
  struct msghdr msg = { .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf };
  struct cmsghdr *cmsg;
  int fd;

  if (conn < 0)
    return berth_error_set_errno (error, errno, "the runtime did not send a terminal"), -1;
  if (recvmsg (conn, &msg, MSG_CMSG_CLOEXEC) < 0)
    return berth_error_set_errno (error, errno, "cannot receive the terminal"), -1;
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "the runtime sent no terminal over the console socket");
      return -1;
    }
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  return fd;
}

static guint64
proc_start_time (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *p;
  guint64 value = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  /* Field 22; the command name (field 2) may hold spaces and parentheses. */
  p = strrchr (text, ')');
  if (p == NULL)
    return 0;
  for (int field = 2; *p && field < 22; p++)
    if (*p == ' ')
      field++;
  value = g_ascii_strtoull (p, NULL, 10);
  return value;
}

gboolean
berth_container_pid_alive (BerthContainerRec *rec)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;

  if (rec->pid <= 0)
    return FALSE;
  if (proc_start_time (rec->pid) != rec->pid_start_time || rec->pid_start_time == 0)
    return FALSE;
  /* A zombie has exited. */
  path = g_strdup_printf ("/proc/%d/stat", rec->pid);
  if (g_file_get_contents (path, &text, NULL, NULL))
    {
      const char *p = strrchr (text, ')');
      if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
        return FALSE;
    }
  return TRUE;
}

static void
start_after_create (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  StartData *data = g_task_get_task_data (task);
  BerthContainerRec *rec = data->rec;
  g_autoptr (GError) error = NULL;
  g_autofree char *pid_file = g_build_filename (rec->bundle, "pid", NULL);
  g_autofree char *pid_text = NULL;

  if (!g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error))
    {
      g_autofree char *line = runtime_log_line (rec);

      g_clear_error (&error);
      g_set_error (&error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "cannot create container %s with %s: %s", rec->name, rec->runtime,
                   line ? line : "no message");
      start_fail_cleanup (rec);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!g_file_get_contents (pid_file, &pid_text, NULL, &error))
    {
      start_fail_cleanup (rec);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  rec->pid = (pid_t)g_ascii_strtoll (pid_text, NULL, 10);
  rec->pid_start_time = proc_start_time (rec->pid);
  if (rec->tty)
    {
      data->terminal_fd = receive_terminal (data->console_listen_fd, &error);
      if (data->terminal_fd < 0)
        {
          start_fail_cleanup (rec);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }

  start_done (g_steal_pointer (&task));
}

/* The container runs. */
static void
start_done (GTask *task_)
{
  g_autoptr (GTask) task = task_;
  StartData *data = g_task_get_task_data (task);
  BerthContainerRec *rec = data->rec;

  for (int i = 0; i < 2; i++)
    if (data->pipe_read[i] >= 0)
      {
        berth_container_log_attach (rec, i, data->pipe_read[i], FALSE);
        data->pipe_read[i] = -1;
      }
  rec->state = BERTH_CONTAINER_RUNNING;
  rec->started_at = g_get_real_time ();
  if (rec->daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    berth_container_register_machine (rec);
  rec->finished_at = 0;
  rec->exit_code = 0;
  berth_container_watch (rec);
  berth_container_rec_save (rec);
  g_task_return_boolean (task, TRUE);
}

void
berth_container_start (BerthContainerRec *rec, const BerthContainerStartOptions *options,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  StartData *data = g_new0 (StartData, 1);

  data->rec = rec;
  data->options = *options;
  data->log_fd = -1;
  data->pipe_read[0] = data->pipe_read[1] = -1;
  data->console_listen_fd = -1;
  data->terminal_fd = -1;
  g_task_set_task_data (task, data, (GDestroyNotify)start_data_free);
  {
    g_autoptr (GTask) prep = g_task_new (NULL, cancellable, after_prepare, g_object_ref (task));

    g_task_set_task_data (prep, data, NULL);
    g_task_run_in_thread (prep, prepare_thread);
  }
}

gboolean
berth_container_start_finish (BerthContainerRec *rec, GAsyncResult *result, int *out_terminal,
                              GError **error)
{
  StartData *data = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  *out_terminal = data->terminal_fd;
  data->terminal_fd = -1;
  return TRUE;
}

/* --- kill ------------------------------------------------------------------ */

static void
kill_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BerthContainerRec *rec = g_task_get_task_data (task);
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;

  if (!g_subprocess_communicate_utf8_finish (proc, result, NULL, &err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!g_subprocess_get_successful (proc))
    {
      g_autofree char *line = last_line (err);

      /* It exited meanwhile: nothing left to signal. */
      if (rec->state != BERTH_CONTAINER_RUNNING || !berth_container_pid_alive (rec))
        {
          g_task_return_boolean (task, TRUE);
          return;
        }
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_FAILED,
                               "cannot signal container %s: %s", rec->name, line);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
berth_container_kill (BerthContainerRec *rec, int signo, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr (GPtrArray) argv = runtime_argv (rec, "kill");
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;

  g_task_set_task_data (task, rec, NULL);
  g_ptr_array_add (argv, g_strdup (rec->id));
  g_ptr_array_add (argv, g_strdup_printf ("%d", signo));
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *)argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, kill_done, g_steal_pointer (&task));
}

gboolean
berth_container_kill_finish (BerthContainerRec *rec, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --- exits ----------------------------------------------------------------- */

static void
on_child_exit (GPid pid, gint wait_status, gpointer user_data)
{
  BerthContainerRec *rec = user_data;

  rec->child_watch = 0;
  berth_container_exited (rec, wait_status, TRUE);
}

static gboolean
on_pidfd (gint fd, GIOCondition condition, gpointer user_data)
{
  BerthContainerRec *rec = user_data;

  rec->pidfd_watch = 0;
  berth_close_fdp (&rec->pidfd);
  berth_container_exited (rec, 0, FALSE);
  return G_SOURCE_REMOVE;
}

static gboolean
on_gone (gpointer user_data)
{
  BerthContainerRec *rec = user_data;

  rec->pidfd_watch = 0;
  berth_container_exited (rec, 0, FALSE);
  return G_SOURCE_REMOVE;
}

void
berth_container_watch (BerthContainerRec *rec)
{
  siginfo_t info = { 0 };

  g_clear_handle_id (&rec->child_watch, g_source_remove);
  g_clear_handle_id (&rec->pidfd_watch, g_source_remove);
  berth_close_fdp (&rec->pidfd);
  berth_container_log_times_watch (rec);

  /* Ours to reap when berthd started it (and is its subreaper). */
  if (waitid (P_PID, rec->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
    {
      rec->child_watch = g_child_watch_add (rec->pid, on_child_exit, rec);
      return;
    }
  rec->pidfd = (int)syscall (SYS_pidfd_open, rec->pid, 0);
  if (rec->pidfd < 0 || !berth_container_pid_alive (rec))
    {
      berth_close_fdp (&rec->pidfd);
      /* Gone already; report from the idle loop, not from inside the caller. */
      rec->pidfd_watch = g_idle_add (on_gone, rec);
      return;
    }
  rec->pidfd_watch = g_unix_fd_add (rec->pidfd, G_IO_IN, on_pidfd, rec);
}

static void
delete_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *id = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  GSubprocess *proc = G_SUBPROCESS (source);

  if (!g_subprocess_communicate_utf8_finish (proc, result, NULL, &err, &error))
    g_warning ("container %s: runtime delete: %s", id, error->message);
  else if (!g_subprocess_get_successful (proc))
    {
      g_autofree char *line = last_line (err);
      g_debug ("container %s: runtime delete: %s", id, line);
    }
}

/* What berth-init wrote, else the wait status, else SIGKILL: the one way
 * for berth-init itself to die without writing. */
static int
exit_code_of (BerthContainerRec *rec, int wait_status, gboolean have_status, gint64 *finished)
{
  g_autofree char *status = status_dir (rec);
  int code;

  if (rec->init && berth_oci_spec_read_exit_status (status, &code, finished, NULL))
    return code;
  *finished = g_get_real_time ();
  if (have_status && WIFEXITED (wait_status))
    return WEXITSTATUS (wait_status);
  if (have_status && WIFSIGNALED (wait_status))
    return 128 + WTERMSIG (wait_status);
  return 128 + SIGKILL;
}

void
berth_container_exited (BerthContainerRec *rec, int wait_status, gboolean have_status)
{
  g_autoptr (GPtrArray) argv = runtime_argv (rec, "delete");
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *rootfs = rootfs_dir (rec);
  g_autoptr (GError) error = NULL;
  gint64 finished = 0;

  g_clear_handle_id (&rec->child_watch, g_source_remove);
  g_clear_handle_id (&rec->pidfd_watch, g_source_remove);
  g_clear_handle_id (&rec->stop_timer, g_source_remove);
  berth_close_fdp (&rec->pidfd);

  berth_container_log_times_stop (rec);
  berth_container_execs_exited (rec);
  rec->exit_code = exit_code_of (rec, wait_status, have_status, &finished);
  rec->finished_at = finished;
  rec->state = BERTH_CONTAINER_EXITED;
  rec->pid = 0;
  rec->pid_start_time = 0;
  g_debug ("container %s (%s) exited with %d", rec->name, rec->id, rec->exit_code);

  /* The runtime's state and cgroup go; the record stays until removed. */
  g_ptr_array_add (argv, g_strdup ("--force"));
  g_ptr_array_add (argv, g_strdup (rec->id));
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *)argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc)
    g_subprocess_communicate_utf8_async (proc, NULL, NULL, delete_done, g_strdup (rec->id));
  else
    g_warning ("container %s: %s", rec->id, error->message);
  if (!berth_overlay_unmount (rootfs, &error))
    g_warning ("container %s: %s", rec->id, error ? error->message : "cannot unmount");

  berth_container_rec_save (rec);
  berth_container_state_changed (rec);
}

/* --- exec ------------------------------------------------------------------- */

typedef struct
{
  BerthDaemon *daemon;
  char *container_id; /* the container may go while the process ends */
  GSubprocess *proc;
  char *id;
  char *console_path;
  int console_listen_fd;
  guint console_watch;
  GTask *task;    /* until the process runs (and its terminal came) */
  char *log_path; /* the runtime's --log: why it failed, if it did */
} ExecData;

static void
exec_data_free (ExecData *e)
{
  g_clear_handle_id (&e->console_watch, g_source_remove);
  berth_close_fdp (&e->console_listen_fd);
  if (e->log_path)
    g_unlink (e->log_path);
  g_free (e->log_path);
  if (e->console_path)
    g_unlink (e->console_path);
  g_free (e->console_path);
  g_clear_object (&e->proc);
  g_free (e->id);
  g_free (e->container_id);
  g_free (e);
}

static void
exec_return (ExecData *e, int terminal, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&e->task);
  int *fd;

  if (task == NULL)
    {
      g_clear_error (&error);
      return;
    }
  if (error)
    {
      g_task_return_error (task, error);
      return;
    }
  fd = g_new (int, 1);
  *fd = terminal;
  g_task_return_pointer (task, fd, g_free);
}

static gboolean
on_exec_console (gint fd, GIOCondition condition, gpointer user_data)
{
  ExecData *e = user_data;
  GError *error = NULL;
  int terminal;

  e->console_watch = 0;
  terminal = receive_terminal (fd, &error);
  exec_return (e, terminal, terminal < 0 ? error : NULL);
  return G_SOURCE_REMOVE;
}

/* The runtime could not run the command (it printed why on the caller's
 * stderr, and logged it): the exit code becomes a shell's, as docker
 * exec's: 127 when the command does not exist, 126 when it cannot be
 * executed. berth-runtime exits so itself; runc exits 255 for both. */
static int
exec_runtime_failure (ExecData *e, int code)
{
  g_autofree char *line = e->log_path ? runtime_log_line_at (e->log_path) : NULL;
  g_autofree char *lower = NULL;

  if (line == NULL || code == 0 || code == 126 || code == 127)
    return code;
  lower = g_ascii_strdown (line, -1);
  if (strstr (lower, "not found in $path") || strstr (lower, "no such file or directory"))
    return 127;
  if (strstr (lower, "permission denied") || strstr (lower, "not executable"))
    return 126;
  return code;
}

static void
on_exec_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ExecData *e = user_data;
  GSubprocess *proc = G_SUBPROCESS (source);
  BerthContainerRec *rec = g_hash_table_lookup (e->daemon->containers, e->container_id);
  int code;

  g_subprocess_wait_finish (proc, result, NULL);
  if (g_subprocess_get_if_exited (proc))
    code = g_subprocess_get_exit_status (proc);
  else if (g_subprocess_get_if_signaled (proc))
    code = 128 + g_subprocess_get_term_sig (proc);
  else
    code = 128 + SIGKILL;
  code = exec_runtime_failure (e, code);
  exec_return (e, -1,
               g_error_new (BERTH_ERROR, BERTH_ERROR_FAILED,
                            "the process in %.12s ended before its terminal was set up (exit %d)",
                            e->container_id, code));
  g_debug ("container %.12s: exec %s exited with %d", e->container_id, e->id, code);
  if (rec && rec->skeleton)
    berth_container_emit_exec_exited (rec->skeleton, e->id, code);
  berth_container_exec_forget (e->daemon, e->container_id, e->id);
  exec_data_free (e);
}

/* -u NAME: looked up in the container's files in a worker thread first. */
typedef struct
{
  BerthDaemon *daemon;
  char *container_id;
  char *bundle, *name;
  char **command;
  BerthContainerExecOptions o; /* owns its strings and fds */
  GAsyncReadyCallback callback;
  gpointer user_data;
} ExecUserJob;

static void
exec_user_job_free (ExecUserJob *job)
{
  berth_close_fdp (&job->o.stdin_fd);
  berth_close_fdp (&job->o.stdout_fd);
  berth_close_fdp (&job->o.stderr_fd);
  g_strfreev (job->o.env);
  g_free ((char *)job->o.workdir);
  g_free ((char *)job->o.user);
  g_free (job->container_id);
  g_free (job->bundle);
  g_free (job->name);
  g_strfreev (job->command);
  g_free (job);
}

static void
exec_user_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ExecUserJob *job = task_data;
  GError *error = NULL;
  BerthUser *user = berth_container_resolve_user_at (job->bundle, job->name, job->o.user, &error);

  if (user == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, user, (GDestroyNotify)berth_user_free);
}

static void
exec_user_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ExecUserJob *job = g_task_get_task_data (G_TASK (result));
  BerthContainerRec *rec = g_hash_table_lookup (job->daemon->containers, job->container_id);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUser) user = g_task_propagate_pointer (G_TASK (result), &error);

  if (user && (rec == NULL || rec->state != BERTH_CONTAINER_RUNNING))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE, "container %s stopped meanwhile",
                 job->name);
  if (error)
    {
      g_autoptr (GTask) task = g_task_new (NULL, NULL, job->callback, job->user_data);

      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->o.resolved = user;
  /* It takes the fds. */
  berth_container_exec (rec, job->command, &job->o, job->callback, job->user_data);
  job->o.stdin_fd = job->o.stdout_fd = job->o.stderr_fd = -1;
}

void
berth_container_exec (BerthContainerRec *rec, char **command,
                      const BerthContainerExecOptions *options, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  ExecData *e;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GPtrArray) argv = NULL;
  g_autoptr (GError) error = NULL;
  BerthContainerExecOptions o = *options;

  if (o.user && o.resolved == NULL)
    {
      ExecUserJob *job = g_new0 (ExecUserJob, 1);
      g_autoptr (GTask) task = g_task_new (NULL, NULL, exec_user_done, NULL);

      job->daemon = rec->daemon;
      job->container_id = g_strdup (rec->id);
      job->bundle = g_strdup (rec->bundle);
      job->name = g_strdup (rec->name);
      job->command = g_strdupv (command);
      job->o = o;
      job->o.env = g_strdupv (o.env);
      job->o.workdir = g_strdup (o.workdir);
      job->o.user = g_strdup (o.user);
      job->callback = callback;
      job->user_data = user_data;
      g_task_set_task_data (task, job, (GDestroyNotify)exec_user_job_free);
      g_task_run_in_thread (task, exec_user_thread);
      return;
    }

  e = g_new0 (ExecData, 1);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  argv = runtime_argv (rec, "exec");
  e->daemon = rec->daemon;
  e->container_id = g_strdup (rec->id);
  e->console_listen_fd = -1;
  e->id = g_strdup_printf ("%08x", g_random_int ());
  e->log_path = g_strdup_printf ("%s/exec-%s.log", rec->bundle, e->id);
  g_ptr_array_insert (argv, 1, g_strdup ("--log"));
  g_ptr_array_insert (argv, 2, g_strdup (e->log_path));
  g_ptr_array_insert (argv, 3, g_strdup ("--log-format"));
  g_ptr_array_insert (argv, 4, g_strdup ("json"));
  e->task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_task_data (e->task, g_strdup (e->id), g_free);

  if (o.tty)
    {
      struct sockaddr_un addr = { .sun_family = AF_UNIX };

      e->console_path = g_strdup_printf ("%s/exec-%s.sock", rec->daemon->run_dir, e->id);
      e->console_listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      g_strlcpy (addr.sun_path, e->console_path, sizeof addr.sun_path);
      if (e->console_listen_fd < 0
          || bind (e->console_listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0
          || listen (e->console_listen_fd, 1) < 0)
        {
          berth_error_set_errno (&error, errno, "cannot listen on %s", e->console_path);
          goto fail;
        }
      g_ptr_array_add (argv, g_strdup ("--tty"));
      g_ptr_array_add (argv, g_strdup ("--console-socket"));
      g_ptr_array_add (argv, g_strdup (e->console_path));
    }
  if (o.workdir)
    {
      g_ptr_array_add (argv, g_strdup ("--cwd"));
      g_ptr_array_add (argv, g_strdup (o.workdir));
    }
  if (o.resolved)
    {
      GArray *gids = o.resolved->additional_gids;

      g_ptr_array_add (argv, g_strdup ("--user"));
      g_ptr_array_add (argv, g_strdup_printf ("%u:%u", o.resolved->uid, o.resolved->gid));
      for (guint i = 0; i < gids->len; i++)
        {
          g_ptr_array_add (argv, g_strdup ("--additional-gids"));
          g_ptr_array_add (argv, g_strdup_printf ("%u", g_array_index (gids, guint32, i)));
        }
      /* The user's HOME, unless one was set; the bundle's is its user's. */
      if (!berth_container_env_has (o.env, "HOME") && !berth_container_env_has (rec->env, "HOME"))
        {
          g_ptr_array_add (argv, g_strdup ("--env"));
          g_ptr_array_add (argv, g_strconcat ("HOME=", o.resolved->home, NULL));
        }
    }
  for (guint i = 0; o.env && o.env[i]; i++)
    {
      g_ptr_array_add (argv, g_strdup ("--env"));
      g_ptr_array_add (argv, g_strdup (o.env[i]));
    }
  g_ptr_array_add (argv, g_strdup (rec->id));
  {
    g_auto (GStrv) wrapped
      = berth_container_exec_wrap (rec, e->id, o.resolved ? o.resolved->uid : rec->uid,
                                   o.resolved ? o.resolved->gid : rec->gid, command, &error);

    if (wrapped == NULL)
      goto fail;
    for (guint i = 0; wrapped[i]; i++)
      g_ptr_array_add (argv, g_strdup (wrapped[i]));
  }

  {
    g_autofree char *log_path = g_build_filename (rec->dir, "container.log", NULL);
    berth_autofd int log_fd
      = open (log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

    launcher_take (launcher, &o.stdin_fd, -1, 0);
    launcher_take (launcher, &o.stdout_fd, log_fd, 1);
    launcher_take (launcher, &o.stderr_fd, log_fd, 2);
  }
  e->proc = spawn (launcher, argv, &error);
  if (e->proc == NULL)
    {
      g_prefix_error (&error, "cannot run the OCI runtime %s: ", rec->runtime);
      goto fail;
    }
  berth_container_exec_started (rec->daemon, e->id);
  g_subprocess_wait_async (e->proc, NULL, on_exec_exited, e);
  if (o.tty)
    e->console_watch = g_unix_fd_add (e->console_listen_fd, G_IO_IN, on_exec_console, e);
  else
    exec_return (e, -1, NULL);
  return;

fail:
  berth_close_fdp (&o.stdin_fd);
  berth_close_fdp (&o.stdout_fd);
  berth_close_fdp (&o.stderr_fd);
  berth_container_exec_forget (rec->daemon, rec->id, e->id);
  exec_return (e, -1, g_steal_pointer (&error));
  exec_data_free (e);
}

gboolean
berth_container_exec_finish (BerthContainerRec *rec, GAsyncResult *result, int *out_terminal,
                             char **out_id, GError **error)
{
  g_autofree int *fd = g_task_propagate_pointer (G_TASK (result), error);

  if (fd == NULL)
    return FALSE;
  *out_terminal = *fd;
  *out_id = g_strdup (g_task_get_task_data (G_TASK (result)));
  return TRUE;
}
