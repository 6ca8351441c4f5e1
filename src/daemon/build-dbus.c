/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.BuildImage and the org.berth.berth1.Build objects, one per
 * build. The build itself runs in a worker thread (build-run.c). */
#include "config.h"

#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mount.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-reference.h"
#include "build.h"

static char *
builds_dir (BerthDaemon *daemon)
{
  return g_build_filename (daemon->root, "builds", NULL);
}

static void
build_free (Build *b)
{
  g_clear_object (&b->skeleton);
  g_clear_object (&b->cancellable);
  berth_close_fdp (&b->context_fd);
  if (b->dir)
    berth_fs_rm_rf_at (AT_FDCWD, b->dir, NULL);
  g_free (b->dir);
  g_free (b->path);
  g_free (b->containerfile);
  g_strfreev (b->tags);
  g_clear_pointer (&b->build_args, g_hash_table_unref);
  g_clear_pointer (&b->labels, g_hash_table_unref);
  g_free (b->pull);
  g_free (b->target);
  g_mutex_clear (&b->lock);
  g_cond_clear (&b->cond);
  g_clear_error (&b->main_error);
  g_free (b->image_id);
  g_clear_pointer (&b->infos, g_ptr_array_unref);
  g_free (b);
}

/* --- signals (any thread: g_dbus_connection_emit_signal is thread-safe) --- */

static void
emit (Build *b, const char *name, GVariant *parameters)
{
  g_dbus_connection_emit_signal (b->daemon->bus, NULL, b->path, "org.berth.berth1.Build", name,
                                 parameters, NULL);
}

void
berth_builder_emit_step (Build *b, guint step, guint steps, const char *text)
{
  emit (b, "StepStarted", g_variant_new ("(uus)", step, steps, text));
}

void
berth_builder_emit_output (Build *b, const void *data, gsize len)
{
  emit (b, "Output",
        g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, len, 1)));
}

void
berth_builder_emit_note (Build *b, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  berth_builder_emit_output (b, text, strlen (text));
}

void
berth_builder_emit_step_done (Build *b, guint step, const char *image_id, gboolean cached)
{
  emit (b, "StepDone", g_variant_new ("(usb)", step, image_id, cached));
}

typedef struct
{
  BerthDaemon *daemon;
  char *path;
  guint step, steps;
  const char *state;
} Progress;

static void
progress_free (Progress *p)
{
  g_free (p->path);
  g_free (p);
}

static gboolean
progress_in_main (gpointer user_data)
{
  Progress *p = user_data;
  Build *b = g_hash_table_lookup (p->daemon->builds, p->path);

  /* Found by path: an update queued just before the end finds nothing. */
  if (b == NULL)
    return G_SOURCE_REMOVE;
  berth_build_set_step (b->skeleton, p->step);
  berth_build_set_steps (b->skeleton, p->steps);
  berth_build_set_state (b->skeleton, p->state);
  return G_SOURCE_REMOVE;
}

void
berth_builder_set_progress (Build *b, guint step, guint steps, const char *state)
{
  Progress *p = g_new0 (Progress, 1);

  p->daemon = b->daemon;
  p->path = g_strdup (b->path);
  p->step = step;
  p->steps = steps;
  p->state = state;
  g_main_context_invoke_full (NULL, G_PRIORITY_DEFAULT, progress_in_main, p,
                              (GDestroyNotify)progress_free);
}

/* --- the object ----------------------------------------------------------- */

static gboolean
handle_cancel (BerthBuild *skeleton, GDBusMethodInvocation *invocation, Build *b)
{
  g_message ("build %u canceled", b->id);
  g_cancellable_cancel (b->cancellable);
  berth_build_complete_cancel (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
build_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Build *b = task_data;
  GError *error = NULL;
  char *id = berth_builder_run (b, &error);

  /* Failed builds made images too: the steps before the failure. */
  b->infos = berth_image_infos_collect (b->daemon->store);
  if (id)
    g_task_return_pointer (task, id, g_free);
  else
    g_task_return_error (task, error);
}

static void
build_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Build *b = user_data;
  BerthDaemon *daemon = b->daemon;
  g_autoptr (GError) error = NULL;
  g_autofree char *error_name = NULL;
  const char *state;

  b->image_id = g_task_propagate_pointer (G_TASK (result), &error);
  if (b->image_id == NULL)
    {
      if (g_cancellable_is_cancelled (b->cancellable)
          && !g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
        {
          g_clear_error (&error);
          g_set_error (&error, BERTH_ERROR, BERTH_ERROR_CANCELLED, "the build was canceled");
        }
      error_name = g_dbus_error_encode_gerror (error);
    }
  if (b->infos)
    berth_daemon_images_apply (daemon, b->infos, TRUE);
  state = error == NULL                                                 ? "done"
          : g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED) ? "canceled"
                                                                        : "failed";
  berth_build_set_state (b->skeleton, state);
  berth_build_set_image_id (b->skeleton, b->image_id ? b->image_id : "");
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (b->skeleton));
  g_log_structured (G_LOG_DOMAIN, error ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, "BUILD_ID",
                    b->path + strlen (BERTH_MANAGER_PATH "/build/"), "MESSAGE", "build %u: %s%s%s",
                    b->id, state, error ? ": " : " ", error ? error->message : b->image_id);
  emit (b, "Finished",
        g_variant_new ("(sss)", b->image_id ? b->image_id : "", error_name ? error_name : "",
                       error ? error->message : ""));
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (b->skeleton));
  g_hash_table_remove (daemon->builds, b->path);
  build_free (b);
}

/* --- Manager.BuildImage ------------------------------------------------------ */

static gboolean
string_map (GVariant *value, const char *key, GHashTable *out, GError **error)
{
  GVariantIter iter;
  const char *k, *v;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE ("a{ss}")))
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "option \"%s\" must be of type a{ss}", key),
           FALSE;
  g_variant_iter_init (&iter, value);
  while (g_variant_iter_next (&iter, "{&s&s}", &k, &v))
    {
      if (*k == '\0')
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "option \"%s\" has an empty name", key),
               FALSE;
      g_hash_table_insert (out, g_strdup (k), g_strdup (v));
    }
  return TRUE;
}

static gboolean
parse_options (Build *b, GVariant *options, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) v = value;
      const char *type = g_variant_get_type_string (v);

      if (g_str_equal (key, "containerfile") && g_str_equal (type, "s"))
        {
          b->containerfile = g_variant_dup_string (v, NULL);
          if (*b->containerfile == '\0' || *b->containerfile == '/')
            return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                "containerfile \"%s\" must be a path inside the context",
                                b->containerfile),
                   FALSE;
        }
      else if (g_str_equal (key, "tags") && g_str_equal (type, "as"))
        b->tags = g_variant_dup_strv (v, NULL);
      else if (g_str_equal (key, "build-args"))
        {
          if (!string_map (v, key, b->build_args, error))
            return FALSE;
        }
      else if (g_str_equal (key, "labels"))
        {
          if (!string_map (v, key, b->labels, error))
            return FALSE;
        }
      else if (g_str_equal (key, "no-cache") && g_str_equal (type, "b"))
        b->no_cache = g_variant_get_boolean (v);
      else if (g_str_equal (key, "pull") && g_str_equal (type, "s"))
        {
          const char *p = g_variant_get_string (v, NULL);

          if (!g_str_equal (p, "missing") && !g_str_equal (p, "always")
              && !g_str_equal (p, "never"))
            return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                "pull must be \"missing\", \"always\" or \"never\", not \"%s\"", p),
                   FALSE;
          g_free (b->pull);
          b->pull = g_strdup (p);
        }
      else if (g_str_equal (key, "target") && g_str_equal (type, "s"))
        b->target = g_variant_dup_string (v, NULL);
      else
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "unknown option \"%s\" of type %s", key, type),
               FALSE;
    }
  for (guint i = 0; b->tags && b->tags[i]; i++)
    {
      g_autoptr (BerthReference) ref = berth_reference_parse (b->tags[i], error);

      if (ref == NULL)
        return FALSE;
      if (ref->digest)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "tag \"%s\" names a digest; give NAME[:TAG]", b->tags[i]),
               FALSE;
    }
  return TRUE;
}

static gboolean
handle_build_image (BerthManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
                    GVariant *context, GVariant *options, BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  g_autofree char *dir = builds_dir (daemon);
  Build *b = g_new0 (Build, 1);
  int index = g_variant_get_handle (context);

  b->daemon = daemon;
  b->context_fd = -1;
  b->build_args = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  b->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  b->pull = g_strdup ("missing");
  g_mutex_init (&b->lock);
  g_cond_init (&b->cond);
  if (fd_list == NULL || index < 0 || index >= g_unix_fd_list_get_length (fd_list))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "no file descriptor for the build context was passed");
  else if ((b->context_fd = g_unix_fd_list_get (fd_list, index, &error)) >= 0)
    parse_options (b, options, &error);
  if (error)
    {
      build_free (b);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  b->id = ++daemon->next_build_id;
  b->path = g_strdup_printf ("%s/build/%u", BERTH_MANAGER_PATH, b->id);
  {
    g_autofree char *name = g_strdup_printf ("%u", b->id);

    b->dir = g_build_filename (dir, name, NULL);
  }
  b->cancellable = g_cancellable_new ();
  b->skeleton = berth_build_skeleton_new ();
  berth_build_set_id (b->skeleton, b->id);
  berth_build_set_state (b->skeleton, "reading-context");
  berth_build_set_image_id (b->skeleton, "");
  g_signal_connect (b->skeleton, "handle-cancel", G_CALLBACK (handle_cancel), b);
  berth_daemon_authorize_skeleton (daemon, G_DBUS_INTERFACE_SKELETON (b->skeleton));
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (b->skeleton), daemon->bus,
                                         b->path, &error))
    {
      build_free (b);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_hash_table_insert (daemon->builds, g_strdup (b->path), b);
  g_message ("build %u started", b->id);
  berth_manager_complete_build_image (manager, invocation, NULL, b->path);

  task = g_task_new (NULL, NULL, build_done, b);
  g_task_set_task_data (task, b, NULL);
  g_task_run_in_thread (task, build_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The RUN containers of builds a crash interrupted: their records are in
 * the build's directory, where berthd does not look for users'
 * containers; they may still run. */
static void
destroy_lost_containers (BerthDaemon *daemon, const char *dir)
{
  g_autoptr (GDir) builds = g_dir_open (dir, 0, NULL);
  const char *build;

  while (builds && (build = g_dir_read_name (builds)))
    {
      g_autofree char *containers = g_build_filename (dir, build, "containers", NULL);
      g_autoptr (GDir) d = g_dir_open (containers, 0, NULL);
      const char *id;

      while (d && (id = g_dir_read_name (d)))
        {
          g_autofree char *record = g_build_filename (containers, id, "container.json", NULL);
          g_autoptr (JsonParser) parser = json_parser_new ();
          g_autoptr (BerthContainerRec) rec = NULL;

          if (!json_parser_load_from_file (parser, record, NULL))
            continue;
          rec = berth_container_rec_from_json (daemon, json_parser_get_root (parser), NULL);
          if (rec == NULL)
            continue;
          rec->dir = g_build_filename (containers, id, NULL);
          rec->bundle = g_build_filename (daemon->run_dir, "containers", rec->id, NULL);
          g_message ("removing container %.12s of an interrupted build", rec->id);
          berth_container_destroy_sync (rec);
        }
    }
}

/* Mounts (COPY steps' roots) left under @dir, deepest first. */
static void
unmount_below (const char *dir)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *prefix = g_strconcat (dir, "/", NULL);

  if (!g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (gint i = (gint)g_strv_length (lines) - 1; i >= 0; i--)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], " ", 6);

      if (g_strv_length (fields) >= 5 && g_str_has_prefix (fields[4], prefix))
        umount2 (fields[4], MNT_DETACH);
    }
}

/* Parent records (berth_build_parent_path) of images removed since. */
static void
prune_parents (BerthDaemon *daemon)
{
  g_autofree char *dir = g_build_filename (daemon->root, "build-parents", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autoptr (BerthStoreImage) image = berth_store_find_image (daemon->store, name, NULL);
      g_autofree char *path = NULL;

      if (image)
        continue;
      path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
}

/* Layer cache entries whose image was removed since: they can never hit. */
static void
prune_cache (BerthDaemon *daemon)
{
  g_autofree char *dir = g_build_filename (daemon->root, "build-cache", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint removed = 0;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *id = NULL;
      g_autoptr (BerthStoreImage) image = NULL;

      if (g_file_get_contents (path, &id, NULL, NULL))
        image = berth_store_find_image (daemon->store, g_strstrip (id), NULL);
      if (image == NULL && g_unlink (path) == 0)
        removed++;
    }
  if (removed)
    g_message ("build cache: %u entries of removed images dropped", removed);
  prune_parents (daemon);
}

void
berth_manager_builds_connect (BerthDaemon *daemon, BerthManager *manager)
{
  g_autofree char *dir = builds_dir (daemon);
  g_autoptr (GError) error = NULL;

  /* What builds interrupted by a crash or a stop left behind. */
  destroy_lost_containers (daemon, dir);
  unmount_below (dir);
  prune_cache (daemon);
  if (!berth_fs_rm_rf_at (AT_FDCWD, dir, &error))
    g_warning ("cannot clean %s: %s", dir, error->message);
  daemon->builds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_signal_connect (manager, "handle-build-image", G_CALLBACK (handle_build_image), daemon);
}

void
berth_daemon_builds_shutdown (BerthDaemon *daemon)
{
  if (daemon->builds == NULL)
    return;
  berth_daemon_cancel_and_wait (daemon->builds, G_STRUCT_OFFSET (Build, cancellable));
  g_clear_pointer (&daemon->builds, g_hash_table_unref);
}
