/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "berth-store.h"

G_BEGIN_DECLS

/* Image archives: what `docker save` writes (manifest.json, configs,
 * layer tars) and OCI image layouts in a tar (oci-layout, index.json,
 * blobs/sha256/...). Either may be compressed. */

typedef enum
{
  BERTH_ARCHIVE_OCI,
  BERTH_ARCHIVE_DOCKER,
} BerthArchiveFormat;

/* "oci" or "docker"; FALSE with an error naming both for anything else. */
gboolean berth_archive_format_from_string (const char *text, BerthArchiveFormat *out_format,
                                           GError **error);

/* Loads every image of the archive read from @fd into @store. Every layer
 * is verified (blob digest where the archive names one, diff_id always)
 * before it becomes visible. Returns the image IDs (a GPtrArray of
 * strings) or NULL with an error, in which case no image was added. */
GPtrArray *berth_archive_load (BerthStore *store, int fd, GCancellable *cancellable,
                               GError **error);

/* Writes the images named by @references (IDs or names) to @fd. OCI
 * archives keep every blob as stored (so manifest and blob digests stay
 * the same); Docker archives carry uncompressed layer tars, as docker load
 * expects. */
gboolean berth_archive_save (BerthStore *store, const char *const *references,
                             BerthArchiveFormat format, int fd, GCancellable *cancellable,
                             GError **error);

G_END_DECLS
