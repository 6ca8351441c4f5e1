/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-digest.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "daemon.h"

struct _BerthImageInfo
{
  BerthStoreImage *image;
  BerthImageConfig *config; /* NULL when it could not be read */
  guint64 *layer_sizes;     /* one per layer */
};

static void
image_info_free (BerthImageInfo *info)
{
  berth_store_image_free (info->image);
  berth_image_config_free (info->config);
  g_free (info->layer_sizes);
  g_free (info);
}

char *
berth_image_object_path (const char *id)
{
  return g_strdup_printf (BERTH_MANAGER_PATH "/image/%s", berth_digest_hex (id));
}

GPtrArray *
berth_image_infos_collect (BerthStore *store)
{
  g_autoptr (GPtrArray) images = berth_store_list_images (store);
  GPtrArray *infos = g_ptr_array_new_with_free_func ((GDestroyNotify)image_info_free);

  for (guint i = 0; i < images->len; i++)
    {
      BerthImageInfo *info = g_new0 (BerthImageInfo, 1);
      g_autoptr (GError) error = NULL;
      g_autofree char *data = NULL;
      gsize len;
      guint n;

      info->image = berth_store_image_copy (g_ptr_array_index (images, i));
      if (berth_store_read_blob (store, info->image->id, BERTH_MANIFEST_MAX_SIZE, &data, &len,
                                 &error))
        info->config = berth_image_config_parse (data, len, &error);
      if (info->config == NULL)
        g_warning ("image %s: cannot read its config: %s", info->image->id, error->message);
      n = g_strv_length (info->image->chain_ids);
      info->layer_sizes = g_new0 (guint64, n + 1);
      for (guint j = 0; j < n; j++)
        berth_store_layer_size (store, info->image->chain_ids[j], &info->layer_sizes[j], NULL);
      g_ptr_array_add (infos, info);
    }
  return infos;
}

static GVariant *
labels_variant (BerthImageConfig *config)
{
  GVariantBuilder b;
  g_autofree gpointer *keys = NULL;
  guint n = 0;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{ss}"));
  if (config)
    {
      keys = g_hash_table_get_keys_as_array (config->labels, &n);
      for (guint i = 0; i < n; i++)
        g_variant_builder_add (&b, "{ss}", (char *)keys[i],
                               (char *)g_hash_table_lookup (config->labels, keys[i]));
    }
  return g_variant_builder_end (&b);
}

static GVariant *
history_variant (BerthImageInfo *info)
{
  GVariantBuilder b;
  guint layer = 0;
  guint n_layers = g_strv_length (info->image->chain_ids);

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(tsstb)"));
  for (guint i = 0; info->config && i < info->config->history->len; i++)
    {
      BerthHistoryEntry *h = g_ptr_array_index (info->config->history, i);
      guint64 size = 0;

      if (!h->empty_layer && layer < n_layers)
        size = info->layer_sizes[layer++];
      g_variant_builder_add (&b, "(tsstb)", (guint64)MAX (h->created, 0),
                             h->created_by ? h->created_by : "", h->comment ? h->comment : "", size,
                             h->empty_layer);
    }
  return g_variant_builder_end (&b);
}

static void
update_skeleton (BerthImage *skeleton, BerthImageInfo *info)
{
  BerthStoreImage *image = info->image;

  /* Setting an unchanged value emits nothing; only changes go out. */
  berth_image_set_id (skeleton, image->id);
  berth_image_set_names (skeleton, (const char *const *)image->names);
  berth_image_set_digest (skeleton, image->manifest_digest);
  berth_image_set_created (skeleton, MAX (image->created, 0));
  berth_image_set_size (skeleton, image->size);
  berth_image_set_layers (skeleton, (const char *const *)image->diff_ids);
  berth_image_set_labels (skeleton, labels_variant (info->config));
  berth_image_set_config (skeleton, info->config ? info->config->json : "{}");
  berth_image_set_history (skeleton, history_variant (info));
}

void
berth_daemon_images_apply (BerthDaemon *daemon, GPtrArray *infos, gboolean emit)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < infos->len; i++)
    {
      BerthImageInfo *info = g_ptr_array_index (infos, i);
      BerthImage *skeleton = g_hash_table_lookup (daemon->images, info->image->id);
      g_autofree char *path = berth_image_object_path (info->image->id);
      g_autoptr (GError) error = NULL;

      g_hash_table_add (seen, info->image->id);
      if (skeleton)
        {
          update_skeleton (skeleton, info);
          continue;
        }
      skeleton = berth_image_skeleton_new ();
      update_skeleton (skeleton, info);
      berth_daemon_authorize_skeleton (daemon, G_DBUS_INTERFACE_SKELETON (skeleton));
      if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (skeleton), daemon->bus,
                                             path, &error))
        {
          g_warning ("cannot export image %s: %s", info->image->id, error->message);
          g_object_unref (skeleton);
          continue;
        }
      g_hash_table_insert (daemon->images, g_strdup (info->image->id), skeleton);
      if (emit)
        berth_manager_emit_image_added (daemon->manager, info->image->id, path);
    }

  g_hash_table_iter_init (&iter, daemon->images);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_autofree char *id = NULL;
      g_autofree char *path = NULL;

      if (g_hash_table_contains (seen, key))
        continue;
      id = g_strdup (key);
      path = berth_image_object_path (id);
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (value));
      g_hash_table_iter_remove (&iter);
      if (emit)
        berth_manager_emit_image_removed (daemon->manager, id, path);
    }
}

void
berth_daemon_images_clear (BerthDaemon *daemon)
{
  GHashTableIter iter;
  gpointer value;

  if (daemon->images == NULL)
    return;
  g_hash_table_iter_init (&iter, daemon->images);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (value));
  g_clear_pointer (&daemon->images, g_hash_table_unref);
}
