/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one registry client berth has: berth-pull uses it for pulls and
 * pushes, berthd for logins and searches, berth-registry for its
 * pull-through mirror. */
#include "config.h"

#include "berth-registry-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-manifest.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, curl_easy_cleanup)

#define MAX_REDIRECTS 8
#define ERROR_BODY_MAX 4096

struct _BerthRegistryClient
{
  char *registry;
  char *base_url;
  char *user;
  char *password;
  char *token; /* Bearer token for token_scope */
  char *token_scope;
  char *extra_scope; /* asked for too while set (a mount's source repository) */
  gboolean basic;    /* the registry asked for Basic auth */
  guint timeout;
  char *last_server;
  CURL *curl;
};

typedef struct
{
  BerthRegistryClient *client;
  CURL *curl;
  /* Where a 2xx body goes: memory (limited) or a file, hashed. */
  GByteArray *body;
  gsize body_max;
  int fd;
  off_t fd_start;
  BerthHasher *hasher;
  BerthDigestAlgorithm algorithm;
  /* Resuming: @resume_have bytes were in @fd already, hashed in @prefix;
   * @resume_from is what the response continues from (0 once a server
   * ignored the Range and sent the whole blob). */
  guint64 resume_have;
  guint64 resume_from;
  BerthHasher *prefix;
  gboolean body_checked;
  gboolean bad_range;
  guint64 received;
  gint64 limit; /* < 0: none */
  gboolean too_big;
  int write_errno;
  BerthRegistryProgress progress;
  gpointer user_data;
  GCancellable *cancellable;
  /* Uploads. */
  int upload_fd;
  guint64 upload_size;
  guint64 uploaded;
  /* What came back. */
  GByteArray *error_body;
  char *content_type;
  char *digest_header;
  char *challenge;
  char *location;
  char *link;
  char *content_range;
} Response;

static void
response_reset (Response *r)
{
  if (r->body)
    g_byte_array_set_size (r->body, 0);
  if (r->fd >= 0)
    {
      off_t keep = r->fd_start + r->resume_have;
      if (ftruncate (r->fd, keep) < 0 || lseek (r->fd, keep, SEEK_SET) < 0)
        r->write_errno = errno;
    }
  if (r->hasher)
    {
      berth_hasher_free (r->hasher);
      r->hasher = r->prefix ? berth_hasher_copy (r->prefix) : berth_hasher_new (r->algorithm);
    }
  r->received = r->resume_have;
  r->resume_from = r->resume_have;
  r->body_checked = FALSE;
  r->bad_range = FALSE;
  r->too_big = FALSE;
  r->uploaded = 0;
  if (r->upload_fd >= 0)
    lseek (r->upload_fd, 0, SEEK_SET);
  g_byte_array_set_size (r->error_body, 0);
  g_clear_pointer (&r->content_type, g_free);
  g_clear_pointer (&r->digest_header, g_free);
  g_clear_pointer (&r->challenge, g_free);
  g_clear_pointer (&r->location, g_free);
  g_clear_pointer (&r->link, g_free);
  g_clear_pointer (&r->content_range, g_free);
}

static void
response_init (Response *r, BerthRegistryClient *client)
{
  memset (r, 0, sizeof *r);
  r->client = client;
  r->fd = -1;
  r->upload_fd = -1;
  r->limit = -1;
  r->error_body = g_byte_array_new ();
}

static void
response_clear (Response *r)
{
  g_clear_pointer (&r->body, g_byte_array_unref);
  g_clear_pointer (&r->hasher, berth_hasher_free);
  g_clear_pointer (&r->prefix, berth_hasher_free);
  g_clear_pointer (&r->error_body, g_byte_array_unref);
  g_clear_pointer (&r->content_type, g_free);
  g_clear_pointer (&r->digest_header, g_free);
  g_clear_pointer (&r->challenge, g_free);
  g_clear_pointer (&r->location, g_free);
  g_clear_pointer (&r->link, g_free);
  g_clear_pointer (&r->content_range, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

/* The first bytes of a resumed download's body: a 206 must continue
 * exactly where the kept bytes end; a 200 is the whole blob (the server
 * ignored the Range), which replaces them. */
static gboolean
check_resumed_body (Response *r, long status)
{
  guint64 start = 0;

  r->body_checked = TRUE;
  if (r->resume_from == 0)
    return TRUE;
  if (status == 206)
    {
      if (r->content_range == NULL || !g_str_has_prefix (r->content_range, "bytes ")
          || (start = g_ascii_strtoull (r->content_range + 6, NULL, 10)) != r->resume_from)
        {
          r->bad_range = TRUE;
          return FALSE;
        }
      return TRUE;
    }
  if (ftruncate (r->fd, r->fd_start) < 0 || lseek (r->fd, r->fd_start, SEEK_SET) < 0)
    {
      r->write_errno = errno;
      return FALSE;
    }
  berth_hasher_free (r->hasher);
  r->hasher = berth_hasher_new (r->algorithm);
  r->received = 0;
  r->resume_from = 0;
  return TRUE;
}

static size_t
on_data (char *data, size_t size, size_t nmemb, void *user_data)
{
  Response *r = user_data;
  size_t len = size * nmemb;
  long status = 0;

  curl_easy_getinfo (r->curl, CURLINFO_RESPONSE_CODE, &status);
  /* Only a success's body is content; the rest is kept for messages. */
  if (status < 200 || status > 299)
    {
      if (r->error_body->len < ERROR_BODY_MAX)
        g_byte_array_append (r->error_body, (const guint8 *)data,
                             MIN (len, ERROR_BODY_MAX - r->error_body->len));
      return len;
    }
  if (!r->body_checked && r->fd >= 0 && !check_resumed_body (r, status))
    return 0;
  if (r->limit >= 0 && r->received + len > (guint64)r->limit)
    {
      r->too_big = TRUE;
      return 0;
    }
  r->received += len;
  if (r->body)
    {
      if (r->body->len + len > r->body_max)
        {
          r->too_big = TRUE;
          return 0;
        }
      g_byte_array_append (r->body, (const guint8 *)data, len);
    }
  else if (r->fd >= 0)
    {
      for (size_t done = 0; done < len;)
        {
          ssize_t n = write (r->fd, data + done, len - done);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              r->write_errno = errno;
              return 0;
            }
          done += n;
        }
    }
  if (r->hasher)
    berth_hasher_update (r->hasher, data, len);
  if (r->progress)
    r->progress (r->received, r->user_data);
  return len;
}

static size_t
on_read (char *buffer, size_t size, size_t nitems, void *user_data)
{
  Response *r = user_data;
  ssize_t n;

  do
    n = read (r->upload_fd, buffer, size * nitems);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      r->write_errno = errno;
      return CURL_READFUNC_ABORT;
    }
  r->uploaded += n;
  if (r->progress)
    r->progress (r->uploaded, r->user_data);
  return n;
}

static char *
header_value (const char *line, size_t len, const char *name)
{
  size_t name_len = strlen (name);

  if (len <= name_len + 1 || g_ascii_strncasecmp (line, name, name_len) != 0
      || line[name_len] != ':')
    return NULL;
  return g_strstrip (g_strndup (line + name_len + 1, len - name_len - 1));
}

static size_t
on_header (char *data, size_t size, size_t nmemb, void *user_data)
{
  Response *r = user_data;
  size_t len = size * nmemb;
  char *value;

  if (len > 5 && memcmp (data, "HTTP/", 5) == 0)
    {
      /* A new response (after a 100 Continue): forget the last one's. */
      g_clear_pointer (&r->content_type, g_free);
      g_clear_pointer (&r->digest_header, g_free);
      g_clear_pointer (&r->challenge, g_free);
      g_clear_pointer (&r->location, g_free);
      g_clear_pointer (&r->link, g_free);
      g_clear_pointer (&r->content_range, g_free);
    }
  else if ((value = header_value (data, len, "Content-Range")))
    {
      g_free (r->content_range);
      r->content_range = value;
    }
  else if ((value = header_value (data, len, "Link")))
    {
      g_free (r->link);
      r->link = value;
    }
  else if ((value = header_value (data, len, "Content-Type")))
    {
      char *semicolon = strchr (value, ';');
      if (semicolon)
        *semicolon = '\0';
      g_free (r->content_type);
      r->content_type = g_strstrip (value);
    }
  else if ((value = header_value (data, len, "Docker-Content-Digest")))
    {
      g_free (r->digest_header);
      r->digest_header = value;
    }
  else if ((value = header_value (data, len, "WWW-Authenticate")))
    {
      g_free (r->challenge);
      r->challenge = value;
    }
  else if ((value = header_value (data, len, "Location")))
    {
      g_free (r->location);
      r->location = value;
    }
  return len;
}

static int
on_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
             curl_off_t ulnow)
{
  Response *r = user_data;

  return r->cancellable && g_cancellable_is_cancelled (r->cancellable) ? 1 : 0;
}

char *
berth_registry_base_url (const char *registry, gboolean allow_http)
{
  if (g_str_equal (registry, "docker.io"))
    registry = "registry-1.docker.io";
  return g_strdup_printf ("%s://%s", allow_http ? "http" : "https", registry);
}

static char *
url_origin (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  return g_strdup_printf (
    "%s://%s:%d", g_uri_get_scheme (uri), g_uri_get_host (uri),
    g_uri_get_port (uri) > 0
      ? g_uri_get_port (uri)
      : (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80));
}

gboolean
berth_registry_same_origin (const char *url_a, const char *url_b)
{
  g_autofree char *a = url_origin (url_a);
  g_autofree char *b = url_origin (url_b);

  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

static char *
url_host (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url);
  if (g_uri_get_port (uri) > 0)
    return g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri));
  return g_strdup (g_uri_get_host (uri));
}

BerthRegistryClient *
berth_registry_client_new (const char *registry, const char *base_url, const char *user,
                           const char *password)
{
  BerthRegistryClient *client = g_new0 (BerthRegistryClient, 1);
  size_t len;
  static gsize curl_ready = 0;

  /* curl_global_init is not thread-safe; clients are made in threads. */
  if (g_once_init_enter (&curl_ready))
    {
      curl_global_init (CURL_GLOBAL_DEFAULT);
      g_once_init_leave (&curl_ready, 1);
    }

  client->registry = g_strdup (registry);
  client->base_url = g_strdup (base_url);
  len = strlen (client->base_url);
  while (len > 0 && client->base_url[len - 1] == '/')
    client->base_url[--len] = '\0';
  client->user = g_strdup (user);
  client->password = g_strdup (password);
  client->timeout = 15;
  client->curl = curl_easy_init ();
  return client;
}

BerthRegistryClient *
berth_registry_client_dup (BerthRegistryClient *client)
{
  BerthRegistryClient *copy = berth_registry_client_new (client->registry, client->base_url,
                                                         client->user, client->password);

  copy->token = g_strdup (client->token);
  copy->token_scope = g_strdup (client->token_scope);
  copy->basic = client->basic;
  copy->timeout = client->timeout;
  return copy;
}

void
berth_registry_client_free (BerthRegistryClient *client)
{
  if (client == NULL)
    return;
  g_free (client->registry);
  g_free (client->base_url);
  g_free (client->user);
  if (client->password)
    explicit_bzero (client->password, strlen (client->password));
  g_free (client->password);
  g_free (client->token);
  g_free (client->token_scope);
  g_free (client->last_server);
  if (client->curl)
    curl_easy_cleanup (client->curl);
  g_free (client);
}

const char *
berth_registry_client_last_server (BerthRegistryClient *client)
{
  return client->last_server ? client->last_server : client->registry;
}

void
berth_registry_client_set_timeout (BerthRegistryClient *client, guint seconds)
{
  client->timeout = seconds;
}

char *
berth_registry_challenge_param (const char *challenge, const char *param)
{
  size_t param_len = strlen (param);
  const char *p = strchr (challenge, ' ');

  /* scheme key="value", key="value" — values may hold commas. */
  while (p && *p)
    {
      while (*p == ' ' || *p == ',')
        p++;
      const char *eq = strchr (p, '=');
      if (eq == NULL)
        return NULL;
      gboolean match
        = (size_t)(eq - p) == param_len && g_ascii_strncasecmp (p, param, param_len) == 0;
      const char *v = eq + 1, *end;
      g_autofree char *value = NULL;

      if (*v == '"')
        {
          v++;
          end = strchr (v, '"');
          if (end == NULL)
            return NULL;
          value = g_strndup (v, end - v);
          p = end + 1;
        }
      else
        {
          end = v + strcspn (v, ",");
          value = g_strndup (v, end - v);
          p = end;
        }
      if (match)
        return g_steal_pointer (&value);
    }
  return NULL;
}

static gboolean
perform (BerthRegistryClient *client, const char *method, const char *url,
         struct curl_slist *headers, const char *authorization, GBytes *upload_bytes, Response *r,
         long *out_status, GError **error)
{
  CURL *curl = client->curl;
  g_autofree char *auth_header = NULL;
  struct curl_slist *all = NULL;
  char curl_error[CURL_ERROR_SIZE] = "";
  CURLcode code;

  curl_easy_reset (curl);
  r->curl = curl;
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, (long)client->timeout);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, (long)client->timeout);
  curl_easy_setopt (curl, CURLOPT_USERAGENT, "berth/" PACKAGE_VERSION);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, curl_error);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, r);
  curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (curl, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, r);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);

  for (struct curl_slist *h = headers; h; h = h->next)
    all = curl_slist_append (all, h->data);
  if (authorization)
    {
      auth_header = g_strdup_printf ("Authorization: %s", authorization);
      all = curl_slist_append (all, auth_header);
    }
  if (g_str_equal (method, "HEAD"))
    curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
  else if (g_str_equal (method, "PUT") && r->upload_fd >= 0)
    {
      curl_easy_setopt (curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt (curl, CURLOPT_READDATA, r);
      curl_easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_size);
      all = curl_slist_append (all, "Expect:");
    }
  else if (g_str_equal (method, "PUT") || g_str_equal (method, "POST"))
    {
      gsize len = 0;
      const void *data = upload_bytes ? g_bytes_get_data (upload_bytes, &len) : "";

      curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDS, data);
      curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, all);

  g_free (client->last_server);
  client->last_server = url_host (url);
  code = curl_easy_perform (curl);
  curl_slist_free_all (all);
  curl_easy_setopt (curl, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, NULL);

  if (r->cancellable && g_cancellable_is_cancelled (r->cancellable))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED, "cancelled");
      return FALSE;
    }
  if (r->write_errno)
    return berth_error_set_errno (error, r->write_errno, "cannot write what %s sent",
                                  client->last_server);
  if (r->bad_range)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK,
                   "%s answered a Range request with another range (%s)", client->last_server,
                   r->content_range ?: "none");
      return FALSE;
    }
  if (r->too_big)
    {
      /* The caller knows what it expected; the status says it was a success. */
      *out_status = 200;
      return TRUE;
    }
  if (code != CURLE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "cannot reach %s: %s",
                   client->last_server, *curl_error ? curl_error : curl_easy_strerror (code));
      return FALSE;
    }
  curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, out_status);
  if (*out_status >= 300 && *out_status < 400)
    {
      char *redirect = NULL;
      curl_easy_getinfo (curl, CURLINFO_REDIRECT_URL, &redirect);
      g_free (r->location);
      r->location = g_strdup (redirect);
    }
  return TRUE;
}

static gboolean
fetch_token (BerthRegistryClient *client, const char *challenge, const char *default_scope,
             GError **error)
{
  g_autofree char *realm = berth_registry_challenge_param (challenge, "realm");
  g_autofree char *service = berth_registry_challenge_param (challenge, "service");
  g_autofree char *scope = berth_registry_challenge_param (challenge, "scope");
  g_autoptr (GString) url = NULL;
  g_autofree char *basic = NULL;
  g_auto (Response) r;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *object;
  const char *token = NULL;
  long status = 0;

  response_init (&r, client);
  if (realm == NULL
      || !(g_str_has_prefix (realm, "http://") || g_str_has_prefix (realm, "https://")))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                   "%s asked for a token without a usable realm (%s)", client->registry, challenge);
      return FALSE;
    }
  if (scope == NULL)
    scope = g_strdup (default_scope);
  url = g_string_new (realm);
  g_string_append_c (url, strchr (realm, '?') ? '&' : '?');
  if (service)
    {
      g_autofree char *escaped = g_uri_escape_string (service, NULL, FALSE);
      g_string_append_printf (url, "service=%s&", escaped);
    }
  if (scope)
    {
      g_autofree char *escaped = g_uri_escape_string (scope, NULL, FALSE);
      g_string_append_printf (url, "scope=%s", escaped);
    }
  if (client->extra_scope)
    {
      g_autofree char *escaped = g_uri_escape_string (client->extra_scope, NULL, FALSE);
      g_string_append_printf (url, "%sscope=%s", scope ? "&" : "", escaped);
    }
  if (client->user)
    {
      g_autofree char *pair = g_strdup_printf ("%s:%s", client->user, client->password ?: "");
      g_autofree char *b64 = g_base64_encode ((const guchar *)pair, strlen (pair));
      basic = g_strdup_printf ("Basic %s", b64);
      explicit_bzero (pair, strlen (pair));
    }
  r.body = g_byte_array_new ();
  r.body_max = 1024 * 1024;
  if (!perform (client, "GET", url->str, NULL, basic, NULL, &r, &status, error))
    return FALSE;
  if (status == 401 || status == 403)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                   "%s refused the credentials%s%s (HTTP %ld); check them with berthctl login",
                   client->registry, client->user ? " of " : "", client->user ?: "", status);
      return FALSE;
    }
  if (status != 200
      || !json_parser_load_from_data (parser, (const char *)r.body->data, r.body->len, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                   "the token server %s of %s answered HTTP %ld without a token", realm,
                   client->registry, status);
      return FALSE;
    }
  object = json_node_get_object (json_parser_get_root (parser));
  if (json_object_has_member (object, "token"))
    token = json_object_get_string_member_with_default (object, "token", NULL);
  if (token == NULL)
    token = json_object_get_string_member_with_default (object, "access_token", NULL);
  if (token == NULL || *token == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH, "the token server %s sent no token",
                   realm);
      return FALSE;
    }
  g_free (client->token);
  client->token = g_strdup (token);
  g_free (client->token_scope);
  client->token_scope = g_strjoin (" ", scope ? scope : "", client->extra_scope, NULL);
  return TRUE;
}

static char *
authorization_for (BerthRegistryClient *client, const char *url)
{
  /* Credentials go only to the registry itself, never to where it
   * redirects (a mirror or a CDN). */
  if (!berth_registry_same_origin (url, client->base_url))
    return NULL;
  if (client->token)
    return g_strdup_printf ("Bearer %s", client->token);
  if (client->basic && client->user)
    {
      g_autofree char *pair = g_strdup_printf ("%s:%s", client->user, client->password ?: "");
      g_autofree char *b64 = g_base64_encode ((const guchar *)pair, strlen (pair));
      explicit_bzero (pair, strlen (pair));
      return g_strdup_printf ("Basic %s", b64);
    }
  return NULL;
}

/* One request with the auth dance and redirects. @url may be a path
 * ("/v2/...") on the client's server. */
static gboolean
request (BerthRegistryClient *client, const char *method, const char *path,
         struct curl_slist *headers, const char *scope, GBytes *upload, Response *r,
         long *out_status, GError **error)
{
  g_autofree char *url = NULL;
  gboolean authenticated = FALSE;

  url = path[0] == '/' ? g_strconcat (client->base_url, path, NULL) : g_strdup (path);
  for (guint hop = 0; hop <= MAX_REDIRECTS; hop++)
    {
      g_autofree char *authorization = authorization_for (client, url);

      if (!perform (client, method, url, headers, authorization, upload, r, out_status, error))
        return FALSE;
      if (*out_status == 401 && !authenticated
          && berth_registry_same_origin (url, client->base_url))
        {
          authenticated = TRUE;
          if (r->challenge && g_ascii_strncasecmp (r->challenge, "Bearer ", 7) == 0)
            {
              if (!fetch_token (client, r->challenge, scope, error))
                return FALSE;
            }
          else if (r->challenge && g_ascii_strncasecmp (r->challenge, "Basic", 5) == 0
                   && client->user)
            client->basic = TRUE;
          else
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_AUTH,
                           "%s needs credentials; log in with berthctl login %s", client->registry,
                           client->registry);
              return FALSE;
            }
          response_reset (r);
          hop--;
          continue;
        }
      if (*out_status == 401 || *out_status == 403)
        {
          g_set_error (
            error, BERTH_ERROR, BERTH_ERROR_AUTH,
            "%s refused access%s%s (HTTP %ld); check the credentials with berthctl login",
            berth_registry_client_last_server (client), client->user ? " for " : "",
            client->user ?: "", *out_status);
          return FALSE;
        }
      if (*out_status >= 300 && *out_status < 400 && *out_status != 304 && r->location
          && (g_str_equal (method, "GET") || g_str_equal (method, "HEAD")))
        {
          g_free (url);
          url = g_strdup (r->location);
          response_reset (r);
          continue;
        }
      return TRUE;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "more than %d redirects from %s",
               MAX_REDIRECTS, client->registry);
  return FALSE;
}

static char *
error_detail (Response *r)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (r->error_body->len == 0
      || !json_parser_load_from_data (parser, (const char *)r->error_body->data, r->error_body->len,
                                      NULL))
    return g_strdup ("");
  root = json_parser_get_root (parser);
  if (JSON_NODE_HOLDS_OBJECT (root))
    {
      JsonArray *errors = json_object_has_member (json_node_get_object (root), "errors")
                              && JSON_NODE_HOLDS_ARRAY (
                                json_object_get_member (json_node_get_object (root), "errors"))
                            ? json_object_get_array_member (json_node_get_object (root), "errors")
                            : NULL;
      if (errors && json_array_get_length (errors) > 0
          && JSON_NODE_HOLDS_OBJECT (json_array_get_element (errors, 0)))
        {
          JsonObject *e = json_array_get_object_element (errors, 0);
          return g_strdup_printf (" (%s: %s)",
                                  json_object_get_string_member_with_default (e, "code", "?"),
                                  json_object_get_string_member_with_default (e, "message", ""));
        }
    }
  return g_strdup ("");
}

static char *
repo_scope (const char *repository, const char *actions)
{
  return g_strdup_printf ("repository:%s:%s", repository, actions);
}

gboolean
berth_registry_client_check (BerthRegistryClient *client, GError **error)
{
  g_auto (Response) r;
  long status = 0;

  response_init (&r, client);
  r.body = g_byte_array_new ();
  r.body_max = 64 * 1024;
  if (!request (client, "GET", "/v2/", NULL, NULL, NULL, &r, &status, error))
    return FALSE;
  if (status != 200)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK,
                   "%s is not a registry: GET /v2/ answered HTTP %ld", client->registry, status);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_registry_client_get_manifest (BerthRegistryClient *client, const char *repository,
                                    const char *reference, const char *expected_digest,
                                    GBytes **out_data, char **out_media_type, char **out_digest,
                                    GError **error)
{
  g_auto (Response) r;
  g_autofree char *path = g_strdup_printf ("/v2/%s/manifests/%s", repository, reference);
  g_autofree char *scope = repo_scope (repository, "pull");
  g_autofree char *digest = NULL;
  struct curl_slist *headers = curl_slist_append (NULL, "Accept: " BERTH_MANIFEST_ACCEPT);
  long status = 0;
  gboolean ok;

  response_init (&r, client);
  r.body = g_byte_array_new ();
  r.body_max = BERTH_MANIFEST_MAX_SIZE;
  if (expected_digest == NULL && g_str_has_prefix (reference, "sha256:"))
    expected_digest = reference;
  ok = request (client, "GET", path, headers, scope, NULL, &r, &status, error);
  curl_slist_free_all (headers);
  if (!ok)
    return FALSE;
  if (status == 404)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "%s%s%s: not found at %s%s",
                   repository, g_str_has_prefix (reference, "sha256:") ? "@" : ":", reference,
                   berth_registry_client_last_server (client), detail);
      return FALSE;
    }
  if (status != 200)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "%s answered HTTP %ld to GET %s%s",
                   berth_registry_client_last_server (client), status, path, detail);
      return FALSE;
    }
  if (r.too_big)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                   "the manifest %s:%s from %s is larger than %d bytes", repository, reference,
                   berth_registry_client_last_server (client), BERTH_MANIFEST_MAX_SIZE);
      return FALSE;
    }
  digest = berth_digest_bytes (BERTH_DIGEST_SHA256, r.body->data, r.body->len);
  if (expected_digest && !g_str_equal (expected_digest, digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "manifest %s does not match its digest (got %s) from %s", expected_digest,
                   digest, berth_registry_client_last_server (client));
      return FALSE;
    }
  if (r.digest_header && g_str_has_prefix (r.digest_header, "sha256:")
      && !g_str_equal (r.digest_header, digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "manifest %s:%s from %s is announced as %s but its bytes hash to %s", repository,
                   reference, berth_registry_client_last_server (client), r.digest_header, digest);
      return FALSE;
    }
  if (out_data)
    *out_data = g_byte_array_free_to_bytes (g_steal_pointer (&r.body));
  if (out_media_type)
    *out_media_type = g_strdup (r.content_type);
  if (out_digest)
    *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

/* Downloads a blob into @fd, whose first @have bytes (hashed in @prefix,
 * or NULL when @have is 0) are already the blob's first bytes: only the
 * rest is asked for. *out_status: the last HTTP status. */
static gboolean
fetch_blob (BerthRegistryClient *client, const char *repository, const char *digest,
            BerthDigestAlgorithm algorithm, gint64 size, int fd, guint64 have, BerthHasher *prefix,
            BerthRegistryProgress progress, gpointer user_data, GCancellable *cancellable,
            long *out_status, gboolean *out_resumed, GError **error)
{
  g_auto (Response) r;
  g_autofree char *path = g_strdup_printf ("/v2/%s/blobs/%s", repository, digest);
  g_autofree char *scope = repo_scope (repository, "pull");
  g_autofree char *range = NULL;
  g_autofree char *got = NULL;
  struct curl_slist *headers = NULL;
  long status = 0;
  gboolean ok;

  response_init (&r, client);
  r.fd = fd;
  r.fd_start = lseek (fd, 0, SEEK_CUR);
  if (r.fd_start < 0)
    r.fd_start = 0;
  r.algorithm = algorithm;
  if (have > 0)
    {
      r.fd_start -= have;
      r.resume_have = r.resume_from = r.received = have;
      r.prefix = berth_hasher_copy (prefix);
      r.hasher = berth_hasher_copy (prefix);
      range = g_strdup_printf ("Range: bytes=%" G_GUINT64_FORMAT "-", have);
      headers = curl_slist_append (NULL, range);
    }
  else
    r.hasher = berth_hasher_new (algorithm);
  r.limit = size;
  r.progress = progress;
  r.user_data = user_data;
  r.cancellable = cancellable;
  ok = request (client, "GET", path, headers, scope, NULL, &r, &status, error);
  curl_slist_free_all (headers);
  *out_status = status;
  if (out_resumed)
    *out_resumed = have > 0 && r.resume_from == have;
  if (!ok)
    return FALSE;
  if (status == 404)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "blob %s of %s: not found at %s",
                   digest, repository, berth_registry_client_last_server (client));
      return FALSE;
    }
  if (status != 200 && !(status == 206 && have > 0))
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "%s answered HTTP %ld to GET %s%s",
                   berth_registry_client_last_server (client), status, path, detail);
      return FALSE;
    }
  if (r.too_big)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "blob %s from %s is larger than the %" G_GINT64_FORMAT
                   " bytes its manifest says; refused",
                   digest, berth_registry_client_last_server (client), size);
      return FALSE;
    }
  got = berth_hasher_finish (r.hasher);
  if (!g_str_equal (got, digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "blob %s does not match its digest (got %s) from %s", digest, got,
                   berth_registry_client_last_server (client));
      return FALSE;
    }
  if (size >= 0 && r.received != (guint64)size)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "blob %s from %s has %" G_GUINT64_FORMAT " bytes, not %" G_GINT64_FORMAT, digest,
                   berth_registry_client_last_server (client), r.received, size);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_registry_client_get_blob (BerthRegistryClient *client, const char *repository,
                                const char *digest, gint64 size, int fd,
                                BerthRegistryProgress progress, gpointer user_data,
                                GCancellable *cancellable, GError **error)
{
  BerthDigestAlgorithm algorithm;
  long status = 0;

  if (!berth_digest_validate (digest, &algorithm, error))
    return FALSE;
  return fetch_blob (client, repository, digest, algorithm, size, fd, 0, NULL, progress, user_data,
                     cancellable, &status, NULL, error);
}

/* Hashes the first @len bytes of @fd. */
static BerthHasher *
hash_prefix (int fd, BerthDigestAlgorithm algorithm, guint64 len, GError **error)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (algorithm);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  guint64 done = 0;

  while (done < len)
    {
      ssize_t n = pread (fd, buf, MIN (len - done, 1 << 20), done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          berth_error_set_errno (error, errno, "cannot read the partial download");
          return NULL;
        }
      if (n == 0)
        break;
      berth_hasher_update (hasher, buf, n);
      done += n;
    }
  return g_steal_pointer (&hasher);
}

gboolean
berth_registry_client_resume_blob (BerthRegistryClient *client, const char *repository,
                                   const char *digest, gint64 size, int fd,
                                   BerthRegistryProgress progress, gpointer user_data,
                                   GCancellable *cancellable, gboolean *out_resumed, GError **error)
{
  g_autoptr (BerthHasher) prefix = NULL;
  g_autoptr (GError) local_error = NULL;
  BerthDigestAlgorithm algorithm;
  struct stat st;
  guint64 have;
  long status = 0;

  *out_resumed = FALSE;
  if (!berth_digest_validate (digest, &algorithm, error))
    return FALSE;
  if (fstat (fd, &st) < 0)
    return berth_error_set_errno (error, errno, "cannot read the partial download of %s", digest);
  have = st.st_size;
  if (have > 0 && (size < 0 || have <= (guint64)size))
    {
      prefix = hash_prefix (fd, algorithm, have, error);
      if (prefix == NULL)
        return FALSE;
      if (size >= 0 && have == (guint64)size)
        {
          /* Complete already (the download ended before it was named). */
          g_autoptr (BerthHasher) whole = berth_hasher_copy (prefix);
          g_autofree char *got = berth_hasher_finish (whole);

          if (g_str_equal (got, digest))
            {
              *out_resumed = TRUE;
              return lseek (fd, have, SEEK_SET) >= 0
                     || berth_error_set_errno (error, errno, "cannot read %s", digest);
            }
          have = 0;
        }
    }
  else
    have = 0;
  if (ftruncate (fd, have) < 0 || lseek (fd, have, SEEK_SET) < 0)
    return berth_error_set_errno (error, errno, "cannot prepare the download of %s", digest);
  if (have == 0)
    return fetch_blob (client, repository, digest, algorithm, size, fd, 0, NULL, progress,
                       user_data, cancellable, &status, NULL, error);
  if (fetch_blob (client, repository, digest, algorithm, size, fd, have, prefix, progress,
                  user_data, cancellable, &status, out_resumed, &local_error))
    return TRUE;
  /* The kept bytes may be what is wrong (a server that cannot serve that
   * range, or a partial file that was altered): once more from byte 0, and
   * then what the server sends is all that counts. */
  if (status == 416
      || (*out_resumed
          && (g_error_matches (local_error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH))))
    {
      *out_resumed = FALSE;
      if (ftruncate (fd, 0) < 0 || lseek (fd, 0, SEEK_SET) < 0)
        return berth_error_set_errno (error, errno, "cannot prepare the download of %s", digest);
      return fetch_blob (client, repository, digest, algorithm, size, fd, 0, NULL, progress,
                         user_data, cancellable, &status, NULL, error);
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

gboolean
berth_registry_client_has_blob (BerthRegistryClient *client, const char *repository,
                                const char *digest, gboolean *out_exists, GError **error)
{
  g_auto (Response) r;
  g_autofree char *path = g_strdup_printf ("/v2/%s/blobs/%s", repository, digest);
  g_autofree char *scope = repo_scope (repository, "pull,push");
  long status = 0;

  response_init (&r, client);
  if (!request (client, "HEAD", path, NULL, scope, NULL, &r, &status, error))
    return FALSE;
  if (status != 200 && status != 404)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "%s answered HTTP %ld to HEAD %s",
                   berth_registry_client_last_server (client), status, path);
      return FALSE;
    }
  *out_exists = status == 200;
  return TRUE;
}

static char *
absolute_location (BerthRegistryClient *client, const char *location)
{
  if (location == NULL)
    return NULL;
  if (location[0] == '/')
    return g_strconcat (client->base_url, location, NULL);
  return g_strdup (location);
}

/* POSTs an upload session; a 201 means the blob is there (a mount). */
static gboolean
start_upload (BerthRegistryClient *client, const char *repository, const char *query,
              long *out_status, char **out_location, GError **error)
{
  g_auto (Response) r;
  g_autofree char *path
    = g_strdup_printf ("/v2/%s/blobs/uploads/%s%s", repository, query ? "?" : "", query ?: "");
  g_autofree char *scope = repo_scope (repository, "pull,push");

  response_init (&r, client);
  if (!request (client, "POST", path, NULL, scope, NULL, &r, out_status, error))
    return FALSE;
  if (*out_status != 201 && *out_status != 202)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "%s answered HTTP %ld to POST %s%s",
                   berth_registry_client_last_server (client), *out_status, path, detail);
      return FALSE;
    }
  *out_location = absolute_location (client, r.location);
  if (*out_status == 202 && *out_location == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK,
                   "%s started an upload without a Location", client->registry);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_registry_client_mount_blob (BerthRegistryClient *client, const char *repository,
                                  const char *digest, const char *from, gboolean *out_mounted,
                                  GError **error)
{
  g_autofree char *escaped_from = g_uri_escape_string (from, NULL, FALSE);
  g_autofree char *query = g_strdup_printf ("mount=%s&from=%s", digest, escaped_from);
  g_autofree char *location = NULL;
  long status = 0;
  gboolean ok;

  /* A registry with tokens needs one that also grants pull on @from: ask
   * for it with the next token (a token without it is dropped, so the
   * registry challenges again). */
  client->extra_scope = repo_scope (from, "pull");
  if (client->token && !(client->token_scope && strstr (client->token_scope, client->extra_scope)))
    g_clear_pointer (&client->token, g_free);
  ok = start_upload (client, repository, query, &status, &location, error);
  g_clear_pointer (&client->extra_scope, g_free);
  if (!ok)
    return FALSE;
  *out_mounted = status == 201;
  return TRUE;
}

gboolean
berth_registry_client_put_blob (BerthRegistryClient *client, const char *repository,
                                const char *digest, int fd, guint64 size,
                                BerthRegistryProgress progress, gpointer user_data,
                                GCancellable *cancellable, GError **error)
{
  g_auto (Response) r;
  g_autofree char *location = NULL;
  g_autofree char *url = NULL;
  g_autofree char *scope = repo_scope (repository, "pull,push");
  struct curl_slist *headers = NULL;
  long status = 0;
  gboolean ok;

  if (!start_upload (client, repository, NULL, &status, &location, error))
    return FALSE;
  url = g_strdup_printf ("%s%cdigest=%s", location, strchr (location, '?') ? '&' : '?', digest);
  response_init (&r, client);
  r.upload_fd = fd;
  r.upload_size = size;
  r.progress = progress;
  r.user_data = user_data;
  r.cancellable = cancellable;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return berth_error_set_errno (error, errno, "cannot read blob %s", digest);
  headers = curl_slist_append (NULL, "Content-Type: application/octet-stream");
  ok = request (client, "PUT", url, headers, scope, NULL, &r, &status, error);
  curl_slist_free_all (headers);
  if (!ok)
    return FALSE;
  if (status != 201)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK,
                   "%s answered HTTP %ld to the upload of %s%s",
                   berth_registry_client_last_server (client), status, digest, detail);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_registry_client_put_manifest (BerthRegistryClient *client, const char *repository,
                                    const char *reference, GBytes *data, const char *media_type,
                                    GError **error)
{
  g_auto (Response) r;
  g_autofree char *path = g_strdup_printf ("/v2/%s/manifests/%s", repository, reference);
  g_autofree char *scope = repo_scope (repository, "pull,push");
  g_autofree char *content_type = g_strdup_printf ("Content-Type: %s", media_type);
  struct curl_slist *headers = curl_slist_append (NULL, content_type);
  long status = 0;
  gboolean ok;

  response_init (&r, client);
  ok = request (client, "PUT", path, headers, scope, data, &r, &status, error);
  curl_slist_free_all (headers);
  if (!ok)
    return FALSE;
  if (status != 201)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "%s answered HTTP %ld to PUT %s%s",
                   berth_registry_client_last_server (client), status, path, detail);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_registry_client_get_tags (BerthRegistryClient *client, const char *repository,
                                const char *query, GBytes **out_body, char **out_link,
                                GError **error)
{
  g_auto (Response) r;
  g_autofree char *path
    = g_strdup_printf ("/v2/%s/tags/list%s%s", repository, query ? "?" : "", query ? query : "");
  g_autofree char *scope = repo_scope (repository, "pull");
  struct curl_slist *headers = curl_slist_append (NULL, "Accept: application/json");
  long status = 0;
  gboolean ok;

  response_init (&r, client);
  r.body = g_byte_array_new ();
  r.body_max = BERTH_MANIFEST_MAX_SIZE;
  ok = request (client, "GET", path, headers, scope, NULL, &r, &status, error);
  curl_slist_free_all (headers);
  if (!ok)
    return FALSE;
  if (status != 200 || r.too_big)
    {
      g_autofree char *detail = error_detail (&r);
      g_set_error (error, BERTH_ERROR,
                   status == 404 ? BERTH_ERROR_NO_SUCH_IMAGE : BERTH_ERROR_NETWORK,
                   "%s answered HTTP %ld for the tags of %s%s",
                   berth_registry_client_last_server (client), status, repository, detail);
      return FALSE;
    }
  *out_body = g_byte_array_free_to_bytes (g_steal_pointer (&r.body));
  *out_link = g_steal_pointer (&r.link);
  return TRUE;
}

JsonArray *
berth_registry_client_search (BerthRegistryClient *client, const char *term, guint limit,
                              GError **error)
{
  g_auto (Response) r;
  g_autofree char *escaped = g_uri_escape_string (term, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/v1/search?q=%s&n=%u", escaped, CLAMP (limit, 1, 100));
  g_autoptr (JsonParser) parser = json_parser_new ();
  struct curl_slist *headers = curl_slist_append (NULL, "Accept: application/json");
  JsonNode *root;
  JsonObject *object;
  long status = 0;
  gboolean ok;

  response_init (&r, client);
  r.body = g_byte_array_new ();
  r.body_max = 8 * 1024 * 1024;
  ok = request (client, "GET", path, headers, "registry:catalog:search", NULL, &r, &status, error);
  curl_slist_free_all (headers);
  if (!ok)
    return NULL;
  if (status != 200)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "%s cannot search: GET /v1/search answered HTTP %ld",
                   berth_registry_client_last_server (client), status);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, (const char *)r.body->data, r.body->len, NULL)
      || !JSON_NODE_HOLDS_OBJECT ((root = json_parser_get_root (parser)))
      || !json_object_has_member ((object = json_node_get_object (root)), "results")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "results")))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "%s sent a search answer that is not the v1 search JSON", client->registry);
      return NULL;
    }
  return json_array_ref (json_object_get_array_member (object, "results"));
}
