/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-reference.h"

#define DIGEST "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
test_parse_valid (void)
{
  static const struct
  {
    const char *text, *domain, *path, *tag, *digest, *normalized, *familiar;
  } cases[] = {
    { "busybox", NULL, "busybox", NULL, NULL, "docker.io/library/busybox:latest",
      "busybox:latest" },
    { "busybox:1.36", NULL, "busybox", "1.36", NULL, "docker.io/library/busybox:1.36",
      "busybox:1.36" },
    { "team/app", NULL, "team/app", NULL, NULL, "docker.io/team/app:latest", "team/app:latest" },
    { "localhost/app:v1", "localhost", "app", "v1", NULL, "localhost/app:v1", "localhost/app:v1" },
    { "127.0.0.1:5000/a/b/c:x_y", "127.0.0.1:5000", "a/b/c", "x_y", NULL,
      "127.0.0.1:5000/a/b/c:x_y", "127.0.0.1:5000/a/b/c:x_y" },
    { "registry.example.org/app@" DIGEST, "registry.example.org", "app", NULL, DIGEST,
      "registry.example.org/app@" DIGEST, "registry.example.org/app@" DIGEST },
    { "app:tag@" DIGEST, NULL, "app", "tag", DIGEST, "docker.io/library/app:tag@" DIGEST,
      "app:tag@" DIGEST },
    { "index.docker.io/library/x", "index.docker.io", "library/x", NULL, NULL,
      "docker.io/library/x:latest", "x:latest" },
    { "a__b-c---d/e.f", NULL, "a__b-c---d/e.f", NULL, NULL, "docker.io/a__b-c---d/e.f:latest",
      "a__b-c---d/e.f:latest" },
    { "[::1]:5000/app", "[::1]:5000", "app", NULL, NULL, "[::1]:5000/app:latest",
      "[::1]:5000/app:latest" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthReference) ref = berth_reference_parse (cases[i].text, &error);
      g_autoptr (BerthReference) copy = NULL;
      g_autofree char *as_written = NULL, *normalized = NULL, *familiar = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (ref->domain, ==, cases[i].domain);
      g_assert_cmpstr (ref->path, ==, cases[i].path);
      g_assert_cmpstr (ref->tag, ==, cases[i].tag);
      g_assert_cmpstr (ref->digest, ==, cases[i].digest);
      as_written = berth_reference_to_string (ref);
      g_assert_cmpstr (as_written, ==, cases[i].text);
      copy = berth_reference_copy (ref);
      berth_reference_normalize (copy);
      normalized = berth_reference_to_string (copy);
      g_assert_cmpstr (normalized, ==, cases[i].normalized);
      familiar = berth_reference_familiar (copy);
      g_assert_cmpstr (familiar, ==, cases[i].familiar);
    }
}

static void
test_parse_invalid (void)
{
  static const struct
  {
    const char *text, *message;
  } cases[] = {
    { "", "is empty" },
    { "Busybox", "must be lowercase" },
    { "busybox:", "tag \"\" is not valid" },
    { "busybox:.x", "tag \".x\" is not valid" },
    { "a//b", "empty component" },
    { "-a", "not a valid repository path component" },
    { "a_", "not a valid repository path component" },
    { "app@sha256:123", "needs exactly 64" },
    { "app@md5:abc", "unsupported digest algorithm" },
    { "exa_mple.com/app", "not a valid registry host" },
    { "example.com:port/app", "not a valid registry" },
    { "example.com/", "path after the registry host is empty" },
    { ":tag", "repository name is empty" },
    { "a b", "not a valid repository path component" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthReference) ref = berth_reference_parse (cases[i].text, &error);

      g_assert_null (ref);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, cases[i].message) == NULL
          || !g_str_has_prefix (error->message, "invalid reference"))
        g_error ("\"%s\": \"%s\" lacks \"%s\"", cases[i].text, error->message, cases[i].message);
    }
}

static void
test_too_long (void)
{
  g_autofree char *name = g_strnfill (300, 'a');
  g_autofree char *huge = g_strnfill (5000, 'a');
  g_autoptr (GError) error = NULL;

  g_assert_null (berth_reference_parse (name, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_reference_parse (huge, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_reference_parse (NULL, &error));
}

static void
test_helpers (void)
{
  g_autoptr (BerthReference) ref = berth_reference_parse_normalized ("app", NULL);
  g_autofree char *repo = berth_reference_repository (ref);
  g_autofree char *fam = berth_reference_familiarize ("docker.io/library/app:1");
  g_autofree char *fam2 = berth_reference_familiarize ("not a ref");
  g_autofree char *fam3 = berth_reference_familiarize ("docker.io/library/a/b:1");

  g_assert_cmpstr (repo, ==, "docker.io/library/app");
  g_assert_cmpstr (fam, ==, "app:1");
  g_assert_cmpstr (fam2, ==, "not a ref");
  g_assert_cmpstr (fam3, ==, "library/a/b:1");
  g_assert_null (berth_reference_parse_normalized ("UPPER", NULL));
  g_assert_true (berth_reference_tag_is_valid ("v1.2-rc_3"));
  g_assert_true (berth_reference_tag_is_valid ("_x"));
  g_assert_false (berth_reference_tag_is_valid ("-x"));
  g_assert_false (berth_reference_tag_is_valid ("a/b"));
  berth_reference_free (NULL);
}

static void
test_names_valid (void)
{
  const char *good[]
    = { "busybox", "library/busybox", "a",      "a0/b1/c2",       "my-app", "my--app",
        "my_app",  "my__app",         "my.app", "alice/tools/jq", "0",      NULL };

  for (guint i = 0; good[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (berth_reference_validate_repository (good[i], &error));
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
      g_assert_false (berth_reference_validate_repository (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "invalid repository name"));
    }
}

static void
test_name_length (void)
{
  g_autofree char *max = g_strnfill (BERTH_REFERENCE_NAME_MAX, 'a');
  g_autofree char *over = g_strnfill (BERTH_REFERENCE_NAME_MAX + 1, 'a');
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_reference_validate_repository (max, NULL));
  g_assert_false (berth_reference_validate_repository (over, &error));
  g_assert_nonnull (strstr (error->message, "at most 255"));
}

static void
test_validate_tags (void)
{
  const char *good[] = { "latest", "v1.0", "1", "_x", "A-b_c.d", NULL };
  const char *bad[] = { "", ".x", "-x", "a/b", "a:b", "a b", NULL };
  g_autofree char *longest = g_strnfill (128, 't');
  g_autofree char *too_long = g_strnfill (129, 't');

  for (guint i = 0; good[i]; i++)
    g_assert_true (berth_reference_validate_tag (good[i], NULL));
  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (berth_reference_validate_tag (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
    }
  g_assert_true (berth_reference_validate_tag (longest, NULL));
  g_assert_false (berth_reference_validate_tag (too_long, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reference/parse-valid", test_parse_valid);
  g_test_add_func ("/reference/parse-invalid", test_parse_invalid);
  g_test_add_func ("/reference/too-long", test_too_long);
  g_test_add_func ("/reference/helpers", test_helpers);
  g_test_add_func ("/reference/repository-names-valid", test_names_valid);
  g_test_add_func ("/reference/repository-names-invalid", test_names_invalid);
  g_test_add_func ("/reference/repository-name-length", test_name_length);
  g_test_add_func ("/reference/validate-tags", test_validate_tags);
  return g_test_run ();
}
