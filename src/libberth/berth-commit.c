/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-commit.h"
#include "berth-error.h"
#include "berth-host.h"
#include "berth-json.h"
#include "berth-manifest.h"
#include "berth-reference.h"

#include <string.h>

JsonObject *
berth_commit_get_image_config (BerthStore *store, const char *image, GError **error)
{
  g_autoptr (BerthStoreImage) found = berth_store_find_image (store, image, error);
  g_autofree char *data = NULL;
  JsonObject *config;
  gsize len;

  if (found == NULL)
    return NULL;
  if (!berth_store_read_blob (store, found->id, BERTH_MANIFEST_MAX_SIZE, &data, &len, error))
    return NULL;
  config = berth_json_parse_object (data, len, NULL);
  if (config == NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "the config of image %s is damaged",
                 found->id);
  return config;
}

JsonObject *
berth_commit_get_run_config (BerthStore *store, const char *image, GError **error)
{
  g_autoptr (JsonObject) doc = berth_commit_get_image_config (store, image, error);
  JsonNode *run;

  if (doc == NULL)
    return NULL;
  run = json_object_get_member (doc, "config");
  if (run && JSON_NODE_HOLDS_OBJECT (run))
    {
      g_autoptr (JsonNode) copy = json_node_copy (run);

      return json_object_ref (json_node_get_object (copy));
    }
  return json_object_new ();
}

static char *
format_time (gint64 when)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (when);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

static JsonObject *
history_entry (const BerthCommitOptions *options, const char *when, gboolean empty_layer)
{
  JsonObject *entry = json_object_new ();

  json_object_set_string_member (entry, "created", when);
  if (options->created_by)
    json_object_set_string_member (entry, "created_by", options->created_by);
  if (options->author)
    json_object_set_string_member (entry, "author", options->author);
  if (options->comment)
    json_object_set_string_member (entry, "comment", options->comment);
  if (empty_layer)
    json_object_set_boolean_member (entry, "empty_layer", TRUE);
  return entry;
}

/* The new config document: the parent's (or a minimal one) with the
 * run config, time, author, layers and one more history entry. */
static char *
make_config (JsonObject *parent_doc, const BerthCommitOptions *options, char **diff_ids,
             const char *new_diff_id, gsize *out_len)
{
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *when
    = format_time (options->created ? options->created : g_get_real_time () / G_USEC_PER_SEC);
  JsonObject *doc;
  JsonObject *rootfs = json_object_new ();
  JsonArray *ids = json_array_new ();
  JsonArray *history;

  if (parent_doc)
    {
      g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

      json_node_set_object (node, parent_doc);
      root = json_node_copy (node);
    }
  else
    {
      root = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (root, json_object_new ());
    }
  doc = json_node_get_object (root);
  if (!json_object_has_member (doc, "architecture"))
    json_object_set_string_member (doc, "architecture", berth_host_oci_arch ());
  if (!json_object_has_member (doc, "os"))
    json_object_set_string_member (doc, "os", "linux");
  /* Docker's record of the container that made the parent: not this one. */
  json_object_remove_member (doc, "container");
  json_object_remove_member (doc, "container_config");

  json_object_set_string_member (doc, "created", when);
  if (options->author)
    json_object_set_string_member (doc, "author", options->author);
  if (options->config)
    json_object_set_object_member (doc, "config", json_object_ref (options->config));
  else if (!json_object_has_member (doc, "config"))
    json_object_set_object_member (doc, "config", json_object_new ());

  for (guint i = 0; diff_ids && diff_ids[i]; i++)
    json_array_add_string_element (ids, diff_ids[i]);
  if (new_diff_id)
    json_array_add_string_element (ids, new_diff_id);
  json_object_set_string_member (rootfs, "type", "layers");
  json_object_set_array_member (rootfs, "diff_ids", ids);
  json_object_set_object_member (doc, "rootfs", rootfs);

  if (json_object_has_member (doc, "history")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (doc, "history")))
    history = json_object_get_array_member (doc, "history");
  else
    {
      history = json_array_new ();
      json_object_set_array_member (doc, "history", history);
    }
  json_array_add_object_element (history, history_entry (options, when, new_diff_id == NULL));

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, out_len);
}

/* The parent's layer descriptors, in OCI media types. */
static gboolean
add_parent_layers (BerthStore *store, const BerthStoreImage *parent, BerthManifest *manifest,
                   GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (BerthManifest) parent_manifest = NULL;
  gsize len;

  if (!berth_store_read_blob (store, parent->manifest_digest, BERTH_MANIFEST_MAX_SIZE, &data, &len,
                              error))
    return FALSE;
  parent_manifest = berth_manifest_parse (data, len, error);
  if (parent_manifest == NULL)
    return FALSE;
  for (guint i = 0; i < parent_manifest->layers->len; i++)
    {
      const BerthDescriptor *layer = g_ptr_array_index (parent_manifest->layers, i);
      g_autoptr (BerthDescriptor) copy = NULL;
      BerthCompression compression;

      if (!berth_media_type_layer_compression (layer->media_type, &compression))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "layer %s of image %s has the media type %s, which berth cannot build on",
                       layer->digest, parent->id, layer->media_type);
          return FALSE;
        }
      copy = berth_descriptor_new (berth_media_type_for_compression (compression), layer->digest,
                                   layer->size);
      berth_manifest_add_layer (manifest, copy);
    }
  return TRUE;
}

static gboolean
check_names (const char *const *names, GError **error)
{
  for (guint i = 0; names && names[i]; i++)
    {
      g_autoptr (BerthReference) ref = berth_reference_parse_normalized (names[i], error);

      if (ref == NULL)
        return FALSE;
      if (ref->digest)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "cannot name an image \"%s\": a name has a tag, not a digest", names[i]);
          return FALSE;
        }
    }
  return TRUE;
}

BerthStoreImage *
berth_commit_image (BerthStore *store, const BerthCommitOptions *options, GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (BerthStoreImage) parent = NULL;
  g_autoptr (JsonObject) parent_doc = NULL;
  g_auto (BerthUnpackResult) layer = { 0 };
  g_autofree char *chain_id = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_digest = NULL;
  g_autofree char *manifest_json = NULL;
  g_autofree char *manifest_digest = NULL;
  g_autoptr (BerthDescriptor) config_desc = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_auto (GStrv) excludes = NULL;
  BerthStoreImage *image = NULL;
  gsize config_len, manifest_len;

  if (!check_names (options->names, error))
    return NULL;
  excludes = berth_layer_diff_normalize_paths (options->excludes, error);
  if (excludes == NULL)
    return NULL;
  if (options->parent)
    {
      parent = berth_store_find_image (store, options->parent, error);
      if (parent == NULL)
        return NULL;
      parent_doc = berth_commit_get_image_config (store, parent->id, error);
      if (parent_doc == NULL)
        return NULL;
    }

  berth_store_begin_write (store);
  if (options->upper_dirfd >= 0)
    {
      BerthLayerDiffOptions diff_options = BERTH_LAYER_DIFF_OPTIONS_INIT;
      const char *parent_chain = NULL;

      if (parent && parent->chain_ids && parent->chain_ids[0])
        parent_chain = parent->chain_ids[g_strv_length (parent->chain_ids) - 1];
      diff_options.flags = options->layer_flags;
      diff_options.excludes = (const char *const *)excludes;
      if (!berth_store_commit_tree (store, options->upper_dirfd, parent_chain, &diff_options,
                                    &layer, &chain_id, cancellable, error))
        goto out;
    }

  config = make_config (parent_doc, options, parent ? parent->diff_ids : NULL, layer.diff_id,
                        &config_len);
  if (!berth_store_write_blob (store, config, config_len, NULL, &config_digest, error))
    goto out;
  config_desc = berth_descriptor_new (BERTH_MEDIA_OCI_CONFIG, config_digest, config_len);
  manifest = berth_manifest_new_image (config_desc);
  if (parent && !add_parent_layers (store, parent, manifest, error))
    goto out;
  if (layer.diff_id)
    {
      g_autoptr (BerthDescriptor) desc
        = berth_descriptor_new (BERTH_MEDIA_OCI_LAYER, layer.digest, layer.size);

      berth_manifest_add_layer (manifest, desc);
    }
  manifest_json = berth_manifest_to_json (manifest, &manifest_len);
  if (!berth_store_write_blob (store, manifest_json, manifest_len, NULL, &manifest_digest, error))
    goto out;
  image = berth_store_add_image (store, manifest_digest, options->names, error);

out:
  berth_store_end_write (store);
  return image;
}
