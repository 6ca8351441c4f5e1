/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small JSON shapes that more than one record holds. */
#include "config.h"

#include "berth-error.h"
#include "berth-json.h"

JsonObject *
berth_json_parse_object (const char *data, gssize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "not JSON: %s", local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

void
berth_json_add_string_map (JsonBuilder *b, const char *member, GHashTable *map)
{
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (map), (GCompareFunc)g_strcmp0);

  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (GList *l = keys; l; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_string_value (b, g_hash_table_lookup (map, l->data));
    }
  json_builder_end_object (b);
}

void
berth_json_get_string_map (JsonObject *o, const char *member, GHashTable *map)
{
  JsonNode *node = json_object_get_member (o, member);
  JsonObject *object;
  g_autoptr (GList) members = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l; l = l->next)
    {
      JsonNode *value = json_object_get_member (object, l->data);

      if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
        g_hash_table_insert (map, g_strdup (l->data), g_strdup (json_node_get_string (value)));
    }
}
