/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-config.h"
#include "berth-error.h"

static char *
write_config (const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("berth-conf-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  return path;
}

static void
test_defaults_when_missing (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthConfig) config = berth_config_load ("/nonexistent/berth.conf", FALSE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  g_assert_null (config->path);
  g_assert_cmpstr (config->root, ==, BERTH_DEFAULT_ROOT);
  g_assert_cmpstr (config->run_dir, ==, BERTH_DEFAULT_RUN_DIR);
  g_assert_cmpuint (config->max_layer_size, ==, G_GUINT64_CONSTANT (16) << 30);
  g_assert_cmpuint (g_strv_length (config->unqualified_search), ==, 0);
}

static void
test_missing_but_required (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthConfig) config = berth_config_load ("/nonexistent/berth.conf", TRUE, &error);

  g_assert_null (config);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "/nonexistent/berth.conf"));
}

static void
test_values (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path
    = write_config ("[storage]\nroot=/srv/berth\nmax-layer-size=1024\n"
                    "[runtime]\npath=/usr/bin/runc\ninit=/opt/berth-init\n"
                    "[registries]\nunqualified-search=a.example;b.example:5000\n"
                    "[registry b.example:5000]\ninsecure=true\n");
  g_autoptr (BerthConfig) config = berth_config_load (path, TRUE, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->path, ==, path);
  g_assert_cmpstr (config->root, ==, "/srv/berth");
  g_assert_cmpstr (config->runtime, ==, "/usr/bin/runc");
  g_assert_cmpstr (config->init, ==, "/opt/berth-init");
  g_assert_cmpuint (config->max_layer_size, ==, 1024);
  g_assert_cmpuint (g_strv_length (config->unqualified_search), ==, 2);
  g_assert_cmpstr (config->unqualified_search[1], ==, "b.example:5000");
  g_unlink (path);
}

static void
test_rejects (void)
{
  const struct
  {
    const char *text;
    const char *needle;
  } cases[] = {
    { "[storage]\nroot=/x\n[bad\n", "line 3: " },
    { "[storage]\nrooot=/x\n", "unknown key \"rooot\"" },
    { "[storage]\nmax-layer-size=lots\n", "max-layer-size" },
    { "[storage]\nroot=relative\n", "absolute" },
    { "[registry r.example]\ncolour=blue\n", "unknown key \"colour\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *path = write_config (cases[i].text);
      g_autoptr (BerthConfig) config = berth_config_load (path, TRUE, &error);

      g_assert_null (config);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG);
      g_assert_nonnull (strstr (error->message, cases[i].needle));
      g_assert_nonnull (strstr (error->message, path));
      g_unlink (path);
    }
}

static void
test_registries (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = write_config ("[registry r.example:5000]\n"
                                        "mirrors=https://m1.example/; http://m2.example:8080\n"
                                        "insecure=true\n"
                                        "[registry secure.example]\nmirrors=\n");
  g_autoptr (BerthConfig) config = berth_config_load (path, TRUE, &error);
  g_auto (GStrv) mirrors = NULL;
  g_auto (GStrv) none = NULL;

  g_assert_no_error (error);
  mirrors = berth_config_registry_mirrors (config, "r.example:5000");
  g_assert_cmpuint (g_strv_length (mirrors), ==, 2);
  g_assert_cmpstr (mirrors[0], ==, "https://m1.example");
  g_assert_cmpstr (mirrors[1], ==, "http://m2.example:8080");
  none = berth_config_registry_mirrors (config, "other.example");
  g_assert_cmpuint (g_strv_length (none), ==, 0);

  g_assert_true (berth_config_registry_allows_http (config, "r.example:5000"));
  g_assert_false (berth_config_registry_allows_http (config, "secure.example"));
  g_assert_false (berth_config_registry_allows_http (config, "other.example"));
  /* Loopback registries may always speak plain HTTP. */
  g_assert_true (berth_config_registry_allows_http (config, "127.0.0.1:5000"));
  g_assert_true (berth_config_registry_allows_http (config, "localhost:5000"));
  g_assert_true (berth_config_registry_allows_http (config, "[::1]:5000"));
  g_assert_false (berth_config_registry_allows_http (config, "127.example.com"));
  g_unlink (path);

  {
    const char *bad[]
      = { "[registry r.example]\nmirrors=ftp://m\n", "[registry r.example]\ninsecure=maybe\n",
          "[registry r.example/x]\ninsecure=true\n" };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (GError) local_error = NULL;
        g_autofree char *bad_path = write_config (bad[i]);
        g_autoptr (BerthConfig) bad_config = berth_config_load (bad_path, TRUE, &local_error);

        g_assert_null (bad_config);
        g_assert_error (local_error, BERTH_ERROR, BERTH_ERROR_CONFIG);
        g_unlink (bad_path);
      }
  }
}

static void
test_loopback (void)
{
  g_assert_true (berth_host_is_loopback ("localhost"));
  g_assert_true (berth_host_is_loopback ("127.0.0.1"));
  g_assert_true (berth_host_is_loopback ("127.1.2.3:80"));
  g_assert_true (berth_host_is_loopback ("[::1]:5000"));
  g_assert_false (berth_host_is_loopback ("128.0.0.1"));
  g_assert_false (berth_host_is_loopback ("registry.example"));
  g_assert_false (berth_host_is_loopback ("127.0.0.1.example.com"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/config/defaults-when-missing", test_defaults_when_missing);
  g_test_add_func ("/config/missing-but-required", test_missing_but_required);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/rejects", test_rejects);
  g_test_add_func ("/config/registries", test_registries);
  g_test_add_func ("/config/loopback", test_loopback);
  return g_test_run ();
}
