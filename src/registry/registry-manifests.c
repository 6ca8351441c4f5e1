/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET, HEAD, PUT and DELETE /v2/NAME/manifests/REFERENCE. Manifests are
 * kept byte for byte in the blob store (their digest is that of the exact
 * bytes) and described in the database: media type, subject, what they
 * reference, the tags that point at them. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-reference.h"
#include "registry-request.h"

#define MANIFEST_MAX (4 * 1024 * 1024)
#define CONFIG_MAX (1024 * 1024)

static gboolean
is_digest (const char *reference)
{
  return strchr (reference, ':') != NULL;
}

/* Foreign layers live elsewhere (their "urls"); they are never pushed. */
static gboolean
must_be_present (const BerthDescriptor *desc)
{
  return strstr (desc->media_type, "foreign") == NULL
         && strstr (desc->media_type, "nondistributable") == NULL;
}

static char *
read_small_blob (Registry *registry, const char *digest, gsize *out_len)
{
  int fd = registry_store_open_blob (registry, digest);
  g_autofree char *data = NULL;
  struct stat st;
  gsize done = 0;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) < 0 || st.st_size > CONFIG_MAX)
    {
      close (fd);
      return NULL;
    }
  data = g_malloc (st.st_size + 1);
  while (done < (gsize)st.st_size)
    {
      ssize_t n = read (fd, data + done, st.st_size - done);
      if (n <= 0)
        break;
      done += n;
    }
  close (fd);
  data[done] = '\0';
  *out_len = done;
  return g_steal_pointer (&data);
}

/* The description a push carries: the manifest's annotation, else the
 * image config's label of the same name. */
static char *
find_description (Registry *registry, BerthManifest *manifest)
{
  const char *annotation = berth_manifest_get_annotation (manifest, BERTH_ANNOTATION_DESCRIPTION);
  g_autofree char *config = NULL;
  gsize len = 0;

  if (annotation)
    return g_strdup (annotation);
  if (manifest->config == NULL)
    return NULL;
  config = read_small_blob (registry, manifest->config->digest, &len);
  return config ? berth_image_config_get_label (config, len, BERTH_ANNOTATION_DESCRIPTION) : NULL;
}

gboolean
registry_manifest_store (Registry *registry, const char *name, const char *reference,
                         const char *data, gsize len, const char *content_type,
                         gboolean check_blobs, char **out_digest, char **out_subject,
                         GError **error)
{
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (GPtrArray) refs = g_ptr_array_new ();
  g_autoptr (GPtrArray) required = g_ptr_array_new ();
  g_autofree char *digest = NULL;
  g_autofree char *annotations = NULL;
  g_autofree char *description = NULL;
  BerthDigestAlgorithm algorithm = BERTH_DIGEST_SHA256;
  RegistryManifestRow row = { 0 };
  GPtrArray *children;

  manifest = berth_manifest_parse_any (data, len, content_type, error);
  if (manifest == NULL)
    return FALSE;
  if (reference && is_digest (reference))
    berth_digest_validate (reference, &algorithm, NULL);
  digest = berth_digest_bytes (algorithm, data, len);
  if (reference && is_digest (reference) && strcmp (reference, digest) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "the manifest's digest is %s, not %s as its URL says", digest, reference);
      return FALSE;
    }

  if (manifest->config)
    g_ptr_array_add (refs, manifest->config->digest);
  children = manifest->kind == BERTH_MANIFEST_INDEX ? manifest->manifests : manifest->layers;
  for (guint i = 0; i < children->len; i++)
    {
      BerthDescriptor *desc = children->pdata[i];

      g_ptr_array_add (refs, desc->digest);
      if (!check_blobs)
        continue;
      if (manifest->kind != BERTH_MANIFEST_INDEX && must_be_present (desc))
        g_ptr_array_add (required, desc->digest);
      if (manifest->kind == BERTH_MANIFEST_INDEX
            ? !registry_db_manifest_exists (registry->db, name, desc->digest)
            : must_be_present (desc) && !registry_db_blob_linked (registry->db, name, desc->digest))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE,
                       "the manifest references %s %s, which is not in %s: push it first",
                       manifest->kind == BERTH_MANIFEST_INDEX ? "manifest" : "blob", desc->digest,
                       name);
          return FALSE;
        }
    }
  if (check_blobs && manifest->config
      && !registry_db_blob_linked (registry->db, name, manifest->config->digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE,
                   "the manifest references config blob %s, which is not in %s: push it first",
                   manifest->config->digest, name);
      return FALSE;
    }
  if (check_blobs && manifest->config)
    g_ptr_array_add (required, manifest->config->digest);
  g_ptr_array_add (required, digest);
  g_ptr_array_add (refs, NULL);
  g_ptr_array_add (required, NULL);

  annotations = berth_manifest_annotations_to_json (manifest);
  description = find_description (registry, manifest);

  if (!registry_store_put_bytes (registry, data, len, digest, error)
      || !registry_db_blob_link (registry->db, name, digest, error))
    return FALSE;

  row.repo = name;
  row.digest = digest;
  row.media_type = manifest->media_type;
  row.size = len;
  row.subject = manifest->subject ? manifest->subject->digest : NULL;
  row.artifact_type = berth_manifest_get_artifact_type (manifest);
  row.annotations = annotations;
  row.refs = (const char *const *)refs->pdata;
  row.required = (const char *const *)required->pdata;
  row.tag = reference && !is_digest (reference) ? reference : NULL;
  row.description = description;
  if (!registry_db_put_manifest (registry->db, &row, error))
    return FALSE;

  if (out_subject && manifest->subject)
    *out_subject = g_strdup (manifest->subject->digest);
  if (out_digest)
    *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

static enum MHD_Result
collect_tag (void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  if (g_strcmp0 (key, "tag") == 0 && value)
    g_ptr_array_add (cls, g_strdup (value));
  return MHD_YES;
}

/* The tags of PUT .../manifests/DIGEST?tag=a&tag=b, checked; NULL when one
 * is invalid (and answered). */
static GPtrArray *
query_tags (RegistryRequest *req)
{
  g_autoptr (GPtrArray) tags = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  MHD_get_connection_values (req->connection, MHD_GET_ARGUMENT_KIND, collect_tag, tags);
  for (guint i = 0; i < tags->len; i++)
    if (!berth_reference_validate_tag (tags->pdata[i], &error))
      {
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "TAG_INVALID", "%s", error->message);
        return NULL;
      }
  return g_steal_pointer (&tags);
}

static void
finish_put (RegistryRequest *req)
{
  g_autoptr (GPtrArray) tags = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *location = NULL;
  struct MHD_Response *response;

  if (req->body_too_large)
    {
      registry_respond_error (req, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
                              "manifests are limited to %d bytes", MANIFEST_MAX);
      return;
    }
  tags = query_tags (req);
  if (tags == NULL)
    return;
  if (!registry_manifest_store (req->registry, req->route.name, req->route.ref,
                                (const char *)req->body->data, req->body->len,
                                registry_request_header (req, "Content-Type"), TRUE, &digest,
                                &subject, &error))
    {
      if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT))
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "MANIFEST_INVALID", "%s",
                                error->message);
      else if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE))
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", "%s",
                                error->message);
      else if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH))
        registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "%s", error->message);
      else
        registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s",
                                error->message);
      return;
    }
  for (guint i = 0; i < tags->len; i++)
    if (!registry_db_set_tag (req->registry->db, req->route.name, tags->pdata[i], digest, &error))
      {
        registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s",
                                error->message);
        return;
      }
  response = registry_response_empty ();
  if (tags->len > 0)
    {
      g_ptr_array_add (tags, NULL);
      g_autofree char *list = g_strjoinv (", ", (char **)tags->pdata);
      MHD_add_response_header (response, "OCI-Tag", list);
    }
  location = g_strdup_printf ("/v2/%s/manifests/%s", req->route.name, digest);
  MHD_add_response_header (response, "Location", location);
  MHD_add_response_header (response, "Docker-Content-Digest", digest);
  if (subject)
    MHD_add_response_header (response, "OCI-Subject", subject);
  registry_respond (req, MHD_HTTP_CREATED, response);
}

static void
begin_put (RegistryRequest *req)
{
  const char *length = registry_request_header (req, "Content-Length");

  if (req->registry->settings->proxy_upstream)
    {
      registry_respond_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                              "this registry is a pull-through mirror; push to %s instead",
                              req->registry->settings->proxy_upstream);
      return;
    }
  if (length && g_ascii_strtoull (length, NULL, 10) > MANIFEST_MAX)
    {
      registry_respond_error (req, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
                              "manifests are limited to %d bytes; this one has %s", MANIFEST_MAX,
                              length);
      return;
    }
  registry_request_buffer_body (req, MANIFEST_MAX, finish_put);
}

/* With a mirror: ask the upstream for tags whose cache is older than the
 * TTL and for anything missing; when it cannot answer, serve what we have. */
static void
refresh_from_upstream (RegistryRequest *req)
{
  Registry *registry = req->registry;
  const char *ref = req->route.ref;
  gint64 age = -1;
  gboolean have;
  g_autoptr (GError) error = NULL;

  have
    = registry_db_get_manifest (registry->db, req->route.name, ref, NULL, NULL, NULL, &age, NULL);
  if (have && (is_digest (ref) || age < (gint64)registry->settings->proxy_ttl))
    return;
  if (!registry_proxy_fetch_manifest (registry, req->route.name, ref, &error))
    g_message ("mirror: %s%s", error->message, have ? " (serving the cached copy)" : "");
}

static void
get_manifest (RegistryRequest *req)
{
  Registry *registry = req->registry;
  g_autofree char *digest = NULL;
  g_autofree char *media_type = NULL;
  g_autofree char *etag = NULL;
  const char *if_none_match = registry_request_header (req, "If-None-Match");
  gboolean repo_exists = FALSE;
  struct MHD_Response *response;
  struct stat st;
  int fd;

  if (registry->settings->proxy_upstream)
    refresh_from_upstream (req);
  if (!registry_db_get_manifest (registry->db, req->route.name, req->route.ref, &digest,
                                 &media_type, NULL, NULL, &repo_exists))
    {
      if (!repo_exists)
        registry_respond_error (req, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
                                "repository %s is not known to this registry", req->route.name);
      else
        registry_respond_error (req, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN",
                                "%s has no manifest %s", req->route.name, req->route.ref);
      return;
    }
  etag = g_strdup_printf ("\"%s\"", digest);
  if (if_none_match && (strcmp (if_none_match, etag) == 0 || strcmp (if_none_match, digest) == 0))
    {
      response = registry_response_empty ();
      MHD_add_response_header (response, "ETag", etag);
      MHD_add_response_header (response, "Docker-Content-Digest", digest);
      registry_respond (req, MHD_HTTP_NOT_MODIFIED, response);
      return;
    }
  fd = registry_store_open_blob (registry, digest);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      if (fd >= 0)
        close (fd);
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                              "manifest %s is recorded but missing from the store", digest);
      return;
    }
  response = MHD_create_response_from_fd64 (st.st_size, fd);
  MHD_add_response_header (response, "Content-Type", media_type);
  MHD_add_response_header (response, "Docker-Content-Digest", digest);
  MHD_add_response_header (response, "ETag", etag);
  registry_respond (req, MHD_HTTP_OK, response);
  if (registry_request_is (req, "GET"))
    registry_pulls_count (registry, req->route.name);
}

static void
delete_manifest (RegistryRequest *req)
{
  Registry *registry = req->registry;
  gboolean deleted;

  if (!registry->settings->delete_enabled)
    {
      registry_respond_error (req, MHD_HTTP_METHOD_NOT_ALLOWED, "UNSUPPORTED",
                              "deletion is disabled on this registry (set delete=true in "
                              "[storage] of registry.conf)");
      return;
    }
  if (is_digest (req->route.ref))
    deleted = registry_db_delete_manifest (registry->db, req->route.name, req->route.ref);
  else
    deleted = registry_db_delete_tag (registry->db, req->route.name, req->route.ref);
  if (deleted)
    registry_respond (req, MHD_HTTP_ACCEPTED, registry_response_empty ());
  else
    registry_respond_error (req, MHD_HTTP_NOT_FOUND, "MANIFEST_UNKNOWN", "%s has no manifest %s",
                            req->route.name, req->route.ref);
}

void
registry_manifests_begin (RegistryRequest *req)
{
  g_autoptr (GError) error = NULL;
  const char *ref = req->route.ref;

  if (is_digest (ref) ? !berth_digest_validate (ref, NULL, &error)
                      : !berth_reference_validate_tag (ref, &error))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST,
                              is_digest (ref) ? "DIGEST_INVALID" : "TAG_INVALID", "%s",
                              error->message);
      return;
    }
  if (registry_request_is (req, "GET") || registry_request_is (req, "HEAD"))
    get_manifest (req);
  else if (registry_request_is (req, "PUT"))
    begin_put (req);
  else if (registry_request_is (req, "DELETE"))
    delete_manifest (req);
  else
    registry_respond_method_not_allowed (req, "GET, HEAD, PUT, DELETE");
}
