/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "berth-auth.h"
#include "berth-error.h"

static char *
scratch_path (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("berth-auth-XXXXXX", &error);

  g_assert_no_error (error);
  return g_build_filename (dir, "sub", "auth.json", NULL);
}

static void
remove_scratch (const char *path)
{
  g_autofree char *sub = g_path_get_dirname (path);
  g_autofree char *dir = g_path_get_dirname (sub);

  g_unlink (path);
  g_rmdir (sub);
  g_rmdir (dir);
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *user = NULL, *password = NULL;
  gboolean removed = TRUE;

  g_assert_true (
    berth_auth_lookup ("/nonexistent/auth.json", "r.example", &user, &password, &error));
  g_assert_no_error (error);
  g_assert_null (user);
  g_assert_null (password);
  g_assert_true (berth_auth_remove ("/nonexistent/auth.json", "r.example", &removed, &error));
  g_assert_false (removed);
}

static void
test_store_lookup_remove (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = scratch_path ();
  g_autofree char *user = NULL, *password = NULL;
  g_autofree char *text = NULL;
  gboolean removed = FALSE;
  struct stat st;

  g_assert_true (berth_auth_store (path, "127.0.0.1:5000", "alice", "s3:cret", &error));
  g_assert_no_error (error);
  g_assert_true (berth_auth_store (path, "other.example", "bob", "pw", &error));
  /* Replacing keeps one entry per registry. */
  g_assert_true (berth_auth_store (path, "127.0.0.1:5000", "alice", "new:pw", &error));

  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  /* The containers format: base64 of user:password under auths. */
  g_assert_nonnull (strstr (text, "\"auths\""));
  g_assert_nonnull (strstr (text, "YWxpY2U6bmV3OnB3")); /* alice:new:pw */
  g_assert_null (strstr (text, "new:pw"));

  g_assert_true (berth_auth_lookup (path, "127.0.0.1:5000", &user, &password, &error));
  g_assert_cmpstr (user, ==, "alice");
  g_assert_cmpstr (password, ==, "new:pw");
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&password, g_free);

  g_assert_true (berth_auth_remove (path, "127.0.0.1:5000", &removed, &error));
  g_assert_true (removed);
  g_assert_true (berth_auth_lookup (path, "127.0.0.1:5000", &user, &password, &error));
  g_assert_null (user);
  g_assert_true (berth_auth_lookup (path, "other.example", &user, &password, &error));
  g_assert_cmpstr (user, ==, "bob");
  remove_scratch (path);
}

/* Files written by docker use URLs as keys. */
static void
test_url_keys (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = scratch_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *user = NULL, *password = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (
    path, "{\"auths\":{\"https://r.example:443/v1/\":{\"auth\":\"dTpw\"}}}", -1, &error));
  g_assert_true (berth_auth_lookup (path, "r.example:443", &user, &password, &error));
  g_assert_cmpstr (user, ==, "u");
  g_assert_cmpstr (password, ==, "p");
  remove_scratch (path);
}

static void
test_bad_files (void)
{
  const char *cases[] = { "not json", "[1,2]", "{\"auths\": 3}",
                          "{\"auths\":{\"r.example\":{\"auth\":\"bm9jb2xvbg==\"}}}" };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *path = scratch_path ();
      g_autofree char *dir = g_path_get_dirname (path);
      g_autofree char *user = NULL, *password = NULL;
      g_autofree char *before = NULL, *after = NULL;

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_assert_true (g_file_set_contents (path, cases[i], -1, NULL));
      g_assert_false (berth_auth_lookup (path, "r.example", &user, &password, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG);
      g_assert_nonnull (strstr (error->message, path));
      g_clear_error (&error);
      if (i < 3)
        {
          /* A broken file is reported, never overwritten. */
          g_assert_false (berth_auth_store (path, "r.example", "u", "p", &error));
          g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
          g_assert_cmpstr (after, ==, cases[i]);
        }
      remove_scratch (path);
    }

  {
    g_autoptr (GError) error = NULL;
    g_autofree char *path = scratch_path ();

    g_assert_false (berth_auth_store (path, "r.example", "a:b", "p", &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
    remove_scratch (path);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/auth/missing-file", test_missing_file);
  g_test_add_func ("/auth/store-lookup-remove", test_store_lookup_remove);
  g_test_add_func ("/auth/url-keys", test_url_keys);
  g_test_add_func ("/auth/bad-files", test_bad_files);
  return g_test_run ();
}
