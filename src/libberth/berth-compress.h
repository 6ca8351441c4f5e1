/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "berth-manifest.h"

G_BEGIN_DECLS

/* Compresses everything @in_fd holds from its current offset into
 * @out_fd (gzip with zlib, or zstd), hashing the compressed bytes as they
 * are written: *out_digest is the blob digest a registry will check.
 * Several layers are compressed at once by calling this from several
 * threads. */
gboolean berth_compress_fd (int in_fd, int out_fd, BerthCompression compression, char **out_digest,
                            guint64 *out_size, GError **error);

G_END_DECLS
