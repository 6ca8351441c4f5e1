/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A container's root file system: an overlayfs mount of the image's
 * layers (read-only lower directories) with an upper and a work directory
 * of its own.
 *
 * Lower directories are given as short link names relative to
 * @links_dir (see berth_store_links_dir and berth_store_image_lower_links),
 * and the mount is made from inside @links_dir, so that the lowerdir
 * option of an image with hundreds of layers still fits the kernel's
 * one-page limit. */

/* The mount options for @lower_links (top layer first); refuses names or
 * directories the option syntax cannot carry, and strings over a page. */
char *berth_overlay_options (const char *const *lower_links, const char *upper_dir,
                             const char *work_dir, GError **error);

/* Mounts the overlay on @target (which must exist). @upper_dir and
 * @work_dir must be absolute, on the same file system, and empty or
 * previously used together. */
gboolean berth_overlay_mount (const char *links_dir, const char *const *lower_links,
                              const char *upper_dir, const char *work_dir, const char *target,
                              GError **error);

/* Unmounts @target (lazily when it is busy). Not mounted is not an error. */
gboolean berth_overlay_unmount (const char *target, GError **error);

G_END_DECLS
