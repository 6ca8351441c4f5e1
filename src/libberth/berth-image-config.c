/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-image-config.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-json.h"
#include "berth-host.h"
#include "berth-manifest.h"

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
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "invalid image config: %s", why);
  return FALSE;
}

gint64
berth_parse_rfc3339 (const char *text)
{
  g_autoptr (GDateTime) dt = NULL;

  if (text == NULL)
    return 0;
  dt = g_date_time_new_from_iso8601 (text, NULL);
  return dt ? g_date_time_to_unix (dt) : 0;
}

/* Optional string member: absent and null are fine, other types are not. */
static gboolean
opt_string (JsonObject *object, const char *member, char **out, const char *where, GError **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return bad (error, "%s%s is not a string", where, member);
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static void
history_entry_free (BerthHistoryEntry *entry)
{
  g_free (entry->created_by);
  g_free (entry->author);
  g_free (entry->comment);
  g_free (entry);
}

BerthImageConfig *
berth_image_config_parse (const char *data, gsize len, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (BerthImageConfig) config = g_new0 (BerthImageConfig, 1);
  g_autofree char *created = NULL;
  g_autoptr (GPtrArray) diff_ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (JsonObject) root = NULL;
  JsonNode *rootfs_node, *node;
  JsonObject *rootfs;
  char *type = NULL;
  guint non_empty = 0;

  config->history = g_ptr_array_new_with_free_func ((GDestroyNotify)history_entry_free);
  config->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

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
  config->json = g_strndup (data, len);

  if (!opt_string (root, "architecture", &config->architecture, "", error)
      || !opt_string (root, "os", &config->os, "", error)
      || !opt_string (root, "variant", &config->variant, "", error)
      || !opt_string (root, "author", &config->author, "", error)
      || !opt_string (root, "created", &created, "", error))
    return NULL;
  config->created = berth_parse_rfc3339 (created);

  rootfs_node = json_object_get_member (root, "rootfs");
  if (rootfs_node == NULL || !JSON_NODE_HOLDS_OBJECT (rootfs_node))
    {
      bad (error, "rootfs is missing or not an object");
      return NULL;
    }
  rootfs = json_node_get_object (rootfs_node);
  if (!opt_string (rootfs, "type", &type, "rootfs.", error))
    return NULL;
  if (g_strcmp0 (type, "layers") != 0)
    {
      bad (error, "rootfs.type is \"%s\", not \"layers\"", type ? type : "");
      g_free (type);
      return NULL;
    }
  g_free (type);
  node = json_object_get_member (rootfs, "diff_ids");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      bad (error, "rootfs.diff_ids is missing or not an array");
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
    {
      JsonNode *id = json_array_get_element (json_node_get_array (node), i);

      if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_STRING)
        {
          bad (error, "rootfs.diff_ids[%u] is not a string", i);
          return NULL;
        }
      if (!berth_digest_validate (json_node_get_string (id), NULL, &local_error))
        {
          bad (error, "rootfs.diff_ids[%u]: %s", i, local_error->message);
          return NULL;
        }
      g_ptr_array_add (diff_ids, g_strdup (json_node_get_string (id)));
    }
  g_ptr_array_add (diff_ids, NULL);
  config->diff_ids = (char **)g_ptr_array_free (g_steal_pointer (&diff_ids), FALSE);

  node = json_object_get_member (root, "config");
  if (node && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonNode *labels = json_object_get_member (json_node_get_object (node), "Labels");

      if (labels && JSON_NODE_HOLDS_OBJECT (labels))
        {
          JsonObjectIter iter;
          const char *key;
          JsonNode *value;

          json_object_iter_init (&iter, json_node_get_object (labels));
          while (json_object_iter_next (&iter, &key, &value))
            {
              if (!JSON_NODE_HOLDS_VALUE (value)
                  || json_node_get_value_type (value) != G_TYPE_STRING)
                {
                  bad (error, "config.Labels.%s is not a string", key);
                  return NULL;
                }
              g_hash_table_insert (config->labels, g_strdup (key),
                                   g_strdup (json_node_get_string (value)));
            }
        }
      else if (labels && !JSON_NODE_HOLDS_NULL (labels))
        {
          bad (error, "config.Labels is not an object");
          return NULL;
        }
    }
  else if (node && !JSON_NODE_HOLDS_NULL (node))
    {
      bad (error, "config is not an object");
      return NULL;
    }

  node = json_object_get_member (root, "history");
  if (node && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *h = json_array_get_element (array, i);
          BerthHistoryEntry *entry;
          g_autofree char *hcreated = NULL;
          g_autofree char *where = g_strdup_printf ("history[%u].", i);
          JsonNode *empty;

          if (!JSON_NODE_HOLDS_OBJECT (h))
            {
              bad (error, "history[%u] is not an object", i);
              return NULL;
            }
          entry = g_new0 (BerthHistoryEntry, 1);
          g_ptr_array_add (config->history, entry);
          if (!opt_string (json_node_get_object (h), "created", &hcreated, where, error)
              || !opt_string (json_node_get_object (h), "created_by", &entry->created_by, where,
                              error)
              || !opt_string (json_node_get_object (h), "author", &entry->author, where, error)
              || !opt_string (json_node_get_object (h), "comment", &entry->comment, where, error))
            return NULL;
          entry->created = berth_parse_rfc3339 (hcreated);
          empty = json_object_get_member (json_node_get_object (h), "empty_layer");
          if (empty && JSON_NODE_HOLDS_VALUE (empty)
              && json_node_get_value_type (empty) == G_TYPE_BOOLEAN)
            entry->empty_layer = json_node_get_boolean (empty);
          if (!entry->empty_layer)
            non_empty++;
        }
      if (non_empty > g_strv_length (config->diff_ids))
        {
          bad (error, "history names %u layers but rootfs.diff_ids has %u", non_empty,
               g_strv_length (config->diff_ids));
          return NULL;
        }
    }
  else if (node && !JSON_NODE_HOLDS_NULL (node))
    {
      bad (error, "history is not an array");
      return NULL;
    }

  return g_steal_pointer (&config);
}

void
berth_image_config_free (BerthImageConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->architecture);
  g_free (config->os);
  g_free (config->variant);
  g_free (config->author);
  g_strfreev (config->diff_ids);
  g_clear_pointer (&config->history, g_ptr_array_unref);
  g_clear_pointer (&config->labels, g_hash_table_unref);
  g_free (config->json);
  g_free (config);
}

char *
berth_image_config_new_for_rootfs (const char *diff_id, gint64 created, const char *created_by,
                                   gsize *out_len)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (created);
  g_autofree char *when = g_date_time_format_iso8601 (dt);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, when);
  json_builder_set_member_name (b, "architecture");
  json_builder_add_string_value (b, berth_host_oci_arch ());
  json_builder_set_member_name (b, "os");
  json_builder_add_string_value (b, "linux");
  json_builder_set_member_name (b, "config");
  json_builder_begin_object (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "rootfs");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "layers");
  json_builder_set_member_name (b, "diff_ids");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, diff_id);
  json_builder_end_array (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "history");
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, when);
  json_builder_set_member_name (b, "created_by");
  json_builder_add_string_value (b, created_by);
  json_builder_end_object (b);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, out_len);
}

char *
berth_chain_id (const char *parent, const char *diff_id)
{
  g_autofree char *text = NULL;

  if (parent == NULL)
    return g_strdup (diff_id);
  text = g_strconcat (parent, " ", diff_id, NULL);
  return berth_digest_bytes (BERTH_DIGEST_SHA256, text, strlen (text));
}

char **
berth_chain_ids (const char *const *diff_ids)
{
  guint n = diff_ids ? g_strv_length ((char **)diff_ids) : 0;
  char **chain = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    chain[i] = berth_chain_id (i ? chain[i - 1] : NULL, diff_ids[i]);
  return chain;
}

char *
berth_image_config_get_label (const char *data, gsize len, const char *key)
{
  g_autoptr (JsonObject) object = berth_json_parse_object (data, len, NULL);
  JsonNode *node;

  if (object == NULL)
    return NULL;
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
