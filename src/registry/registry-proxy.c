/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pull-through mirror: what a client asks for and this registry lacks
 * is fetched from --proxy-upstream with libcurl, checked against its
 * digest, and only then stored and served. Upstream registries that want a
 * token get the usual Bearer flow (anonymous, or with the configured
 * credentials). */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "registry-request.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)

#define MANIFEST_MAX (4 * 1024 * 1024)

typedef struct
{
  GByteArray *body; /* manifests and tokens */
  int fd;           /* or blobs, streamed to a staging file */
  BerthHasher *hasher;
  int write_errno;
  char *content_type;
  char *digest_header;
  char *challenge;
  char *link;
  CURL *curl; /* the transfer in progress */
} Fetch;

static void
fetch_clear (Fetch *f)
{
  g_clear_pointer (&f->body, g_byte_array_unref);
  g_clear_pointer (&f->content_type, g_free);
  g_clear_pointer (&f->digest_header, g_free);
  g_clear_pointer (&f->challenge, g_free);
  g_clear_pointer (&f->link, g_free);
}

static size_t
on_data (char *data, size_t size, size_t nmemb, void *user_data)
{
  Fetch *f = user_data;
  size_t len = size * nmemb;
  long status = 0;

  /* Only a 200's body is content; a 401's or a redirect's is dropped. */
  curl_easy_getinfo (f->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200)
    return len;
  if (f->body)
    {
      if (f->body->len + len > MANIFEST_MAX)
        return 0;
      g_byte_array_append (f->body, (const guint8 *)data, len);
      return len;
    }
  for (size_t done = 0; done < len;)
    {
      ssize_t n = write (f->fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          f->write_errno = errno;
          return 0;
        }
      done += n;
    }
  berth_hasher_update (f->hasher, data, len);
  return len;
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *user_data)
{
  Fetch *f = user_data;
  size_t len = size * nmemb;
  g_autofree char *line = g_strndup (data, len);
  char *colon = strchr (line, ':');
  char **slot = NULL;

  /* A new response (after a redirect) starts over. */
  if (g_str_has_prefix (line, "HTTP/"))
    {
      g_clear_pointer (&f->content_type, g_free);
      g_clear_pointer (&f->digest_header, g_free);
      g_clear_pointer (&f->challenge, g_free);
      return len;
    }
  if (colon == NULL)
    return len;
  *colon = '\0';
  if (g_ascii_strcasecmp (line, "Content-Type") == 0)
    slot = &f->content_type;
  else if (g_ascii_strcasecmp (line, "Docker-Content-Digest") == 0)
    slot = &f->digest_header;
  else if (g_ascii_strcasecmp (line, "WWW-Authenticate") == 0)
    slot = &f->challenge;
  else if (g_ascii_strcasecmp (line, "Link") == 0)
    slot = &f->link;
  if (slot)
    {
      g_free (*slot);
      *slot = g_strdup (g_strstrip (colon + 1));
    }
  return len;
}

static long
perform (const char *url, const char *accept, const char *authorization, const char *userpwd,
         Fetch *f, GError **error)
{
  g_autoptr (CURL) curl = curl_easy_init ();
  struct curl_slist *headers = NULL;
  g_autofree char *accept_header = accept ? g_strconcat ("Accept: ", accept, NULL) : NULL;
  g_autofree char *auth_header
    = authorization ? g_strconcat ("Authorization: ", authorization, NULL) : NULL;
  long status = 0;
  CURLcode rc;

  if (accept_header)
    headers = curl_slist_append (headers, accept_header);
  if (auth_header)
    headers = curl_slist_append (headers, auth_header);
  f->curl = curl;
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "berth-registry/" PACKAGE_VERSION);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, f);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, f);
  if (userpwd)
    {
      curl_easy_setopt (curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt (curl, CURLOPT_USERPWD, userpwd);
    }
  rc = curl_easy_perform (curl);
  f->curl = NULL;
  curl_slist_free_all (headers);
  if (rc != CURLE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "upstream %s: %s", url,
                   curl_easy_strerror (rc));
      return -1;
    }
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

/* The value of PARAM="..." in a challenge. */
static char *
challenge_param (const char *challenge, const char *param)
{
  g_autofree char *needle = g_strconcat (param, "=\"", NULL);
  const char *start = strstr (challenge, needle);
  const char *end;

  if (start == NULL)
    return NULL;
  start += strlen (needle);
  end = strchr (start, '"');
  return end ? g_strndup (start, end - start) : NULL;
}

static char *
fetch_token (Registry *registry, const char *challenge, const char *name, GError **error)
{
  RegistrySettings *s = registry->settings;
  g_autofree char *realm = challenge_param (challenge, "realm");
  g_autofree char *service = challenge_param (challenge, "service");
  g_autofree char *scope = g_strdup_printf ("repository:%s:pull", name);
  g_autofree char *e_service = NULL;
  g_autofree char *e_scope = g_uri_escape_string (scope, NULL, FALSE);
  g_autofree char *url = NULL;
  g_autofree char *userpwd = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  Fetch f = { .body = g_byte_array_new (), .fd = -1 };
  JsonObject *object;
  long status;
  const char *token = NULL;
  char *result = NULL;

  if (realm == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                   "upstream wants authentication but names no token realm");
      fetch_clear (&f);
      return NULL;
    }
  e_service = g_uri_escape_string (service ? service : "", NULL, FALSE);
  url = g_strdup_printf ("%s%sservice=%s&scope=%s", realm, strchr (realm, '?') ? "&" : "?",
                         e_service, e_scope);
  if (s->proxy_username)
    userpwd
      = g_strdup_printf ("%s:%s", s->proxy_username, s->proxy_password ? s->proxy_password : "");
  status = perform (url, "application/json", NULL, userpwd, &f, error);
  if (status != 200)
    {
      if (status > 0)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH, "upstream token service %s answered %ld",
                     realm, status);
      fetch_clear (&f);
      return NULL;
    }
  if (json_parser_load_from_data (parser, (const char *)f.body->data, f.body->len, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      object = json_node_get_object (json_parser_get_root (parser));
      if (json_object_has_member (object, "token"))
        token = json_object_get_string_member (object, "token");
      else if (json_object_has_member (object, "access_token"))
        token = json_object_get_string_member (object, "access_token");
    }
  if (token)
    result = g_strconcat ("Bearer ", token, NULL);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH, "upstream token service %s sent no token",
                 realm);
  fetch_clear (&f);
  return result;
}

/* GET upstream PATH, answering a Bearer challenge once. */
static long
get_upstream (Registry *registry, const char *name, const char *path, const char *accept, Fetch *f,
              GError **error)
{
  RegistrySettings *s = registry->settings;
  gsize len = strlen (s->proxy_upstream);
  g_autofree char *url = NULL;
  g_autofree char *authorization = NULL;
  long status;

  while (len > 0 && s->proxy_upstream[len - 1] == '/')
    len--;
  url = g_strdup_printf ("%.*s%s", (int)len, s->proxy_upstream, path);
  status = perform (url, accept, NULL, NULL, f, error);
  if (status != 401 || f->challenge == NULL)
    return status;
  if (g_ascii_strncasecmp (f->challenge, "Basic", 5) == 0 && s->proxy_username)
    {
      g_autofree char *userpwd
        = g_strdup_printf ("%s:%s", s->proxy_username, s->proxy_password ? s->proxy_password : "");
      if (f->body)
        g_byte_array_set_size (f->body, 0);
      return perform (url, accept, NULL, userpwd, f, error);
    }
  authorization = fetch_token (registry, f->challenge, name, error);
  if (authorization == NULL)
    return -1;
  if (f->body)
    g_byte_array_set_size (f->body, 0);
  return perform (url, accept, authorization, NULL, f, error);
}

gboolean
registry_proxy_fetch_manifest (Registry *registry, const char *name, const char *reference,
                               GError **error)
{
  g_autofree char *path = g_strdup_printf ("/v2/%s/manifests/%s", name, reference);
  g_autofree char *digest = NULL;
  Fetch f = { .body = g_byte_array_new (), .fd = -1 };
  gboolean ok = FALSE;
  long status;

  status = get_upstream (registry, name, path, BERTH_MANIFEST_ACCEPT, &f, error);
  if (status < 0)
    goto out;
  if (status != 200)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "upstream answered %ld for %s:%s",
                   status, name, reference);
      goto out;
    }
  digest = berth_digest_bytes (BERTH_DIGEST_SHA256, f.body->data, f.body->len);
  if (f.digest_header && g_str_has_prefix (f.digest_header, "sha256:")
      && strcmp (f.digest_header, digest) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "upstream sent a manifest for %s:%s whose digest is %s, not %s as it said", name,
                   reference, digest, f.digest_header);
      goto out;
    }
  /* registry_manifest_store checks a digest reference against the bytes. */
  ok = registry_manifest_store (registry, name, reference, (const char *)f.body->data, f.body->len,
                                f.content_type, FALSE, NULL, NULL, error);
  if (ok)
    g_message ("mirror: cached %s:%s (%s) from upstream", name, reference, digest);
out:
  fetch_clear (&f);
  return ok;
}

void
registry_proxy_init (Registry *registry)
{
  g_mutex_init (&registry->proxy_lock);
  g_cond_init (&registry->proxy_cond);
  registry->proxy_inflight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
registry_proxy_clear (Registry *registry)
{
  g_clear_pointer (&registry->proxy_inflight, g_hash_table_unref);
  g_cond_clear (&registry->proxy_cond);
  g_mutex_clear (&registry->proxy_lock);
}

static gboolean
fetch_blob (Registry *registry, const char *name, const char *digest, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/v2/%s/blobs/%s", name, digest);
  g_autofree char *staged = NULL;
  g_autofree char *computed = NULL;
  g_autoptr (BerthHasher) hasher = NULL;
  BerthDigestAlgorithm algorithm = BERTH_DIGEST_SHA256;
  Fetch f = { .fd = -1 };
  gboolean ok = FALSE;
  long status;

  if (!berth_digest_validate (digest, &algorithm, error))
    return FALSE;
  f.fd = registry_store_new_staging (registry, &staged, error);
  if (f.fd < 0)
    return FALSE;
  hasher = berth_hasher_new (algorithm);
  f.hasher = hasher;
  status = get_upstream (registry, name, path, NULL, &f, error);
  if (status < 0)
    goto out;
  if (status != 200)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "upstream answered %ld for %s@%s",
                   status, name, digest);
      goto out;
    }
  if (f.write_errno)
    {
      berth_error_set_errno (error, f.write_errno, "cannot cache %s", digest);
      goto out;
    }
  computed = berth_hasher_finish (hasher);
  if (strcmp (computed, digest) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "upstream sent bytes with digest %s for blob %s; refused", computed, digest);
      goto out;
    }
  if (!registry_store_commit (registry, f.fd, staged, digest, error))
    goto out;
  g_clear_pointer (&staged, g_free);
  ok = registry_db_blob_link (registry->db, name, digest, error);
out:
  if (staged)
    registry_store_discard_staging (registry, staged);
  berth_close_fdp (&f.fd);
  fetch_clear (&f);
  return ok;
}

/* Clients asking for the same missing blob at once wait for one download
 * instead of each fetching it. */
gboolean
registry_proxy_fetch_blob (Registry *registry, const char *name, const char *digest, GError **error)
{
  gboolean ok;

  g_mutex_lock (&registry->proxy_lock);
  while (g_hash_table_contains (registry->proxy_inflight, digest))
    g_cond_wait (&registry->proxy_cond, &registry->proxy_lock);
  if (registry_db_blob_linked (registry->db, name, digest))
    {
      g_mutex_unlock (&registry->proxy_lock);
      return TRUE;
    }
  g_hash_table_add (registry->proxy_inflight, g_strdup (digest));
  g_mutex_unlock (&registry->proxy_lock);

  ok = fetch_blob (registry, name, digest, error);

  g_mutex_lock (&registry->proxy_lock);
  g_hash_table_remove (registry->proxy_inflight, digest);
  g_cond_broadcast (&registry->proxy_cond);
  g_mutex_unlock (&registry->proxy_lock);
  return ok;
}

gboolean
registry_proxy_fetch_tags (Registry *registry, const char *name, const char *query,
                           GBytes **out_body, char **out_link, GError **error)
{
  g_autofree char *path
    = g_strdup_printf ("/v2/%s/tags/list%s%s", name, query ? "?" : "", query ? query : "");
  Fetch f = { .body = g_byte_array_new (), .fd = -1 };
  long status = get_upstream (registry, name, path, "application/json", &f, error);
  gboolean ok = status == 200;

  if (status > 0 && !ok)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK,
                 "upstream answered %ld for the tags of %s", status, name);
  if (ok)
    {
      *out_body = g_byte_array_free_to_bytes (g_steal_pointer (&f.body));
      *out_link = g_steal_pointer (&f.link);
    }
  fetch_clear (&f);
  return ok;
}
