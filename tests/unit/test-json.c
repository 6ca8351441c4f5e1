/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"
#include "berth-json.h"

static GHashTable *
string_map_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

static void
test_parse_object (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = berth_json_parse_object ("{\"a\": 1}", -1, &error);
  const char *not_objects[] = { "", "   ", "[1]", "\"text\"", "null", "3" };

  g_assert_no_error (error);
  g_assert_nonnull (o);
  g_assert_cmpint (json_object_get_int_member (o, "a"), ==, 1);
  for (gsize i = 0; i < G_N_ELEMENTS (not_objects); i++)
    {
      g_assert_null (berth_json_parse_object (not_objects[i], -1, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
      g_assert_cmpstr (error->message, ==, "not a JSON object");
      g_clear_error (&error);
    }
  /* LEN bounds the data: the rest is not read. */
  g_clear_pointer (&o, json_object_unref);
  o = berth_json_parse_object ("{}garbage", 2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (o);
  g_assert_null (berth_json_parse_object ("{\"a\":", -1, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "not JSON: "));
}

static void
test_add_string_map (void)
{
  g_autoptr (GHashTable) map = string_map_new ();
  g_autoptr (GHashTable) empty = string_map_new ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;

  g_hash_table_insert (map, g_strdup ("zeta"), g_strdup ("last"));
  g_hash_table_insert (map, g_strdup ("alpha"), g_strdup ("first"));
  g_hash_table_insert (map, g_strdup ("mid"), g_strdup ("\"quoted\""));
  json_builder_begin_object (b);
  berth_json_add_string_map (b, "Labels", map);
  berth_json_add_string_map (b, "Empty", empty);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  /* Sorted keys: the same map always gives the same bytes. */
  g_assert_cmpstr (text, ==,
                   "{\"Labels\":{\"alpha\":\"first\",\"mid\":\"\\\"quoted\\\"\",\"zeta\":\"last\"},"
                   "\"Empty\":{}}");
}

static void
test_get_string_map (void)
{
  g_autoptr (JsonNode) root
    = json_from_string ("{\"Labels\":{\"a\":\"1\",\"b\":2,\"c\":null,\"d\":{\"x\":\"y\"},"
                        "\"e\":\"\"},\"NotObject\":[\"a\"],\"Str\":\"x\"}",
                        NULL);
  JsonObject *o = json_node_get_object (root);
  g_autoptr (GHashTable) map = string_map_new ();

  g_hash_table_insert (map, g_strdup ("kept"), g_strdup ("yes"));
  berth_json_get_string_map (o, "Labels", map);
  g_assert_cmpuint (g_hash_table_size (map), ==, 3);
  g_assert_cmpstr (g_hash_table_lookup (map, "a"), ==, "1");
  g_assert_cmpstr (g_hash_table_lookup (map, "e"), ==, "");
  g_assert_cmpstr (g_hash_table_lookup (map, "kept"), ==, "yes");

  /* What is missing or not an object adds nothing. */
  berth_json_get_string_map (o, "Missing", map);
  berth_json_get_string_map (o, "NotObject", map);
  berth_json_get_string_map (o, "Str", map);
  g_assert_cmpuint (g_hash_table_size (map), ==, 3);
}

static void
test_round_trip (void)
{
  g_autoptr (GHashTable) map = string_map_new ();
  g_autoptr (GHashTable) back = string_map_new ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  g_hash_table_insert (map, g_strdup ("org.example.version"), g_strdup ("1.2"));
  g_hash_table_insert (map, g_strdup ("empty"), g_strdup (""));
  json_builder_begin_object (b);
  berth_json_add_string_map (b, "Labels", map);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  berth_json_get_string_map (json_node_get_object (root), "Labels", back);
  g_assert_cmpuint (g_hash_table_size (back), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (back, "org.example.version"), ==, "1.2");
  g_assert_cmpstr (g_hash_table_lookup (back, "empty"), ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/parse-object", test_parse_object);
  g_test_add_func ("/json/add-string-map", test_add_string_map);
  g_test_add_func ("/json/get-string-map", test_get_string_map);
  g_test_add_func ("/json/round-trip", test_round_trip);
  return g_test_run ();
}
