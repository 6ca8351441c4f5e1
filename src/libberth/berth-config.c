/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-config.h"
#include "berth-error.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>

#define DEFAULT_MAX_LAYER_SIZE (G_GUINT64_CONSTANT (16) << 30)

static const char *const known_keys[] = {
  "storage/root", "storage/run-dir", "storage/max-layer-size",
  "runtime/path", "runtime/init",    "registries/unqualified-search",
  NULL,
};

static const char *const registry_keys[] = { "mirrors", "insecure", NULL };

BerthConfig *
berth_config_new_defaults (void)
{
  BerthConfig *config = g_new0 (BerthConfig, 1);

  config->root = g_strdup (BERTH_DEFAULT_ROOT);
  config->run_dir = g_strdup (BERTH_DEFAULT_RUN_DIR);
  config->runtime = g_strdup (BERTH_LIBEXECDIR "/berth-runtime");
  config->init = g_strdup (BERTH_LIBEXECDIR "/berth-init");
  config->max_layer_size = DEFAULT_MAX_LAYER_SIZE;
  config->unqualified_search = g_new0 (char *, 1);
  config->keyfile = g_key_file_new ();
  return config;
}

void
berth_config_free (BerthConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->root);
  g_free (config->run_dir);
  g_free (config->runtime);
  g_free (config->init);
  g_strfreev (config->unqualified_search);
  g_key_file_unref (config->keyfile);
  g_free (config);
}

static gboolean
check_known_keys (GKeyFile *keyfile, const char *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);

  for (guint i = 0; groups[i]; i++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (keyfile, groups[i], NULL, NULL);
      gboolean is_registry = g_str_has_prefix (groups[i], "registry ");

      for (guint j = 0; keys && keys[j]; j++)
        {
          g_autofree char *full = g_strconcat (groups[i], "/", keys[j], NULL);

          if (is_registry ? g_strv_contains (registry_keys, keys[j])
                          : g_strv_contains (known_keys, full))
            continue;
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                       "%s: unknown key \"%s\" in group [%s]; see the documented defaults in "
                       "berth.conf",
                       path, keys[j], groups[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* GKeyFile names the offending text but not its line; find the line so the
 * message points where to look. Returns 0 when every line looks well formed. */
static guint
first_bad_line (const char *path)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *line = lines[i];

      while (g_ascii_isspace (*line))
        line++;
      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '[' ? strchr (line, ']') == NULL : strchr (line, '=') == NULL)
        return i + 1;
    }
  return 0;
}

static gboolean
check_registry_groups (GKeyFile *keyfile, const char *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (keyfile, NULL);

  for (guint i = 0; groups[i]; i++)
    {
      g_auto (GStrv) mirrors = NULL;
      g_autoptr (GError) local_error = NULL;

      if (!g_str_has_prefix (groups[i], "registry "))
        continue;
      if (groups[i][strlen ("registry ")] == '\0' || strchr (groups[i] + strlen ("registry "), '/'))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                       "%s: group [%s] must name a registry as HOST or HOST:PORT", path, groups[i]);
          return FALSE;
        }
      if (g_key_file_has_key (keyfile, groups[i], "insecure", NULL))
        {
          g_key_file_get_boolean (keyfile, groups[i], "insecure", &local_error);
          if (local_error)
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                           "%s: [%s] insecure must be true or false", path, groups[i]);
              return FALSE;
            }
        }
      mirrors = g_key_file_get_string_list (keyfile, groups[i], "mirrors", NULL, NULL);
      for (guint j = 0; mirrors && mirrors[j]; j++)
        {
          g_strstrip (mirrors[j]);
          if (!g_str_has_prefix (mirrors[j], "https://")
              && !g_str_has_prefix (mirrors[j], "http://"))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                           "%s: [%s] mirror \"%s\" must be an http:// or https:// URL", path,
                           groups[i], mirrors[j]);
              return FALSE;
            }
        }
    }
  return TRUE;
}

static gboolean
take_string (GKeyFile *keyfile, const char *group, const char *key, char **inout)
{
  g_autofree char *value = g_key_file_get_string (keyfile, group, key, NULL);

  if (value == NULL)
    return FALSE;
  g_strstrip (value);
  g_free (*inout);
  *inout = g_steal_pointer (&value);
  return TRUE;
}

BerthConfig *
berth_config_load (const char *path, gboolean must_exist, GError **error)
{
  g_autoptr (BerthConfig) config = berth_config_new_defaults ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *size_str = NULL;

  if (!g_key_file_load_from_file (config->keyfile, path, G_KEY_FILE_NONE, &local_error))
    {
      if (!must_exist && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&config);
      guint line = g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE)
                     ? first_bad_line (path)
                     : 0;

      if (line > 0)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG, "cannot read config %s: line %u: %s",
                     path, line, local_error->message);
      else
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG, "cannot read config %s: %s", path,
                     local_error->message);
      return NULL;
    }
  config->path = g_strdup (path);

  if (!check_known_keys (config->keyfile, path, error)
      || !check_registry_groups (config->keyfile, path, error))
    return NULL;

  take_string (config->keyfile, "storage", "root", &config->root);
  take_string (config->keyfile, "storage", "run-dir", &config->run_dir);
  take_string (config->keyfile, "runtime", "path", &config->runtime);
  take_string (config->keyfile, "runtime", "init", &config->init);

  if (take_string (config->keyfile, "storage", "max-layer-size", &size_str))
    {
      guint64 value;

      if (!g_ascii_string_to_unsigned (size_str, 10, 1, G_MAXUINT64, &value, NULL))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                       "%s: [storage] max-layer-size must be a number of bytes, not \"%s\"", path,
                       size_str);
          return NULL;
        }
      config->max_layer_size = value;
    }

  if (g_key_file_has_key (config->keyfile, "registries", "unqualified-search", NULL))
    {
      g_strfreev (config->unqualified_search);
      config->unqualified_search = g_key_file_get_string_list (config->keyfile, "registries",
                                                               "unqualified-search", NULL, NULL);
      if (config->unqualified_search == NULL)
        config->unqualified_search = g_new0 (char *, 1);
    }

  if (!g_path_is_absolute (config->root) || !g_path_is_absolute (config->run_dir))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "%s: [storage] root and run-dir must be absolute paths", path);
      return NULL;
    }

  return g_steal_pointer (&config);
}

char **
berth_config_registry_mirrors (BerthConfig *config, const char *host)
{
  g_autofree char *group = g_strconcat ("registry ", host, NULL);
  g_auto (GStrv) mirrors
    = g_key_file_get_string_list (config->keyfile, group, "mirrors", NULL, NULL);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; mirrors && mirrors[i]; i++)
    {
      g_autofree char *url = g_strstrip (g_strdup (mirrors[i]));

      /* One form for every base URL: no trailing slash. */
      while (g_str_has_suffix (url, "/"))
        url[strlen (url) - 1] = '\0';
      if (*url)
        g_ptr_array_add (out, g_steal_pointer (&url));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

gboolean
berth_host_is_loopback (const char *host)
{
  g_autofree char *name = NULL;
  const char *colon;

  if (host[0] == '[')
    {
      const char *end = strchr (host, ']');

      name = end ? g_strndup (host + 1, end - host - 1) : g_strdup (host);
    }
  else if ((colon = strrchr (host, ':')) != NULL && strchr (host, ':') == colon)
    name = g_strndup (host, colon - host);
  else
    name = g_strdup (host);

  if (g_ascii_strcasecmp (name, "localhost") == 0 || g_str_equal (name, "::1"))
    return TRUE;
  if (g_str_has_prefix (name, "127."))
    {
      g_autoptr (GInetAddress) address = g_inet_address_new_from_string (name);

      return address != NULL && g_inet_address_get_is_loopback (address);
    }
  return FALSE;
}

gboolean
berth_config_registry_allows_http (BerthConfig *config, const char *host)
{
  g_autofree char *group = g_strconcat ("registry ", host, NULL);

  if (berth_host_is_loopback (host))
    return TRUE;
  return g_key_file_get_boolean (config->keyfile, group, "insecure", NULL);
}
