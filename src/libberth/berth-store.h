/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-layer-diff.h"
#include "berth-unpack.h"

G_BEGIN_DECLS

/* The content-addressed image store, under <root>/images:
 *
 *   blobs/sha256/<hex>       manifests, configs and layer blobs (OCI layout style)
 *   layers/<chain hex>/diff  unpacked layers, keyed by OCI chain ID, so a layer
 *                            shared by several images is stored once
 *   layers/<chain hex>/layer.json  diff_id, blob digest, size, link name
 *   l/<link>                 short symbolic links to layers/<chain>/diff, so
 *                            overlay lowerdir strings of 100+ layers fit a page
 *   repositories.json        image records: id, manifest digest, names
 *   staging/                 work in progress; emptied at open, except for
 *                            staging/pull: verified blobs and cut downloads
 *                            a retried pull may reuse (for a day)
 *
 * Everything becomes visible by rename after an fsync (layers after a
 * syncfs), so a crash leaves only staging leftovers. Layers and blobs are
 * reference counted by the image records: removing an image removes only
 * what no other image uses. The store is safe to use from several threads. */

typedef struct _BerthStore BerthStore;

typedef struct
{
  char *id;              /* config digest: the image ID */
  char *manifest_digest; /* "sha256:..." */
  char **names;          /* normalized references, sorted; may be empty */
  char **diff_ids;       /* bottom first */
  char **chain_ids;      /* bottom first */
  char **layer_digests;  /* blobs, bottom first */
  gint64 created;        /* from the config; Unix seconds */
  gint64 added;          /* when it entered the store */
  guint64 size;          /* sum of the uncompressed layers */
} BerthStoreImage;

typedef struct
{
  guint removed_leftovers; /* staging entries and temporary files */
  guint repaired_layers;   /* unpacked again from their blobs */
  guint removed_images;    /* records that pointed to missing content */
  guint removed_unused;    /* blobs and layers no image used */
  GPtrArray *messages;     /* one line per thing found, for the log */
} BerthStoreReport;

void berth_store_report_clear (BerthStoreReport *report);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthStoreReport, berth_store_report_clear)

/* Opens (creating) the store under @root/images, removes leftovers of
 * interrupted writes, repairs images whose layers are missing when their
 * blobs are there (and drops the records when they are not), and removes
 * unused content. @report may be NULL. */
BerthStore *berth_store_open (const char *root, guint64 max_layer_size, BerthStoreReport *report,
                              GError **error);
void berth_store_free (BerthStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthStore, berth_store_free)

const char *berth_store_get_dir (BerthStore *store);
void berth_store_set_max_layer_size (BerthStore *store, guint64 max_layer_size);

/* Hold while adding content that no image record references yet
 * (between the first commit_layer/write_blob and add_image): garbage
 * collection waits for no writer. Writers run concurrently. */
void berth_store_begin_write (BerthStore *store);
void berth_store_end_write (BerthStore *store);

/* Blobs. */
gboolean berth_store_has_blob (BerthStore *store, const char *digest);
/* Stores @data; when @expected_digest is given the data must match it. */
gboolean berth_store_write_blob (BerthStore *store, const void *data, gsize len,
                                 const char *expected_digest, char **out_digest, GError **error);
int berth_store_open_blob (BerthStore *store, const char *digest, GError **error);
/* Reads a small blob (at most @max_len bytes) and checks its digest. */
gboolean berth_store_read_blob (BerthStore *store, const char *digest, gsize max_len,
                                char **out_data, gsize *out_len, GError **error);

/* Layers. Unpacks the blob read from @blob_fd on top of @parent_chain_id
 * (NULL for the bottom layer) in one pass, stores the blob itself, and
 * commits both when the digests match the expected ones (each may be
 * NULL: not checked). On any failure the store is unchanged. When the
 * layer is there already and both digests are known, nothing is read. */
gboolean berth_store_commit_layer (BerthStore *store, int blob_fd, const char *parent_chain_id,
                                   const char *expected_digest, const char *expected_diff_id,
                                   BerthUnpackResult *out_result, char **out_chain_id,
                                   GCancellable *cancellable, GError **error);
/* Layers berth makes itself (commits, build steps): the tree under
 * @root_dirfd (a container's overlay upper directory, with
 * BERTH_LAYER_DIFF_OVERLAY_UPPER in @options) becomes a layer on top of
 * @parent_chain_id in one read of the tree: the uncompressed tar is
 * written as the blob (its digest is both blob digest and diff_id) while
 * the same pass copies the tree into the layer directory. @options gives
 * flags and excluded paths; its copy_dirfd is ignored. A layer that is
 * stored already stays as it is. On any failure the store is unchanged.
 * out_result->digest == diff_id, ->compression is NONE. */
gboolean berth_store_commit_tree (BerthStore *store, int root_dirfd, const char *parent_chain_id,
                                  const BerthLayerDiffOptions *options,
                                  BerthUnpackResult *out_result, char **out_chain_id,
                                  GCancellable *cancellable, GError **error);
gboolean berth_store_has_layer (BerthStore *store, const char *chain_id);
/* <dir>/layers/<chain hex>/diff */
char *berth_store_layer_path (BerthStore *store, const char *chain_id);
/* The directory that holds the short links (for berth_overlay_mount). */
char *berth_store_links_dir (BerthStore *store);
/* The short link names of the image's layers, top layer first, as
 * berth_overlay_mount wants them. */
char **berth_store_image_lower_links (BerthStore *store, const char *image, GError **error);
/* Mounts the root file system of @image (ID or name) on @target: an
 * overlay of its layers with @upper_dir and @work_dir (absolute, empty
 * or used together before). The caller holds the image
 * (berth_store_hold_image) for as long as the mount lives. */
gboolean berth_store_mount_image (BerthStore *store, const char *image, const char *upper_dir,
                                  const char *work_dir, const char *target, GError **error);
/* Uncompressed size of a stored layer. */
gboolean berth_store_layer_size (BerthStore *store, const char *chain_id, guint64 *out_size,
                                 GError **error);

/* Images. @names are references (normalized here); a name moves from the
 * image that had it. Every layer and blob of the manifest must be stored. */
BerthStoreImage *berth_store_add_image (BerthStore *store, const char *manifest_digest,
                                        const char *const *names, GError **error);
/* A full or short (at least 4 hex digits) image ID, "sha256:<id>", a
 * reference (short names are normalized), or "name@digest". */
BerthStoreImage *berth_store_find_image (BerthStore *store, const char *what, GError **error);
GPtrArray *berth_store_list_images (BerthStore *store); /* of BerthStoreImage */
guint berth_store_count_images (BerthStore *store);
gboolean berth_store_tag_image (BerthStore *store, const char *source, const char *target,
                                GError **error);
/* Removing by a name that is one of several names of the image only
 * untags it (*out_deleted = FALSE). By ID, an image with several names
 * needs @force. An image held by a container is never removed (InUse).
 * Then the layers and blobs nothing else uses are removed too. */
gboolean berth_store_remove_image (BerthStore *store, const char *what, gboolean force,
                                   char **out_id, gboolean *out_deleted, GError **error);
/* Containers hold the image they run from (in memory; the container
 * code takes its holds again when berthd starts). */
gboolean berth_store_hold_image (BerthStore *store, const char *id, GError **error);
void berth_store_release_image (BerthStore *store, const char *id);

/* Removes blobs and layers no image uses. Skipped (returns TRUE, count 0)
 * while a writer is active. */
gboolean berth_store_gc (BerthStore *store, guint *out_removed, GError **error);

/* docker import: a root file system tarball (plain, gzip or zstd) becomes
 * a one-layer image, named @reference when not NULL. */
BerthStoreImage *berth_store_import_rootfs (BerthStore *store, int fd, const char *reference,
                                            GCancellable *cancellable, GError **error);

BerthStoreImage *berth_store_image_copy (const BerthStoreImage *image);
void berth_store_image_free (BerthStoreImage *image);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthStoreImage, berth_store_image_free)

G_END_DECLS
