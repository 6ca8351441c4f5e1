/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-manifest.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

static gboolean bad (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad (GError **error, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "invalid manifest: %s", why);
  return FALSE;
}

BerthDescriptor *
berth_descriptor_new (const char *media_type, const char *digest, gint64 size)
{
  BerthDescriptor *desc = g_new0 (BerthDescriptor, 1);

  desc->media_type = g_strdup (media_type);
  desc->digest = g_strdup (digest);
  desc->size = size;
  desc->annotations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return desc;
}

BerthDescriptor *
berth_descriptor_copy (const BerthDescriptor *desc)
{
  BerthDescriptor *copy = berth_descriptor_new (desc->media_type, desc->digest, desc->size);
  GHashTableIter iter;
  gpointer k, v;

  copy->artifact_type = g_strdup (desc->artifact_type);
  copy->os = g_strdup (desc->os);
  copy->architecture = g_strdup (desc->architecture);
  copy->variant = g_strdup (desc->variant);
  g_hash_table_iter_init (&iter, desc->annotations);
  while (g_hash_table_iter_next (&iter, &k, &v))
    g_hash_table_insert (copy->annotations, g_strdup (k), g_strdup (v));
  return copy;
}

void
berth_descriptor_free (BerthDescriptor *desc)
{
  if (desc == NULL)
    return;
  g_free (desc->media_type);
  g_free (desc->digest);
  g_free (desc->artifact_type);
  g_free (desc->os);
  g_free (desc->architecture);
  g_free (desc->variant);
  g_hash_table_unref (desc->annotations);
  g_free (desc);
}

gboolean
berth_media_type_is_index (const char *media_type)
{
  return g_strcmp0 (media_type, BERTH_MEDIA_OCI_INDEX) == 0
         || g_strcmp0 (media_type, BERTH_MEDIA_DOCKER_LIST) == 0;
}

gboolean
berth_media_type_is_manifest (const char *media_type)
{
  return berth_media_type_is_index (media_type)
         || g_strcmp0 (media_type, BERTH_MEDIA_OCI_MANIFEST) == 0
         || g_strcmp0 (media_type, BERTH_MEDIA_DOCKER_MANIFEST) == 0;
}

gboolean
berth_media_type_layer_compression (const char *media_type, BerthCompression *out_compression)
{
  static const struct
  {
    const char *type;
    BerthCompression compression;
  } layers[] = {
    { BERTH_MEDIA_OCI_LAYER, BERTH_COMPRESSION_NONE },
    { BERTH_MEDIA_OCI_LAYER_GZIP, BERTH_COMPRESSION_GZIP },
    { BERTH_MEDIA_OCI_LAYER_ZSTD, BERTH_COMPRESSION_ZSTD },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar", BERTH_COMPRESSION_NONE },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", BERTH_COMPRESSION_GZIP },
    { "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", BERTH_COMPRESSION_ZSTD },
    { BERTH_MEDIA_DOCKER_LAYER, BERTH_COMPRESSION_NONE },
    { BERTH_MEDIA_DOCKER_LAYER_GZIP, BERTH_COMPRESSION_GZIP },
    { "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", BERTH_COMPRESSION_GZIP },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (layers); i++)
    if (g_strcmp0 (media_type, layers[i].type) == 0)
      {
        if (out_compression)
          *out_compression = layers[i].compression;
        return TRUE;
      }
  return FALSE;
}

const char *
berth_media_type_for_compression (BerthCompression compression)
{
  switch (compression)
    {
    case BERTH_COMPRESSION_GZIP:
      return BERTH_MEDIA_OCI_LAYER_GZIP;
    case BERTH_COMPRESSION_ZSTD:
      return BERTH_MEDIA_OCI_LAYER_ZSTD;
    case BERTH_COMPRESSION_NONE:
    default:
      return BERTH_MEDIA_OCI_LAYER;
    }
}

static const char *
get_string (JsonObject *object, const char *member, gboolean *ok)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *ok = FALSE;
      return NULL;
    }
  return json_node_get_string (node);
}

static gboolean
parse_annotations (JsonObject *object, GHashTable *into, const char *where, GError **error)
{
  JsonNode *node = json_object_get_member (object, "annotations");
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return bad (error, "%s annotations are not an object", where);
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value))
    {
      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return bad (error, "%s annotation \"%s\" is not a string", where, key);
      g_hash_table_insert (into, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
  return TRUE;
}

static BerthDescriptor *
parse_descriptor (JsonNode *node, const char *where, gboolean need_media_type, GError **error)
{
  g_autoptr (BerthDescriptor) desc = NULL;
  g_autoptr (GError) local_error = NULL;
  JsonObject *object;
  JsonNode *size;
  gboolean ok = TRUE;
  const char *media_type, *digest;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      bad (error, "%s is not an object", where);
      return NULL;
    }
  object = json_node_get_object (node);
  media_type = get_string (object, "mediaType", &ok);
  digest = get_string (object, "digest", &ok);
  if (!ok)
    {
      bad (error, "%s has a mediaType or digest that is not a string", where);
      return NULL;
    }
  if (media_type == NULL && need_media_type)
    {
      bad (error, "%s has no mediaType", where);
      return NULL;
    }
  if (digest == NULL)
    {
      bad (error, "%s has no digest", where);
      return NULL;
    }
  if (!berth_digest_validate (digest, NULL, &local_error))
    {
      bad (error, "%s: %s", where, local_error->message);
      return NULL;
    }
  size = json_object_get_member (object, "size");
  if (size == NULL || !JSON_NODE_HOLDS_VALUE (size)
      || json_node_get_value_type (size) != G_TYPE_INT64 || json_node_get_int (size) < 0)
    {
      bad (error, "%s has no valid size (a non-negative integer)", where);
      return NULL;
    }

  desc = berth_descriptor_new (media_type, digest, json_node_get_int (size));
  desc->artifact_type = g_strdup (get_string (object, "artifactType", &ok));
  if (!ok)
    {
      bad (error, "%s artifactType is not a string", where);
      return NULL;
    }
  if (!parse_annotations (object, desc->annotations, where, error))
    return NULL;

  if (json_object_has_member (object, "platform"))
    {
      JsonNode *platform = json_object_get_member (object, "platform");
      JsonObject *p;

      if (!JSON_NODE_HOLDS_OBJECT (platform))
        {
          bad (error, "%s platform is not an object", where);
          return NULL;
        }
      p = json_node_get_object (platform);
      desc->os = g_strdup (get_string (p, "os", &ok));
      desc->architecture = g_strdup (get_string (p, "architecture", &ok));
      desc->variant = g_strdup (get_string (p, "variant", &ok));
      if (!ok)
        {
          bad (error, "%s platform has a field that is not a string", where);
          return NULL;
        }
    }
  return g_steal_pointer (&desc);
}

static BerthManifest *
manifest_new (BerthManifestKind kind, const char *media_type)
{
  BerthManifest *manifest = g_new0 (BerthManifest, 1);

  manifest->kind = kind;
  manifest->media_type = g_strdup (media_type);
  manifest->layers = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_descriptor_free);
  manifest->manifests = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_descriptor_free);
  manifest->annotations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return manifest;
}

static gboolean
parse_descriptor_array (JsonObject *root, const char *member, GPtrArray *into,
                        gboolean need_media_type, GError **error)
{
  JsonNode *node = json_object_get_member (root, member);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return bad (error, "\"%s\" is missing or not an array", member);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *where = g_strdup_printf ("%s[%u]", member, i);
      BerthDescriptor *desc
        = parse_descriptor (json_array_get_element (array, i), where, need_media_type, error);

      if (desc == NULL)
        return FALSE;
      g_ptr_array_add (into, desc);
    }
  return TRUE;
}

/* "application/json; charset=utf-8" and an absent type say nothing. */
static gboolean
content_type_is_generic (const char *content_type)
{
  return content_type == NULL || *content_type == '\0'
         || g_str_has_prefix (content_type, "application/json")
         || g_str_has_prefix (content_type, "application/octet-stream");
}

/* @strict: what berth itself runs (every layer must be one it can unpack);
 * otherwise what a registry stores (artifacts too; descriptors need a
 * mediaType). */
static BerthManifest *
parse_document (const char *data, gsize len, const char *content_type, gboolean strict,
                GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autofree char *sent_type = NULL;
  g_autoptr (JsonObject) root = NULL;
  JsonNode *version;
  const char *media_type;
  const char *artifact_type;
  gboolean ok = TRUE;
  gboolean is_index;

  if (len > BERTH_MANIFEST_MAX_SIZE)
    {
      bad (error, "%" G_GSIZE_FORMAT " bytes, over the limit of %d", len, BERTH_MANIFEST_MAX_SIZE);
      return NULL;
    }
  root = berth_json_parse_object (data, len, &local_error);
  if (root == NULL)
    {
      bad (error, "%s", local_error->message);
      return NULL;
    }

  version = json_object_get_member (root, "schemaVersion");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_INT64)
    {
      bad (error, "schemaVersion is missing or not a number");
      return NULL;
    }
  if (json_node_get_int (version) != 2)
    {
      g_set_error (error, BERTH_ERROR,
                   strict ? BERTH_ERROR_NOT_SUPPORTED : BERTH_ERROR_INVALID_ARGUMENT,
                   "unsupported manifest schemaVersion %" G_GINT64_FORMAT
                   " (berth reads schema 2 and OCI manifests; schema 1 is not supported)",
                   json_node_get_int (version));
      return NULL;
    }

  media_type = get_string (root, "mediaType", &ok);
  artifact_type = get_string (root, "artifactType", &ok);
  if (!ok)
    {
      bad (error, "mediaType or artifactType is not a string");
      return NULL;
    }

  if (!content_type_is_generic (content_type))
    sent_type = g_strstrip (g_strndup (content_type, strcspn (content_type, ";")));
  if (media_type && sent_type && strcmp (media_type, sent_type) != 0)
    {
      bad (error, "mediaType \"%s\" does not match Content-Type \"%s\"", media_type, sent_type);
      return NULL;
    }
  if (media_type == NULL)
    media_type = sent_type;

  if (media_type == NULL)
    is_index = json_object_has_member (root, "manifests");
  else if (berth_media_type_is_index (media_type))
    is_index = TRUE;
  else if (berth_media_type_is_manifest (media_type))
    is_index = FALSE;
  else
    {
      g_set_error (error, BERTH_ERROR,
                   strict ? BERTH_ERROR_NOT_SUPPORTED : BERTH_ERROR_INVALID_ARGUMENT,
                   "unsupported manifest media type \"%s\"", media_type);
      return NULL;
    }

  if (is_index)
    {
      manifest
        = manifest_new (BERTH_MANIFEST_INDEX, media_type ? media_type : BERTH_MEDIA_OCI_INDEX);
      if (!parse_descriptor_array (root, "manifests", manifest->manifests, !strict, error))
        return NULL;
    }
  else
    {
      JsonNode *config = json_object_get_member (root, "config");

      manifest
        = manifest_new (BERTH_MANIFEST_IMAGE, media_type ? media_type : BERTH_MEDIA_OCI_MANIFEST);
      if (config == NULL)
        {
          bad (error, "an image manifest needs a config");
          return NULL;
        }
      manifest->config = parse_descriptor (config, "config", !strict, error);
      if (manifest->config == NULL)
        return NULL;
      if (!parse_descriptor_array (root, "layers", manifest->layers, !strict, error))
        return NULL;
      for (guint i = 0; strict && i < manifest->layers->len; i++)
        {
          BerthDescriptor *layer = g_ptr_array_index (manifest->layers, i);

          if (!berth_media_type_layer_compression (layer->media_type, NULL))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                           "layer %u (%s) has media type \"%s\", which is not a layer berth can "
                           "unpack",
                           i, layer->digest, layer->media_type ? layer->media_type : "(none)");
              return NULL;
            }
        }
    }
  manifest->artifact_type = g_strdup (artifact_type);
  if (json_object_has_member (root, "subject"))
    {
      manifest->subject
        = parse_descriptor (json_object_get_member (root, "subject"), "subject", !strict, error);
      if (manifest->subject == NULL)
        return NULL;
    }
  if (!parse_annotations (root, manifest->annotations, "manifest", error))
    return NULL;
  return g_steal_pointer (&manifest);
}

BerthManifest *
berth_manifest_parse (const char *data, gsize len, GError **error)
{
  return parse_document (data, len, NULL, TRUE, error);
}

BerthManifest *
berth_manifest_parse_any (const char *data, gsize len, const char *content_type, GError **error)
{
  return parse_document (data, len, content_type, FALSE, error);
}

const char *
berth_manifest_get_annotation (const BerthManifest *manifest, const char *key)
{
  return g_hash_table_lookup (manifest->annotations, key);
}

const char *
berth_manifest_get_artifact_type (const BerthManifest *manifest)
{
  if (manifest->artifact_type)
    return manifest->artifact_type;
  if (manifest->config)
    return manifest->config->media_type;
  return NULL;
}

BerthManifest *
berth_manifest_new_image (const BerthDescriptor *config)
{
  BerthManifest *manifest = manifest_new (BERTH_MANIFEST_IMAGE, BERTH_MEDIA_OCI_MANIFEST);

  manifest->config = berth_descriptor_copy (config);
  return manifest;
}

void
berth_manifest_add_layer (BerthManifest *manifest, const BerthDescriptor *layer)
{
  g_ptr_array_add (manifest->layers, berth_descriptor_copy (layer));
}

static int
compare_keys (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static void
add_annotations (JsonBuilder *b, GHashTable *annotations)
{
  g_autofree gpointer *keys = NULL;
  guint n;

  if (g_hash_table_size (annotations) == 0)
    return;
  /* Sorted, so that the same manifest always has the same digest. */
  keys = g_hash_table_get_keys_as_array (annotations, &n);
  qsort (keys, n, sizeof (gpointer), compare_keys);
  json_builder_set_member_name (b, "annotations");
  json_builder_begin_object (b);
  for (guint i = 0; i < n; i++)
    {
      json_builder_set_member_name (b, keys[i]);
      json_builder_add_string_value (b, g_hash_table_lookup (annotations, keys[i]));
    }
  json_builder_end_object (b);
}

static void
add_descriptor (JsonBuilder *b, const BerthDescriptor *desc)
{
  json_builder_begin_object (b);
  if (desc->media_type)
    {
      json_builder_set_member_name (b, "mediaType");
      json_builder_add_string_value (b, desc->media_type);
    }
  json_builder_set_member_name (b, "digest");
  json_builder_add_string_value (b, desc->digest);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, desc->size);
  add_annotations (b, desc->annotations);
  if (desc->os || desc->architecture)
    {
      json_builder_set_member_name (b, "platform");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "architecture");
      json_builder_add_string_value (b, desc->architecture ? desc->architecture : "");
      json_builder_set_member_name (b, "os");
      json_builder_add_string_value (b, desc->os ? desc->os : "");
      if (desc->variant)
        {
          json_builder_set_member_name (b, "variant");
          json_builder_add_string_value (b, desc->variant);
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

char *
berth_manifest_to_json (const BerthManifest *manifest, gsize *out_len)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  GPtrArray *list = manifest->kind == BERTH_MANIFEST_INDEX ? manifest->manifests : manifest->layers;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schemaVersion");
  json_builder_add_int_value (b, 2);
  json_builder_set_member_name (b, "mediaType");
  json_builder_add_string_value (b, manifest->media_type);
  if (manifest->kind == BERTH_MANIFEST_IMAGE)
    {
      json_builder_set_member_name (b, "config");
      add_descriptor (b, manifest->config);
    }
  json_builder_set_member_name (b, manifest->kind == BERTH_MANIFEST_INDEX ? "manifests" : "layers");
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    add_descriptor (b, g_ptr_array_index (list, i));
  json_builder_end_array (b);
  add_annotations (b, manifest->annotations);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, out_len);
}

void
berth_manifest_free (BerthManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_free (manifest->media_type);
  g_free (manifest->artifact_type);
  berth_descriptor_free (manifest->subject);
  berth_descriptor_free (manifest->config);
  g_ptr_array_unref (manifest->layers);
  g_ptr_array_unref (manifest->manifests);
  g_hash_table_unref (manifest->annotations);
  g_free (manifest);
}

const BerthDescriptor *
berth_manifest_find_platform (const BerthManifest *index, const char *os, const char *architecture,
                              const char *variant)
{
  for (guint i = 0; i < index->manifests->len; i++)
    {
      const BerthDescriptor *desc = g_ptr_array_index (index->manifests, i);

      if (g_strcmp0 (desc->os, os) == 0 && g_strcmp0 (desc->architecture, architecture) == 0
          && (variant == NULL || g_strcmp0 (desc->variant, variant) == 0))
        return desc;
    }
  return NULL;
}

char *
berth_manifest_annotations_to_json (const BerthManifest *manifest)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  if (g_hash_table_size (manifest->annotations) == 0)
    return NULL;
  /* add_annotations writes the member "annotations" of an object: build
   * that object and keep only the member, so the text is sorted the same
   * way as in the manifests berth writes. */
  json_builder_begin_object (b);
  add_annotations (b, manifest->annotations);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (json_object_get_member (json_node_get_object (root), "annotations"),
                         FALSE);
}
