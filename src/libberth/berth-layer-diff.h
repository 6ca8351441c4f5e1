/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Writes a directory tree as an uncompressed OCI layer: a tar stream
 * (POSIX pax), hashed as it is written. Its digest is the layer's diff_id
 * and, since berth keeps the layers it makes uncompressed, its blob digest
 * too (push compresses when a registry needs it).
 *
 * The tree is read once, in name order (the same tree always gives the
 * same bytes): every entry keeps its owner, mode, modification time
 * (whole seconds), extended attributes (but never trusted.overlay.*),
 * symbolic link target, device numbers; files that share an inode become
 * tar hard links. Sockets are left out (tar cannot carry them).
 *
 * With BERTH_LAYER_DIFF_OVERLAY_UPPER the tree is the upper directory of
 * an overlay (a container's changes): a 0/0 character device is a
 * whiteout and becomes an empty ".wh.<name>" file; a directory marked
 * with the xattr trusted.overlay.opaque=y is followed by a ".wh..wh..opq"
 * entry. Upper directories written with redirect_dir or metacopy (which
 * berth never turns on) are refused, since they do not hold the data.
 *
 * With @copy_dirfd the same pass also copies the tree, as it is (the
 * overlay form: whiteouts stay devices, opaque directories keep their
 * xattr), into that directory: the layer directory of the store, made
 * without reading the tar back. Files are read once and written twice. */

typedef enum
{
  BERTH_LAYER_DIFF_NONE = 0,
  BERTH_LAYER_DIFF_OVERLAY_UPPER = 1 << 0,
} BerthLayerDiffFlags;

typedef struct
{
  BerthLayerDiffFlags flags;
  /* Paths in the tree ("/var/lib/data" or "var/lib/data") left out with
   * everything below them: a container's volume mount points. NULL: none. */
  const char *const *excludes;
  /* >= 0: an empty directory that receives a copy of the tree. */
  int copy_dirfd;
} BerthLayerDiffOptions;

#define BERTH_LAYER_DIFF_OPTIONS_INIT                                                              \
  {                                                                                                \
    .copy_dirfd = -1                                                                               \
  }

typedef struct
{
  char *diff_id;     /* "sha256:..." of the tar stream */
  guint64 size;      /* bytes written to the stream */
  guint64 n_entries; /* tar entries, whiteouts included */
} BerthLayerDiffResult;

void berth_layer_diff_result_clear (BerthLayerDiffResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BerthLayerDiffResult, berth_layer_diff_result_clear)

/* Writes the tree under @root_dirfd as a tar stream to @out_fd (a file or
 * a pipe; written from its current position). @options may be NULL. On
 * failure @out_fd holds a partial stream and @copy_dirfd a partial tree:
 * the caller removes them. */
gboolean berth_layer_diff_write (int root_dirfd, int out_fd, const BerthLayerDiffOptions *options,
                                 BerthLayerDiffResult *out_result, GCancellable *cancellable,
                                 GError **error);

/* The exclusion paths in the form the writer compares ("var/lib/data"):
 * leading, trailing and repeated slashes and "." components dropped.
 * Refuses paths with "..", which could name nothing in the tree. */
char **berth_layer_diff_normalize_paths (const char *const *paths, GError **error);

G_END_DECLS
