/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's image methods. Everything that touches the disk runs in a
 * GTask worker thread; the main loop only starts jobs and, when they end,
 * updates the Image objects and answers the caller. */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-archive.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-reference.h"
#include "build.h"
#include "daemon.h"

typedef enum
{
  JOB_IMPORT,
  JOB_LOAD,
  JOB_SAVE,
  JOB_REMOVE,
  JOB_TAG,
} JobKind;

typedef struct
{
  JobKind kind;
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  int fd;
  char *reference; /* import: the name; remove/tag: the image */
  char *target;    /* tag */
  char **references;
  BerthArchiveFormat format;
  gboolean force;
  /* results */
  char *id;
  GPtrArray *ids;
  gboolean deleted;
  GPtrArray *infos;
} Job;

static void
job_free (Job *job)
{
  berth_close_fdp (&job->fd);
  g_clear_object (&job->invocation);
  g_free (job->reference);
  g_free (job->target);
  g_strfreev (job->references);
  g_free (job->id);
  g_clear_pointer (&job->ids, g_ptr_array_unref);
  g_clear_pointer (&job->infos, g_ptr_array_unref);
  g_free (job);
}

static Job *
job_new (JobKind kind, BerthDaemon *daemon, GDBusMethodInvocation *invocation)
{
  Job *job = g_new0 (Job, 1);

  job->kind = kind;
  job->daemon = daemon;
  job->invocation = g_object_ref (invocation);
  job->fd = -1;
  return job;
}

static void
job_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  BerthStore *store = job->daemon->store;
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;
  pid_t tid = syscall (SYS_gettid);

  /* Layer work yields the CPU to the main loop, so that berthd keeps
   * answering while it unpacks (nice is per thread on Linux). */
  setpriority (PRIO_PROCESS, tid, 10);

  switch (job->kind)
    {
    case JOB_IMPORT:
      {
        g_autoptr (BerthStoreImage) image = berth_store_import_rootfs (
          store, job->fd, *job->reference ? job->reference : NULL, cancellable, &error);

        if (image)
          {
            job->id = g_strdup (image->id);
            g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "IMAGE_ID", image->id,
                              "IMAGE_NAME", job->reference, "MESSAGE", "imported image %s%s%s",
                              image->id, *job->reference ? " as " : "", job->reference);
            ok = TRUE;
          }
        break;
      }
    case JOB_LOAD:
      job->ids = berth_archive_load (store, job->fd, cancellable, &error);
      if (job->ids)
        {
          g_message ("loaded %u image%s", job->ids->len, job->ids->len == 1 ? "" : "s");
          ok = TRUE;
        }
      break;
    case JOB_SAVE:
      ok = berth_archive_save (store, (const char *const *)job->references, job->format, job->fd,
                               cancellable, &error);
      break;
    case JOB_REMOVE:
      ok = berth_store_remove_image (store, job->reference, job->force, &job->id, &job->deleted,
                                     &error);
      if (ok)
        g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "IMAGE_ID", job->id, "IMAGE_NAME",
                          job->reference, "MESSAGE", "%s image %s (%s)",
                          job->deleted ? "removed" : "untagged", job->id, job->reference);
      break;
    case JOB_TAG:
      ok = berth_store_tag_image (store, job->reference, job->target, &error);
      break;
    }

  /* What the Image objects show afterwards, read here off the main loop. */
  job->infos = berth_image_infos_collect (store);
  /* The thread goes back to GLib's pool; leave it as it was found (as
   * root; otherwise it stays nice, which is harmless). */
  setpriority (PRIO_PROCESS, tid, 0);
  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  berth_daemon_images_apply (job->daemon, job->infos, TRUE);
  if (!g_task_propagate_boolean (task, &error))
    {
      g_dbus_method_invocation_return_gerror (job->invocation, error);
      return;
    }

  switch (job->kind)
    {
    case JOB_IMPORT:
      {
        g_autofree char *path = berth_image_object_path (job->id);

        berth_manager_complete_import_image (job->daemon->manager, job->invocation, NULL, path);
        break;
      }
    case JOB_LOAD:
      {
        g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

        for (guint i = 0; i < job->ids->len; i++)
          g_ptr_array_add (paths, berth_image_object_path (g_ptr_array_index (job->ids, i)));
        g_ptr_array_add (paths, NULL);
        berth_manager_complete_load_images (job->daemon->manager, job->invocation, NULL,
                                            (const char *const *)paths->pdata);
        break;
      }
    case JOB_SAVE:
      berth_manager_complete_save_images (job->daemon->manager, job->invocation, NULL);
      break;
    case JOB_REMOVE:
      berth_manager_complete_remove_image (job->daemon->manager, job->invocation, job->id,
                                           job->deleted);
      break;
    case JOB_TAG:
      berth_manager_complete_tag_image (job->daemon->manager, job->invocation);
      break;
    }
}

static void
job_start (Job *job)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, job_done, NULL);

  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  g_task_run_in_thread (task, job_thread);
}

static gboolean
take_fd (GDBusMethodInvocation *invocation, GUnixFDList *fd_list, GVariant *handle, int *out_fd)
{
  g_autoptr (GError) error = NULL;

  *out_fd = berth_daemon_take_fd (fd_list, handle, "the archive", &error);
  if (*out_fd < 0)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_options (GDBusMethodInvocation *invocation, GVariant *options, const char *const *known,
               const GVariantType *const *types)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      gboolean ok = FALSE;

      for (guint i = 0; known && known[i]; i++)
        if (g_str_equal (key, known[i]))
          {
            if (!g_variant_is_of_type (value, types[i]))
              {
                g_dbus_method_invocation_return_error (
                  invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                  "option \"%s\" must be of type %s, not %s", key,
                  g_variant_type_peek_string (types[i]), g_variant_get_type_string (value));
                g_variant_unref (value);
                return FALSE;
              }
            ok = TRUE;
          }
      g_variant_unref (value);
      if (!ok)
        {
          g_dbus_method_invocation_return_error (
            invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "unknown option \"%s\" for %s",
            key, g_dbus_method_invocation_get_method_name (invocation));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
handle_import (BerthManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
               GVariant *handle, const char *reference, GVariant *options, BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  Job *job;

  if (!check_options (invocation, options, NULL, NULL))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (*reference)
    {
      g_autoptr (BerthReference) ref = berth_reference_parse (reference, &error);

      if (ref == NULL)
        {
          g_dbus_method_invocation_return_gerror (invocation, error);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
    }
  job = job_new (JOB_IMPORT, daemon, invocation);
  if (!take_fd (invocation, fd_list, handle, &job->fd))
    {
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job->reference = g_strdup (reference);
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_load (BerthManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
             GVariant *handle, GVariant *options, BerthDaemon *daemon)
{
  Job *job;

  if (!check_options (invocation, options, NULL, NULL))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  job = job_new (JOB_LOAD, daemon, invocation);
  if (!take_fd (invocation, fd_list, handle, &job->fd))
    {
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_save (BerthManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
             const char *const *references, GVariant *handle, GVariant *options,
             BerthDaemon *daemon)
{
  static const char *const known[] = { "format", NULL };
  const GVariantType *const types[] = { G_VARIANT_TYPE_STRING };
  g_autoptr (GError) error = NULL;
  const char *format = "oci";
  Job *job;

  if (!check_options (invocation, options, known, types))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_lookup (options, "format", "&s", &format);
  job = job_new (JOB_SAVE, daemon, invocation);
  if (!berth_archive_format_from_string (format, &job->format, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (references[0] == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "SaveImages needs at least one image");
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!take_fd (invocation, fd_list, handle, &job->fd))
    {
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job->references = g_strdupv ((char **)references);
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
name_matches (const char *pattern, char **names)
{
  for (guint i = 0; names[i]; i++)
    {
      g_autofree char *familiar = berth_reference_familiarize (names[i]);
      g_autofree char *repository = g_strdup (familiar);
      char *colon = strrchr (repository, ':');

      if (colon && strchr (colon, '/') == NULL)
        *colon = '\0';
      if (g_pattern_match_simple (pattern, names[i]) || g_pattern_match_simple (pattern, familiar)
          || g_pattern_match_simple (pattern, repository))
        return TRUE;
    }
  return FALSE;
}

static int
compare_created (gconstpointer a, gconstpointer b)
{
  BerthImage *x = *(BerthImage *const *)a;
  BerthImage *y = *(BerthImage *const *)b;
  guint64 cx = berth_image_get_created (x), cy = berth_image_get_created (y);

  if (cx != cy)
    return cx > cy ? -1 : 1;
  return g_strcmp0 (berth_image_get_id (x), berth_image_get_id (y));
}

static gboolean
handle_list (BerthManager *manager, GDBusMethodInvocation *invocation, GVariant *filters,
             BerthDaemon *daemon)
{
  static const char *const known[] = { "dangling", "reference", "all", NULL };
  const GVariantType *const types[]
    = { G_VARIANT_TYPE_BOOLEAN, G_VARIANT_TYPE_STRING, G_VARIANT_TYPE_BOOLEAN };
  g_autoptr (GHashTable) parents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean all = FALSE;
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  GVariantBuilder b;
  GHashTableIter iter;
  gpointer value;
  gboolean dangling = FALSE, has_dangling;
  const char *pattern = NULL;

  if (!check_options (invocation, filters, known, types))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  has_dangling = g_variant_lookup (filters, "dangling", "b", &dangling);
  g_variant_lookup (filters, "reference", "&s", &pattern);
  g_variant_lookup (filters, "all", "b", &all);

  g_hash_table_iter_init (&iter, daemon->images);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_autofree char *link = NULL;
      g_autofree char *parent = NULL;

      g_ptr_array_add (sorted, value);
      /* The parents of images that exist: intermediate build steps. */
      link = berth_build_parent_path (daemon->root, berth_image_get_id (value));
      if (!all && g_file_get_contents (link, &parent, NULL, NULL))
        g_hash_table_add (parents, g_strstrip (g_steal_pointer (&parent)));
    }
  g_ptr_array_sort (sorted, compare_created);

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(sassxto)"));
  for (guint i = 0; i < sorted->len; i++)
    {
      BerthImage *image = g_ptr_array_index (sorted, i);
      char **names = (char **)berth_image_get_names (image);
      g_autofree char *path = berth_image_object_path (berth_image_get_id (image));

      if (has_dangling && dangling != (names[0] == NULL))
        continue;
      if (pattern && !name_matches (pattern, names))
        continue;
      if (names[0] == NULL && g_hash_table_contains (parents, berth_image_get_id (image)))
        continue;
      g_variant_builder_add (
        &b, "(s^assxto)", berth_image_get_id (image), names, berth_image_get_digest (image),
        (gint64)berth_image_get_created (image), berth_image_get_size (image), path);
    }
  berth_manager_complete_list_images (manager, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get (BerthManager *manager, GDBusMethodInvocation *invocation, const char *what,
            BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = berth_store_find_image (daemon->store, what, &error);
  g_autofree char *path = NULL;

  if (image == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = berth_image_object_path (image->id);
  berth_manager_complete_get_image (manager, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_remove (BerthManager *manager, GDBusMethodInvocation *invocation, const char *what,
               gboolean force, BerthDaemon *daemon)
{
  Job *job = job_new (JOB_REMOVE, daemon, invocation);

  job->reference = g_strdup (what);
  job->force = force;
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_tag (BerthManager *manager, GDBusMethodInvocation *invocation, const char *source,
            const char *target, BerthDaemon *daemon)
{
  Job *job = job_new (JOB_TAG, daemon, invocation);

  job->reference = g_strdup (source);
  job->target = g_strdup (target);
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
berth_manager_images_connect (BerthDaemon *daemon, BerthManager *manager)
{
  g_signal_connect (manager, "handle-import-image", G_CALLBACK (handle_import), daemon);
  g_signal_connect (manager, "handle-load-images", G_CALLBACK (handle_load), daemon);
  g_signal_connect (manager, "handle-save-images", G_CALLBACK (handle_save), daemon);
  g_signal_connect (manager, "handle-list-images", G_CALLBACK (handle_list), daemon);
  g_signal_connect (manager, "handle-get-image", G_CALLBACK (handle_get), daemon);
  g_signal_connect (manager, "handle-remove-image", G_CALLBACK (handle_remove), daemon);
  g_signal_connect (manager, "handle-tag-image", G_CALLBACK (handle_tag), daemon);
}
