/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-archive.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-host.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-reference.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct archive BerthArchive;

static void
archive_freep (struct archive *a)
{
  /* Read and write handles share archive_free's behaviour. */
  archive_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthArchive, archive_freep)

gboolean
berth_archive_format_from_string (const char *text, BerthArchiveFormat *out_format, GError **error)
{
  if (g_strcmp0 (text, "oci") == 0)
    *out_format = BERTH_ARCHIVE_OCI;
  else if (g_strcmp0 (text, "docker") == 0)
    *out_format = BERTH_ARCHIVE_DOCKER;
  else
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "unknown archive format \"%s\": use oci or docker", text ? text : "");
      return FALSE;
    }
  return TRUE;
}

/* ---- load ---- */

/* The archive's members are staged as numbered files: nothing from the
 * archive is ever used as a path on disk. */
typedef struct
{
  BerthStore *store;
  int stage_fd;
  GHashTable *members; /* normalized archive path → staged file name */
  GHashTable *links;   /* normalized path → normalized target (symlinks in docker archives) */
  GPtrArray *added;    /* IDs of images this load added (not there before) */
} Loader;

static char *
normalize_member (const char *raw)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new ();

  if (raw == NULL)
    return NULL;
  parts = g_strsplit (raw, "/", -1);
  for (char **p = parts; *p; p++)
    {
      if (**p == '\0' || g_str_equal (*p, "."))
        continue;
      if (g_str_equal (*p, ".."))
        {
          if (out->len == 0)
            return NULL;
          g_ptr_array_remove_index (out, out->len - 1);
          continue;
        }
      g_ptr_array_add (out, *p);
    }
  g_ptr_array_add (out, NULL);
  return g_strjoinv ("/", (char **)out->pdata);
}

static gboolean
stage_members (Loader *l, int fd, GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthArchive) a = archive_read_new ();
  struct archive_entry *entry;
  guint n = 0;
  int r;

  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  if (archive_read_open_fd (a, fd, 256 * 1024) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "cannot read the image archive: %s", archive_error_string (a));
      return FALSE;
    }
  while ((r = archive_read_next_header (a, &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      g_autofree char *path = normalize_member (archive_entry_pathname (entry));
      g_autofree char *name = NULL;
      berth_autofd int out = -1;
      const void *buf;
      size_t size;
      la_int64_t offset;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (path == NULL || *path == '\0')
        continue;
      if (archive_entry_filetype (entry) == AE_IFLNK)
        {
          g_autofree char *dir = g_path_get_dirname (path);
          g_autofree char *joined = g_build_filename (dir, archive_entry_symlink (entry), NULL);
          char *target = normalize_member (joined);

          if (target)
            g_hash_table_insert (l->links, g_steal_pointer (&path), target);
          continue;
        }
      if (archive_entry_hardlink (entry))
        {
          char *target = normalize_member (archive_entry_hardlink (entry));

          if (target)
            g_hash_table_insert (l->links, g_steal_pointer (&path), target);
          continue;
        }
      if (archive_entry_filetype (entry) != AE_IFREG)
        continue;

      name = g_strdup_printf ("%u", n++);
      out = openat (l->stage_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (out < 0)
        return berth_error_set_errno (error, errno, "cannot stage %s", path);
      while ((r = archive_read_data_block (a, &buf, &size, &offset)) == ARCHIVE_OK)
        if (pwrite (out, buf, size, offset) != (ssize_t)size)
          return berth_error_set_errno (error, errno, "cannot stage %s", path);
      if (r != ARCHIVE_EOF)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                       "the image archive is truncated or corrupt at %s: %s", path,
                       archive_error_string (a));
          return FALSE;
        }
      g_hash_table_insert (l->members, g_steal_pointer (&path), g_steal_pointer (&name));
    }
  if (r != ARCHIVE_EOF)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "the image archive is truncated or corrupt: %s", archive_error_string (a));
      return FALSE;
    }
  return TRUE;
}

static const char *
member_file (Loader *l, const char *path)
{
  g_autofree char *norm = normalize_member (path);
  const char *p = norm;

  for (int hops = 0; p && hops < 8; hops++)
    {
      const char *file = g_hash_table_lookup (l->members, p);

      if (file)
        return file;
      p = g_hash_table_lookup (l->links, p);
    }
  return NULL;
}

static int
open_member (Loader *l, const char *path, GError **error)
{
  const char *file = member_file (l, path);
  int fd;

  if (file == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE, "the image archive has no %s",
                   path);
      return -1;
    }
  fd = openat (l->stage_fd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    berth_error_set_errno (error, errno, "cannot open the staged %s", path);
  return fd;
}

static gboolean
read_member (Loader *l, const char *path, char **out_data, gsize *out_len, GError **error)
{
  const char *file = member_file (l, path);

  if (file == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE, "the image archive has no %s",
                   path);
      return FALSE;
    }
  return berth_fs_read_file_at (l->stage_fd, file, BERTH_MANIFEST_MAX_SIZE, out_data, out_len,
                                error);
}

static char *
blob_path (const char *digest)
{
  g_autofree char *algorithm = g_strndup (digest, strchr (digest, ':') - digest);

  return g_strdup_printf ("blobs/%s/%s", algorithm, berth_digest_hex (digest));
}

/* Reads a blob of an OCI layout and checks its digest and size. */
static gboolean
read_oci_blob (Loader *l, const BerthDescriptor *desc, char **out_data, gsize *out_len,
               GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *got = NULL;
  g_autofree char *data = NULL;
  gsize len;

  if (!berth_digest_validate (desc->digest, NULL, error))
    return FALSE;
  path = blob_path (desc->digest);
  if (!read_member (l, path, &data, &len, error))
    return FALSE;
  got = berth_digest_bytes (BERTH_DIGEST_SHA256, data, len);
  if (!g_str_equal (got, desc->digest) || (gint64)len != desc->size)
    {
      g_set_error (
        error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
        "blob %s in the archive does not match its digest or size (got %s, %" G_GSIZE_FORMAT
        " bytes)",
        desc->digest, got, len);
      return FALSE;
    }
  *out_data = g_steal_pointer (&data);
  *out_len = len;
  return TRUE;
}

/* Unpacks the layers of one image (verified against its config's
 * diff_ids) and stores config and manifest. */
static gboolean
load_image (Loader *l, const char *manifest_data, gsize manifest_len, const char *manifest_digest,
            const char *config_data, gsize config_len, char **layer_paths, const char *const *names,
            GPtrArray *ids, GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *digest = NULL;
  BerthStoreImage *image;

  manifest = berth_manifest_parse (manifest_data, manifest_len, error);
  if (manifest == NULL)
    return FALSE;
  config = berth_image_config_parse (config_data, config_len, error);
  if (config == NULL)
    return FALSE;
  if (g_strv_length (config->diff_ids) != manifest->layers->len)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "image %s has %u layers but its config lists %u diff_ids",
                   manifest->config->digest, manifest->layers->len,
                   g_strv_length (config->diff_ids));
      return FALSE;
    }

  for (guint i = 0; i < manifest->layers->len; i++)
    {
      BerthDescriptor *desc = g_ptr_array_index (manifest->layers, i);
      berth_autofd int fd = -1;
      char *chain = NULL;

      fd = open_member (l, layer_paths[i], error);
      if (fd < 0)
        return FALSE;
      if (!berth_store_commit_layer (l->store, fd, parent, desc->digest, config->diff_ids[i], NULL,
                                     &chain, cancellable, error))
        return FALSE;
      g_free (parent);
      parent = chain;
    }
  if (!berth_store_write_blob (l->store, config_data, config_len, manifest->config->digest, NULL,
                               error)
      || !berth_store_write_blob (l->store, manifest_data, manifest_len, manifest_digest, &digest,
                                  error))
    return FALSE;
  {
    g_autoptr (BerthStoreImage) before
      = berth_store_find_image (l->store, manifest->config->digest, NULL);

    image = berth_store_add_image (l->store, digest, names, error);
    if (image == NULL)
      return FALSE;
    /* Only images that were not there before are taken out again if a
     * later image of the archive fails. */
    if (before == NULL)
      g_ptr_array_add (l->added, g_strdup (image->id));
  }
  g_ptr_array_add (ids, g_strdup (image->id));
  berth_store_image_free (image);
  return TRUE;
}

static gboolean
load_oci_manifest (Loader *l, const BerthDescriptor *desc, GPtrArray *ids, int depth,
                   GCancellable *cancellable, GError **error)
{
  g_autofree char *data = NULL;
  g_autofree char *config_data = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  gsize len, config_len;

  if (!read_oci_blob (l, desc, &data, &len, error))
    return FALSE;
  manifest = berth_manifest_parse (data, len, error);
  if (manifest == NULL)
    return FALSE;
  if (manifest->kind == BERTH_MANIFEST_INDEX)
    {
      const BerthDescriptor *entry
        = berth_manifest_find_platform (manifest, "linux", berth_host_oci_arch (), NULL);

      if (depth > 2 || entry == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "the index %s has no image for linux/%s", desc->digest,
                       berth_host_oci_arch ());
          return FALSE;
        }
      return load_oci_manifest (l, entry, ids, depth + 1, cancellable, error);
    }

  if (!read_oci_blob (l, manifest->config, &config_data, &config_len, error))
    return FALSE;
  for (guint i = 0; i < manifest->layers->len; i++)
    g_ptr_array_add (paths, blob_path (((BerthDescriptor *)manifest->layers->pdata[i])->digest));
  g_ptr_array_add (paths, NULL);

  /* containerd and docker write the full name; skopeo and others only
   * the tag in ref.name, which alone does not name an image. */
  name = g_hash_table_lookup (desc->annotations, "io.containerd.image.name");
  if (name == NULL)
    {
      name = g_hash_table_lookup (desc->annotations, "org.opencontainers.image.ref.name");
      if (name && strchr (name, '/') == NULL && strchr (name, ':') == NULL)
        name = NULL;
    }
  if (name)
    {
      g_autoptr (BerthReference) ref = berth_reference_parse (name, NULL);

      if (ref && ref->digest == NULL)
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_add (names, NULL);
  return load_image (l, data, len, desc->digest, config_data, config_len, (char **)paths->pdata,
                     (const char *const *)names->pdata, ids, cancellable, error);
}

static gboolean
load_oci (Loader *l, GPtrArray *ids, GCancellable *cancellable, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (BerthManifest) index = NULL;
  gsize len;

  if (!read_member (l, "index.json", &data, &len, error))
    return FALSE;
  index = berth_manifest_parse (data, len, error);
  if (index == NULL)
    {
      g_prefix_error (error, "index.json: ");
      return FALSE;
    }
  if (index->kind != BERTH_MANIFEST_INDEX)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "index.json is not an OCI index");
      return FALSE;
    }
  for (guint i = 0; i < index->manifests->len; i++)
    if (!load_oci_manifest (l, g_ptr_array_index (index->manifests, i), ids, 0, cancellable, error))
      return FALSE;
  return TRUE;
}

static gboolean
load_docker (Loader *l, GPtrArray *ids, GCancellable *cancellable, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonArray *entries;
  gsize len;

  if (!read_member (l, "manifest.json", &data, &len, error))
    return FALSE;
  if (!json_parser_load_from_data (parser, data, len, error)
      || !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    {
      g_clear_error (error);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "manifest.json is not a JSON array");
      return FALSE;
    }
  entries = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      JsonObject *o;
      JsonNode *layers, *tags;
      const char *config_path;
      g_autofree char *config_data = NULL;
      g_autofree char *config_digest = NULL;
      g_autofree char *manifest_json = NULL;
      g_autoptr (BerthDescriptor) config_desc = NULL;
      g_autoptr (BerthManifest) manifest = NULL;
      g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (BerthImageConfig) config = NULL;
      gsize config_len, manifest_len;
      char *parent = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        goto bad;
      o = json_node_get_object (node);
      config_path = json_object_get_string_member_with_default (o, "Config", NULL);
      layers = json_object_get_member (o, "Layers");
      if (config_path == NULL || layers == NULL || !JSON_NODE_HOLDS_ARRAY (layers))
        goto bad;
      if (!read_member (l, config_path, &config_data, &config_len, error))
        return FALSE;
      config = berth_image_config_parse (config_data, config_len, error);
      if (config == NULL)
        return FALSE;
      if (g_strv_length (config->diff_ids) != json_array_get_length (json_node_get_array (layers)))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                       "manifest.json lists %u layers for %s but its config has %u diff_ids",
                       json_array_get_length (json_node_get_array (layers)), config_path,
                       g_strv_length (config->diff_ids));
          return FALSE;
        }
      config_digest = berth_digest_bytes (BERTH_DIGEST_SHA256, config_data, config_len);
      config_desc = berth_descriptor_new (BERTH_MEDIA_DOCKER_CONFIG, config_digest, config_len);
      manifest = berth_manifest_new_image (config_desc);
      g_free (manifest->media_type);
      manifest->media_type = g_strdup (BERTH_MEDIA_DOCKER_MANIFEST);

      /* docker archives name no layer digests: unpack each layer
       * (checking its diff_id) and describe it by what was read. */
      for (guint j = 0; j < json_array_get_length (json_node_get_array (layers)); j++)
        {
          const char *path = json_array_get_string_element (json_node_get_array (layers), j);
          g_auto (BerthUnpackResult) result = { 0 };
          g_autoptr (BerthDescriptor) desc = NULL;
          berth_autofd int fd = -1;
          char *chain = NULL;

          if (path == NULL)
            goto bad;
          g_ptr_array_add (paths, g_strdup (path));
          fd = open_member (l, path, error);
          if (fd < 0)
            {
              g_free (parent);
              return FALSE;
            }
          if (!berth_store_commit_layer (l->store, fd, parent, NULL, config->diff_ids[j], &result,
                                         &chain, cancellable, error))
            {
              g_free (parent);
              return FALSE;
            }
          g_free (parent);
          parent = chain;
          desc = berth_descriptor_new (
            result.compression == BERTH_COMPRESSION_GZIP   ? BERTH_MEDIA_DOCKER_LAYER_GZIP
            : result.compression == BERTH_COMPRESSION_ZSTD ? BERTH_MEDIA_OCI_LAYER_ZSTD
                                                           : BERTH_MEDIA_DOCKER_LAYER,
            result.digest, result.compressed_size);
          berth_manifest_add_layer (manifest, desc);
        }
      g_free (parent);
      g_ptr_array_add (paths, NULL);

      tags = json_object_get_member (o, "RepoTags");
      if (tags && JSON_NODE_HOLDS_ARRAY (tags))
        for (guint j = 0; j < json_array_get_length (json_node_get_array (tags)); j++)
          {
            const char *tag = json_array_get_string_element (json_node_get_array (tags), j);

            if (tag)
              g_ptr_array_add (names, g_strdup (tag));
          }
      g_ptr_array_add (names, NULL);

      manifest_json = berth_manifest_to_json (manifest, &manifest_len);
      if (!load_image (l, manifest_json, manifest_len, NULL, config_data, config_len,
                       (char **)paths->pdata, (const char *const *)names->pdata, ids, cancellable,
                       error))
        return FALSE;
      continue;

    bad:
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "manifest.json entry %u is not an object with Config and Layers", i);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
berth_archive_load (BerthStore *store, int fd, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *stage_path = NULL;
  g_autofree char *stage_name = NULL;
  Loader l = { .store = store, .stage_fd = -1 };
  gboolean ok = FALSE;

  l.members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  l.links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  l.added = g_ptr_array_new_with_free_func (g_free);
  stage_name = g_strdup_printf ("load-%08x", g_random_int ());
  stage_path = g_build_filename (berth_store_get_dir (store), "staging", stage_name, NULL);

  berth_store_begin_write (store);
  if (g_mkdir (stage_path, 0700) < 0
      || (l.stage_fd = open (stage_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      berth_error_set_errno (error, errno, "cannot create %s", stage_path);
      goto out;
    }
  if (!stage_members (&l, fd, cancellable, error))
    goto out;

  if (member_file (&l, "index.json") && member_file (&l, "oci-layout"))
    ok = load_oci (&l, ids, cancellable, error);
  else if (member_file (&l, "manifest.json"))
    ok = load_docker (&l, ids, cancellable, error);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                 "not an image archive: it has neither manifest.json (docker save) nor "
                 "index.json and oci-layout (OCI layout)");

out:
  berth_close_fdp (&l.stage_fd);
  {
    g_autoptr (GError) local_error = NULL;
    g_autofree char *staging = g_build_filename (berth_store_get_dir (store), "staging", NULL);
    berth_autofd int sfd = open (staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (sfd >= 0 && !berth_fs_rm_rf_at (sfd, stage_name, &local_error))
      g_warning ("cannot remove %s: %s", stage_path, local_error->message);
  }
  berth_store_end_write (store);
  g_hash_table_unref (l.members);
  g_hash_table_unref (l.links);
  if (!ok)
    {
      /* The archive loads as a whole or not at all: images it added before
       * the failure go again (with their content). */
      for (guint i = 0; i < l.added->len; i++)
        berth_store_remove_image (store, g_ptr_array_index (l.added, i), TRUE, NULL, NULL, NULL);
      berth_store_gc (store, NULL, NULL);
    }
  g_ptr_array_unref (l.added);
  return ok ? g_steal_pointer (&ids) : NULL;
}

/* ---- save ---- */

static gboolean
write_member (struct archive *a, const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  struct archive_entry *entry = archive_entry_new ();
  gboolean ok;

  archive_entry_set_pathname (entry, path);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0644);
  archive_entry_set_size (entry, len);
  archive_entry_set_mtime (entry, g_date_time_to_unix (now), 0);
  ok = archive_write_header (a, entry) == ARCHIVE_OK
       && (len == 0 || archive_write_data (a, data, len) == (la_ssize_t)len);
  archive_entry_free (entry);
  if (!ok)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write %s to the archive: %s", path,
                 archive_error_string (a));
  return ok;
}

static gboolean
write_member_fd (struct archive *a, const char *path, int fd, GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  struct archive_entry *entry = archive_entry_new ();
  g_autofree char *buf = g_malloc (1 << 20);
  struct stat st;
  gboolean ok = FALSE;

  if (fstat (fd, &st) < 0 || lseek (fd, 0, SEEK_SET) < 0)
    {
      archive_entry_free (entry);
      return berth_error_set_errno (error, errno, "cannot read %s", path);
    }
  archive_entry_set_pathname (entry, path);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0644);
  archive_entry_set_size (entry, st.st_size);
  archive_entry_set_mtime (entry, g_date_time_to_unix (now), 0);
  if (archive_write_header (a, entry) != ARCHIVE_OK)
    goto fail;
  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 20);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          berth_error_set_errno (error, errno, "cannot read %s", path);
          goto out;
        }
      if (n == 0)
        break;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      if (archive_write_data (a, buf, n) != n)
        goto fail;
    }
  ok = TRUE;
  goto out;

fail:
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write %s to the archive: %s", path,
               archive_error_string (a));
out:
  archive_entry_free (entry);
  return ok;
}

static gboolean
write_blob_member (BerthStore *store, struct archive *a, GHashTable *written, const char *path,
                   const char *digest, GCancellable *cancellable, GError **error)
{
  berth_autofd int fd = -1;

  if (g_hash_table_contains (written, path))
    return TRUE;
  fd = berth_store_open_blob (store, digest, error);
  if (fd < 0 || !write_member_fd (a, path, fd, cancellable, error))
    return FALSE;
  g_hash_table_add (written, g_strdup (path));
  return TRUE;
}

static void
add_string_array (JsonBuilder *b, const char *member, char **strv)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (char **s = strv; s && *s; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
}

static char *
builder_to_data (JsonBuilder *b, gsize *len)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, len);
}

typedef struct
{
  BerthStoreImage *image;
  char **names; /* the names to record: the one asked for, or all */
} SaveItem;

static void
save_item_free (SaveItem *item)
{
  berth_store_image_free (item->image);
  g_strfreev (item->names);
  g_free (item);
}

static gboolean
save_docker (BerthStore *store, struct archive *a, GPtrArray *items, GCancellable *cancellable,
             GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *manifest = NULL;
  gsize len;

  json_builder_begin_array (b);
  for (guint i = 0; i < items->len; i++)
    {
      SaveItem *item = g_ptr_array_index (items, i);
      g_auto (GStrv) tags = g_new0 (char *, g_strv_length (item->names) + 1);
      g_autofree char *config = g_strdup_printf ("%s.json", berth_digest_hex (item->image->id));

      for (guint j = 0; item->names[j]; j++)
        tags[j] = berth_reference_familiarize (item->names[j]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Config");
      json_builder_add_string_value (b, config);
      add_string_array (b, "RepoTags", tags);
      json_builder_set_member_name (b, "Layers");
      json_builder_begin_array (b);
      for (guint j = 0; item->image->diff_ids[j]; j++)
        {
          g_autofree char *path
            = g_strdup_printf ("%s/layer.tar", berth_digest_hex (item->image->diff_ids[j]));

          json_builder_add_string_value (b, path);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  manifest = builder_to_data (b, &len);
  if (!write_member (a, "manifest.json", manifest, len, error))
    return FALSE;

  for (guint i = 0; i < items->len; i++)
    {
      SaveItem *item = g_ptr_array_index (items, i);
      g_autofree char *config = g_strdup_printf ("%s.json", berth_digest_hex (item->image->id));

      if (!write_blob_member (store, a, written, config, item->image->id, cancellable, error))
        return FALSE;
      for (guint j = 0; item->image->diff_ids[j]; j++)
        {
          g_autofree char *path
            = g_strdup_printf ("%s/layer.tar", berth_digest_hex (item->image->diff_ids[j]));
          g_autofree char *tmp_path = NULL;
          g_autofree char *diff_id = NULL;
          berth_autofd int blob = -1;
          berth_autofd int tmp = -1;

          if (g_hash_table_contains (written, path))
            continue;
          /* docker load wants the uncompressed tar, whose digest is the diff_id. */
          blob = berth_store_open_blob (store, item->image->layer_digests[j], error);
          if (blob < 0)
            return FALSE;
          tmp_path = g_build_filename (berth_store_get_dir (store), "staging", NULL);
          tmp = open (tmp_path, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
          if (tmp < 0)
            return berth_error_set_errno (error, errno, "cannot create a temporary file in %s",
                                          tmp_path);
          if (!berth_unpack_decompress (blob, tmp, 0, &diff_id, NULL, cancellable, error))
            return FALSE;
          if (!g_str_equal (diff_id, item->image->diff_ids[j]))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                           "stored layer %s does not match its diff_id %s (got %s)",
                           item->image->layer_digests[j], item->image->diff_ids[j], diff_id);
              return FALSE;
            }
          if (!write_member_fd (a, path, tmp, cancellable, error))
            return FALSE;
          g_hash_table_add (written, g_steal_pointer (&path));
        }
    }
  return TRUE;
}

static gboolean
save_oci (BerthStore *store, struct archive *a, GPtrArray *items, GCancellable *cancellable,
          GError **error)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  g_autoptr (BerthManifest) index = NULL;
  g_autoptr (GHashTable) written = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *index_json = NULL;
  gsize len;

  index = berth_manifest_parse ("{\"schemaVersion\":2,\"manifests\":[]}", 34, error);
  g_assert (index != NULL);
  for (guint i = 0; i < items->len; i++)
    {
      SaveItem *item = g_ptr_array_index (items, i);
      g_autofree char *data = NULL;
      g_autoptr (BerthManifest) manifest = NULL;
      gsize mlen;
      guint n = g_strv_length (item->names);

      if (!berth_store_read_blob (store, item->image->manifest_digest, BERTH_MANIFEST_MAX_SIZE,
                                  &data, &mlen, error))
        return FALSE;
      manifest = berth_manifest_parse (data, mlen, error);
      if (manifest == NULL)
        return FALSE;
      for (guint j = 0; j < MAX (n, 1u); j++)
        {
          BerthDescriptor *desc
            = berth_descriptor_new (manifest->media_type, item->image->manifest_digest, mlen);

          if (n > 0)
            {
              g_autoptr (BerthReference) ref = berth_reference_parse (item->names[j], NULL);

              g_hash_table_insert (desc->annotations, g_strdup ("io.containerd.image.name"),
                                   g_strdup (item->names[j]));
              if (ref && ref->tag)
                g_hash_table_insert (desc->annotations,
                                     g_strdup ("org.opencontainers.image.ref.name"),
                                     g_strdup (ref->tag));
            }
          g_ptr_array_add (index->manifests, desc);
        }
    }
  g_free (index->media_type);
  index->media_type = g_strdup (BERTH_MEDIA_OCI_INDEX);
  index_json = berth_manifest_to_json (index, &len);
  if (!write_member (a, "oci-layout", layout, strlen (layout), error)
      || !write_member (a, "index.json", index_json, len, error))
    return FALSE;

  for (guint i = 0; i < items->len; i++)
    {
      SaveItem *item = g_ptr_array_index (items, i);
      g_autofree char *mpath = blob_path (item->image->manifest_digest);
      g_autofree char *cpath = blob_path (item->image->id);

      if (!write_blob_member (store, a, written, mpath, item->image->manifest_digest, cancellable,
                              error)
          || !write_blob_member (store, a, written, cpath, item->image->id, cancellable, error))
        return FALSE;
      for (guint j = 0; item->image->layer_digests[j]; j++)
        {
          g_autofree char *path = blob_path (item->image->layer_digests[j]);

          if (!write_blob_member (store, a, written, path, item->image->layer_digests[j],
                                  cancellable, error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
berth_archive_save (BerthStore *store, const char *const *references, BerthArchiveFormat format,
                    int fd, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify)save_item_free);
  g_autoptr (BerthArchive) a = NULL;
  gboolean ok;

  if (references == NULL || references[0] == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "no image to save");
      return FALSE;
    }
  for (guint i = 0; references[i]; i++)
    {
      SaveItem *item = g_new0 (SaveItem, 1);
      g_autoptr (BerthReference) ref = NULL;
      const char *hex;

      g_ptr_array_add (items, item);
      item->image = berth_store_find_image (store, references[i], error);
      if (item->image == NULL)
        return FALSE;
      hex = g_str_has_prefix (references[i], "sha256:") ? references[i] + 7 : references[i];
      ref = berth_reference_parse_normalized (references[i], NULL);
      /* Saved by name: that name only. By ID or digest: all its names. */
      if (ref && ref->digest == NULL && !g_str_has_prefix (item->image->id + 7, hex))
        {
          item->names = g_new0 (char *, 2);
          item->names[0] = berth_reference_to_string (ref);
        }
      else
        item->names = g_strdupv (item->image->names);
    }

  a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  archive_write_set_bytes_in_last_block (a, 1);
  if (archive_write_open_fd (a, fd) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write the archive: %s",
                   archive_error_string (a));
      return FALSE;
    }
  berth_store_begin_write (store);
  ok = format == BERTH_ARCHIVE_OCI ? save_oci (store, a, items, cancellable, error)
                                   : save_docker (store, a, items, cancellable, error);
  berth_store_end_write (store);
  if (!ok)
    return FALSE;
  if (archive_write_close (a) != ARCHIVE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot finish the archive: %s",
                   archive_error_string (a));
      return FALSE;
    }
  return TRUE;
}
