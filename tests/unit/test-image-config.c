/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-image-config.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char config_json[]
  = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05.5Z\","
    "\"author\":\"me\",\"config\":{\"Env\":[\"A=1\"],\"Labels\":{\"org.x\":\"y\"}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},"
    "\"history\":[{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"ADD x\"},"
    "{\"created_by\":\"ENV A=1\",\"empty_layer\":true},{\"created_by\":\"RUN "
    "y\",\"comment\":\"c\"}]}";

static void
test_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthImageConfig) c
    = berth_image_config_parse (config_json, strlen (config_json), &error);
  BerthHistoryEntry *h;

  g_assert_no_error (error);
  g_assert_cmpstr (c->architecture, ==, "amd64");
  g_assert_cmpstr (c->os, ==, "linux");
  g_assert_cmpstr (c->author, ==, "me");
  g_assert_cmpint (c->created, ==, 1704164645);
  g_assert_cmpuint (g_strv_length (c->diff_ids), ==, 2);
  g_assert_cmpstr (c->diff_ids[1], ==, D2);
  g_assert_cmpstr (g_hash_table_lookup (c->labels, "org.x"), ==, "y");
  g_assert_cmpuint (c->history->len, ==, 3);
  h = g_ptr_array_index (c->history, 1);
  g_assert_true (h->empty_layer);
  g_assert_cmpstr (h->created_by, ==, "ENV A=1");
  h = g_ptr_array_index (c->history, 2);
  g_assert_cmpstr (h->comment, ==, "c");
  g_assert_cmpstr (c->json, ==, config_json);
}

static void
test_invalid (void)
{
  static const struct
  {
    const char *json, *message;
  } cases[] = {
    { "x", "not JSON" },
    { "{}", "rootfs is missing" },
    { "{\"rootfs\":{\"type\":\"squash\",\"diff_ids\":[]}}", "not \"layers\"" },
    { "{\"rootfs\":{\"type\":\"layers\"}}", "diff_ids is missing" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"md5:x\"]}}", "diff_ids[0]" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[3]}}", "diff_ids[0] is not a string" },
    { "{\"os\":3,\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", "os is not a string" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Labels\":{\"a\":1}}}",
      "Labels.a is not a string" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":[{}]}",
      "history names 1 layers but rootfs.diff_ids has 0" },
    { "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":{}}",
      "history is not an array" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthImageConfig) c
        = berth_image_config_parse (cases[i].json, strlen (cases[i].json), &error);

      g_assert_null (c);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("%s: \"%s\" lacks \"%s\"", cases[i].json, error->message, cases[i].message);
    }
}

static void
test_new_for_rootfs (void)
{
  g_autoptr (GError) error = NULL;
  gsize len;
  g_autofree char *json = berth_image_config_new_for_rootfs (D1, 1700000000, "berth import", &len);
  g_autoptr (BerthImageConfig) c = berth_image_config_parse (json, len, &error);

  g_assert_no_error (error);
  g_assert_cmpint (c->created, ==, 1700000000);
  g_assert_cmpstr (c->os, ==, "linux");
  g_assert_cmpstr (c->diff_ids[0], ==, D1);
  g_assert_cmpuint (c->history->len, ==, 1);
  g_assert_cmpstr (((BerthHistoryEntry *)c->history->pdata[0])->created_by, ==, "berth import");
}

static void
test_chain_ids (void)
{
  const char *diff_ids[] = { D1, D2, NULL };
  g_auto (GStrv) chain = berth_chain_ids (diff_ids);
  g_autofree char *expected = NULL;
  g_autofree char *text = g_strconcat (D1, " ", D2, NULL);
  g_auto (GStrv) none = berth_chain_ids (NULL);

  expected = berth_digest_bytes (BERTH_DIGEST_SHA256, text, strlen (text));
  g_assert_cmpstr (chain[0], ==, D1);
  g_assert_cmpstr (chain[1], ==, expected);
  g_assert_null (chain[2]);
  g_assert_null (none[0]);
  {
    g_autofree char *one = berth_chain_id (NULL, D2);

    g_assert_cmpstr (one, ==, D2);
  }
}

static void
test_rfc3339 (void)
{
  g_assert_cmpint (berth_parse_rfc3339 ("1970-01-01T00:01:00Z"), ==, 60);
  g_assert_cmpint (berth_parse_rfc3339 ("2024-01-02T04:04:05+01:00"), ==, 1704164645);
  g_assert_cmpint (berth_parse_rfc3339 ("garbage"), ==, 0);
  g_assert_cmpint (berth_parse_rfc3339 (NULL), ==, 0);
  berth_image_config_free (NULL);
}

static void
test_config_label (void)
{
  const char *config = "{\"config\":{\"Labels\":{\"org.opencontainers.image.description\":\"d\","
                       "\"n\":1}}}";
  g_autofree char *label = berth_image_config_get_label (config, strlen (config),
                                                         "org.opencontainers.image.description");

  g_assert_cmpstr (label, ==, "d");
  g_assert_null (berth_image_config_get_label (config, strlen (config), "n"));
  g_assert_null (berth_image_config_get_label (config, strlen (config), "missing"));
  g_assert_null (berth_image_config_get_label ("{}", 2, "x"));
  g_assert_null (berth_image_config_get_label ("garbage", 7, "x"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-config/parse", test_parse);
  g_test_add_func ("/image-config/invalid", test_invalid);
  g_test_add_func ("/image-config/new-for-rootfs", test_new_for_rootfs);
  g_test_add_func ("/image-config/chain-ids", test_chain_ids);
  g_test_add_func ("/image-config/rfc3339", test_rfc3339);
  g_test_add_func ("/image-config/get-label", test_config_label);
  return g_test_run ();
}
