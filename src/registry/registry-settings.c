/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.conf: a GKeyFile. Every key is optional; unknown groups and keys
 * are refused so that typos do not pass silently. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "berth-error.h"
#include "registry.h"

/* clang-format off */
static const char *const known_keys[] = {
  "server/listen", "server/tls-cert", "server/tls-key", "server/threads", "server/access-log",
  "storage/root", "storage/delete", "storage/upload-timeout",
  "auth/anonymous-pull", "auth/private-namespaces", "auth/token-lifetime", "auth/service",
  "mirror/proxy-upstream", "mirror/proxy-username", "mirror/proxy-password", "mirror/proxy-ttl",
  "mirror/redirect-blobs-to",
  NULL,
};
/* clang-format on */

void
registry_settings_init (RegistrySettings *settings)
{
  memset (settings, 0, sizeof *settings);
  settings->root = g_strdup ("/var/lib/berth-registry");
  settings->listen = g_strdup ("127.0.0.1:5000");
  settings->anonymous_pull = TRUE;
  settings->access_log = TRUE;
  settings->threads = 4;
  settings->token_lifetime = 300;
  settings->proxy_ttl = 300;
  settings->upload_timeout = 3600;
  settings->service = g_strdup ("berth-registry");
}

void
registry_settings_clear (RegistrySettings *settings)
{
  g_free (settings->root);
  g_free (settings->listen);
  g_free (settings->tls_cert);
  g_free (settings->tls_key);
  g_strfreev (settings->redirect_blobs_to);
  g_free (settings->proxy_upstream);
  g_free (settings->proxy_username);
  g_free (settings->proxy_password);
  g_free (settings->service);
}

static gboolean
get_string (GKeyFile *kf, const char *group, const char *key, char **out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *value = g_key_file_get_string (kf, group, key, &local_error);

  if (value == NULL)
    {
      if (g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND)
          || g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_free (*out);
  *out = value;
  return TRUE;
}

static gboolean
get_bool (GKeyFile *kf, const char *group, const char *key, gboolean *out, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean value;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  value = g_key_file_get_boolean (kf, group, key, &local_error);
  if (local_error)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG, "[%s] %s must be true or false", group,
                   key);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

static gboolean
get_uint (GKeyFile *kf, const char *group, const char *key, guint min, guint max, guint *out,
          GError **error)
{
  g_autofree char *text = NULL;
  guint64 value;

  if (!get_string (kf, group, key, &text, error))
    return FALSE;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, &value, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "[%s] %s=%s is not a number from %u to %u", group, key, text, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
registry_settings_load (RegistrySettings *settings, const char *path, gboolean must_exist,
                        GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) groups = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error))
    {
      if (!must_exist && g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG, "cannot read config %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);

      for (guint j = 0; keys && keys[j]; j++)
        {
          g_autofree char *full = g_strconcat (groups[i], "/", keys[j], NULL);

          if (!g_strv_contains (known_keys, full))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                           "%s: unknown key \"%s\" in group [%s]", path, keys[j], groups[i]);
              return FALSE;
            }
        }
    }

  if (!get_string (kf, "server", "listen", &settings->listen, error)
      || !get_string (kf, "server", "tls-cert", &settings->tls_cert, error)
      || !get_string (kf, "server", "tls-key", &settings->tls_key, error)
      || !get_uint (kf, "server", "threads", 1, 256, &settings->threads, error)
      || !get_bool (kf, "server", "access-log", &settings->access_log, error)
      || !get_string (kf, "storage", "root", &settings->root, error)
      || !get_bool (kf, "storage", "delete", &settings->delete_enabled, error)
      || !get_uint (kf, "storage", "upload-timeout", 1, G_MAXINT32, &settings->upload_timeout,
                    error)
      || !get_bool (kf, "auth", "anonymous-pull", &settings->anonymous_pull, error)
      || !get_bool (kf, "auth", "private-namespaces", &settings->private_namespaces, error)
      || !get_uint (kf, "auth", "token-lifetime", 60, 86400, &settings->token_lifetime, error)
      || !get_string (kf, "auth", "service", &settings->service, error)
      || !get_string (kf, "mirror", "proxy-upstream", &settings->proxy_upstream, error)
      || !get_string (kf, "mirror", "proxy-username", &settings->proxy_username, error)
      || !get_string (kf, "mirror", "proxy-password", &settings->proxy_password, error)
      || !get_uint (kf, "mirror", "proxy-ttl", 0, G_MAXINT32, &settings->proxy_ttl, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (g_key_file_has_key (kf, "mirror", "redirect-blobs-to", NULL))
    {
      g_strfreev (settings->redirect_blobs_to);
      settings->redirect_blobs_to
        = g_key_file_get_string_list (kf, "mirror", "redirect-blobs-to", NULL, NULL);
    }
  return TRUE;
}
