/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's volume methods. Creating and removing touch the disk (a
 * removal may delete gigabytes), so they run in worker threads; what is in
 * use is decided here, in the main thread, which owns the containers. */
#include "config.h"

#include "berth-error.h"
#include "volume.h"

static void
return_error (GDBusMethodInvocation *invocation, GError *error)
{
  g_dbus_method_invocation_return_gerror (invocation, error);
}

/* --- CreateVolume --------------------------------------------------------------- */

typedef struct
{
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  char *name; /* NULL: anonymous */
  GHashTable *labels;
  BerthVolumeInfo *info;
  gboolean created;
} CreateVolumeJob;

static void
create_volume_job_free (CreateVolumeJob *job)
{
  g_clear_object (&job->invocation);
  g_free (job->name);
  g_hash_table_unref (job->labels);
  berth_volume_info_free (job->info);
  g_free (job);
}

static void
create_volume_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CreateVolumeJob *job = task_data;
  GError *error = NULL;

  job->info = berth_volume_store_create (job->daemon->volumes->store, job->name, job->labels,
                                         job->name == NULL, NULL, NULL, &job->created, &error);
  if (job->info == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_volume_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CreateVolumeJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  job->daemon->volumes->jobs--;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      return_error (job->invocation, error);
      return;
    }
  if (job->created)
    g_message ("volume %s created", job->info->name);
  berth_daemon_volumes_sync (job->daemon, TRUE);
  path = berth_volume_object_path (job->info->name);
  berth_manager_complete_create_volume (job->daemon->manager, job->invocation, path);
}

static gboolean
handle_create_volume (BerthManager *manager, GDBusMethodInvocation *invocation, const char *name,
                      GVariant *options, BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GTask) task = NULL;
  g_autoptr (GHashTable) labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  CreateVolumeJob *job;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (g_str_equal (key, "labels") && g_variant_is_of_type (value, G_VARIANT_TYPE ("a{ss}")))
        {
          GVariantIter li;
          const char *k, *val;

          g_variant_iter_init (&li, value);
          while (g_variant_iter_next (&li, "{&s&s}", &k, &val))
            g_hash_table_insert (labels, g_strdup (k), g_strdup (val));
        }
      else if (g_str_equal (key, "labels"))
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "option \"labels\" must be of type a{ss}, not %s",
                     g_variant_get_type_string (value));
      else
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "unknown volume option \"%s\"", key);
      g_variant_unref (value);
    }
  if (error == NULL && *name != '\0')
    berth_volume_name_validate (name, &error);
  if (error == NULL && g_hash_table_contains (daemon->volumes->removing, name))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                 "volume %s is being removed; try again once it is gone", name);
  if (error)
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  job = g_new0 (CreateVolumeJob, 1);
  job->daemon = daemon;
  job->invocation = g_object_ref (invocation);
  job->name = *name ? g_strdup (name) : NULL;
  job->labels = g_steal_pointer (&labels);
  daemon->volumes->jobs++;
  task = g_task_new (NULL, NULL, on_volume_created, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify)create_volume_job_free);
  g_task_run_in_thread (task, create_volume_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- ListVolumes, GetVolume ------------------------------------------------------- */

static gboolean
handle_list_volumes (BerthManager *manager, GDBusMethodInvocation *invocation, BerthDaemon *daemon)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sstbaso)"));
  g_autoptr (GPtrArray) list = berth_volume_store_list (daemon->volumes->store);

  for (guint i = 0; i < list->len; i++)
    {
      BerthVolumeInfo *info = list->pdata[i];
      g_autoptr (GPtrArray) users = berth_daemon_volume_users (daemon, info->name);
      g_autofree char *path = berth_volume_object_path (info->name);
      g_auto (GVariantBuilder) ids = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("as"));

      for (guint j = 0; j < users->len; j++)
        g_variant_builder_add (&ids, "s", ((BerthContainerRec *)users->pdata[j])->id);
      g_variant_builder_add (&b, "(sstbaso)", info->name, info->mountpoint,
                             (guint64)MAX (info->created, 0), info->anonymous, &ids, path);
    }
  berth_manager_complete_list_volumes (manager, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_volume (BerthManager *manager, GDBusMethodInvocation *invocation, const char *name,
                   BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthVolumeInfo) info
    = berth_volume_store_lookup (daemon->volumes->store, name, &error);
  g_autofree char *path = NULL;

  if (info == NULL)
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = berth_volume_object_path (name);
  berth_manager_complete_get_volume (manager, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- RemoveVolume, PruneVolumes ----------------------------------------------------- */

typedef struct
{
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  gboolean prune;
  GPtrArray *names;   /* to remove; marked as removing meanwhile */
  GPtrArray *removed; /* by the thread */
} RemoveJob;

static void
remove_job_free (RemoveJob *job)
{
  g_clear_object (&job->invocation);
  g_ptr_array_unref (job->names);
  g_ptr_array_unref (job->removed);
  g_free (job);
}

static void
remove_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  RemoveJob *job = task_data;
  GError *first = NULL;

  for (guint i = 0; i < job->names->len; i++)
    {
      GError *error = NULL;

      if (berth_volume_store_remove (job->daemon->volumes->store, job->names->pdata[i], &error))
        g_ptr_array_add (job->removed, g_strdup (job->names->pdata[i]));
      else if (first == NULL)
        first = error;
      else
        g_error_free (error);
    }
  if (first)
    g_task_return_error (task, first);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_removed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RemoveJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  job->daemon->volumes->jobs--;
  for (guint i = 0; i < job->names->len; i++)
    g_hash_table_remove (job->daemon->volumes->removing, job->names->pdata[i]);
  for (guint i = 0; i < job->removed->len; i++)
    g_message ("volume %s removed", (char *)job->removed->pdata[i]);
  berth_daemon_volumes_sync (job->daemon, TRUE);
  if (!ok)
    return_error (job->invocation, error);
  else if (job->prune)
    {
      g_ptr_array_add (job->removed, NULL);
      berth_manager_complete_prune_volumes (job->daemon->manager, job->invocation,
                                            (const char *const *)job->removed->pdata);
    }
  else
    berth_manager_complete_remove_volume (job->daemon->manager, job->invocation);
}

static void
start_removal (BerthDaemon *daemon, GDBusMethodInvocation *invocation, GPtrArray *names,
               gboolean prune)
{
  RemoveJob *job = g_new0 (RemoveJob, 1);
  g_autoptr (GTask) task = g_task_new (NULL, NULL, on_removed, NULL);

  job->daemon = daemon;
  job->invocation = g_object_ref (invocation);
  job->names = names;
  job->removed = g_ptr_array_new_with_free_func (g_free);
  job->prune = prune;
  for (guint i = 0; i < names->len; i++)
    g_hash_table_add (daemon->volumes->removing, g_strdup (names->pdata[i]));
  g_task_set_task_data (task, job, (GDestroyNotify)remove_job_free);
  daemon->volumes->jobs++;
  g_task_run_in_thread (task, remove_thread);
}

static gboolean
handle_remove_volume (BerthManager *manager, GDBusMethodInvocation *invocation, const char *name,
                      gboolean force, BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthVolumeInfo) info
    = berth_volume_store_lookup (daemon->volumes->store, name, &error);
  GPtrArray *names;

  if (info == NULL && force && g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_VOLUME))
    {
      berth_manager_complete_remove_volume (manager, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (info == NULL || !berth_daemon_volume_check_unused (daemon, name, &error))
    {
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (g_hash_table_contains (daemon->volumes->removing, name))
    {
      g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                   "volume %s is being removed already", name);
      return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (names, g_strdup (name));
  start_removal (daemon, invocation, names, FALSE);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_prune_volumes (BerthManager *manager, GDBusMethodInvocation *invocation, BerthDaemon *daemon)
{
  g_autoptr (GPtrArray) list = berth_volume_store_list (daemon->volumes->store);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < list->len; i++)
    {
      BerthVolumeInfo *info = list->pdata[i];

      if (!g_hash_table_contains (daemon->volumes->removing, info->name)
          && berth_daemon_volume_check_unused (daemon, info->name, NULL))
        g_ptr_array_add (names, g_strdup (info->name));
    }
  start_removal (daemon, invocation, names, TRUE);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
berth_manager_volumes_connect (BerthDaemon *daemon, BerthManager *manager)
{
  g_signal_connect (manager, "handle-create-volume", G_CALLBACK (handle_create_volume), daemon);
  g_signal_connect (manager, "handle-list-volumes", G_CALLBACK (handle_list_volumes), daemon);
  g_signal_connect (manager, "handle-get-volume", G_CALLBACK (handle_get_volume), daemon);
  g_signal_connect (manager, "handle-remove-volume", G_CALLBACK (handle_remove_volume), daemon);
  g_signal_connect (manager, "handle-prune-volumes", G_CALLBACK (handle_prune_volumes), daemon);
}
