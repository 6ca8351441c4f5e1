/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Blob uploads: POST to start (or to mount, or with ?digest= in one go),
 * PATCH chunks, PUT ?digest= to finish, GET for status, DELETE to cancel.
 * Bytes go to a staging file and through SHA-256 as they arrive; the blob
 * enters the store only when the digest the client names matches. Sessions
 * live in memory: a restart forgets them and removes their files, and
 * clients start the upload again. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-reference.h"
#include "registry-request.h"

struct _RegistryUpload
{
  char *id; /* also the staging file's name */
  char *repo;
  guint64 size;        /* bytes in the staging file */
  BerthHasher *hasher; /* SHA-256 of those bytes */
  gboolean busy;       /* a request is writing */
  gint64 touched;      /* monotonic µs of the last request */
};

static void
upload_free (RegistryUpload *upload)
{
  g_free (upload->id);
  g_free (upload->repo);
  berth_hasher_free (upload->hasher);
  g_free (upload);
}

void
registry_uploads_init (Registry *registry)
{
  g_mutex_init (&registry->uploads_lock);
  registry->uploads
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)upload_free);
}

/* Sessions a client abandoned: their staging files go after @max_idle_usec. */
guint
registry_uploads_expire (Registry *registry, gint64 max_idle_usec)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  guint expired = 0;

  g_mutex_lock (&registry->uploads_lock);
  g_hash_table_iter_init (&iter, registry->uploads);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RegistryUpload *upload = value;

      if (upload->busy || now - upload->touched < max_idle_usec)
        continue;
      registry_store_discard_staging (registry, upload->id);
      g_hash_table_iter_remove (&iter);
      expired++;
    }
  g_mutex_unlock (&registry->uploads_lock);
  return expired;
}

void
registry_uploads_clear (Registry *registry)
{
  g_clear_pointer (&registry->uploads, g_hash_table_unref);
  g_mutex_clear (&registry->uploads_lock);
}

/* What one request writes into a staging file. */
typedef struct
{
  Registry *registry;
  RegistryUpload *upload; /* the session, or NULL for POST ?digest= */
  char *staged_name;      /* the staging file of a one-shot upload */
  int fd;
  BerthHasher *hasher; /* the session's, or our own */
  BerthHasher *own_hasher;
  guint64 start;
  guint64 received;
  gint64 expected; /* from Content-Range/Content-Length, or -1 */
  char *digest;    /* what the finished blob must hash to */
  int write_errno;
  gboolean overflow;
} UploadWrite;

/* Gives the session back, with the bytes written so far: the hasher saw
 * exactly those, so the session can go on even after an interrupted request.
 * Done before answering, since clients send the next chunk at once. */
static void
release_session (UploadWrite *w)
{
  Registry *registry = w->registry;

  if (w->upload == NULL)
    return;
  g_mutex_lock (&registry->uploads_lock);
  w->upload->size = w->start + w->received;
  w->upload->busy = FALSE;
  w->upload->touched = g_get_monotonic_time ();
  g_mutex_unlock (&registry->uploads_lock);
  w->upload = NULL;
}

static void
upload_write_free (UploadWrite *w)
{
  release_session (w);
  if (w->staged_name)
    registry_store_discard_staging (w->registry, w->staged_name);
  berth_close_fdp (&w->fd);
  berth_hasher_free (w->own_hasher);
  g_free (w->staged_name);
  g_free (w->digest);
  g_free (w);
}

/* Removes a one-shot upload's staging file now rather than when the request
 * is freed, which is after the client has its answer. */
static void
discard_one_shot (UploadWrite *w)
{
  if (w->upload != NULL || w->staged_name == NULL)
    return;
  registry_store_discard_staging (w->registry, w->staged_name);
  g_clear_pointer (&w->staged_name, g_free);
}

static char *
upload_location (RegistryRequest *req, const char *id)
{
  return g_strdup_printf ("/v2/%s/blobs/uploads/%s", req->route.name, id);
}

static void
add_progress_headers (RegistryRequest *req, struct MHD_Response *response, const char *id,
                      guint64 size)
{
  g_autofree char *location = upload_location (req, id);
  g_autofree char *range = g_strdup_printf ("0-%" G_GUINT64_FORMAT, size ? size - 1 : 0);

  MHD_add_response_header (response, "Location", location);
  MHD_add_response_header (response, "Range", range);
  MHD_add_response_header (response, "Docker-Upload-UUID", id);
}

static void
respond_progress (RegistryRequest *req, guint status, const char *id, guint64 size)
{
  struct MHD_Response *response = registry_response_empty ();

  add_progress_headers (req, response, id, size);
  registry_respond (req, status, response);
}

static void
respond_created (RegistryRequest *req, const char *digest)
{
  struct MHD_Response *response = registry_response_empty ();
  g_autofree char *location = g_strdup_printf ("/v2/%s/blobs/%s", req->route.name, digest);

  MHD_add_response_header (response, "Location", location);
  MHD_add_response_header (response, "Docker-Content-Digest", digest);
  registry_respond (req, MHD_HTTP_CREATED, response);
}

static gboolean
write_body (RegistryRequest *req, const char *data, gsize len)
{
  UploadWrite *w = req->data;

  if (w->write_errno || w->overflow)
    return TRUE;
  if (w->expected >= 0 && w->received + len > (guint64)w->expected)
    {
      w->overflow = TRUE;
      return TRUE;
    }
  while (len > 0)
    {
      ssize_t n = write (w->fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          w->write_errno = errno;
          return TRUE;
        }
      berth_hasher_update (w->hasher, data, n);
      w->received += n;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* Errors found once the body is in; FALSE when one was answered. */
static gboolean
check_written (RegistryRequest *req)
{
  UploadWrite *w = req->data;

  if (w->write_errno)
    {
      release_session (w);
      discard_one_shot (w);
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                              "cannot store the upload: %s", g_strerror (w->write_errno));
      return FALSE;
    }
  if (w->overflow || (w->expected >= 0 && w->received != (guint64)w->expected))
    {
      release_session (w);
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "SIZE_INVALID",
                              "the body does not have the length Content-Range and "
                              "Content-Length announced (%" G_GINT64_FORMAT " bytes)",
                              w->expected);
      return FALSE;
    }
  return TRUE;
}

static void
forget_session (Registry *registry, RegistryUpload *upload, gboolean remove_file)
{
  g_mutex_lock (&registry->uploads_lock);
  if (remove_file)
    registry_store_discard_staging (registry, upload->id);
  g_hash_table_remove (registry->uploads, upload->id);
  g_mutex_unlock (&registry->uploads_lock);
}

/* Checks the digest of everything written and moves it into the store. */
static void
complete (RegistryRequest *req)
{
  UploadWrite *w = req->data;
  Registry *registry = req->registry;
  g_autoptr (GError) error = NULL;
  g_autofree char *computed = NULL;
  BerthDigestAlgorithm algorithm = BERTH_DIGEST_SHA256;
  const char *staged = w->upload ? w->upload->id : w->staged_name;

  if (!check_written (req))
    return;
  berth_digest_validate (w->digest, &algorithm, NULL);
  if (algorithm == BERTH_DIGEST_SHA256)
    {
      computed = berth_hasher_finish (w->hasher);
      if (w->upload)
        {
          /* The session's hasher is spent; it ends here either way. */
          berth_hasher_free (w->upload->hasher);
          w->upload->hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
          w->hasher = w->upload->hasher;
        }
    }
  else if (lseek (w->fd, 0, SEEK_SET) < 0
           || !berth_digest_fd (algorithm, w->fd, &computed, NULL, &error))
    {
      discard_one_shot (w);
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s",
                              error ? error->message : g_strerror (errno));
      return;
    }

  if (strcmp (computed, w->digest) != 0)
    {
      if (w->upload)
        {
          RegistryUpload *upload = g_steal_pointer (&w->upload);
          forget_session (registry, upload, TRUE);
        }
      discard_one_shot (w);
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
                              "the uploaded content has digest %s, not %s; the upload is "
                              "cancelled",
                              computed, w->digest);
      return;
    }

  if (!registry_store_commit (registry, w->fd, staged, w->digest, &error)
      || !registry_db_blob_link (registry->db, req->route.name, w->digest, &error))
    {
      if (w->upload)
        {
          RegistryUpload *upload = g_steal_pointer (&w->upload);
          forget_session (registry, upload, TRUE);
        }
      discard_one_shot (w);
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s", error->message);
      return;
    }
  if (w->upload)
    {
      RegistryUpload *upload = g_steal_pointer (&w->upload);
      forget_session (registry, upload, FALSE);
    }
  else
    g_clear_pointer (&w->staged_name, g_free); /* renamed into the store */
  respond_created (req, w->digest);
}

static void
finish_patch (RegistryRequest *req)
{
  UploadWrite *w = req->data;

  g_autofree char *id = g_strdup (w->upload->id);
  guint64 size = w->start + w->received;

  if (!check_written (req))
    return;
  release_session (w);
  respond_progress (req, MHD_HTTP_ACCEPTED, id, size);
}

static void
start_session (RegistryRequest *req)
{
  Registry *registry = req->registry;
  g_autoptr (GError) error = NULL;
  RegistryUpload *upload;
  g_autofree char *name = NULL;
  berth_autofd int fd = registry_store_new_staging (registry, &name, &error);

  if (fd < 0)
    {
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s", error->message);
      return;
    }
  upload = g_new0 (RegistryUpload, 1);
  upload->id = g_steal_pointer (&name);
  upload->repo = g_strdup (req->route.name);
  upload->hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  upload->touched = g_get_monotonic_time ();
  g_mutex_lock (&registry->uploads_lock);
  g_hash_table_insert (registry->uploads, upload->id, upload);
  g_mutex_unlock (&registry->uploads_lock);
  respond_progress (req, MHD_HTTP_ACCEPTED, upload->id, 0);
}

/* POST ?mount=DIGEST&from=REPO: link a blob another repository has. */
static gboolean
try_mount (RegistryRequest *req, const char *digest, const char *from)
{
  Registry *registry = req->registry;

  if (!berth_digest_validate (digest, NULL, NULL) || from == NULL
      || !berth_reference_validate_repository (from, NULL)
      || !registry_auth_allowed (registry, req->user, req->admin, REGISTRY_ACCESS_PULL, from)
      || (req->has_token
          && !registry_auth_token_covers (req->token_scopes, "repository", from, "pull"))
      || !registry_db_blob_linked (registry->db, from, digest)
      || !registry_store_has_blob (registry, digest)
      || !registry_db_blob_link (registry->db, req->route.name, digest, NULL))
    return FALSE;
  registry_store_touch_blob (registry, digest);
  respond_created (req, digest);
  return TRUE;
}

static void
begin_post (RegistryRequest *req)
{
  Registry *registry = req->registry;
  const char *mount = registry_request_arg (req, "mount");
  const char *digest = registry_request_arg (req, "digest");
  g_autoptr (GError) error = NULL;
  UploadWrite *w;

  if (!registry_request_is (req, "POST"))
    {
      registry_respond_method_not_allowed (req, "POST");
      return;
    }
  if (mount && try_mount (req, mount, registry_request_arg (req, "from")))
    return;
  if (digest == NULL)
    {
      start_session (req);
      return;
    }
  if (!berth_digest_validate (digest, NULL, &error))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "%s", error->message);
      return;
    }

  /* The whole blob in this request. */
  w = g_new0 (UploadWrite, 1);
  w->registry = registry;
  w->expected = -1;
  w->digest = g_strdup (digest);
  w->fd = registry_store_new_staging (registry, &w->staged_name, &error);
  req->data = w;
  req->data_free = (GDestroyNotify)upload_write_free;
  if (w->fd < 0)
    {
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s", error->message);
      return;
    }
  w->own_hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  w->hasher = w->own_hasher;
  req->on_body = write_body;
  req->on_finish = complete;
}

/* Content-Range "START-END" (inclusive; "bytes " tolerated). */
static gboolean
parse_content_range (const char *value, guint64 *out_start, guint64 *out_end)
{
  char *end = NULL;
  const char *p = value;

  if (g_str_has_prefix (p, "bytes "))
    p += 6;
  else if (g_str_has_prefix (p, "bytes="))
    p += 6;
  *out_start = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != '-')
    return FALSE;
  p = end + 1;
  *out_end = g_ascii_strtoull (p, &end, 10);
  if (end == p || (*end != '\0' && *end != '/') || *out_end < *out_start)
    return FALSE;
  return TRUE;
}

static RegistryUpload *
find_session (RegistryRequest *req)
{
  RegistryUpload *upload;

  g_mutex_lock (&req->registry->uploads_lock);
  upload = g_hash_table_lookup (req->registry->uploads, req->route.ref);
  if (upload && strcmp (upload->repo, req->route.name) != 0)
    upload = NULL;
  g_mutex_unlock (&req->registry->uploads_lock);
  return upload;
}

/* PATCH and PUT on a session: set up the write of the body. */
static void
begin_write (RegistryRequest *req, RegistryUpload *upload, const char *digest)
{
  Registry *registry = req->registry;
  const char *content_range = registry_request_header (req, "Content-Range");
  const char *content_length = registry_request_header (req, "Content-Length");
  guint64 start = 0, end = 0, size;
  UploadWrite *w;

  g_mutex_lock (&registry->uploads_lock);
  /* Cancelled between the lookup and now? */
  if (g_hash_table_lookup (registry->uploads, req->route.ref) != upload)
    {
      g_mutex_unlock (&registry->uploads_lock);
      registry_respond_error (req, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
                              "upload %s was cancelled", req->route.ref);
      return;
    }
  if (upload->busy)
    {
      g_mutex_unlock (&registry->uploads_lock);
      registry_respond_error (req, MHD_HTTP_RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID",
                              "another request is writing to upload %s", upload->id);
      return;
    }
  size = upload->size;
  if (content_range)
    {
      if (!parse_content_range (content_range, &start, &end))
        {
          g_mutex_unlock (&registry->uploads_lock);
          registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "BLOB_UPLOAD_INVALID",
                                  "invalid Content-Range \"%s\": use START-END, e.g. 0-1023",
                                  content_range);
          return;
        }
      if (start != size)
        {
          struct MHD_Response *response = registry_response_empty ();

          g_mutex_unlock (&registry->uploads_lock);
          add_progress_headers (req, response, upload->id, size);
          g_debug ("upload %s: chunk at %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   upload->id, start, size);
          registry_respond (req, MHD_HTTP_RANGE_NOT_SATISFIABLE, response);
          return;
        }
      if (content_length && g_ascii_strtoull (content_length, NULL, 10) != end - start + 1)
        {
          g_mutex_unlock (&registry->uploads_lock);
          registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "SIZE_INVALID",
                                  "Content-Length %s does not match Content-Range %s",
                                  content_length, content_range);
          return;
        }
    }
  upload->busy = TRUE;
  g_mutex_unlock (&registry->uploads_lock);

  w = g_new0 (UploadWrite, 1);
  w->registry = registry;
  w->upload = upload;
  w->start = size;
  w->expected = content_range ? (gint64)(end - start + 1) : -1;
  w->digest = g_strdup (digest);
  w->hasher = upload->hasher;
  req->data = w;
  req->data_free = (GDestroyNotify)upload_write_free;
  w->fd = openat (registry->uploads_fd, upload->id, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (w->fd < 0 || lseek (w->fd, size, SEEK_SET) < 0)
    {
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                              "cannot open upload %s: %s", upload->id, g_strerror (errno));
      return;
    }
  req->on_body = write_body;
  req->on_finish = digest ? complete : finish_patch;
}

static void
begin_session (RegistryRequest *req)
{
  Registry *registry = req->registry;
  RegistryUpload *upload = find_session (req);
  g_autoptr (GError) error = NULL;

  if (upload == NULL)
    {
      registry_respond_error (req, MHD_HTTP_NOT_FOUND, "BLOB_UPLOAD_UNKNOWN",
                              "no upload %s in %s (it finished, was cancelled, or the registry "
                              "restarted): start a new one with POST",
                              req->route.ref, req->route.name);
      return;
    }
  if (registry_request_is (req, "GET"))
    {
      guint64 size;

      g_mutex_lock (&registry->uploads_lock);
      size = upload->size;
      g_mutex_unlock (&registry->uploads_lock);
      respond_progress (req, MHD_HTTP_NO_CONTENT, upload->id, size);
    }
  else if (registry_request_is (req, "DELETE"))
    {
      g_mutex_lock (&registry->uploads_lock);
      gboolean busy = upload->busy;
      g_mutex_unlock (&registry->uploads_lock);
      if (busy)
        registry_respond_error (req, MHD_HTTP_CONFLICT, "BLOB_UPLOAD_INVALID",
                                "upload %s is being written; cancel it afterwards", upload->id);
      else
        {
          forget_session (registry, upload, TRUE);
          registry_respond (req, MHD_HTTP_NO_CONTENT, registry_response_empty ());
        }
    }
  else if (registry_request_is (req, "PATCH"))
    begin_write (req, upload, NULL);
  else if (registry_request_is (req, "PUT"))
    {
      const char *digest = registry_request_arg (req, "digest");

      if (digest == NULL)
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID",
                                "finishing an upload needs ?digest=<digest of the whole blob>");
      else if (!berth_digest_validate (digest, NULL, &error))
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "%s", error->message);
      else
        begin_write (req, upload, digest);
    }
  else
    registry_respond_method_not_allowed (req, "GET, PATCH, PUT, DELETE");
}

void
registry_uploads_begin (RegistryRequest *req)
{
  if (req->registry->settings->proxy_upstream)
    {
      registry_respond_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                              "this registry is a pull-through mirror; push to %s instead",
                              req->registry->settings->proxy_upstream);
      return;
    }
  if (req->route.kind == ROUTE_UPLOAD_START)
    begin_post (req);
  else
    begin_session (req);
}
