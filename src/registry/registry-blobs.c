/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET, HEAD and DELETE /v2/NAME/blobs/DIGEST. Bytes go out with sendfile
 * from the store; Range requests get 206; with --redirect-blobs-to, GETs
 * are sent to a mirror instead (clients verify what they get). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "registry-request.h"

/* Parses "bytes=START-[END]" against @size. FALSE: unsatisfiable or malformed. */
static gboolean
parse_range (const char *header, guint64 size, guint64 *out_start, guint64 *out_end)
{
  const char *p;
  char *end = NULL;
  guint64 start, last;

  if (!g_str_has_prefix (header, "bytes="))
    return FALSE;
  p = header + 6;
  if (*p == '-')
    {
      /* A suffix: the last N bytes. */
      guint64 n = g_ascii_strtoull (p + 1, &end, 10);
      if (end == p + 1 || *end != '\0' || n == 0 || size == 0)
        return FALSE;
      *out_start = n >= size ? 0 : size - n;
      *out_end = size - 1;
      return TRUE;
    }
  start = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != '-')
    return FALSE;
  p = end + 1;
  if (*p == '\0')
    last = size - 1;
  else
    {
      last = g_ascii_strtoull (p, &end, 10);
      if (end == p || *end != '\0' || last < start)
        return FALSE;
      if (last >= size)
        last = size - 1;
    }
  if (start >= size)
    return FALSE;
  *out_start = start;
  *out_end = last;
  return TRUE;
}

static void
add_blob_headers (struct MHD_Response *response, const char *digest, const char *content_type)
{
  g_autofree char *etag = g_strdup_printf ("\"%s\"", digest);

  MHD_add_response_header (response, "Docker-Content-Digest", digest);
  MHD_add_response_header (response, "Content-Type", content_type);
  MHD_add_response_header (response, "ETag", etag);
  MHD_add_response_header (response, "Accept-Ranges", "bytes");
  MHD_add_response_header (response, "Cache-Control", "max-age=31536000");
}

/* Sends the stored blob: the whole of it, or the part a Range header asks for. */
static void
send_blob (RegistryRequest *req, const char *digest, const char *content_type)
{
  const char *range = registry_request_header (req, "Range");
  struct MHD_Response *response;
  struct stat st;
  guint64 start = 0, end = 0;
  int fd = registry_store_open_blob (req->registry, digest);

  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      if (errsv == ENOENT)
        registry_respond_error (req, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN",
                                "blob %s is recorded but missing from the store", digest);
      else
        registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                                "cannot open blob %s: %s", digest, g_strerror (errsv));
      return;
    }

  if (range == NULL)
    {
      /* MHD owns the fd from here and uses sendfile for it. */
      response = MHD_create_response_from_fd64 (st.st_size, fd);
      add_blob_headers (response, digest, content_type);
      registry_respond (req, MHD_HTTP_OK, response);
      return;
    }
  if (!parse_range (range, st.st_size, &start, &end))
    {
      g_autofree char *content_range
        = g_strdup_printf ("bytes */%" G_GUINT64_FORMAT, (guint64)st.st_size);
      close (fd);
      response = registry_response_empty ();
      MHD_add_response_header (response, "Content-Range", content_range);
      MHD_add_response_header (response, "Docker-Content-Digest", digest);
      registry_respond (req, MHD_HTTP_RANGE_NOT_SATISFIABLE, response);
      return;
    }
  response = MHD_create_response_from_fd_at_offset64 (end - start + 1, fd, start);
  add_blob_headers (response, digest, content_type);
  g_autofree char *content_range
    = g_strdup_printf ("bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT,
                       start, end, (guint64)st.st_size);
  MHD_add_response_header (response, "Content-Range", content_range);
  registry_respond (req, MHD_HTTP_PARTIAL_CONTENT, response);
}

static gboolean
redirect (RegistryRequest *req, const char *digest)
{
  g_autofree char *location = NULL;
  struct MHD_Response *response;
  struct stat st;
  int fd = registry_store_open_blob (req->registry, digest);

  if (fd < 0)
    return FALSE;
  if (fstat (fd, &st) < 0)
    st.st_size = -1;
  close (fd);
  location = registry_redirect_pick (req->registry, req->route.name, digest, st.st_size);
  if (location == NULL)
    return FALSE;
  response = registry_response_empty ();
  MHD_add_response_header (response, "Location", location);
  MHD_add_response_header (response, "Docker-Content-Digest", digest);
  registry_respond (req, MHD_HTTP_TEMPORARY_REDIRECT, response);
  return TRUE;
}

void
registry_blobs_begin (RegistryRequest *req)
{
  Registry *registry = req->registry;
  const char *digest = req->route.ref;
  g_autoptr (GError) error = NULL;
  gboolean is_delete = registry_request_is (req, "DELETE");

  if (!is_delete && !registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET, HEAD, DELETE");
      return;
    }
  if (!berth_digest_validate (digest, NULL, &error))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "%s", error->message);
      return;
    }

  if (is_delete)
    {
      if (!registry->settings->delete_enabled)
        registry_respond_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                                "deletion is disabled on this registry (set delete=true in "
                                "[storage] of registry.conf)");
      else if (registry_db_blob_unlink (registry->db, req->route.name, digest))
        registry_respond (req, MHD_HTTP_ACCEPTED, registry_response_empty ());
      else
        registry_respond_error (req, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN",
                                "blob %s is not in repository %s", digest, req->route.name);
      return;
    }

  if (!registry_db_blob_linked (registry->db, req->route.name, digest))
    {
      g_autoptr (GError) proxy_error = NULL;

      if (registry->settings->proxy_upstream == NULL
          || !registry_proxy_fetch_blob (registry, req->route.name, digest, &proxy_error))
        {
          if (proxy_error)
            g_message ("mirror: %s", proxy_error->message);
          registry_respond_error (req, MHD_HTTP_NOT_FOUND, "BLOB_UNKNOWN",
                                  "blob %s is not in repository %s", digest, req->route.name);
          return;
        }
    }
  if (registry_request_is (req, "HEAD"))
    registry_store_touch_blob (registry, digest);
  if (registry->settings->redirect_blobs_to && registry->settings->redirect_blobs_to[0]
      && registry_request_is (req, "GET") && redirect (req, digest))
    return;
  send_blob (req, digest, "application/octet-stream");
}
