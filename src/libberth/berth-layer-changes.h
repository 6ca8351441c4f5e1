/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What `berthctl diff` shows: the changes a container made to its image,
 * read from its overlay upper directory and compared with the image's
 * file system.
 *
 *   'D' a whiteout (the path existed in the image and was deleted), or an
 *       entry of the image below an opaque directory of the upper
 *       directory that the upper directory does not have;
 *   'C' a path in the upper directory that the image has too;
 *   'A' a path in the upper directory that the image does not have.
 *
 * A deleted directory is one 'D' line (not one per entry below it).
 * Excluded paths (volume mount points) are left out with everything
 * below them. */

typedef struct
{
  char kind;  /* 'A', 'C' or 'D' */
  char *path; /* absolute: "/etc/passwd" */
} BerthLayerChange;

void berth_layer_change_free (BerthLayerChange *change);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthLayerChange, berth_layer_change_free)

/* @image_root_dirfd: the image's root file system (its layers mounted
 * without the container's changes). Returns the changes sorted by path. */
GPtrArray *berth_layer_changes (int upper_dirfd, int image_root_dirfd, const char *const *excludes,
                                GError **error);

G_END_DECLS
