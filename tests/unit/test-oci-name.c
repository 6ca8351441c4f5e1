/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-oci-name.h"

static void
test_names_valid (void)
{
  const char *good[]
    = { "busybox", "library/busybox", "a",      "a0/b1/c2",       "my-app", "my--app",
        "my_app",  "my__app",         "my.app", "alice/tools/jq", "0",      NULL };

  for (guint i = 0; good[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (berth_oci_name_validate (good[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_names_invalid (void)
{
  const char *bad[]
    = { "",   "Busybox", "library/Busybox", "..",   "a/../b", "a/./b", "/a",  "a/",  "a//b",
        "-a", "a-",      "a___b",           "a..b", "a_.b",   "a b",   "a:b", "a@b", ".hidden",
        "_a", NULL };

  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (berth_oci_name_validate (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "invalid repository name"));
    }
}

static void
test_name_length (void)
{
  g_autofree char *max = g_strnfill (BERTH_OCI_NAME_MAX, 'a');
  g_autofree char *over = g_strnfill (BERTH_OCI_NAME_MAX + 1, 'a');
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_oci_name_validate (max, NULL));
  g_assert_false (berth_oci_name_validate (over, &error));
  g_assert_nonnull (strstr (error->message, "at most 255"));
}

static void
test_tags (void)
{
  const char *good[] = { "latest", "v1.0", "1", "_x", "A-b_c.d", NULL };
  const char *bad[] = { "", ".x", "-x", "a/b", "a:b", "a b", NULL };
  g_autofree char *longest = g_strnfill (128, 't');
  g_autofree char *too_long = g_strnfill (129, 't');

  for (guint i = 0; good[i]; i++)
    g_assert_true (berth_oci_tag_validate (good[i], NULL));
  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (berth_oci_tag_validate (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (berth_oci_tag_validate (longest, NULL));
  g_assert_false (berth_oci_tag_validate (too_long, NULL));
}

static void
test_referrers_tag (void)
{
  g_autofree char *tag = berth_oci_referrers_tag (
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  g_assert_cmpstr (tag, ==,
                   "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  g_assert_true (berth_oci_tag_validate (tag, NULL));
  g_assert_null (berth_oci_referrers_tag ("nocolon"));
  g_assert_null (berth_oci_referrers_tag (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oci-name/valid", test_names_valid);
  g_test_add_func ("/oci-name/invalid", test_names_invalid);
  g_test_add_func ("/oci-name/length", test_name_length);
  g_test_add_func ("/oci-name/tags", test_tags);
  g_test_add_func ("/oci-name/referrers-tag", test_referrers_tag);
  return g_test_run ();
}
