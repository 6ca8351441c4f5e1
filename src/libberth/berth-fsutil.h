/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* File helpers that work relative to directory file descriptors, so that
 * paths coming from images never go through string concatenation. */

/* openat2 (@dirfd, @path, @flags, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS). Returns -1 and sets errno on failure; falls back
 * to a component-by-component O_NOFOLLOW walk where openat2 is missing. */
int berth_fs_open_beneath (int dirfd, const char *path, int flags, mode_t mode);

/* Removes @name under @dirfd and everything below it without following
 * symbolic links. A missing @name is not an error. */
gboolean berth_fs_rm_rf_at (int dirfd, const char *name, GError **error);

/* Writes @data to @name under @dirfd atomically: a temporary name in the
 * same directory, fsync, rename, fsync of the directory. */
gboolean berth_fs_write_file_at (int dirfd, const char *name, const void *data, gsize len,
                                 mode_t mode, GError **error);

/* Reads @name (at most @max_len bytes; longer files are an error). */
gboolean berth_fs_read_file_at (int dirfd, const char *name, gsize max_len, char **out_data,
                                gsize *out_len, GError **error);

gboolean berth_fs_write_all (int fd, const void *data, gsize len, GError **error);
gboolean berth_fs_fsync_dir_at (int dirfd, const char *name, GError **error);

/* The names in the directory @dirfd (without "." and ".."), sorted by
 * strcmp; @what names the directory in errors. */
GPtrArray *berth_fs_list_dir (int dirfd, const char *what, GError **error);

G_END_DECLS
