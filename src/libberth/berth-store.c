/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-store.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-image-config.h"
#include "berth-json.h"
#include "berth-layer-diff.h"
#include "berth-manifest.h"
#include "berth-overlay.h"
#include "berth-reference.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS_FILE "repositories.json"
#define LINK_LEN 16
#define EMPTY_LINK "empty"

struct _BerthStore
{
  char *dir;
  int dir_fd;
  int blobs_fd;  /* blobs/sha256 */
  int layers_fd; /* layers */
  int links_fd;  /* l */
  int staging_fd;
  guint64 max_layer_size;
  GMutex lock;       /* the records and holds */
  GRWLock gc_lock;   /* writers: reader side; gc: writer side */
  GPtrArray *images; /* of BerthStoreImage */
  GHashTable *holds; /* id → count */
};

void
berth_store_report_clear (BerthStoreReport *report)
{
  g_clear_pointer (&report->messages, g_ptr_array_unref);
}

static void report_add (BerthStoreReport *report, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
report_add (BerthStoreReport *report, const char *format, ...)
{
  va_list args;
  char *line;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_message ("store: %s", line);
  if (report)
    {
      if (report->messages == NULL)
        report->messages = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_add (report->messages, line);
    }
  else
    g_free (line);
}

BerthStoreImage *
berth_store_image_copy (const BerthStoreImage *image)
{
  BerthStoreImage *copy = g_new0 (BerthStoreImage, 1);

  copy->id = g_strdup (image->id);
  copy->manifest_digest = g_strdup (image->manifest_digest);
  copy->names = g_strdupv (image->names);
  copy->diff_ids = g_strdupv (image->diff_ids);
  copy->chain_ids = g_strdupv (image->chain_ids);
  copy->layer_digests = g_strdupv (image->layer_digests);
  copy->created = image->created;
  copy->added = image->added;
  copy->size = image->size;
  return copy;
}

void
berth_store_image_free (BerthStoreImage *image)
{
  if (image == NULL)
    return;
  g_free (image->id);
  g_free (image->manifest_digest);
  g_strfreev (image->names);
  g_strfreev (image->diff_ids);
  g_strfreev (image->chain_ids);
  g_strfreev (image->layer_digests);
  g_free (image);
}

const char *
berth_store_get_dir (BerthStore *store)
{
  return store->dir;
}

void
berth_store_set_max_layer_size (BerthStore *store, guint64 max_layer_size)
{
  store->max_layer_size = max_layer_size;
}

void
berth_store_begin_write (BerthStore *store)
{
  g_rw_lock_reader_lock (&store->gc_lock);
}

void
berth_store_end_write (BerthStore *store)
{
  g_rw_lock_reader_unlock (&store->gc_lock);
}

/* ---- blobs ---- */

static gboolean
check_digest (const char *digest, GError **error)
{
  BerthDigestAlgorithm algorithm;

  if (!berth_digest_validate (digest, &algorithm, error))
    return FALSE;
  if (algorithm != BERTH_DIGEST_SHA256)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "the store keeps sha256 blobs only, not %s", digest);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_store_has_blob (BerthStore *store, const char *digest)
{
  struct stat st;

  if (!check_digest (digest, NULL))
    return FALSE;
  return fstatat (store->blobs_fd, berth_digest_hex (digest), &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISREG (st.st_mode);
}

gboolean
berth_store_write_blob (BerthStore *store, const void *data, gsize len, const char *expected_digest,
                        char **out_digest, GError **error)
{
  g_autofree char *digest = berth_digest_bytes (BERTH_DIGEST_SHA256, data, len);

  if (expected_digest && !g_str_equal (digest, expected_digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "blob %s does not match its digest (got %s)", expected_digest, digest);
      return FALSE;
    }
  if (!berth_store_has_blob (store, digest)
      && !berth_fs_write_file_at (store->blobs_fd, berth_digest_hex (digest), data, len, 0644,
                                  error))
    return FALSE;
  if (out_digest)
    *out_digest = g_steal_pointer (&digest);
  return TRUE;
}

int
berth_store_open_blob (BerthStore *store, const char *digest, GError **error)
{
  int fd;

  if (!check_digest (digest, error))
    return -1;
  fd = openat (store->blobs_fd, berth_digest_hex (digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "blob %s is not in the store",
                     digest);
      else
        berth_error_set_errno (error, errno, "cannot open blob %s", digest);
    }
  return fd;
}

gboolean
berth_store_read_blob (BerthStore *store, const char *digest, gsize max_len, char **out_data,
                       gsize *out_len, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *got = NULL;
  gsize len;

  if (!check_digest (digest, error))
    return FALSE;
  if (!berth_fs_read_file_at (store->blobs_fd, berth_digest_hex (digest), max_len, &data, &len,
                              error))
    {
      if (g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_clear_error (error);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "blob %s is not in the store",
                       digest);
        }
      return FALSE;
    }
  got = berth_digest_bytes (BERTH_DIGEST_SHA256, data, len);
  if (!g_str_equal (got, digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "stored blob %s is damaged (its content is %s)", digest, got);
      return FALSE;
    }
  *out_data = g_steal_pointer (&data);
  if (out_len)
    *out_len = len;
  return TRUE;
}

/* ---- layers ---- */

char *
berth_store_layer_path (BerthStore *store, const char *chain_id)
{
  return g_build_filename (store->dir, "layers", berth_digest_hex (chain_id), "diff", NULL);
}

char *
berth_store_links_dir (BerthStore *store)
{
  return g_build_filename (store->dir, "l", NULL);
}

gboolean
berth_store_has_layer (BerthStore *store, const char *chain_id)
{
  struct stat st;

  if (!check_digest (chain_id, NULL))
    return FALSE;
  return fstatat (store->layers_fd, berth_digest_hex (chain_id), &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISDIR (st.st_mode);
}

static JsonObject *
read_layer_json (BerthStore *store, const char *chain_id, GError **error)
{
  g_autofree char *path = g_build_filename (berth_digest_hex (chain_id), "layer.json", NULL);
  g_autofree char *data = NULL;
  JsonObject *layer;
  gsize len;

  if (!berth_fs_read_file_at (store->layers_fd, path, 65536, &data, &len, error))
    return NULL;
  layer = berth_json_parse_object (data, len, NULL);
  if (layer == NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "layer %s has a damaged layer.json",
                 chain_id);
  return layer;
}

gboolean
berth_store_layer_size (BerthStore *store, const char *chain_id, guint64 *out_size, GError **error)
{
  JsonObject *object = read_layer_json (store, chain_id, error);

  if (object == NULL)
    return FALSE;
  *out_size = json_object_get_int_member_with_default (object, "size", 0);
  json_object_unref (object);
  return TRUE;
}

static char *
layer_link_name (const char *chain_id)
{
  return g_strndup (berth_digest_hex (chain_id), LINK_LEN);
}

static gboolean
ensure_link (BerthStore *store, const char *chain_id, GError **error)
{
  g_autofree char *link = layer_link_name (chain_id);
  g_autofree char *target
    = g_build_filename ("..", "layers", berth_digest_hex (chain_id), "diff", NULL);
  char buf[PATH_MAX];
  ssize_t n = readlinkat (store->links_fd, link, buf, sizeof buf - 1);

  if (n >= 0)
    {
      buf[n] = '\0';
      if (g_str_equal (buf, target))
        return TRUE;
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "layer link l/%s already points to %s, not %s", link, buf, target);
      return FALSE;
    }
  if (symlinkat (target, store->links_fd, link) < 0 && errno != EEXIST)
    return berth_error_set_errno (error, errno, "cannot create layer link l/%s", link);
  return TRUE;
}

static char *
make_staging_dir (BerthStore *store, const char *prefix, GError **error)
{
  for (int i = 0; i < 100; i++)
    {
      char *name = g_strdup_printf ("%s-%08x", prefix, g_random_int ());

      if (mkdirat (store->staging_fd, name, 0700) == 0)
        return name;
      g_free (name);
      if (errno != EEXIST)
        {
          berth_error_set_errno (error, errno, "cannot create a staging directory");
          return NULL;
        }
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot create a staging directory");
  return NULL;
}

/* A staging directory for a new layer, with its diff/ directory and the
 * blob file to write. *out_staging is set once the directory exists, also
 * on failure, for remove_staging. */
static gboolean
open_layer_staging (BerthStore *store, const char *prefix, char **out_staging, int *out_stage_fd,
                    int *out_diff_fd, int *out_blob_fd, GError **error)
{
  *out_staging = make_staging_dir (store, prefix, error);
  if (*out_staging == NULL)
    return FALSE;
  *out_stage_fd = openat (store->staging_fd, *out_staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*out_stage_fd < 0 || mkdirat (*out_stage_fd, "diff", 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot prepare staging directory %s",
                                  *out_staging);
  *out_diff_fd = openat (*out_stage_fd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  *out_blob_fd = openat (*out_stage_fd, "blob", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (*out_diff_fd < 0 || *out_blob_fd < 0)
    return berth_error_set_errno (error, errno, "cannot prepare staging directory %s",
                                  *out_staging);
  return TRUE;
}

static void
remove_staging (BerthStore *store, const char *staging)
{
  g_autoptr (GError) local_error = NULL;

  if (staging && !berth_fs_rm_rf_at (store->staging_fd, staging, &local_error))
    g_warning ("cannot remove staging directory %s: %s", staging, local_error->message);
}

static gboolean
write_layer_json (int dirfd, const BerthUnpackResult *result, const char *parent, const char *link,
                  GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *data = NULL;
  gsize len;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "diff_id");
  json_builder_add_string_value (b, result->diff_id);
  json_builder_set_member_name (b, "digest");
  json_builder_add_string_value (b, result->digest);
  json_builder_set_member_name (b, "parent");
  if (parent)
    json_builder_add_string_value (b, parent);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, result->size);
  json_builder_set_member_name (b, "compressed_size");
  json_builder_add_int_value (b, result->compressed_size);
  json_builder_set_member_name (b, "link");
  json_builder_add_string_value (b, link);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, &len);
  return berth_fs_write_file_at (dirfd, "layer.json", data, len, 0644, error);
}

/* The staging directory @staging holds "diff" and "blob" (open as
 * @blob_fd): writes layer.json, syncs, and moves blob and layer into
 * place. A layer that is there already stays as it is. */
static gboolean
publish_layer (BerthStore *store, const char *staging, int stage_fd, int blob_fd,
               const BerthUnpackResult *result, const char *parent_chain_id, char **out_chain_id,
               GError **error)
{
  g_autofree char *chain_id = berth_chain_id (parent_chain_id, result->diff_id);
  g_autofree char *link = layer_link_name (chain_id);

  if (!write_layer_json (stage_fd, result, parent_chain_id, link, error))
    return FALSE;

  /* One syncfs makes the many files durable at once, far cheaper than an
   * fsync each; then the renames publish blob and layer. */
  if (fsync (blob_fd) < 0 || syncfs (stage_fd) < 0)
    return berth_error_set_errno (error, errno, "cannot sync the layer");
  if (berth_store_has_blob (store, result->digest))
    unlinkat (stage_fd, "blob", 0);
  else if (renameat (stage_fd, "blob", store->blobs_fd, berth_digest_hex (result->digest)) < 0)
    return berth_error_set_errno (error, errno, "cannot store blob %s", result->digest);
  if (!berth_store_has_layer (store, chain_id))
    {
      if (renameat (store->staging_fd, staging, store->layers_fd, berth_digest_hex (chain_id)) < 0
          && errno != EEXIST && errno != ENOTEMPTY)
        return berth_error_set_errno (error, errno, "cannot store layer %s", chain_id);
    }
  if (!ensure_link (store, chain_id, error) || !berth_fs_fsync_dir_at (store->layers_fd, ".", error)
      || !berth_fs_fsync_dir_at (store->blobs_fd, ".", error))
    return FALSE;
  *out_chain_id = g_steal_pointer (&chain_id);
  return TRUE;
}

gboolean
berth_store_commit_layer (BerthStore *store, int blob_fd, const char *parent_chain_id,
                          const char *expected_digest, const char *expected_diff_id,
                          BerthUnpackResult *out_result, char **out_chain_id,
                          GCancellable *cancellable, GError **error)
{
  g_autofree char *staging = NULL;
  g_autofree char *chain_id = NULL;
  g_auto (BerthUnpackResult) result = { 0 };
  berth_autofd int stage_fd = -1;
  berth_autofd int diff_fd = -1;
  berth_autofd int blob_tmp = -1;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  gboolean ok = FALSE;

  if (parent_chain_id && !berth_store_has_layer (store, parent_chain_id))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                   "the parent layer %s is not in the store", parent_chain_id);
      return FALSE;
    }

  /* Shared layers are stored once: nothing to read when both are known. */
  if (expected_digest && expected_diff_id)
    {
      g_autofree char *known = berth_chain_id (parent_chain_id, expected_diff_id);

      if (berth_store_has_layer (store, known) && berth_store_has_blob (store, expected_digest))
        {
          if (out_result)
            {
              out_result->digest = g_strdup (expected_digest);
              out_result->diff_id = g_strdup (expected_diff_id);
              berth_store_layer_size (store, known, &out_result->size, NULL);
            }
          if (out_chain_id)
            *out_chain_id = g_steal_pointer (&known);
          return TRUE;
        }
    }

  if (!open_layer_staging (store, "layer", &staging, &stage_fd, &diff_fd, &blob_tmp, error))
    goto out;

  options.max_size = store->max_layer_size;
  options.allow_devices = geteuid () == 0;
  options.expected_digest = expected_digest;
  options.expected_diff_id = expected_diff_id;
  options.copy_fd = blob_tmp;
  if (!berth_unpack_layer (blob_fd, diff_fd, &options, &result, cancellable, error))
    goto out;

  if (!publish_layer (store, staging, stage_fd, blob_tmp, &result, parent_chain_id, &chain_id,
                      error))
    goto out;

  if (out_result)
    {
      *out_result = result;
      memset (&result, 0, sizeof result);
    }
  if (out_chain_id)
    *out_chain_id = g_steal_pointer (&chain_id);
  ok = TRUE;

out:
  remove_staging (store, staging);
  return ok;
}

gboolean
berth_store_commit_tree (BerthStore *store, int root_dirfd, const char *parent_chain_id,
                         const BerthLayerDiffOptions *options, BerthUnpackResult *out_result,
                         char **out_chain_id, GCancellable *cancellable, GError **error)
{
  g_autofree char *staging = NULL;
  g_autofree char *chain_id = NULL;
  g_auto (BerthUnpackResult) result = { 0 };
  g_auto (BerthLayerDiffResult) diff = { 0 };
  BerthLayerDiffOptions diff_options = BERTH_LAYER_DIFF_OPTIONS_INIT;
  berth_autofd int stage_fd = -1;
  berth_autofd int diff_fd = -1;
  berth_autofd int blob_tmp = -1;
  gboolean ok = FALSE;

  if (parent_chain_id && !berth_store_has_layer (store, parent_chain_id))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                   "the parent layer %s is not in the store", parent_chain_id);
      return FALSE;
    }
  if (options)
    diff_options = *options;

  if (!open_layer_staging (store, "commit", &staging, &stage_fd, &diff_fd, &blob_tmp, error))
    goto out;

  /* One pass: the tar becomes the blob, the copy the layer directory. */
  diff_options.copy_dirfd = diff_fd;
  if (!berth_layer_diff_write (root_dirfd, blob_tmp, &diff_options, &diff, cancellable, error))
    goto out;
  if (store->max_layer_size && diff.size > store->max_layer_size)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                   "the new layer is %" G_GUINT64_FORMAT
                   " bytes, over the store's limit of %" G_GUINT64_FORMAT " (max-layer-size)",
                   diff.size, store->max_layer_size);
      goto out;
    }
  result.digest = g_strdup (diff.diff_id);
  result.diff_id = g_strdup (diff.diff_id);
  result.size = diff.size;
  result.compressed_size = diff.size;
  result.n_entries = diff.n_entries;
  result.compression = BERTH_COMPRESSION_NONE;
  if (!publish_layer (store, staging, stage_fd, blob_tmp, &result, parent_chain_id, &chain_id,
                      error))
    goto out;

  if (out_result)
    {
      *out_result = result;
      memset (&result, 0, sizeof result);
    }
  if (out_chain_id)
    *out_chain_id = g_steal_pointer (&chain_id);
  ok = TRUE;

out:
  remove_staging (store, staging);
  return ok;
}

/* ---- image records ---- */

static gboolean
load_image_content (BerthStore *store, BerthStoreImage *image, gboolean need_layers, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  g_autoptr (GPtrArray) digests = g_ptr_array_new_with_free_func (g_free);

  if (!berth_store_read_blob (store, image->manifest_digest, BERTH_MANIFEST_MAX_SIZE, &data, &len,
                              error))
    return FALSE;
  manifest = berth_manifest_parse (data, len, error);
  if (manifest == NULL)
    return FALSE;
  if (manifest->kind != BERTH_MANIFEST_IMAGE)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "%s is an index, not an image manifest", image->manifest_digest);
      return FALSE;
    }
  g_clear_pointer (&data, g_free);
  if (!berth_store_read_blob (store, manifest->config->digest, BERTH_MANIFEST_MAX_SIZE, &data, &len,
                              error))
    return FALSE;
  config = berth_image_config_parse (data, len, error);
  if (config == NULL)
    return FALSE;
  if (g_strv_length (config->diff_ids) != manifest->layers->len)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "image %s: the manifest has %u layers but the config has %u diff_ids",
                   manifest->config->digest, manifest->layers->len,
                   g_strv_length (config->diff_ids));
      return FALSE;
    }

  g_free (image->id);
  image->id = g_strdup (manifest->config->digest);
  g_strfreev (image->diff_ids);
  image->diff_ids = g_strdupv (config->diff_ids);
  g_strfreev (image->chain_ids);
  image->chain_ids = berth_chain_ids ((const char *const *)config->diff_ids);
  for (guint i = 0; i < manifest->layers->len; i++)
    g_ptr_array_add (
      digests, g_strdup (((BerthDescriptor *)g_ptr_array_index (manifest->layers, i))->digest));
  g_ptr_array_add (digests, NULL);
  g_strfreev (image->layer_digests);
  image->layer_digests = (char **)g_ptr_array_free (g_steal_pointer (&digests), FALSE);
  image->created = config->created;
  image->size = 0;

  if (need_layers)
    for (guint i = 0; image->chain_ids[i]; i++)
      {
        guint64 size = 0;

        if (!berth_store_has_layer (store, image->chain_ids[i]))
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                         "layer %s (diff_id %s) is not in the store", image->chain_ids[i],
                         image->diff_ids[i]);
            return FALSE;
          }
        if (!berth_store_has_blob (store, image->layer_digests[i]))
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                         "layer blob %s is not in the store", image->layer_digests[i]);
            return FALSE;
          }
        if (berth_store_layer_size (store, image->chain_ids[i], &size, NULL))
          image->size += size;
      }
  return TRUE;
}

static gboolean
save_records_locked (BerthStore *store, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *data = NULL;
  gsize len;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "images");
  json_builder_begin_array (b);
  for (guint i = 0; i < store->images->len; i++)
    {
      BerthStoreImage *image = g_ptr_array_index (store->images, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, image->id);
      json_builder_set_member_name (b, "manifest");
      json_builder_add_string_value (b, image->manifest_digest);
      json_builder_set_member_name (b, "added");
      json_builder_add_int_value (b, image->added);
      json_builder_set_member_name (b, "names");
      json_builder_begin_array (b);
      for (char **n = image->names; *n; n++)
        json_builder_add_string_value (b, *n);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  data = json_generator_to_data (gen, &len);
  return berth_fs_write_file_at (store->dir_fd, RECORDS_FILE, data, len, 0600, error);
}

static gboolean
load_records (BerthStore *store, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *images;
  gsize len;

  if (!berth_fs_read_file_at (store->dir_fd, RECORDS_FILE, 64 << 20, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, data, len, &local_error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "%s/%s is damaged (%s); move it away to start with an empty store", store->dir,
                   RECORDS_FILE, local_error ? local_error->message : "not an object");
      return FALSE;
    }
  images = json_object_get_member (json_node_get_object (json_parser_get_root (parser)), "images");
  if (images == NULL || !JSON_NODE_HOLDS_ARRAY (images))
    return TRUE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (images)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (images), i);
      JsonObject *o;
      BerthStoreImage *image;
      JsonArray *names;
      g_autoptr (GPtrArray) n = g_ptr_array_new ();

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      o = json_node_get_object (node);
      if (!json_object_has_member (o, "manifest"))
        continue;
      image = g_new0 (BerthStoreImage, 1);
      image->id = g_strdup (json_object_get_string_member_with_default (o, "id", ""));
      image->manifest_digest = g_strdup (json_object_get_string_member (o, "manifest"));
      image->added = json_object_get_int_member_with_default (o, "added", 0);
      names = json_object_get_array_member (o, "names");
      for (guint j = 0; names && j < json_array_get_length (names); j++)
        g_ptr_array_add (n, (gpointer)json_array_get_string_element (names, j));
      g_ptr_array_add (n, NULL);
      image->names = g_strdupv ((char **)n->pdata);
      image->diff_ids = g_new0 (char *, 1);
      image->chain_ids = g_new0 (char *, 1);
      image->layer_digests = g_new0 (char *, 1);
      g_ptr_array_add (store->images, image);
    }
  return TRUE;
}

static BerthStoreImage *
find_by_id_locked (BerthStore *store, const char *id)
{
  for (guint i = 0; i < store->images->len; i++)
    {
      BerthStoreImage *image = g_ptr_array_index (store->images, i);

      if (g_str_equal (image->id, id))
        return image;
    }
  return NULL;
}

static gboolean
strv_has (char **strv, const char *s)
{
  return strv && g_strv_contains ((const char *const *)strv, s);
}

static void
strv_remove (char ***strv, const char *s)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new ();

  for (char **p = *strv; *p; p++)
    if (!g_str_equal (*p, s))
      g_ptr_array_add (out, g_strdup (*p));
  g_ptr_array_add (out, NULL);
  g_strfreev (*strv);
  *strv = (char **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char **)a, *(const char **)b);
}

static void
strv_add (char ***strv, const char *s)
{
  guint n = g_strv_length (*strv);

  if (strv_has (*strv, s))
    return;
  *strv = g_renew (char *, *strv, n + 2);
  (*strv)[n] = g_strdup (s);
  (*strv)[n + 1] = NULL;
  qsort (*strv, n + 1, sizeof (char *), compare_strings);
}

/* Takes @name away from whichever image has it. */
static void
untag_everywhere_locked (BerthStore *store, const char *name)
{
  for (guint i = 0; i < store->images->len; i++)
    {
      BerthStoreImage *image = g_ptr_array_index (store->images, i);

      if (strv_has (image->names, name))
        strv_remove (&image->names, name);
    }
}

static char *
normalize_name (const char *text, GError **error)
{
  g_autoptr (BerthReference) ref = berth_reference_parse_normalized (text, error);

  if (ref == NULL)
    return NULL;
  if (ref->digest)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "cannot name an image \"%s\": a name has a tag, not a digest", text);
      return NULL;
    }
  return berth_reference_to_string (ref);
}

BerthStoreImage *
berth_store_add_image (BerthStore *store, const char *manifest_digest, const char *const *names,
                       GError **error)
{
  g_autoptr (BerthStoreImage) image = g_new0 (BerthStoreImage, 1);
  g_autoptr (GPtrArray) normalized = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GMutexLocker) locker = NULL;
  BerthStoreImage *existing;

  for (guint i = 0; names && names[i]; i++)
    {
      char *name = normalize_name (names[i], error);

      if (name == NULL)
        return NULL;
      g_ptr_array_add (normalized, name);
    }

  image->manifest_digest = g_strdup (manifest_digest);
  image->names = g_new0 (char *, 1);
  image->added = g_get_real_time () / G_USEC_PER_SEC;
  if (!load_image_content (store, image, TRUE, error))
    return NULL;

  locker = g_mutex_locker_new (&store->lock);
  for (guint i = 0; i < normalized->len; i++)
    untag_everywhere_locked (store, g_ptr_array_index (normalized, i));
  existing = find_by_id_locked (store, image->id);
  if (existing)
    {
      /* The same image again (same config): it keeps its names and gains
       * the new ones; the newest manifest describes it. */
      g_free (existing->manifest_digest);
      existing->manifest_digest = g_strdup (image->manifest_digest);
      g_strfreev (existing->layer_digests);
      existing->layer_digests = g_strdupv (image->layer_digests);
      for (guint i = 0; i < normalized->len; i++)
        strv_add (&existing->names, g_ptr_array_index (normalized, i));
      g_clear_pointer (&image, berth_store_image_free);
      image = berth_store_image_copy (existing);
    }
  else
    {
      for (guint i = 0; i < normalized->len; i++)
        strv_add (&image->names, g_ptr_array_index (normalized, i));
      g_ptr_array_add (store->images, berth_store_image_copy (image));
    }
  if (!save_records_locked (store, error))
    return NULL;
  return g_steal_pointer (&image);
}

static gboolean
is_hex (const char *s)
{
  return *s && strspn (s, "0123456789abcdef") == strlen (s);
}

static BerthStoreImage *
find_locked (BerthStore *store, const char *what, char **out_name, GError **error)
{
  const char *hex = g_str_has_prefix (what, "sha256:") ? what + 7 : what;
  g_autoptr (BerthReference) ref = NULL;
  g_autoptr (GError) ref_error = NULL;

  /* An image ID or a unique prefix of one (docker prints 12 digits). */
  if (is_hex (hex) && strlen (hex) >= 4 && strlen (hex) <= 64)
    {
      BerthStoreImage *found = NULL;

      for (guint i = 0; i < store->images->len; i++)
        {
          BerthStoreImage *image = g_ptr_array_index (store->images, i);

          if (g_str_has_prefix (berth_digest_hex (image->id), hex))
            {
              if (found)
                {
                  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                               "the image ID prefix \"%s\" is ambiguous; give more digits", hex);
                  return NULL;
                }
              found = image;
            }
        }
      if (found)
        return found;
      if (hex != what || strlen (hex) == 64)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "no image %s", what);
          return NULL;
        }
    }

  ref = berth_reference_parse_normalized (what, &ref_error);
  if (ref == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&ref_error));
      return NULL;
    }
  if (ref->digest)
    {
      g_autofree char *repository = berth_reference_repository (ref);

      for (guint i = 0; i < store->images->len; i++)
        {
          BerthStoreImage *image = g_ptr_array_index (store->images, i);

          if (g_str_equal (image->manifest_digest, ref->digest))
            return image;
        }
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "no image %s@%s", repository,
                   ref->digest);
      return NULL;
    }
  else
    {
      g_autofree char *name = berth_reference_to_string (ref);

      for (guint i = 0; i < store->images->len; i++)
        {
          BerthStoreImage *image = g_ptr_array_index (store->images, i);

          if (strv_has (image->names, name))
            {
              if (out_name)
                *out_name = g_steal_pointer (&name);
              return image;
            }
        }
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "no image %s", what);
      return NULL;
    }
}

BerthStoreImage *
berth_store_find_image (BerthStore *store, const char *what, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  BerthStoreImage *image = find_locked (store, what, NULL, error);

  return image ? berth_store_image_copy (image) : NULL;
}

GPtrArray *
berth_store_list_images (BerthStore *store)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_store_image_free);

  for (guint i = 0; i < store->images->len; i++)
    g_ptr_array_add (list, berth_store_image_copy (g_ptr_array_index (store->images, i)));
  return list;
}

guint
berth_store_count_images (BerthStore *store)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);

  return store->images->len;
}

gboolean
berth_store_tag_image (BerthStore *store, const char *source, const char *target, GError **error)
{
  g_autofree char *name = normalize_name (target, error);
  g_autoptr (GMutexLocker) locker = NULL;
  BerthStoreImage *image;

  if (name == NULL)
    return FALSE;
  locker = g_mutex_locker_new (&store->lock);
  image = find_locked (store, source, NULL, error);
  if (image == NULL)
    return FALSE;
  untag_everywhere_locked (store, name);
  strv_add (&image->names, name);
  return save_records_locked (store, error);
}

gboolean
berth_store_hold_image (BerthStore *store, const char *id, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);

  if (find_by_id_locked (store, id) == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "no image %s", id);
      return FALSE;
    }
  g_hash_table_insert (
    store->holds, g_strdup (id),
    GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (store->holds, id)) + 1));
  return TRUE;
}

void
berth_store_release_image (BerthStore *store, const char *id)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (store->holds, id));

  if (n <= 1)
    g_hash_table_remove (store->holds, id);
  else
    g_hash_table_insert (store->holds, g_strdup (id), GUINT_TO_POINTER (n - 1));
}

gboolean
berth_store_remove_image (BerthStore *store, const char *what, gboolean force, char **out_id,
                          gboolean *out_deleted, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  g_autofree char *name = NULL;
  BerthStoreImage *image = find_locked (store, what, &name, error);
  guint held;

  if (image == NULL)
    return FALSE;
  if (out_id)
    *out_id = g_strdup (image->id);

  if (name && g_strv_length (image->names) > 1)
    {
      strv_remove (&image->names, name);
      if (out_deleted)
        *out_deleted = FALSE;
      return save_records_locked (store, error);
    }
  if (name == NULL && g_strv_length (image->names) > 1 && !force)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_IN_USE,
                   "image %.19s has %u names; remove them one by one or use --force", image->id,
                   g_strv_length (image->names));
      return FALSE;
    }
  held = GPOINTER_TO_UINT (g_hash_table_lookup (store->holds, image->id));
  if (held > 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_IN_USE,
                   "image %.19s is used by %u container%s; remove %s first", image->id, held,
                   held == 1 ? "" : "s", held == 1 ? "it" : "them");
      return FALSE;
    }
  g_ptr_array_remove (store->images, image);
  if (!save_records_locked (store, error))
    return FALSE;
  g_clear_pointer (&locker, g_mutex_locker_free);
  if (out_deleted)
    *out_deleted = TRUE;
  return berth_store_gc (store, NULL, error);
}

/* ---- garbage collection, check and repair ---- */

static gboolean
remove_unlisted (int dirfd, GHashTable *live, const char *what, guint *removed, GError **error)
{
  berth_autofd int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir;
  struct dirent *de;
  g_autoptr (GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    return berth_error_set_errno (error, errno, "cannot read the %s", what);
  fd = -1;
  while ((de = readdir (dir)) != NULL)
    if (de->d_name[0] != '.' || (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, "..")))
      if (!g_hash_table_contains (live, de->d_name))
        g_ptr_array_add (doomed, g_strdup (de->d_name));
  closedir (dir);

  for (guint i = 0; i < doomed->len; i++)
    {
      g_debug ("store: removing unused %s %s", what, (char *)g_ptr_array_index (doomed, i));
      if (!berth_fs_rm_rf_at (dirfd, g_ptr_array_index (doomed, i), error))
        return FALSE;
      (*removed)++;
    }
  return TRUE;
}

gboolean
berth_store_gc (BerthStore *store, guint *out_removed, GError **error)
{
  g_autoptr (GHashTable) blobs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint removed = 0;
  gboolean ok;

  if (out_removed)
    *out_removed = 0;
  /* An import in progress has content no record names yet; leave it, the
   * next removal or start collects what is really unused. */
  if (!g_rw_lock_writer_trylock (&store->gc_lock))
    {
      g_debug ("store: garbage collection skipped while a writer is active");
      return TRUE;
    }

  g_mutex_lock (&store->lock);
  for (guint i = 0; i < store->images->len; i++)
    {
      BerthStoreImage *image = g_ptr_array_index (store->images, i);

      g_hash_table_add (blobs, g_strdup (berth_digest_hex (image->manifest_digest)));
      g_hash_table_add (blobs, g_strdup (berth_digest_hex (image->id)));
      for (guint j = 0; image->layer_digests[j]; j++)
        g_hash_table_add (blobs, g_strdup (berth_digest_hex (image->layer_digests[j])));
      for (guint j = 0; image->chain_ids[j]; j++)
        {
          g_hash_table_add (layers, g_strdup (berth_digest_hex (image->chain_ids[j])));
          g_hash_table_add (links, layer_link_name (image->chain_ids[j]));
        }
    }
  g_mutex_unlock (&store->lock);
  g_hash_table_add (links, g_strdup (EMPTY_LINK));

  ok = remove_unlisted (store->blobs_fd, blobs, "blob", &removed, error)
       && remove_unlisted (store->layers_fd, layers, "layer", &removed, error)
       && remove_unlisted (store->links_fd, links, "layer link", &removed, error);
  g_rw_lock_writer_unlock (&store->gc_lock);
  if (out_removed)
    *out_removed = removed;
  return ok;
}

static gboolean
repair_layers (BerthStore *store, BerthStoreImage *image, BerthStoreReport *report, GError **error)
{
  for (guint i = 0; image->chain_ids[i]; i++)
    {
      berth_autofd int fd = -1;
      g_autofree char *chain = NULL;

      if (berth_store_has_layer (store, image->chain_ids[i]))
        {
          if (!ensure_link (store, image->chain_ids[i], error))
            return FALSE;
          continue;
        }
      fd = berth_store_open_blob (store, image->layer_digests[i], error);
      if (fd < 0)
        return FALSE;
      if (!berth_store_commit_layer (store, fd, i ? image->chain_ids[i - 1] : NULL,
                                     image->layer_digests[i], image->diff_ids[i], NULL, &chain,
                                     NULL, error))
        return FALSE;
      report_add (report, "image %s: layer %s was missing; unpacked it again from its blob",
                  image->id, image->chain_ids[i]);
      if (report)
        report->repaired_layers++;
    }
  return TRUE;
}

static gboolean
check_images (BerthStore *store, BerthStoreReport *report, GError **error)
{
  gboolean changed = FALSE;

  for (guint i = 0; i < store->images->len;)
    {
      BerthStoreImage *image = g_ptr_array_index (store->images, i);
      g_autoptr (GError) local_error = NULL;

      if (!load_image_content (store, image, FALSE, &local_error)
          || !repair_layers (store, image, report, &local_error)
          || !load_image_content (store, image, TRUE, &local_error))
        {
          g_autofree char *names = g_strjoinv (", ", image->names);

          report_add (report, "image %s (%s) removed: %s", image->id, *names ? names : "no name",
                      local_error->message);
          if (report)
            report->removed_images++;
          g_ptr_array_remove_index (store->images, i);
          changed = TRUE;
          continue;
        }
      i++;
    }
  if (changed && !save_records_locked (store, error))
    return FALSE;
  return TRUE;
}

static gboolean
remove_tmp_files (int dirfd, const char *what, BerthStoreReport *report, GError **error)
{
  berth_autofd int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir;
  struct dirent *de;
  g_autoptr (GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    return berth_error_set_errno (error, errno, "cannot read %s", what);
  fd = -1;
  while ((de = readdir (dir)) != NULL)
    if (de->d_name[0] == '.' && strstr (de->d_name, ".tmp-") != NULL)
      g_ptr_array_add (doomed, g_strdup (de->d_name));
  closedir (dir);
  for (guint i = 0; i < doomed->len; i++)
    {
      report_add (report, "removed %s/%s, left by an interrupted write", what,
                  (char *)g_ptr_array_index (doomed, i));
      if (report)
        report->removed_leftovers++;
      if (unlinkat (dirfd, g_ptr_array_index (doomed, i), 0) < 0 && errno != ENOENT)
        return berth_error_set_errno (error, errno, "cannot remove %s", (char *)doomed->pdata[i]);
    }
  return TRUE;
}

/* staging/pull keeps what an interrupted pull may reuse: blobs berth-pull
 * verified, named by their digest's hex, and cut downloads, named
 * <hex>.partial (never read but to be hashed again and continued). Both are
 * hashed again before they are used, and kept for a day. Everything else
 * there was left by an interrupted write. */
#define STAGING_PULL_KEEP_SECONDS (24 * 3600)

static gboolean
staged_download_is_kept (int dirfd, const char *name, gint64 now)
{
  gsize hex = strspn (name, "0123456789abcdef");
  struct stat st;

  if ((hex != 64 && hex != 128) || (name[hex] != '\0' && !g_str_equal (name + hex, ".partial")))
    return FALSE;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    return FALSE;
  return now - st.st_mtime < STAGING_PULL_KEEP_SECONDS;
}

static gboolean
clean_staging (BerthStore *store, guint *removed, GError **error)
{
  g_autoptr (GHashTable) keep = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  berth_autofd int pull_fd
    = openat (store->staging_fd, "pull", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (pull_fd >= 0)
    {
      berth_autofd int fd = openat (pull_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      DIR *dir;
      struct dirent *de;

      if (fd < 0 || (dir = fdopendir (fd)) == NULL)
        return berth_error_set_errno (error, errno, "cannot read the staging area");
      fd = -1;
      while ((de = readdir (dir)) != NULL)
        if (staged_download_is_kept (pull_fd, de->d_name, now))
          g_hash_table_add (keep, g_strdup (de->d_name));
      closedir (dir);
      if (!remove_unlisted (pull_fd, keep, "staged download", removed, error))
        return FALSE;
      g_hash_table_remove_all (keep);
      g_hash_table_add (keep, g_strdup ("pull"));
    }
  return remove_unlisted (store->staging_fd, keep, "staging entry", removed, error);
}

static int
open_subdir (int dirfd, const char *name, GError **error)
{
  int fd;

  if (mkdirat (dirfd, name, 0700) < 0 && errno != EEXIST)
    {
      berth_error_set_errno (error, errno, "cannot create %s", name);
      return -1;
    }
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    berth_error_set_errno (error, errno, "cannot open %s", name);
  return fd;
}

BerthStore *
berth_store_open (const char *root, guint64 max_layer_size, BerthStoreReport *report,
                  GError **error)
{
  g_autoptr (BerthStore) store = g_new0 (BerthStore, 1);
  berth_autofd int root_fd = -1;
  berth_autofd int blobs_parent = -1;
  berth_autofd int empty_fd = -1;
  guint removed = 0;

  g_mutex_init (&store->lock);
  g_rw_lock_init (&store->gc_lock);
  store->dir_fd = store->blobs_fd = store->layers_fd = store->links_fd = store->staging_fd = -1;
  store->images = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_store_image_free);
  store->holds = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  store->max_layer_size = max_layer_size;
  store->dir = g_build_filename (root, "images", NULL);

  if (g_mkdir_with_parents (root, 0711) < 0)
    {
      berth_error_set_errno (error, errno, "cannot create %s", root);
      return NULL;
    }
  root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      berth_error_set_errno (error, errno, "cannot open %s", root);
      return NULL;
    }
  if ((store->dir_fd = open_subdir (root_fd, "images", error)) < 0
      || (blobs_parent = open_subdir (store->dir_fd, "blobs", error)) < 0
      || (store->blobs_fd = open_subdir (blobs_parent, "sha256", error)) < 0
      || (store->layers_fd = open_subdir (store->dir_fd, "layers", error)) < 0
      || (store->links_fd = open_subdir (store->dir_fd, "l", error)) < 0
      || (store->staging_fd = open_subdir (store->dir_fd, "staging", error)) < 0
      || (empty_fd = open_subdir (store->dir_fd, "empty", error)) < 0)
    {
      g_prefix_error (error, "%s: ", store->dir);
      return NULL;
    }
  fchmod (store->dir_fd, 0711);
  fchmod (store->layers_fd, 0711);
  fchmod (store->links_fd, 0711);
  fchmod (empty_fd, 0755);
  if (symlinkat ("../empty", store->links_fd, EMPTY_LINK) < 0 && errno != EEXIST)
    {
      berth_error_set_errno (error, errno, "cannot create %s/l/" EMPTY_LINK, store->dir);
      return NULL;
    }

  /* Leftovers of interrupted writes: staging entries and temporary files. */
  if (!clean_staging (store, &removed, error)
      || !remove_tmp_files (store->dir_fd, store->dir, report, error)
      || !remove_tmp_files (store->blobs_fd, "blobs/sha256", report, error)
      || !remove_tmp_files (store->layers_fd, "layers", report, error))
    return NULL;
  if (removed)
    {
      report_add (report, "removed %u staging entr%s left by interrupted imports", removed,
                  removed == 1 ? "y" : "ies");
      if (report)
        report->removed_leftovers += removed;
    }

  if (!load_records (store, error) || !check_images (store, report, error))
    return NULL;
  if (!berth_store_gc (store, &removed, error))
    return NULL;
  if (removed)
    {
      report_add (report, "removed %u unused blob%s and layer%s", removed, removed == 1 ? "" : "s",
                  removed == 1 ? "" : "s");
      if (report)
        report->removed_unused += removed;
    }
  return g_steal_pointer (&store);
}

void
berth_store_free (BerthStore *store)
{
  if (store == NULL)
    return;
  berth_close_fdp (&store->dir_fd);
  berth_close_fdp (&store->blobs_fd);
  berth_close_fdp (&store->layers_fd);
  berth_close_fdp (&store->links_fd);
  berth_close_fdp (&store->staging_fd);
  g_ptr_array_unref (store->images);
  g_hash_table_unref (store->holds);
  g_mutex_clear (&store->lock);
  g_rw_lock_clear (&store->gc_lock);
  g_free (store->dir);
  g_free (store);
}

char **
berth_store_image_lower_links (BerthStore *store, const char *what, GError **error)
{
  g_autoptr (BerthStoreImage) image = berth_store_find_image (store, what, error);
  guint n;
  char **links;

  if (image == NULL)
    return NULL;
  n = g_strv_length (image->chain_ids);
  if (n == 0)
    {
      links = g_new0 (char *, 2);
      links[0] = g_strdup (EMPTY_LINK);
      return links;
    }
  links = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    links[i] = layer_link_name (image->chain_ids[n - 1 - i]);
  return links;
}

gboolean
berth_store_mount_image (BerthStore *store, const char *image, const char *upper_dir,
                         const char *work_dir, const char *target, GError **error)
{
  g_auto (GStrv) links = berth_store_image_lower_links (store, image, error);
  g_autofree char *links_dir = NULL;

  if (links == NULL)
    return FALSE;
  links_dir = berth_store_links_dir (store);
  return berth_overlay_mount (links_dir, (const char *const *)links, upper_dir, work_dir, target,
                              error);
}

BerthStoreImage *
berth_store_import_rootfs (BerthStore *store, int fd, const char *reference,
                           GCancellable *cancellable, GError **error)
{
  g_auto (BerthUnpackResult) layer = { 0 };
  g_autofree char *chain = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_digest = NULL;
  g_autofree char *manifest_json = NULL;
  g_autofree char *manifest_digest = NULL;
  g_autoptr (BerthDescriptor) config_desc = NULL;
  g_autoptr (BerthDescriptor) layer_desc = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  const char *names[] = { reference, NULL };
  BerthStoreImage *image = NULL;
  gsize config_len, manifest_len;

  if (reference)
    {
      g_autofree char *name = normalize_name (reference, error);

      if (name == NULL)
        return NULL;
    }

  berth_store_begin_write (store);
  if (!berth_store_commit_layer (store, fd, NULL, NULL, NULL, &layer, &chain, cancellable, error))
    goto out;

  config = berth_image_config_new_for_rootfs (layer.diff_id, g_get_real_time () / G_USEC_PER_SEC,
                                              "berth import", &config_len);
  if (!berth_store_write_blob (store, config, config_len, NULL, &config_digest, error))
    goto out;
  config_desc = berth_descriptor_new (BERTH_MEDIA_OCI_CONFIG, config_digest, config_len);
  layer_desc = berth_descriptor_new (berth_media_type_for_compression (layer.compression),
                                     layer.digest, layer.compressed_size);
  manifest = berth_manifest_new_image (config_desc);
  berth_manifest_add_layer (manifest, layer_desc);
  manifest_json = berth_manifest_to_json (manifest, &manifest_len);
  if (!berth_store_write_blob (store, manifest_json, manifest_len, NULL, &manifest_digest, error))
    goto out;
  image = berth_store_add_image (store, manifest_digest, reference ? names : NULL, error);

out:
  berth_store_end_write (store);
  return image;
}
