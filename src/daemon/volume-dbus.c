/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.berth.berth1.Volume objects, one per volume in the store, and
 * which containers use which volume. */
#include "config.h"

#include "berth-error.h"
#include "volume.h"

char *
berth_volume_object_path (const char *name)
{
  g_autofree char *escaped = g_dbus_escape_object_path (name);

  return g_strdup_printf (BERTH_MANAGER_PATH "/volume/%s", escaped);
}

gboolean
berth_daemon_volumes_open (BerthDaemon *daemon, GError **error)
{
  BerthDaemonVolumes *v = g_new0 (BerthDaemonVolumes, 1);
  guint removed = 0;

  v->objects = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  v->reserved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  v->removing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  daemon->volumes = v;
  v->store = berth_volume_store_open (daemon->root, &removed, error);
  if (v->store == NULL)
    return FALSE;
  if (removed > 0)
    g_message ("volumes: %u leftovers of interrupted creations or removals removed", removed);
  return TRUE;
}

void
berth_daemon_volumes_clear (BerthDaemon *daemon)
{
  BerthDaemonVolumes *v = daemon->volumes;
  GHashTableIter iter;
  gpointer value;

  if (v == NULL)
    return;
  /* Their completions run here, in the main context. */
  while (v->jobs > 0)
    g_main_context_iteration (NULL, TRUE);
  g_hash_table_iter_init (&iter, v->objects);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (value));
  g_hash_table_unref (v->objects);
  g_hash_table_unref (v->reserved);
  g_hash_table_unref (v->removing);
  g_clear_pointer (&v->store, berth_volume_store_free);
  g_clear_pointer (&daemon->volumes, g_free);
}

guint
berth_daemon_volumes_count (BerthDaemon *daemon)
{
  return daemon->volumes ? g_hash_table_size (daemon->volumes->objects) : 0;
}

static gint
by_created (gconstpointer a, gconstpointer b)
{
  const BerthContainerRec *x = *(BerthContainerRec *const *)a;
  const BerthContainerRec *y = *(BerthContainerRec *const *)b;

  return x->created < y->created ? -1 : x->created > y->created ? 1 : g_strcmp0 (x->id, y->id);
}

/* Containers still being created are not looked at: their mounts belong to
 * the worker thread until then, and their volumes are reserved instead. */
GPtrArray *
berth_daemon_volume_users (BerthDaemon *daemon, const char *name)
{
  GPtrArray *users = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  if (daemon->containers == NULL)
    return users;
  g_hash_table_iter_init (&iter, daemon->containers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      BerthContainerRec *rec = value;

      if (rec->skeleton == NULL || rec->state == BERTH_CONTAINER_REMOVING)
        continue;
      for (guint i = 0; i < rec->mounts->len; i++)
        {
          BerthContainerMount *m = rec->mounts->pdata[i];
          if (g_str_equal (m->type, "volume") && g_strcmp0 (m->name, name) == 0)
            {
              g_ptr_array_add (users, rec);
              break;
            }
        }
    }
  g_ptr_array_sort (users, by_created);
  return users;
}

gboolean
berth_daemon_volume_check_unused (BerthDaemon *daemon, const char *name, GError **error)
{
  g_autoptr (GPtrArray) users = berth_daemon_volume_users (daemon, name);
  g_autoptr (GString) names = g_string_new (NULL);

  if (users->len == 0 && !g_hash_table_contains (daemon->volumes->reserved, name))
    return TRUE;
  if (users->len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_IN_USE,
                   "volume %s is in use by a container being created", name);
      return FALSE;
    }
  for (guint i = 0; i < users->len; i++)
    {
      BerthContainerRec *rec = users->pdata[i];
      g_string_append_printf (names, "%s%s (%.12s)", i ? ", " : "", rec->name, rec->id);
    }
  g_set_error (
    error, BERTH_ERROR, BERTH_ERROR_IN_USE, "volume %s is in use by %s %s; remove %s first", name,
    users->len == 1 ? "container" : "containers", names->str, users->len == 1 ? "it" : "them");
  return FALSE;
}

static GVariant *
labels_variant (GHashTable *labels)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (labels), (GCompareFunc)g_strcmp0);

  for (GList *l = keys; l; l = l->next)
    g_variant_builder_add (&b, "{ss}", (char *)l->data,
                           (char *)g_hash_table_lookup (labels, l->data));
  return g_variant_builder_end (&b);
}

static void
set_used_by (BerthDaemon *daemon, BerthVolume *skeleton, const char *name)
{
  g_autoptr (GPtrArray) users = berth_daemon_volume_users (daemon, name);
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  const char *const *old = berth_volume_get_used_by (skeleton);

  for (guint i = 0; i < users->len; i++)
    g_ptr_array_add (ids, ((BerthContainerRec *)users->pdata[i])->id);
  g_ptr_array_add (ids, NULL);
  /* Only a change goes out as PropertiesChanged. */
  if (old == NULL || !g_strv_equal (old, (const char *const *)ids->pdata))
    berth_volume_set_used_by (skeleton, (const char *const *)ids->pdata);
}

void
berth_daemon_volumes_sync (BerthDaemon *daemon, gboolean emit)
{
  BerthDaemonVolumes *v = daemon->volumes;
  g_autoptr (GPtrArray) list = NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;

  if (v == NULL || v->store == NULL)
    return;
  list = berth_volume_store_list (v->store);
  for (guint i = 0; i < list->len; i++)
    {
      BerthVolumeInfo *info = list->pdata[i];
      BerthVolume *skeleton = g_hash_table_lookup (v->objects, info->name);
      g_autofree char *path = NULL;
      g_autoptr (GError) error = NULL;

      g_hash_table_add (seen, info->name);
      if (skeleton)
        {
          set_used_by (daemon, skeleton, info->name);
          continue;
        }
      path = berth_volume_object_path (info->name);
      skeleton = berth_volume_skeleton_new ();
      berth_volume_set_name (skeleton, info->name);
      berth_volume_set_mountpoint (skeleton, info->mountpoint);
      berth_volume_set_created (skeleton, (guint64)MAX (info->created, 0));
      berth_volume_set_labels (skeleton, labels_variant (info->labels));
      berth_volume_set_anonymous (skeleton, info->anonymous);
      set_used_by (daemon, skeleton, info->name);
      berth_daemon_authorize_skeleton (daemon, G_DBUS_INTERFACE_SKELETON (skeleton));
      if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), daemon->bus,
                                             path, &error))
        {
          g_warning ("cannot export volume %s: %s", info->name, error->message);
          g_object_unref (skeleton);
          continue;
        }
      g_hash_table_insert (v->objects, g_strdup (info->name), skeleton);
      if (emit)
        berth_manager_emit_volume_added (daemon->manager, info->name, path);
    }

  g_hash_table_iter_init (&iter, v->objects);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree char *name = NULL;
      g_autofree char *path = NULL;

      if (g_hash_table_contains (seen, key))
        continue;
      name = g_strdup (key);
      path = berth_volume_object_path (name);
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (value));
      g_hash_table_iter_remove (&iter);
      if (emit)
        berth_manager_emit_volume_removed (daemon->manager, name, path);
    }
}
