/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who the client is (Basic credentials or a token from /token) and what it
 * may do: pull anonymously when allowed, push and delete in its own
 * namespace ("USER/..."), everything as an admin.
 *
 * Tokens carry their scope, as the distribution token spec has it: the
 * token server grants, of the scopes asked for (repository:NAME:pull,push,
 * registry:catalog:*), the actions the user may do, and a request with a
 * token must be covered by it (and still be allowed: a revoked grant or a
 * deleted account takes effect at once). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "berth-error.h"
#include "berth-reference.h"
#include "registry-request.h"

#define CREDENTIAL_CACHE_USEC (60 * G_USEC_PER_SEC)

gboolean
registry_auth_load_key (Registry *registry, GError **error)
{
  g_autofree char *hex = registry_db_setting_get (registry->db, "token-key");
  g_autoptr (GString) fresh = NULL;

  if (hex && strlen (hex) == 2 * sizeof registry->token_key)
    {
      for (gsize i = 0; i < sizeof registry->token_key; i++)
        registry->token_key[i]
          = (g_ascii_xdigit_value (hex[2 * i]) << 4) | g_ascii_xdigit_value (hex[2 * i + 1]);
      return TRUE;
    }
  if (getrandom (registry->token_key, sizeof registry->token_key, 0) != sizeof registry->token_key)
    return berth_error_set_errno (error, errno, "cannot make a token signing key");
  fresh = g_string_new (NULL);
  for (gsize i = 0; i < sizeof registry->token_key; i++)
    g_string_append_printf (fresh, "%02x", registry->token_key[i]);
  return registry_db_setting_set (registry->db, "token-key", fresh->str, error);
}

/* HMAC-SHA256 of @payload with the registry's key, in hex. GLib's HMAC
 * keeps an idle server from initialising libcrypto's providers. */
static char *
sign (Registry *registry, const char *payload)
{
  g_autoptr (GHmac) hmac
    = g_hmac_new (G_CHECKSUM_SHA256, registry->token_key, sizeof registry->token_key);

  g_hmac_update (hmac, (const guchar *)payload, -1);
  return g_strdup (g_hmac_get_string (hmac));
}

static gboolean
equal_constant_time (const char *a, const char *b, gsize len)
{
  guint8 diff = 0;

  for (gsize i = 0; i < len; i++)
    diff |= a[i] ^ b[i];
  return diff == 0;
}

/* base64url without padding, so that the token is a plain HTTP token. */
static char *
base64url (const char *data, gsize len)
{
  char *out = g_base64_encode ((const guint8 *)data, len);

  for (char *p = out; *p; p++)
    {
      if (*p == '+')
        *p = '-';
      else if (*p == '/')
        *p = '_';
      else if (*p == '=')
        {
          *p = '\0';
          break;
        }
    }
  return out;
}

char *
registry_auth_issue_token (Registry *registry, const char *user, gint64 expires, const char *scopes)
{
  g_autofree char *claims
    = g_strdup_printf ("%s\n%" G_GINT64_FORMAT "\n%s", user, expires, scopes ? scopes : "");
  g_autofree char *payload = base64url (claims, strlen (claims));
  g_autofree char *mac = sign (registry, payload);

  return g_strconcat (payload, ".", mac, NULL);
}

char *
registry_auth_verify_token (Registry *registry, const char *token, char ***out_scopes)
{
  const char *dot = strchr (token, '.');
  g_autofree char *payload = NULL;
  g_autofree char *mac = NULL;
  g_autofree char *b64 = NULL;
  g_autofree guchar *claims = NULL;
  gsize claims_len = 0;
  const char *newline;
  const char *scopes;
  gint64 expires;

  if (dot == NULL)
    return NULL;
  payload = g_strndup (token, dot - token);
  mac = sign (registry, payload);
  if (strlen (dot + 1) != strlen (mac) || !equal_constant_time (dot + 1, mac, strlen (mac)))
    return NULL;

  b64 = g_strdup (payload);
  for (char *p = b64; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
  while (strlen (b64) % 4)
    {
      char *padded = g_strconcat (b64, "=", NULL);
      g_free (b64);
      b64 = padded;
    }
  claims = g_base64_decode (b64, &claims_len);
  if (claims == NULL || memchr (claims, '\0', claims_len) != NULL)
    return NULL;
  claims = g_realloc (claims, claims_len + 1);
  claims[claims_len] = '\0';
  newline = strchr ((const char *)claims, '\n');
  if (newline == NULL || (scopes = strchr (newline + 1, '\n')) == NULL)
    return NULL;
  expires = g_ascii_strtoll (newline + 1, NULL, 10);
  if (expires < g_get_real_time () / G_USEC_PER_SEC)
    return NULL;
  if (out_scopes)
    *out_scopes = g_strsplit (scopes + 1, " ", -1);
  return g_strndup ((const char *)claims, newline - (const char *)claims);
}

/* yescrypt is slow by design; remember good credentials for a minute so
 * that clients sending Basic on every request stay fast. */
gboolean
registry_auth_check_password (Registry *registry, const char *user, const char *password,
                              gboolean *out_admin)
{
  g_autofree char *hash = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gboolean admin = FALSE;
  gboolean cached = FALSE;
  gint64 now = g_get_monotonic_time ();

  if (!registry_db_user_get (registry->db, user, &hash, &admin))
    return FALSE;
  g_checksum_update (checksum, (const guchar *)hash, -1);
  g_checksum_update (checksum, (const guchar *)"", 1);
  g_checksum_update (checksum, (const guchar *)password, -1);
  key = g_strdup (g_checksum_get_string (checksum));

  g_mutex_lock (&registry->credentials_lock);
  gpointer expiry = g_hash_table_lookup (registry->verified_credentials, key);
  cached = expiry != NULL && *(gint64 *)expiry > now;
  g_mutex_unlock (&registry->credentials_lock);

  if (!cached)
    {
      if (!registry_password_verify (password, hash))
        return FALSE;
      gint64 *until = g_new (gint64, 1);
      *until = now + CREDENTIAL_CACHE_USEC;
      g_mutex_lock (&registry->credentials_lock);
      g_hash_table_replace (registry->verified_credentials, g_steal_pointer (&key), until);
      g_mutex_unlock (&registry->credentials_lock);
    }
  *out_admin = admin;
  return TRUE;
}

gboolean
registry_auth_allowed (Registry *registry, const char *user, gboolean admin, RegistryAccess access,
                       const char *name)
{
  gboolean signed_in = user != NULL && *user != '\0';

  if (signed_in && admin)
    return TRUE;
  switch (access)
    {
    case REGISTRY_ACCESS_NONE:
      return TRUE;
    case REGISTRY_ACCESS_PULL:
      /* With private namespaces, pulling is allowed where pushing is. */
      if (!registry->settings->private_namespaces || name == NULL)
        return registry->settings->anonymous_pull || signed_in;
      G_GNUC_FALLTHROUGH;
    case REGISTRY_ACCESS_PUSH:
    case REGISTRY_ACCESS_DELETE:
      {
        gsize len = signed_in ? strlen (user) : 0;

        if (!signed_in || name == NULL)
          return FALSE;
        if (strncmp (name, user, len) == 0 && name[len] == '/')
          return TRUE;
        return registry_db_granted (registry->db, user, name);
      }
    case REGISTRY_ACCESS_ACCOUNT:
      return signed_in;
    default:
      return FALSE;
    }
}

static const char *
access_action (RegistryAccess access)
{
  switch (access)
    {
    case REGISTRY_ACCESS_PULL:
      return "pull";
    case REGISTRY_ACCESS_PUSH:
      return "push";
    case REGISTRY_ACCESS_DELETE:
      return "delete";
    default:
      return NULL;
    }
}

gboolean
registry_auth_token_covers (char **scopes, const char *type, const char *name, const char *action)
{
  gsize prefix_len = strlen (type) + 1 + strlen (name) + 1;

  for (guint i = 0; scopes && scopes[i]; i++)
    {
      const char *s = scopes[i];

      if (strlen (s) > prefix_len && g_str_has_prefix (s, type) && s[strlen (type)] == ':'
          && strncmp (s + strlen (type) + 1, name, strlen (name)) == 0 && s[prefix_len - 1] == ':')
        {
          g_auto (GStrv) actions = g_strsplit (s + prefix_len, ",", -1);

          if (g_strv_contains ((const char *const *)actions, action)
              || g_strv_contains ((const char *const *)actions, "*"))
            return TRUE;
        }
    }
  return FALSE;
}

/* Whether the request's token (if it came with one) grants what the
 * route needs. */
static gboolean
token_covers (RegistryRequest *req, RegistryAccess access)
{
  const char *action = access_action (access);

  if (!req->has_token)
    return TRUE;
  if (req->route.kind == ROUTE_CATALOG)
    return registry_auth_token_covers (req->token_scopes, "registry", "catalog", "*");
  if (req->route.name == NULL || action == NULL)
    return TRUE;
  return registry_auth_token_covers (req->token_scopes, "repository", req->route.name, action);
}

/* Sets req->user from the Authorization header. FALSE when credentials
 * were given but are wrong. */
static gboolean
identify (RegistryRequest *req)
{
  const char *header = registry_request_header (req, "Authorization");

  if (header == NULL)
    return TRUE;
  if (g_ascii_strncasecmp (header, "Basic ", 6) == 0)
    {
      gsize len = 0;
      g_autofree guchar *decoded = g_base64_decode (header + 6, &len);
      g_autofree char *text = NULL;
      char *colon;

      if (decoded == NULL || len == 0 || memchr (decoded, '\0', len))
        return FALSE;
      text = g_strndup ((const char *)decoded, len);
      colon = strchr (text, ':');
      if (colon == NULL)
        return FALSE;
      *colon = '\0';
      if (!registry_auth_check_password (req->registry, text, colon + 1, &req->admin))
        return FALSE;
      req->user = g_strdup (text);
      return TRUE;
    }
  if (g_ascii_strncasecmp (header, "Bearer ", 7) == 0)
    {
      g_autofree char *user
        = registry_auth_verify_token (req->registry, header + 7, &req->token_scopes);

      if (user == NULL)
        return FALSE;
      req->has_token = TRUE;
      /* A deleted account's tokens stop working at once. */
      if (*user && !registry_db_user_get (req->registry->db, user, NULL, &req->admin))
        return FALSE;
      req->user = g_steal_pointer (&user);
      return TRUE;
    }
  return FALSE;
}

static char *
scope_for (RegistryRequest *req, RegistryAccess access)
{
  if (req->route.kind == ROUTE_CATALOG)
    return g_strdup ("registry:catalog:*");
  if (req->route.name == NULL)
    return NULL;
  switch (access)
    {
    case REGISTRY_ACCESS_PUSH:
      return g_strdup_printf ("repository:%s:pull,push", req->route.name);
    case REGISTRY_ACCESS_DELETE:
      return g_strdup_printf ("repository:%s:delete", req->route.name);
    default:
      return g_strdup_printf ("repository:%s:pull", req->route.name);
    }
}

gboolean
registry_auth_request (RegistryRequest *req, RegistryAccess access)
{
  g_autofree char *scope = scope_for (req, access);

  if (!identify (req))
    {
      registry_respond_unauthorized (req, scope);
      return FALSE;
    }
  if (registry_auth_allowed (req->registry, req->user, req->admin, access, req->route.name))
    {
      if (token_covers (req, access))
        return TRUE;
      /* The spec's answer: a new challenge naming the scope to ask for. */
      registry_respond_unauthorized (req, scope);
      return FALSE;
    }
  if (req->user == NULL || *req->user == '\0')
    registry_respond_unauthorized (req, scope);
  else
    registry_respond_error (req, MHD_HTTP_FORBIDDEN, "DENIED",
                            "user \"%s\" may not %s %s: users %s only under \"%s/\", where "
                            "they were granted access, or as admins",
                            req->user,
                            access == REGISTRY_ACCESS_DELETE ? "delete in"
                            : access == REGISTRY_ACCESS_PULL ? "pull from"
                                                             : "push to",
                            req->route.name ? req->route.name : "this registry",
                            access == REGISTRY_ACCESS_PULL ? "pull" : "push", req->user);
  return FALSE;
}

static enum MHD_Result
collect_scope (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  GPtrArray *asked = cls;

  if (g_str_equal (key, "scope") && value)
    {
      g_auto (GStrv) parts = g_strsplit (value, " ", -1);

      for (guint i = 0; parts[i]; i++)
        if (*parts[i])
          g_ptr_array_add (asked, g_strdup (parts[i]));
    }
  return MHD_YES;
}

/* Of "TYPE:NAME:ACTIONS", the actions @user may do, as a scope to put in
 * the token, or NULL when none. */
static char *
grant_scope (Registry *registry, const char *user, gboolean admin, const char *asked)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) granted = g_string_new (NULL);
  const char *first_colon = strchr (asked, ':');
  const char *last_colon = strrchr (asked, ':');
  g_autofree char *type = NULL;
  g_autofree char *name = NULL;

  if (first_colon == NULL || last_colon == first_colon)
    return NULL;
  type = g_strndup (asked, first_colon - asked);
  name = g_strndup (first_colon + 1, last_colon - first_colon - 1);
  parts = g_strsplit (last_colon + 1, ",", -1);
  if (g_str_equal (type, "registry") && g_str_equal (name, "catalog"))
    return g_strv_contains ((const char *const *)parts, "*")
               && registry_auth_allowed (registry, user, admin, REGISTRY_ACCESS_PULL, NULL)
             ? g_strdup ("registry:catalog:*")
             : NULL;
  if (!g_str_equal (type, "repository") || !berth_reference_validate_repository (name, NULL))
    return NULL;
  for (RegistryAccess a = REGISTRY_ACCESS_PULL; a <= REGISTRY_ACCESS_DELETE; a++)
    if ((g_strv_contains ((const char *const *)parts, access_action (a))
         || g_strv_contains ((const char *const *)parts, "*"))
        && registry_auth_allowed (registry, user, admin, a, name))
      g_string_append_printf (granted, "%s%s", granted->len ? "," : "", access_action (a));
  if (granted->len == 0)
    return NULL;
  return g_strdup_printf ("repository:%s:%s", name, granted->str);
}

/* GET /token?service=&scope=: a signed token for whoever the Basic
 * credentials name, or an anonymous one when anonymous pulls are allowed,
 * granting what of the scopes asked for they may do. */
static void
token_get (RegistryRequest *req)
{
  Registry *registry = req->registry;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (GPtrArray) asked = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) granted = g_string_new (NULL);
  g_autofree char *token = NULL;
  g_autoptr (GDateTime) issued = g_date_time_new_now_utc ();
  g_autofree char *issued_text = g_date_time_format_iso8601 (issued);
  char *body;

  if (!identify (req) || (req->user == NULL && !registry->settings->anonymous_pull))
    {
      registry_respond_unauthorized (req, NULL);
      return;
    }
  MHD_get_connection_values (req->connection, MHD_GET_ARGUMENT_KIND, collect_scope, asked);
  for (guint i = 0; i < asked->len && i < 64; i++)
    {
      g_autofree char *scope = grant_scope (registry, req->user, req->admin, asked->pdata[i]);

      if (scope)
        g_string_append_printf (granted, "%s%s", granted->len ? " " : "", scope);
    }
  token = registry_auth_issue_token (registry, req->user ? req->user : "",
                                     now + registry->settings->token_lifetime, granted->str);
  body = g_strdup_printf ("{\"token\":\"%s\",\"access_token\":\"%s\",\"expires_in\":%u,"
                          "\"issued_at\":\"%s\"}",
                          token, token, registry->settings->token_lifetime, issued_text);
  registry_respond (req, MHD_HTTP_OK,
                    registry_response_take (body, strlen (body), "application/json"));
}

void
registry_token_begin (RegistryRequest *req)
{
  if (registry_request_is (req, "GET"))
    token_get (req);
  else if (registry_request_is (req, "POST"))
    /* The OAuth2 form: clients fall back to GET on 404. */
    registry_respond_error (req, MHD_HTTP_NOT_FOUND, "UNSUPPORTED",
                            "use GET /token with Basic credentials");
  else
    registry_respond_method_not_allowed (req, "GET");
}
