/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.berth.berth1.Container objects: one per container, at
 * /org/berth/berth1/container/<id>. The handlers check the state, start
 * the work in container-run.c and answer when it is done; calls that wait
 * for an exit (Wait, Stop, Remove with force, Restart) are kept with the
 * container and answered from berth_container_state_changed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-signal.h"
#include "container.h"
#include "volume.h"

#define STOP_KILL_TIMEOUT 10

static void return_error (GDBusMethodInvocation *invocation, BerthError code, const char *format,
                          ...) G_GNUC_PRINTF (3, 4);

static void
return_error (GDBusMethodInvocation *invocation, BerthError code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_dbus_method_invocation_return_error_valist (invocation, BERTH_ERROR, code, format, args);
  va_end (args);
}

static gboolean
check_not_busy (BerthContainerRec *rec, GDBusMethodInvocation *invocation)
{
  if (rec->state == BERTH_CONTAINER_REMOVING)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE, "container %s is being removed",
                    rec->name);
      return FALSE;
    }
  if (rec->busy)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE,
                    "container %s is starting; try again when it runs", rec->name);
      return FALSE;
    }
  return TRUE;
}

/* --- Start ------------------------------------------------------------------ */

typedef struct
{
  BerthContainerRec *rec;
  GDBusMethodInvocation *invocation; /* NULL: Restart's start or an internal one */
  gboolean log_terminal;             /* keep the terminal: its output goes to the log */
} StartCall;

static void
on_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StartCall *call = user_data;
  BerthContainerRec *rec = call->rec;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusMethodInvocation) invocation = call->invocation;
  int terminal = -1;
  gboolean ok;
  gboolean log_terminal = call->log_terminal || call->invocation == NULL;

  g_free (call);
  rec->busy = FALSE;
  ok = berth_container_start_finish (rec, result, &terminal, &error);
  /* Nobody attaches (a detached run, a restart): berthd reads the
   * terminal, into the log (and the journal), as the output of a
   * detached container without one. */
  if (ok && terminal >= 0 && log_terminal)
    {
      berth_container_log_attach (rec, 0, terminal, FALSE);
      terminal = -1;
    }
  if (ok)
    g_message ("container %s (%.12s) started, pid %d", rec->name, rec->id, rec->pid);
  else
    g_message ("container %s (%.12s) did not start: %s", rec->name, rec->id, error->message);
  berth_container_rec_sync (rec);

  if (rec->restart_invocation && invocation == NULL)
    {
      invocation = g_steal_pointer (&rec->restart_invocation);
      if (ok)
        g_dbus_method_invocation_return_value (invocation, NULL);
      else
        g_dbus_method_invocation_return_gerror (invocation, error);
      berth_close_fdp (&terminal);
      return;
    }
  if (invocation == NULL)
    {
      berth_close_fdp (&terminal);
      return;
    }
  if (!ok)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  {
    g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
    g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();

    if (terminal >= 0)
      {
        int index = g_unix_fd_list_append (fds, terminal, NULL);

        berth_close_fdp (&terminal);
        g_variant_builder_add (&b, "{sv}", "terminal", g_variant_new_handle (index));
      }
    berth_container_complete_start (rec->skeleton, invocation, fds, g_variant_builder_end (&b));
  }
}

static void
start_rec (BerthContainerRec *rec, const BerthContainerStartOptions *options,
           GDBusMethodInvocation *invocation)
{
  StartCall *call = g_new0 (StartCall, 1);

  call->rec = rec;
  call->log_terminal = options->log_terminal;
  call->invocation = invocation ? g_object_ref (invocation) : NULL;
  rec->busy = TRUE;
  berth_container_start (rec, options, NULL, on_started, call);
}

static gboolean
take_fd_option (GVariant *value, GUnixFDList *fd_list, const char *key, int *out_fd, GError **error)
{
  gint32 index;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_HANDLE))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "option \"%s\" must be a file descriptor (h)", key);
      return FALSE;
    }
  index = g_variant_get_handle (value);
  if (fd_list == NULL || index < 0 || index >= g_unix_fd_list_get_length (fd_list))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "option \"%s\" names no file descriptor that came with the call", key);
      return FALSE;
    }
  berth_close_fdp (out_fd);
  *out_fd = g_unix_fd_list_get (fd_list, index, error);
  return *out_fd >= 0;
}

/* The stdin, stdout and stderr options that Start and Exec share: TRUE
 * when @key is one of them (its fd taken, or @error set). */
static gboolean
take_stream_option (const char *key, GVariant *value, GUnixFDList *fd_list, int *stdin_fd,
                    int *stdout_fd, int *stderr_fd, GError **error)
{
  int *slot = g_str_equal (key, "stdin")    ? stdin_fd
              : g_str_equal (key, "stdout") ? stdout_fd
              : g_str_equal (key, "stderr") ? stderr_fd
                                            : NULL;

  if (slot == NULL)
    return FALSE;
  take_fd_option (value, fd_list, key, slot, error);
  return TRUE;
}

/* Refuses a call whose options were wrong, closing the streams taken. */
static gboolean
refuse_options (GDBusMethodInvocation *invocation, int *stdin_fd, int *stdout_fd, int *stderr_fd,
                GError *error)
{
  berth_close_fdp (stdin_fd);
  berth_close_fdp (stdout_fd);
  berth_close_fdp (stderr_fd);
  g_dbus_method_invocation_return_gerror (invocation, error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_start (BerthContainer *skeleton, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
              GVariant *options, BerthContainerRec *rec)
{
  BerthContainerStartOptions o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!check_not_busy (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (rec->state == BERTH_CONTAINER_RUNNING)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE, "container %s is running already",
                    rec->name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (take_stream_option (key, value, fd_list, &o.stdin_fd, &o.stdout_fd, &o.stderr_fd, &error))
        ; /* taken, or the error says why not */
      else if (g_str_equal (key, "terminal-size")
               && g_variant_is_of_type (value, G_VARIANT_TYPE ("(qq)")))
        g_variant_get (value, "(qq)", &o.rows, &o.cols);
      else if (g_str_equal (key, "log-terminal")
               && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        o.log_terminal = g_variant_get_boolean (value);
      else
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "unknown start option \"%s\" (known: stdin, stdout, stderr, terminal-size, "
                     "log-terminal)",
                     key);
      g_variant_unref (value);
    }
  if (error)
    return refuse_options (invocation, &o.stdin_fd, &o.stdout_fd, &o.stderr_fd, error);
  start_rec (rec, &o, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- Stop, Kill ------------------------------------------------------------- */

static void
on_killed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  BerthContainerRec *rec = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (!berth_container_kill_finish (rec, result, &error))
    {
      if (invocation)
        g_dbus_method_invocation_return_gerror (invocation, error);
      else
        g_warning ("container %s: %s", rec->name, error->message);
      return;
    }
  if (invocation)
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  BerthContainerRec *rec = user_data;

  rec->stop_timer = 0;
  g_message ("container %s did not stop in time; killing it", rec->name);
  berth_container_kill (rec, SIGKILL, on_killed, NULL);
  return G_SOURCE_REMOVE;
}

/* SIGTERM, then SIGKILL after @timeout seconds; the callers are answered
 * when it exited. */
static void
stop_rec (BerthContainerRec *rec, guint timeout)
{
  if (rec->stop_timer)
    return;
  if (timeout == 0)
    {
      berth_container_kill (rec, SIGKILL, on_killed, NULL);
      return;
    }
  berth_container_kill (rec, SIGTERM, on_killed, NULL);
  rec->stop_timer = g_timeout_add_seconds (timeout, on_stop_timeout, rec);
}

static gboolean
handle_stop (BerthContainer *skeleton, GDBusMethodInvocation *invocation, guint timeout,
             BerthContainerRec *rec)
{
  if (rec->state != BERTH_CONTAINER_RUNNING)
    {
      berth_container_complete_stop (skeleton, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_ptr_array_add (rec->stop_waiters, g_object_ref (invocation));
  stop_rec (rec, timeout);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_kill (BerthContainer *skeleton, GDBusMethodInvocation *invocation, const char *signal_name,
             BerthContainerRec *rec)
{
  int signo = berth_signal_parse (signal_name);

  if (signo < 0)
    {
      return_error (invocation, BERTH_ERROR_INVALID_ARGUMENT,
                    "unknown signal \"%s\" (use a name such as TERM or KILL, or a number)",
                    signal_name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (rec->state != BERTH_CONTAINER_RUNNING)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE, "container %s is not running (%s)",
                    rec->name, berth_container_state_to_string (rec->state));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  berth_container_kill (rec, signo, on_killed, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_restart (BerthContainer *skeleton, GDBusMethodInvocation *invocation, BerthContainerRec *rec)
{
  BerthContainerStartOptions o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };

  if (!check_not_busy (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (rec->restart_invocation)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE, "container %s is restarting already",
                    rec->name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  rec->restart_invocation = g_object_ref (invocation);
  if (rec->state == BERTH_CONTAINER_RUNNING)
    stop_rec (rec, STOP_KILL_TIMEOUT);
  else
    start_rec (rec, &o, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- Remove ------------------------------------------------------------------ */

typedef struct
{
  BerthContainerRec *rec;
  GPtrArray *invocations;
} RemoveCall;

static void
on_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RemoveCall *call = user_data;
  BerthContainerRec *rec = call->rec;
  g_autoptr (GError) error = NULL;

  if (!berth_container_remove_files_finish (result, &error))
    {
      /* The record is gone or going; say what is left behind. */
      g_warning ("container %s: not all its files were removed: %s", rec->name, error->message);
    }
  g_message ("container %s (%.12s) removed", rec->name, rec->id);
  for (guint i = 0; i < call->invocations->len; i++)
    g_dbus_method_invocation_return_value (call->invocations->pdata[i], NULL);
  g_ptr_array_unref (call->invocations);
  g_free (call);
  berth_daemon_containers_forget (rec->daemon, rec);
}

static void
remove_rec (BerthContainerRec *rec, GPtrArray *invocations)
{
  RemoveCall *call = g_new0 (RemoveCall, 1);

  call->rec = rec;
  call->invocations = invocations;
  rec->state = BERTH_CONTAINER_REMOVING;
  berth_container_volumes_prepare_removal (rec);
  berth_container_rec_sync (rec);
  berth_container_rec_save (rec);
  berth_container_remove_files (rec, on_removed, call);
}

static gboolean
handle_remove (BerthContainer *skeleton, GDBusMethodInvocation *invocation, gboolean force,
               gboolean volumes, BerthContainerRec *rec)
{
  GPtrArray *invocations;

  if (!check_not_busy (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  rec->remove_volumes = volumes;
  if (rec->state == BERTH_CONTAINER_RUNNING)
    {
      if (!force)
        {
          return_error (invocation, BERTH_ERROR_INVALID_STATE,
                        "container %s is running; stop it first, or remove it with force (rm -f)",
                        rec->name);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      g_ptr_array_add (rec->remove_waiters, g_object_ref (invocation));
      stop_rec (rec, 0);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  invocations = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (invocations, g_object_ref (invocation));
  remove_rec (rec, invocations);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- Exec ------------------------------------------------------------------------ */

static void
on_exec_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  BerthContainerRec *rec = g_object_get_data (G_OBJECT (invocation), "berth-container");
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  int terminal = -1;
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();

  if (!berth_container_exec_finish (rec, result, &terminal, &id, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (id));
  if (terminal >= 0)
    {
      int index = g_unix_fd_list_append (fds, terminal, NULL);

      berth_close_fdp (&terminal);
      g_variant_builder_add (&b, "{sv}", "terminal", g_variant_new_handle (index));
    }
  berth_container_complete_exec (rec->skeleton, invocation, fds, g_variant_builder_end (&b));
  g_debug ("container %.12s: exec %s started", rec->id, id);
}

static gboolean
handle_exec (BerthContainer *skeleton, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
             const char *const *command, GVariant *options, BerthContainerRec *rec)
{
  BerthContainerExecOptions o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = NULL;
  g_autofree char *workdir = NULL, *user = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (rec->state != BERTH_CONTAINER_RUNNING || rec->busy)
    {
      return_error (invocation, BERTH_ERROR_INVALID_STATE,
                    "container %s is not running (%s); start it first", rec->name,
                    berth_container_state_to_string (rec->state));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (command == NULL || command[0] == NULL || *command[0] == '\0')
    {
      return_error (invocation, BERTH_ERROR_INVALID_ARGUMENT, "no command given to exec");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (take_stream_option (key, value, fd_list, &o.stdin_fd, &o.stdout_fd, &o.stderr_fd, &error))
        ; /* taken, or the error says why not */
      else if (g_str_equal (key, "tty") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        o.tty = g_variant_get_boolean (value);
      else if (g_str_equal (key, "terminal-size")
               && g_variant_is_of_type (value, G_VARIANT_TYPE ("(qq)")))
        ;
      else if (g_str_equal (key, "env")
               && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        env = g_variant_dup_strv (value, NULL);
      else if (g_str_equal (key, "workdir") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        workdir = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "user") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        user = g_variant_dup_string (value, NULL);
      else
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "unknown exec option \"%s\" or wrong type (known: stdin, stdout, stderr, tty, "
                     "terminal-size, env, workdir, user)",
                     key);
      g_variant_unref (value);
    }
  if (error)
    return refuse_options (invocation, &o.stdin_fd, &o.stdout_fd, &o.stderr_fd, error);
  o.env = env;
  o.workdir = workdir;
  o.user = user;
  g_object_set_data (G_OBJECT (invocation), "berth-container", rec);
  berth_container_exec (rec, (char **)command, &o, on_exec_started, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- Wait, OpenLog ------------------------------------------------------------ */

static gboolean
handle_wait (BerthContainer *skeleton, GDBusMethodInvocation *invocation, BerthContainerRec *rec)
{
  if (rec->state == BERTH_CONTAINER_EXITED)
    {
      berth_container_complete_wait (skeleton, invocation, rec->exit_code);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (rec->state == BERTH_CONTAINER_REMOVING)
    {
      return_error (invocation, BERTH_ERROR_NO_SUCH_CONTAINER, "container %s is being removed",
                    rec->name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_ptr_array_add (rec->waiters, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_open_log_file (BerthContainer *skeleton, GDBusMethodInvocation *invocation,
                      BerthContainerRec *rec, const char *name)
{
  g_autofree char *path = g_build_filename (rec->dir, name, NULL);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  berth_autofd int fd = open (path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  g_autoptr (GError) error = NULL;
  int index;

  if (fd < 0)
    {
      return_error (invocation, BERTH_ERROR_FAILED, "cannot open the log of %s: %s", rec->name,
                    g_strerror (errno));
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  index = g_unix_fd_list_append (fds, fd, &error);
  if (index < 0)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* Both methods return (h). */
  berth_container_complete_open_log (skeleton, invocation, fds, g_variant_new_handle (index));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_open_log (BerthContainer *skeleton, GDBusMethodInvocation *invocation, GUnixFDList *in_fds,
                 BerthContainerRec *rec)
{
  return handle_open_log_file (skeleton, invocation, rec, "container.log");
}

static gboolean
handle_open_log_times (BerthContainer *skeleton, GDBusMethodInvocation *invocation,
                       GUnixFDList *in_fds, BerthContainerRec *rec)
{
  return handle_open_log_file (skeleton, invocation, rec, "container.log.times");
}

/* --- state changes --------------------------------------------------------------- */

static void
answer_all (GPtrArray *invocations, GVariant *value)
{
  g_autoptr (GVariant) v = value ? g_variant_ref_sink (value) : NULL;

  for (guint i = 0; i < invocations->len; i++)
    g_dbus_method_invocation_return_value (invocations->pdata[i], v);
  g_ptr_array_set_size (invocations, 0);
}

void
berth_container_state_changed (BerthContainerRec *rec)
{
  berth_container_rec_sync (rec);
  if (rec->state != BERTH_CONTAINER_EXITED)
    return;
  if (rec->exited_hook)
    {
      rec->exited_hook (rec, rec->exited_hook_data);
      return;
    }

  g_message ("container %s (%.12s) exited with %d", rec->name, rec->id, rec->exit_code);
  answer_all (rec->waiters, g_variant_new ("(i)", rec->exit_code));
  answer_all (rec->stop_waiters, NULL);
  if (rec->remove_waiters->len > 0)
    {
      GPtrArray *invocations = g_steal_pointer (&rec->remove_waiters);

      rec->remove_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      remove_rec (rec, invocations);
    }
  else if (rec->restart_invocation)
    {
      BerthContainerStartOptions o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };

      start_rec (rec, &o, NULL);
    }
  else if (rec->auto_remove)
    {
      rec->remove_volumes = TRUE; /* as docker's --rm */
      remove_rec (rec, g_ptr_array_new_with_free_func (g_object_unref));
    }
}

/* --- export ------------------------------------------------------------------------ */

gboolean
berth_container_export (BerthContainerRec *rec, GError **error)
{
  g_autoptr (BerthContainer) skeleton = berth_container_skeleton_new ();

  rec->object_path = g_strdup_printf ("%s/container/%s", BERTH_MANAGER_PATH, rec->id);
  g_signal_connect (skeleton, "handle-start", G_CALLBACK (handle_start), rec);
  g_signal_connect (skeleton, "handle-stop", G_CALLBACK (handle_stop), rec);
  g_signal_connect (skeleton, "handle-kill", G_CALLBACK (handle_kill), rec);
  g_signal_connect (skeleton, "handle-restart", G_CALLBACK (handle_restart), rec);
  g_signal_connect (skeleton, "handle-remove", G_CALLBACK (handle_remove), rec);
  g_signal_connect (skeleton, "handle-wait", G_CALLBACK (handle_wait), rec);
  g_signal_connect (skeleton, "handle-open-log", G_CALLBACK (handle_open_log), rec);
  g_signal_connect (skeleton, "handle-open-log-times", G_CALLBACK (handle_open_log_times), rec);
  g_signal_connect (skeleton, "handle-exec", G_CALLBACK (handle_exec), rec);
  berth_container_commit_connect (rec, skeleton);
  berth_daemon_authorize_skeleton (rec->daemon, G_DBUS_INTERFACE_SKELETON (skeleton));
  rec->skeleton = g_steal_pointer (&skeleton);
  berth_container_rec_sync (rec);
  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (rec->skeleton),
                                           rec->daemon->bus, rec->object_path, error);
}

void
berth_container_unexport (BerthContainerRec *rec)
{
  if (rec->skeleton)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (rec->skeleton));
}
