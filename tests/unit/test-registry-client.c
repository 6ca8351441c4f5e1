/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registry client against a small HTTP server in this process: Basic
 * and Bearer challenges, digest checks, redirects that must not carry
 * credentials to another host, and clear errors. */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-registry-client.h"

#define BLOB "layer bytes for the registry client test"
#define MANIFEST "{\"schemaVersion\":2}"

typedef struct
{
  GThreadedSocketService *service;
  guint16 port;
  GMutex lock;
  GHashTable *auth_seen; /* path → Authorization header ("" for none) */
  gboolean uploaded;     /* push tests: the blob arrived whole */
  char *manifest_type;   /* push tests: the Content-Type of the manifest PUT */
  char *range;           /* resume tests: the last Range header ("" for none) */
} Server;

static Server origin, mirror;

static const char *
basic_ok (void)
{
  static char *value;

  if (value == NULL)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *)"alice:pw", 8);
      value = g_strdup_printf ("Basic %s", b64);
    }
  return value;
}

static char *
blob_digest (void)
{
  return berth_digest_bytes (BERTH_DIGEST_SHA256, BLOB, strlen (BLOB));
}

static void
respond (GOutputStream *out, int status, const char *headers, const char *body)
{
  g_autofree char *reply
    = g_strdup_printf ("HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n%s",
                       status, strlen (body), headers, body);

  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
}

static gboolean
on_run (GThreadedSocketService *service, GSocketConnection *connection, GObject *source,
        gpointer user_data)
{
  Server *server = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr (GDataInputStream) in
    = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_autofree char *request = g_data_input_stream_read_line (in, NULL, NULL, NULL);
  g_autofree char *auth = g_strdup ("");
  g_autofree char *content_type = NULL;
  g_autofree char *body = NULL;
  gsize content_length = 0;
  gint64 range_start = -1;
  g_autofree char *good = blob_digest ();
  g_autofree char *manifest_digest
    = berth_digest_bytes (BERTH_DIGEST_SHA256, MANIFEST, strlen (MANIFEST));
  g_auto (GStrv) parts = NULL;
  const char *path;

  if (request == NULL)
    return TRUE;
  g_strchomp (request);
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, NULL);
      if (line == NULL || g_strchomp (line)[0] == '\0')
        break;
      if (g_ascii_strncasecmp (line, "Authorization: ", 15) == 0)
        {
          g_free (auth);
          auth = g_strdup (line + 15);
        }
      else if (g_ascii_strncasecmp (line, "Content-Length: ", 16) == 0)
        content_length = g_ascii_strtoull (line + 16, NULL, 10);
      else if (g_ascii_strncasecmp (line, "Content-Type: ", 14) == 0)
        content_type = g_strdup (line + 14);
      else if (g_ascii_strncasecmp (line, "Range: bytes=", 13) == 0)
        range_start = g_ascii_strtoll (line + 13, NULL, 10);
    }
  body = g_malloc0 (content_length + 1);
  if (content_length > 0)
    g_input_stream_read_all (G_INPUT_STREAM (in), body, content_length, NULL, NULL, NULL);
  parts = g_strsplit (request, " ", 3);
  path = parts[1] ? parts[1] : "";
  g_mutex_lock (&server->lock);
  g_hash_table_replace (server->auth_seen, g_strdup (path), g_strdup (auth));
  g_free (server->range);
  server->range
    = range_start >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT "-", range_start) : g_strdup ("");
  g_mutex_unlock (&server->lock);

  if (server == &mirror)
    {
      g_autofree char *ranged = g_strdup_printf ("/v2/range/r/blobs/%s", good);
      g_autofree char *unranged = g_strdup_printf ("/v2/norange/r/blobs/%s", good);

      /* A server honouring Range, and one sending the whole blob anyway. */
      if (g_str_equal (path, ranged) && range_start > 0 && range_start < (gint64)strlen (BLOB))
        {
          g_autofree char *headers
            = g_strdup_printf ("Content-Range: bytes %" G_GINT64_FORMAT "-%zu/%zu\r\n", range_start,
                               strlen (BLOB) - 1, strlen (BLOB));
          respond (out, 206, headers, BLOB + range_start);
        }
      else if (g_str_equal (path, ranged) && range_start >= (gint64)strlen (BLOB))
        respond (out, 416, "", "");
      else if (g_str_equal (path, ranged) || g_str_equal (path, unranged))
        respond (out, 200, "", BLOB);
      else if (g_str_equal (path, "/good"))
        respond (out, 200, "", BLOB);
      else if (g_str_equal (path, "/bad"))
        respond (out, 200, "", "layer bytes for the registry client tesT");
      else
        respond (out, 404, "", "");
      return TRUE;
    }

  /* The origin: Basic auth everywhere under /v2/basic/, Bearer under /v2/bearer/. */
  if (g_str_equal (path, "/v2/"))
    {
      if (g_str_equal (auth, basic_ok ()))
        respond (out, 200, "", "{}");
      else
        respond (out, 401, "WWW-Authenticate: Basic realm=\"test\"\r\n", "");
    }
  else if (g_str_has_prefix (path, "/token?"))
    {
      if (strstr (path, "scope=repository%3Abearer%2Fr%3Apull") && g_str_equal (auth, basic_ok ()))
        respond (out, 200, "", "{\"token\":\"tok\"}");
      else
        respond (out, 401, "", "");
    }
  else if (g_str_has_prefix (path, "/v2/bearer/"))
    {
      if (!g_str_equal (auth, "Bearer tok"))
        {
          g_autofree char *challenge = g_strdup_printf (
            "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%u/token\",service=\"test\","
            "scope=\"repository:bearer/r:pull\"\r\n",
            origin.port);
          respond (out, 401, challenge, "");
        }
      else if (g_str_equal (path, "/v2/bearer/r/manifests/v1"))
        {
          g_autofree char *headers
            = g_strdup_printf ("Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                               "Docker-Content-Digest: %s\r\n",
                               manifest_digest);
          respond (out, 200, headers, MANIFEST);
        }
      else if (g_str_equal (path, "/v2/bearer/r/manifests/lying"))
        respond (out, 200,
                 "Docker-Content-Digest: "
                 "sha256:0000000000000000000000000000000000000000000000000000000000000000\r\n",
                 MANIFEST);
      else
        respond (out, 404, "", "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"no\"}]}");
    }
  else if (g_str_has_prefix (path, "/v2/basic/"))
    {
      g_autofree char *good_path = g_strdup_printf ("/v2/basic/r/blobs/%s", good);

      if (!g_str_equal (auth, basic_ok ()))
        respond (out, 401, "WWW-Authenticate: Basic realm=\"test\"\r\n", "");
      else if (g_str_equal (path, good_path))
        respond (out, 200, "", BLOB);
      else if (g_str_has_prefix (path, "/v2/basic/redirected/blobs/"))
        {
          g_autofree char *location
            = g_strdup_printf ("Location: http://127.0.0.1:%u/good\r\n", mirror.port);
          respond (out, 307, location, "");
        }
      else if (g_str_has_prefix (path, "/v2/basic/tampered/blobs/"))
        {
          g_autofree char *location
            = g_strdup_printf ("Location: http://127.0.0.1:%u/bad\r\n", mirror.port);
          respond (out, 307, location, "");
        }
      else if (g_str_has_prefix (path, "/v2/basic/same/blobs/"))
        respond (out, 302, "Location: /v2/basic/r/blobs/elsewhere\r\n", "");
      else if (g_str_equal (path, "/v2/basic/r/blobs/elsewhere"))
        respond (out, 200, "", BLOB);
      else
        respond (out, 404, "", "");
    }
  else if (g_str_has_prefix (path, "/v2/push/") || g_str_has_prefix (path, "/upload/"))
    {
      g_autofree char *blob_path = g_strdup_printf ("/v2/push/r/blobs/%s", good);
      g_autofree char *mount_query
        = g_strdup_printf ("/v2/push/r/blobs/uploads/?mount=%s&from=other%%2Frepo", good);
      g_autofree char *put_path = g_strdup_printf ("/upload/1?state=s&digest=%s", good);

      if (g_str_equal (parts[0], "HEAD") && g_str_equal (path, blob_path))
        respond (out, server->uploaded ? 200 : 404, "", "");
      else if (g_str_equal (parts[0], "POST") && g_str_equal (path, mount_query))
        respond (out, 201, "", "");
      else if (g_str_equal (parts[0], "POST")
               && g_str_has_prefix (path, "/v2/push/r/blobs/uploads/"))
        respond (out, 202, "Location: /upload/1?state=s\r\n", "");
      else if (g_str_equal (parts[0], "PUT") && g_str_equal (path, put_path)
               && content_length == strlen (BLOB) && g_str_equal (body, BLOB))
        {
          server->uploaded = TRUE;
          respond (out, 201, "", "");
        }
      else if (g_str_equal (parts[0], "PUT") && g_str_equal (path, "/v2/push/r/manifests/v1")
               && g_str_equal (body, MANIFEST))
        {
          g_free (server->manifest_type);
          server->manifest_type = g_strdup (content_type);
          respond (out, 201, "", "");
        }
      else
        respond (out, 400, "", "{\"errors\":[{\"code\":\"DIGEST_INVALID\",\"message\":\"no\"}]}");
    }
  else if (g_str_equal (path, "/v2/tags/r/tags/list?n=1"))
    respond (out, 200, "Link: </v2/tags/r/tags/list?n=1&last=a>; rel=\"next\"\r\n",
             "{\"name\":\"tags/r\",\"tags\":[\"a\"]}");
  else if (g_str_has_prefix (path, "/v1/search"))
    respond (out, 200, "",
             "{\"num_results\":1,\"query\":\"x\",\"results\":[{\"name\":\"a/b\","
             "\"description\":\"d\",\"star_count\":3}]}");
  else
    respond (out, 404, "", "");
  return TRUE;
}

static void
server_start (Server *server)
{
  g_autoptr (GError) error = NULL;

  server->service = G_THREADED_SOCKET_SERVICE (g_threaded_socket_service_new (4));
  server->port
    = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (server->service), NULL, &error);
  g_assert_no_error (error);
  g_mutex_init (&server->lock);
  server->auth_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_signal_connect (server->service, "run", G_CALLBACK (on_run), server);
  g_socket_service_start (G_SOCKET_SERVICE (server->service));
}

static char *
auth_seen (Server *server, const char *path)
{
  char *value;

  g_mutex_lock (&server->lock);
  value = g_strdup (g_hash_table_lookup (server->auth_seen, path));
  g_mutex_unlock (&server->lock);
  return value;
}

static BerthRegistryClient *
client_new (const char *user, const char *password)
{
  g_autofree char *registry = g_strdup_printf ("127.0.0.1:%u", origin.port);
  g_autofree char *base = berth_registry_base_url (registry, TRUE);

  return berth_registry_client_new (registry, base, user, password);
}

static int
tmp_fd (void)
{
  int fd = open (g_get_tmp_dir (), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static char *
range_seen (Server *server)
{
  char *value;

  g_mutex_lock (&server->lock);
  value = g_strdup (server->range);
  g_mutex_unlock (&server->lock);
  return value;
}

static char *
fd_contents (int fd)
{
  char buf[256] = "";
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);

  g_assert_cmpint (n, >=, 0);
  return g_strndup (buf, n);
}

/* A cut download continues where it stopped: the kept bytes are hashed
 * again and only the rest is asked for; a server that ignores the Range
 * sends it all; kept bytes that are wrong are replaced by a full download;
 * the result is always the whole verified blob. */
static void
test_resume (void)
{
  g_autofree char *registry = g_strdup_printf ("127.0.0.1:%u", mirror.port);
  g_autofree char *base = berth_registry_base_url (registry, TRUE);
  g_autoptr (BerthRegistryClient) client = berth_registry_client_new (registry, base, NULL, NULL);
  g_autofree char *digest = blob_digest ();
  struct
  {
    const char *repository;
    const char *kept;
    const char *range; /* asked for */
    gboolean resumed;
  } cases[] = {
    { "range/r", "layer bytes", "11-", TRUE },
    { "norange/r", "layer bytes", "11-", FALSE },
    { "range/r", "LAYER BYTES", "0-", FALSE },  /* wrong kept bytes: from 0 again */
    { "range/r", "", "", FALSE },               /* nothing kept: a plain GET */
    { "range/r", BLOB, "", TRUE },              /* all kept: no request at all */
    { "range/r", BLOB " and more", "", FALSE }, /* longer than the blob */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      berth_autofd int fd = tmp_fd ();
      g_autoptr (GError) error = NULL;
      g_autofree char *contents = NULL;
      g_autofree char *range = NULL;
      gboolean resumed = !cases[i].resumed;

      g_test_message ("case %zu: %s, kept \"%s\"", i, cases[i].repository, cases[i].kept);
      g_assert_cmpint (write (fd, cases[i].kept, strlen (cases[i].kept)), ==,
                       strlen (cases[i].kept));
      g_mutex_lock (&mirror.lock);
      g_free (mirror.range);
      mirror.range = g_strdup ("none");
      g_mutex_unlock (&mirror.lock);
      g_assert_true (berth_registry_client_resume_blob (client, cases[i].repository, digest,
                                                        strlen (BLOB), fd, NULL, NULL, NULL,
                                                        &resumed, &error));
      g_assert_no_error (error);
      g_assert_cmpint (resumed, ==, cases[i].resumed);
      contents = fd_contents (fd);
      g_assert_cmpstr (contents, ==, BLOB);
      range = range_seen (&mirror);
      if (*cases[i].range == '\0' && cases[i].resumed)
        g_assert_cmpstr (range, ==, "none");
      else if (g_str_equal (cases[i].range, "0-"))
        g_assert_cmpstr (range, ==, ""); /* the last request: the full one */
      else
        g_assert_cmpstr (range, ==, cases[i].range);
    }
}

static void
test_challenge_param (void)
{
  const char *c
    = "Bearer realm=\"https://auth.example/token\",service=\"reg, x\",scope=repo:a:pull";
  g_autofree char *realm = berth_registry_challenge_param (c, "realm");
  g_autofree char *service = berth_registry_challenge_param (c, "service");
  g_autofree char *scope = berth_registry_challenge_param (c, "scope");
  g_autofree char *none = berth_registry_challenge_param (c, "error");

  g_assert_cmpstr (realm, ==, "https://auth.example/token");
  g_assert_cmpstr (service, ==, "reg, x");
  g_assert_cmpstr (scope, ==, "repo:a:pull");
  g_assert_null (none);
}

static void
test_same_origin (void)
{
  g_assert_true (berth_registry_same_origin ("http://a:80/x", "http://A/y"));
  g_assert_true (berth_registry_same_origin ("https://a/x", "https://a:443"));
  g_assert_false (berth_registry_same_origin ("http://a:5000/x", "http://a:5001/x"));
  g_assert_false (berth_registry_same_origin ("http://a/x", "https://a/x"));
  g_assert_false (berth_registry_same_origin ("http://a/x", "http://b/x"));
  g_assert_false (berth_registry_same_origin ("not a url", "http://b/x"));
}

static void
test_base_url (void)
{
  g_autofree char *hub = berth_registry_base_url ("docker.io", FALSE);
  g_autofree char *local = berth_registry_base_url ("127.0.0.1:5000", TRUE);

  g_assert_cmpstr (hub, ==, "https://registry-1.docker.io");
  g_assert_cmpstr (local, ==, "http://127.0.0.1:5000");
}

static void
test_check_basic (void)
{
  g_autoptr (BerthRegistryClient) good = client_new ("alice", "pw");
  g_autoptr (BerthRegistryClient) bad = client_new ("alice", "wrong");
  g_autoptr (BerthRegistryClient) anonymous = client_new (NULL, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_registry_client_check (good, &error));
  g_assert_no_error (error);
  g_assert_false (berth_registry_client_check (bad, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_AUTH);
  g_clear_error (&error);
  g_assert_false (berth_registry_client_check (anonymous, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "berthctl login"));
}

static void
test_bearer_manifest (void)
{
  g_autoptr (BerthRegistryClient) client = client_new ("alice", "pw");
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) data = NULL;
  g_autofree char *media_type = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *want = berth_digest_bytes (BERTH_DIGEST_SHA256, MANIFEST, strlen (MANIFEST));

  g_assert_true (berth_registry_client_get_manifest (client, "bearer/r", "v1", NULL, &data,
                                                     &media_type, &digest, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (digest, ==, want);
  g_assert_cmpstr (media_type, ==, "application/vnd.oci.image.manifest.v1+json");
  g_assert_cmpmem (g_bytes_get_data (data, NULL), g_bytes_get_size (data), MANIFEST,
                   strlen (MANIFEST));

  /* By digest: the bytes must hash to it. */
  g_clear_pointer (&data, g_bytes_unref);
  g_assert_false (berth_registry_client_get_manifest (
    client, "bearer/r", "v1",
    "sha256:1111111111111111111111111111111111111111111111111111111111111111", &data, NULL, NULL,
    &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  /* A Docker-Content-Digest that does not match the bytes. */
  g_assert_false (berth_registry_client_get_manifest (client, "bearer/r", "lying", NULL, NULL, NULL,
                                                      NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  g_assert_false (berth_registry_client_get_manifest (client, "bearer/r", "nope", NULL, NULL, NULL,
                                                      NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_assert_nonnull (strstr (error->message, "MANIFEST_UNKNOWN"));
}

static void
test_blob_verified (void)
{
  g_autoptr (BerthRegistryClient) client = client_new ("alice", "pw");
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = blob_digest ();
  berth_autofd int fd = tmp_fd ();
  char buffer[128] = "";

  g_assert_true (berth_registry_client_get_blob (client, "basic/r", digest, strlen (BLOB), fd, NULL,
                                                 NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pread (fd, buffer, sizeof buffer - 1, 0), ==, strlen (BLOB));
  g_assert_cmpstr (buffer, ==, BLOB);

  /* The size in the manifest is a limit too. */
  g_assert_false (
    berth_registry_client_get_blob (client, "basic/r", digest, 4, fd, NULL, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
}

static void
test_redirect_drops_credentials (void)
{
  g_autoptr (BerthRegistryClient) client = client_new ("alice", "pw");
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = blob_digest ();
  g_autofree char *origin_path = g_strdup_printf ("/v2/basic/redirected/blobs/%s", digest);
  g_autofree char *seen_origin = NULL;
  g_autofree char *seen_mirror = NULL;
  g_autofree char *seen_same = NULL;
  berth_autofd int fd = tmp_fd ();

  g_assert_true (berth_registry_client_get_blob (client, "basic/redirected", digest, -1, fd, NULL,
                                                 NULL, NULL, &error));
  g_assert_no_error (error);
  seen_origin = auth_seen (&origin, origin_path);
  seen_mirror = auth_seen (&mirror, "/good");
  g_assert_cmpstr (seen_origin, ==, basic_ok ());
  g_assert_cmpstr (seen_mirror, ==, "");

  /* A redirect on the same server keeps them. */
  g_assert_true (berth_registry_client_get_blob (client, "basic/same", digest, -1, fd, NULL, NULL,
                                                 NULL, &error));
  g_assert_no_error (error);
  seen_same = auth_seen (&origin, "/v2/basic/r/blobs/elsewhere");
  g_assert_cmpstr (seen_same, ==, basic_ok ());
}

static void
test_redirect_tampered (void)
{
  g_autoptr (BerthRegistryClient) client = client_new ("alice", "pw");
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = blob_digest ();
  g_autofree char *server = g_strdup_printf ("from 127.0.0.1:%u", mirror.port);
  berth_autofd int fd = tmp_fd ();

  g_assert_false (berth_registry_client_get_blob (client, "basic/tampered", digest, -1, fd, NULL,
                                                  NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  /* Expected digest, received digest, and the server that sent the bytes. */
  g_assert_nonnull (strstr (error->message, digest));
  g_assert_nonnull (strstr (error->message, "(got sha256:"));
  g_assert_nonnull (strstr (error->message, server));
}

static void
test_unreachable (void)
{
  g_autoptr (BerthRegistryClient) client
    = berth_registry_client_new ("127.0.0.1:1", "http://127.0.0.1:1", NULL, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_false (berth_registry_client_check (client, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "cannot reach 127.0.0.1:1"));
}

static void
progress_count (guint64 done, gpointer user_data)
{
  *(guint64 *)user_data = done;
}

static void
test_push (void)
{
  g_autoptr (BerthRegistryClient) client = client_new (NULL, NULL);
  g_autoptr (BerthRegistryClient) copy = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = blob_digest ();
  g_autoptr (GBytes) manifest = g_bytes_new_static (MANIFEST, strlen (MANIFEST));
  berth_autofd int fd = tmp_fd ();
  gboolean exists = TRUE, mounted = FALSE;
  guint64 sent = 0;

  g_assert_cmpint (write (fd, BLOB, strlen (BLOB)), ==, strlen (BLOB));
  g_assert_true (berth_registry_client_has_blob (client, "push/r", digest, &exists, &error));
  g_assert_no_error (error);
  g_assert_false (exists);

  g_assert_true (
    berth_registry_client_mount_blob (client, "push/r", digest, "other/repo", &mounted, &error));
  g_assert_no_error (error);
  g_assert_true (mounted);
  g_assert_true (
    berth_registry_client_mount_blob (client, "push/r", digest, "elsewhere", &mounted, &error));
  g_assert_false (mounted);

  /* The digest goes in the query, keeping what the Location had. */
  g_assert_true (berth_registry_client_put_blob (client, "push/r", digest, fd, strlen (BLOB),
                                                 progress_count, &sent, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sent, ==, strlen (BLOB));
  copy = berth_registry_client_dup (client);
  g_assert_true (berth_registry_client_has_blob (copy, "push/r", digest, &exists, &error));
  g_assert_true (exists);

  g_assert_true (berth_registry_client_put_manifest (
    client, "push/r", "v1", manifest, "application/vnd.oci.image.manifest.v1+json", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (origin.manifest_type, ==, "application/vnd.oci.image.manifest.v1+json");

  /* A refusal says what the registry said. */
  g_assert_false (berth_registry_client_put_manifest (client, "push/r", "v2", manifest,
                                                      "application/json", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "DIGEST_INVALID"));
}

static void
test_timeout_and_server (void)
{
  g_autoptr (BerthRegistryClient) client = client_new (NULL, NULL);
  g_autofree char *registry = g_strdup_printf ("127.0.0.1:%u", origin.port);
  g_autoptr (JsonArray) results = NULL;

  /* Before any request the registry itself is named. */
  g_assert_cmpstr (berth_registry_client_last_server (client), ==, registry);
  berth_registry_client_set_timeout (client, 2);
  results = berth_registry_client_search (client, "x", 5, NULL);
  g_assert_nonnull (results);
  g_assert_cmpstr (berth_registry_client_last_server (client), ==, registry);
}

static void
test_tags (void)
{
  g_autoptr (BerthRegistryClient) client = client_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *link = NULL;

  g_assert_true (berth_registry_client_get_tags (client, "tags/r", "n=1", &body, &link, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (link, ==, "</v2/tags/r/tags/list?n=1&last=a>; rel=\"next\"");
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "\"a\""));
  g_clear_pointer (&body, g_bytes_unref);
  g_assert_false (berth_registry_client_get_tags (client, "tags/none", NULL, &body, &link, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
}

static void
test_search (void)
{
  g_autoptr (BerthRegistryClient) client = client_new (NULL, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) results = berth_registry_client_search (client, "x", 10, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (results), ==, 1);
  g_assert_cmpstr (
    json_object_get_string_member (json_array_get_object_element (results, 0), "name"), ==, "a/b");
}

/* The servers accept connections from their own thread's main loop. */
static gpointer
server_thread (gpointer user_data)
{
  GMainContext *context = g_main_context_new ();
  GMainLoop *loop = g_main_loop_new (context, FALSE);

  g_main_context_push_thread_default (context);
  server_start (&origin);
  server_start (&mirror);
  g_async_queue_push (user_data, GINT_TO_POINTER (1));
  g_main_loop_run (loop);
  return NULL;
}

int
main (int argc, char **argv)
{
  GAsyncQueue *ready = g_async_queue_new ();

  g_test_init (&argc, &argv, NULL);
  g_thread_unref (g_thread_new ("servers", server_thread, ready));
  g_async_queue_pop (ready);
  g_test_add_func ("/registry-client/challenge-param", test_challenge_param);
  g_test_add_func ("/registry-client/same-origin", test_same_origin);
  g_test_add_func ("/registry-client/base-url", test_base_url);
  g_test_add_func ("/registry-client/check-basic", test_check_basic);
  g_test_add_func ("/registry-client/bearer-manifest", test_bearer_manifest);
  g_test_add_func ("/registry-client/blob-verified", test_blob_verified);
  g_test_add_func ("/registry-client/redirect-drops-credentials", test_redirect_drops_credentials);
  g_test_add_func ("/registry-client/redirect-tampered", test_redirect_tampered);
  g_test_add_func ("/registry-client/resume", test_resume);
  g_test_add_func ("/registry-client/unreachable", test_unreachable);
  g_test_add_func ("/registry-client/search", test_search);
  g_test_add_func ("/registry-client/tags", test_tags);
  g_test_add_func ("/registry-client/push", test_push);
  g_test_add_func ("/registry-client/timeout-and-server", test_timeout_and_server);
  return g_test_run ();
}
