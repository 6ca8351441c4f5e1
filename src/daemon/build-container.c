/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A RUN step: a real container made and run by the container code, like
 * any other (same runtime, same security defaults, no host volumes), with
 * its output going to the build, then removed. The worker thread asks the
 * main thread to do each part and waits for it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-id.h"
#include "build.h"

typedef struct
{
  Build *b;
  char *image_id;
  char **command;
  char **env;
  char *workdir;
  guint32 uid, gid;
  int out_fd;
} RunStart;

static void
run_start_free (RunStart *rs)
{
  g_free (rs->image_id);
  g_strfreev (rs->command);
  g_strfreev (rs->env);
  g_free (rs->workdir);
  berth_close_fdp (&rs->out_fd);
  g_free (rs);
}

/* Main thread: the part the worker waits for is over. */
void
berth_builder_main_done (Build *b, GError *error)
{
  g_mutex_lock (&b->lock);
  b->main_done = TRUE;
  g_clear_error (&b->main_error);
  b->main_error = error;
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
}

/* Worker: runs @func in the main thread and waits until it calls main_done. */
gboolean
berth_builder_call_main (Build *b, GSourceFunc func, gpointer data, GError **error)
{
  g_mutex_lock (&b->lock);
  b->main_done = FALSE;
  g_clear_error (&b->main_error);
  g_mutex_unlock (&b->lock);
  g_main_context_invoke (NULL, func, data);
  g_mutex_lock (&b->lock);
  while (!b->main_done)
    g_cond_wait (&b->cond, &b->lock);
  if (b->main_error)
    {
      g_propagate_error (error, g_steal_pointer (&b->main_error));
      g_mutex_unlock (&b->lock);
      return FALSE;
    }
  g_mutex_unlock (&b->lock);
  return TRUE;
}

static void
kill_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthContainerRec *rec = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_container_kill_finish (rec, result, &error))
    g_warning ("build container %s: %s", rec->id, error->message);
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  Build *b = user_data;

  if (b->rec && b->rec->state == BERTH_CONTAINER_RUNNING)
    berth_container_kill (b->rec, SIGKILL, kill_done, b->rec);
}

static void
on_exited (BerthContainerRec *rec, gpointer user_data)
{
  Build *b = user_data;

  b->exit_code = rec->exit_code;
  berth_builder_main_done (b, NULL);
}

static void
on_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Build *b = user_data;
  GError *error = NULL;
  int terminal = -1;

  if (!berth_container_start_finish (b->rec, result, &terminal, &error))
    {
      berth_builder_main_done (b, error);
      return;
    }
  /* Running: on_exited answers. A Cancel during the start kills it now. */
  if (g_cancellable_is_cancelled (b->cancellable))
    on_cancelled (b->cancellable, b);
}

static gboolean
start_in_main (gpointer user_data)
{
  RunStart *rs = user_data;
  Build *b = rs->b;
  BerthDaemon *daemon = b->daemon;
  BerthContainerRec *rec = berth_container_rec_new (daemon);
  BerthContainerStartOptions o = { .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
  GError *error = NULL;

  rec->id = berth_random_id ();
  rec->name = g_strdup_printf ("build-%u-%.12s", b->id, rec->id);
  rec->image = g_strdup (rs->image_id);
  rec->image_id = g_strdup (rs->image_id);
  rec->command = g_strdupv (rs->command);
  rec->env = g_strdupv (rs->env);
  rec->workdir = g_strdup (rs->workdir);
  rec->uid = rs->uid;
  rec->gid = rs->gid;
  rec->runtime = g_strdup (daemon->config->runtime);
  rec->created = g_get_real_time ();
  /* The record and the upper directory live in the build's directory, so
   * a crash leaves nothing that berthd would take for a user's container. */
  rec->dir = g_build_filename (b->dir, "containers", rec->id, NULL);
  rec->bundle = g_build_filename (daemon->run_dir, "containers", rec->id, NULL);
  rec->exited_hook = on_exited;
  rec->exited_hook_data = b;
  b->rec = rec;
  if (!berth_store_hold_image (daemon->store, rec->image_id, &error))
    {
      berth_builder_main_done (b, error);
      return G_SOURCE_REMOVE;
    }
  rec->image_held = TRUE;
  g_message ("build %u: running container %.12s", b->id, rec->id);
  berth_builder_emit_note (b, "---> Running in %.12s\n", rec->id);
  o.stdout_fd = rs->out_fd;
  o.stderr_fd = fcntl (rs->out_fd, F_DUPFD_CLOEXEC, 3);
  rs->out_fd = -1;
  berth_container_start (rec, &o, NULL, on_started, b);
  return G_SOURCE_REMOVE;
}

/* Worker: copies the container's output to the build until it exited. */
static void
forward_output (Build *b, int fd)
{
  char buf[16384];
  gboolean eof = FALSE;

  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      gboolean done;
      int r = eof ? 0 : poll (&p, 1, 100);

      if (r > 0)
        {
          ssize_t n = read (fd, buf, sizeof buf);

          if (n > 0)
            {
              berth_builder_emit_output (b, buf, n);
              continue;
            }
          if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            eof = TRUE;
        }
      g_mutex_lock (&b->lock);
      done = b->main_done;
      g_mutex_unlock (&b->lock);
      /* Exited: what a leftover process still writes is not waited for;
       * the runtime ends the container's processes with it. */
      if (done && (eof || r == 0))
        return;
      if (eof)
        g_usleep (10000);
    }
}

gboolean
berth_builder_container_run (Build *b, const char *image_id, char **command, char **env,
                             const char *workdir, const char *user, char **out_upper_dir,
                             GError **error)
{
  RunStart *rs = g_new0 (RunStart, 1);
  berth_autofd int out_read = -1;
  int p[2];
  gulong handler;
  gboolean ok;

  rs->b = b;
  rs->out_fd = -1;
  if (user && *user)
    {
      g_auto (GStrv) parts = g_strsplit (user, ":", 2);

      rs->uid = rs->gid = (guint32)g_ascii_strtoull (parts[0], NULL, 10);
      if (parts[1])
        rs->gid = (guint32)g_ascii_strtoull (parts[1], NULL, 10);
    }
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      run_start_free (rs);
      return berth_error_set_errno (error, errno, "cannot make a pipe");
    }
  out_read = p[0];
  rs->out_fd = p[1];
  rs->image_id = g_strdup (image_id);
  rs->command = g_strdupv (command);
  rs->env = g_strdupv (env);
  rs->workdir = g_strdup (workdir && *workdir ? workdir : "/");

  g_mutex_lock (&b->lock);
  b->main_done = FALSE;
  g_clear_error (&b->main_error);
  g_mutex_unlock (&b->lock);
  /* Runs in the main thread when Cancel comes (or at once, here, if it
   * came already: then the start sees it). */
  handler = g_cancellable_connect (b->cancellable, G_CALLBACK (on_cancelled), b, NULL);
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, start_in_main, rs,
                              (GDestroyNotify)run_start_free);
  forward_output (b, out_read);
  g_mutex_lock (&b->lock);
  while (!b->main_done)
    g_cond_wait (&b->cond, &b->lock);
  ok = b->main_error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&b->main_error));
  g_mutex_unlock (&b->lock);
  g_cancellable_disconnect (b->cancellable, handler);
  if (!ok)
    return FALSE;
  if (g_cancellable_set_error_if_cancelled (b->cancellable, error))
    return FALSE;
  if (b->exit_code != 0)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "the command exited with status %d",
                        b->exit_code),
           FALSE;
  *out_upper_dir = g_build_filename (b->rec->dir, "upper", NULL);
  return TRUE;
}

static void
removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Build *b = user_data;
  BerthContainerRec *rec = g_steal_pointer (&b->rec);
  g_autoptr (GError) error = NULL;

  if (!berth_container_remove_files_finish (result, &error))
    g_warning ("build %u: cannot remove container %s: %s", b->id, rec->id, error->message);
  if (rec->image_held)
    berth_store_release_image (b->daemon->store, rec->image_id);
  berth_container_rec_free (rec);
  berth_builder_main_done (b, NULL);
}

static gboolean
remove_in_main (gpointer user_data)
{
  Build *b = user_data;

  if (b->rec == NULL)
    {
      berth_builder_main_done (b, NULL);
      return G_SOURCE_REMOVE;
    }
  if (b->rec->state == BERTH_CONTAINER_RUNNING)
    {
      /* Never happens after a wait; kept so that a removal is never of a
       * running container. */
      g_warning ("build %u: container %s still runs; killing it", b->id, b->rec->id);
      berth_container_kill (b->rec, SIGKILL, kill_done, b->rec);
    }
  berth_container_remove_files (b->rec, removed, b);
  return G_SOURCE_REMOVE;
}

void
berth_builder_container_remove (Build *b)
{
  berth_builder_call_main (b, remove_in_main, b, NULL);
}
