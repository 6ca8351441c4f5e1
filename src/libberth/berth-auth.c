/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-auth.h"
#include "berth-error.h"

#include <errno.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

/* Docker writes keys as URLs ("https://host/v1/"); compare on host[:port]. */
static char *
normalize_key (const char *key)
{
  const char *start = key;
  const char *end;

  if (g_str_has_prefix (start, "https://"))
    start += strlen ("https://");
  else if (g_str_has_prefix (start, "http://"))
    start += strlen ("http://");
  end = strchr (start, '/');
  return end ? g_strndup (start, end - start) : g_strdup (start);
}

/* Loads the file's root object; a missing file gives an empty one. */
static JsonObject *
load_auths (const char *path, JsonNode **out_root, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonNode) root = NULL;
  JsonObject *object;
  JsonNode *auths;

  if (!json_parser_load_from_file (parser, path, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                       "cannot read the credentials file %s: %s", path, local_error->message);
          return NULL;
        }
      root = json_node_init_object (json_node_alloc (), json_object_new ());
    }
  else
    root = json_parser_steal_root (parser);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "the credentials file %s is not a JSON object; fix or remove it", path);
      return NULL;
    }
  object = json_node_get_object (root);
  auths = json_object_get_member (object, "auths");
  if (auths == NULL)
    json_object_set_object_member (object, "auths", json_object_new ());
  else if (!JSON_NODE_HOLDS_OBJECT (auths))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "the credentials file %s has an \"auths\" member that is not an object", path);
      return NULL;
    }

  *out_root = g_steal_pointer (&root);
  return json_object_get_object_member (object, "auths");
}

/* The member of @auths whose key names @registry, or NULL. */
static const char *
find_member (JsonObject *auths, const char *registry)
{
  g_autoptr (GList) members = json_object_get_members (auths);

  for (GList *l = members; l; l = l->next)
    {
      g_autofree char *key = normalize_key (l->data);

      if (g_str_equal (key, registry))
        return l->data;
    }
  return NULL;
}

gboolean
berth_auth_lookup (const char *path, const char *registry, char **out_user, char **out_password,
                   GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *auths;
  JsonObject *entry;
  const char *member;
  const char *encoded;
  g_autofree guchar *decoded = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  char *colon;

  *out_user = NULL;
  *out_password = NULL;

  auths = load_auths (path, &root, error);
  if (auths == NULL)
    return FALSE;
  member = find_member (auths, registry);
  if (member == NULL)
    return TRUE;

  entry = json_object_get_object_member (auths, member);
  encoded = entry ? json_object_get_string_member_with_default (entry, "auth", NULL) : NULL;
  if (encoded == NULL)
    return TRUE;

  decoded = g_base64_decode (encoded, &len);
  text = g_strndup ((const char *)decoded, len);
  colon = strchr (text, ':');
  if (colon == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "the credentials for %s in %s are not user:password; log in again", registry,
                   path);
      return FALSE;
    }
  *colon = '\0';
  *out_user = g_strdup (text);
  *out_password = g_strdup (colon + 1);
  explicit_bzero (text, len);
  explicit_bzero (decoded, len);
  return TRUE;
}

static gboolean
save_auths (const char *path, JsonNode *root, GError **error)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *data = NULL;
  gsize len = 0;

  if (g_mkdir_with_parents (dir, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", dir);

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &len);
  /* Temp file, fsync, rename: a crash leaves the old file or the new one. */
  if (!g_file_set_contents_full (
        path, data, len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error))
    return FALSE;
  return TRUE;
}

gboolean
berth_auth_store (const char *path, const char *registry, const char *user, const char *password,
                  GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *pair = NULL;
  g_autofree char *encoded = NULL;
  JsonObject *auths;
  JsonObject *entry;
  const char *member;

  if (strchr (user, ':') != NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "a user name cannot contain \":\"");
      return FALSE;
    }

  auths = load_auths (path, &root, error);
  if (auths == NULL)
    return FALSE;

  member = find_member (auths, registry);
  if (member != NULL)
    json_object_remove_member (auths, member);

  pair = g_strconcat (user, ":", password, NULL);
  encoded = g_base64_encode ((const guchar *)pair, strlen (pair));
  explicit_bzero (pair, strlen (pair));
  entry = json_object_new ();
  json_object_set_string_member (entry, "auth", encoded);
  json_object_set_object_member (auths, registry, entry);
  return save_auths (path, root, error);
}

gboolean
berth_auth_remove (const char *path, const char *registry, gboolean *out_removed, GError **error)
{
  g_autoptr (JsonNode) root = NULL;
  JsonObject *auths;
  const char *member;

  *out_removed = FALSE;
  auths = load_auths (path, &root, error);
  if (auths == NULL)
    return FALSE;
  member = find_member (auths, registry);
  if (member == NULL)
    return TRUE;
  json_object_remove_member (auths, member);
  *out_removed = TRUE;
  return save_auths (path, root, error);
}
