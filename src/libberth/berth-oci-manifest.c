/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-oci-manifest.h"
#include "berth-digest.h"
#include "berth-error.h"

#include <string.h>

gboolean
berth_media_type_is_index (const char *media_type)
{
  return g_strcmp0 (media_type, BERTH_MEDIA_OCI_INDEX) == 0
         || g_strcmp0 (media_type, BERTH_MEDIA_DOCKER_LIST) == 0;
}

gboolean
berth_media_type_is_manifest (const char *media_type)
{
  return g_strcmp0 (media_type, BERTH_MEDIA_OCI_MANIFEST) == 0
         || g_strcmp0 (media_type, BERTH_MEDIA_DOCKER_MANIFEST) == 0
         || berth_media_type_is_index (media_type);
}

void
berth_descriptor_free (BerthDescriptor *descriptor)
{
  if (descriptor == NULL)
    return;
  g_free (descriptor->media_type);
  g_free (descriptor->digest);
  g_free (descriptor->artifact_type);
  g_free (descriptor->platform_os);
  g_free (descriptor->platform_arch);
  g_free (descriptor->platform_variant);
  g_clear_pointer (&descriptor->annotations, json_object_unref);
  g_free (descriptor);
}

void
berth_manifest_free (BerthManifest *manifest)
{
  if (manifest == NULL)
    return;
  g_free (manifest->media_type);
  g_free (manifest->artifact_type);
  berth_descriptor_free (manifest->config);
  g_clear_pointer (&manifest->layers, g_ptr_array_unref);
  berth_descriptor_free (manifest->subject);
  g_clear_pointer (&manifest->annotations, json_object_unref);
  g_free (manifest);
}

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "invalid manifest: %s", message);
  return FALSE;
}

/* A member that, when present, must be a string. */
static gboolean
get_string (JsonObject *object, const char *member, const char *where, char **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return invalid (error, "%s%s must be a string", where, member);
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
get_annotations (JsonObject *object, const char *where, JsonObject **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, "annotations");
  g_autoptr (GList) members = NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "%sannotations must be an object", where);
  members = json_object_get_members (json_node_get_object (node));
  for (GList *l = members; l; l = l->next)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (node), l->data);

      if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
        return invalid (error, "%sannotations[\"%s\"] must be a string", where,
                        (const char *)l->data);
    }
  *out = json_object_ref (json_node_get_object (node));
  return TRUE;
}

static BerthDescriptor *
parse_descriptor (JsonNode *node, const char *where, GError **error)
{
  g_autoptr (BerthDescriptor) desc = g_new0 (BerthDescriptor, 1);
  g_autoptr (GError) local_error = NULL;
  JsonObject *object;
  JsonNode *size;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, "%s must be an object (a descriptor)", where), NULL;
  object = json_node_get_object (node);

  g_autofree char *prefix = g_strconcat (where, ".", NULL);
  if (!get_string (object, "mediaType", prefix, &desc->media_type, error)
      || !get_string (object, "digest", prefix, &desc->digest, error)
      || !get_string (object, "artifactType", prefix, &desc->artifact_type, error)
      || !get_annotations (object, prefix, &desc->annotations, error))
    return NULL;
  if (desc->media_type == NULL)
    return invalid (error, "%s has no mediaType", where), NULL;
  if (desc->digest == NULL)
    return invalid (error, "%s has no digest", where), NULL;
  if (!berth_digest_validate (desc->digest, NULL, &local_error))
    return invalid (error, "%s: %s", where, local_error->message), NULL;

  size = json_object_get_member (object, "size");
  if (size == NULL || !JSON_NODE_HOLDS_VALUE (size)
      || json_node_get_value_type (size) != G_TYPE_INT64 || json_node_get_int (size) < 0)
    return invalid (error, "%s.size must be a non-negative integer", where), NULL;
  desc->size = json_node_get_int (size);

  JsonNode *platform = json_object_get_member (object, "platform");
  if (platform != NULL && JSON_NODE_HOLDS_OBJECT (platform))
    {
      JsonObject *p = json_node_get_object (platform);
      g_autofree char *pwhere = g_strconcat (where, ".platform.", NULL);

      if (!get_string (p, "os", pwhere, &desc->platform_os, error)
          || !get_string (p, "architecture", pwhere, &desc->platform_arch, error)
          || !get_string (p, "variant", pwhere, &desc->platform_variant, error))
        return NULL;
    }
  return g_steal_pointer (&desc);
}

static gboolean
parse_descriptor_array (JsonObject *root, const char *member, GPtrArray *out, GError **error)
{
  JsonNode *node = json_object_get_member (root, member);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return invalid (error, "%s must be an array", member);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *where = g_strdup_printf ("%s[%u]", member, i);
      BerthDescriptor *desc = parse_descriptor (json_array_get_element (array, i), where, error);

      if (desc == NULL)
        return FALSE;
      g_ptr_array_add (out, desc);
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

BerthManifest *
berth_manifest_parse (const char *data, gsize len, const char *content_type, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  g_autoptr (BerthManifest) manifest = g_new0 (BerthManifest, 1);
  g_autofree char *body_type = NULL;
  g_autofree char *sent_type = NULL;
  JsonObject *root;
  JsonNode *version;

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    return invalid (error, "not JSON: %s", local_error->message), NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return invalid (error, "the document must be a JSON object"), NULL;
  root = json_node_get_object (json_parser_get_root (parser));

  version = json_object_get_member (root, "schemaVersion");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_INT64 || json_node_get_int (version) != 2)
    return invalid (error, "schemaVersion must be 2 (schema 1 manifests are not supported)"), NULL;

  if (!get_string (root, "mediaType", "", &body_type, error)
      || !get_string (root, "artifactType", "", &manifest->artifact_type, error)
      || !get_annotations (root, "", &manifest->annotations, error))
    return NULL;

  if (!content_type_is_generic (content_type))
    sent_type = g_strstrip (g_strndup (content_type, strcspn (content_type, ";")));
  if (body_type && sent_type && strcmp (body_type, sent_type) != 0)
    return invalid (error, "mediaType \"%s\" does not match Content-Type \"%s\"", body_type,
                    sent_type),
           NULL;

  if (body_type)
    manifest->media_type = g_steal_pointer (&body_type);
  else if (sent_type)
    manifest->media_type = g_steal_pointer (&sent_type);
  else if (json_object_has_member (root, "manifests"))
    manifest->media_type = g_strdup (BERTH_MEDIA_OCI_INDEX);
  else
    manifest->media_type = g_strdup (BERTH_MEDIA_OCI_MANIFEST);

  if (!berth_media_type_is_manifest (manifest->media_type))
    return invalid (error, "unsupported media type \"%s\"", manifest->media_type), NULL;

  manifest->layers = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_descriptor_free);
  if (berth_media_type_is_index (manifest->media_type))
    {
      manifest->kind = BERTH_MANIFEST_KIND_INDEX;
      if (!parse_descriptor_array (root, "manifests", manifest->layers, error))
        return NULL;
    }
  else
    {
      manifest->kind = BERTH_MANIFEST_KIND_IMAGE;
      manifest->config
        = parse_descriptor (json_object_get_member (root, "config"), "config", error);
      if (manifest->config == NULL)
        return NULL;
      if (!parse_descriptor_array (root, "layers", manifest->layers, error))
        return NULL;
    }

  if (json_object_has_member (root, "subject"))
    {
      manifest->subject
        = parse_descriptor (json_object_get_member (root, "subject"), "subject", error);
      if (manifest->subject == NULL)
        return NULL;
    }
  return g_steal_pointer (&manifest);
}

const char *
berth_manifest_get_annotation (BerthManifest *manifest, const char *key)
{
  JsonNode *node;

  if (manifest->annotations == NULL)
    return NULL;
  node = json_object_get_member (manifest->annotations, key);
  return node ? json_node_get_string (node) : NULL;
}

const char *
berth_manifest_get_artifact_type (BerthManifest *manifest)
{
  if (manifest->artifact_type)
    return manifest->artifact_type;
  if (manifest->config)
    return manifest->config->media_type;
  return NULL;
}

char *
berth_image_config_get_label (const char *data, gsize len, const char *key)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonObject *object;
  JsonNode *node;

  if (!json_parser_load_from_data (parser, data, len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  object = json_node_get_object (json_parser_get_root (parser));
  node = json_object_get_member (object, "config");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  node = json_object_get_member (json_node_get_object (node), "Labels");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  node = json_object_get_member (json_node_get_object (node), key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (node));
}
