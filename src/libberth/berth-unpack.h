/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-manifest.h"

G_BEGIN_DECLS

/* Unpacks one image layer (a tar stream, uncompressed or compressed with
 * gzip or zstd) into a directory, in a single read of the blob: the same
 * bytes feed the digest of the blob, the decompressor, the diff_id (the
 * digest of the uncompressed tar) and the extraction.
 *
 * Every path is resolved beneath the destination with openat2 and
 * RESOLVE_NO_SYMLINKS; the layer is refused, with an error naming the
 * entry, for absolute paths, ".." components, anything that would be
 * written through a symbolic link, hard links to something outside the
 * layer, sizes over the limit, and truncated or corrupt data. OCI
 * whiteouts become overlayfs whiteouts. On failure the destination holds
 * a partial tree that the caller removes (the store unpacks into a staging
 * directory for that reason). */

#define BERTH_UNPACK_DEFAULT_MAX_SIZE (G_GUINT64_CONSTANT (16) << 30)

typedef struct
{
  guint64 max_size;             /* decompressed bytes, and any one entry; 0: 16 GiB */
  gboolean allow_devices;       /* create device nodes (berthd as root); else skip them */
  const char *expected_digest;  /* of the blob; NULL: not checked */
  const char *expected_diff_id; /* of the uncompressed tar; NULL: not checked */
  int copy_fd;                  /* >= 0: also write the blob's bytes here */
} BerthUnpackOptions;

#define BERTH_UNPACK_OPTIONS_INIT                                                                  \
  {                                                                                                \
    .copy_fd = -1                                                                                  \
  }

typedef struct
{
  char *digest;            /* "sha256:..." of the blob as read */
  char *diff_id;           /* "sha256:..." of the uncompressed tar */
  guint64 compressed_size; /* bytes read */
  guint64 size;            /* uncompressed bytes */
  guint64 n_entries;
  BerthCompression compression;
} BerthUnpackResult;

void berth_unpack_result_clear (BerthUnpackResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthUnpackResult, berth_unpack_result_clear)

gboolean berth_unpack_layer (int blob_fd, int dest_dirfd, const BerthUnpackOptions *options,
                             BerthUnpackResult *out_result, GCancellable *cancellable,
                             GError **error);

/* Decompresses @in_fd (gzip, zstd or plain, detected from its first bytes)
 * into @out_fd; reports the uncompressed size and its digest. */
gboolean berth_unpack_decompress (int in_fd, int out_fd, guint64 max_size, char **out_diff_id,
                                  guint64 *out_size, GCancellable *cancellable, GError **error);

/* What the first bytes of a blob say about its compression. */
BerthCompression berth_unpack_detect_compression (const guint8 *data, gsize len);

G_END_DECLS
