/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builds layer tarballs in memory files for the tests, with libarchive's
 * writer, which writes whatever it is told: absolute paths, "..", links
 * anywhere. That is how the malicious corpus is made. */

#include <archive.h>
#include <archive_entry.h>
#include <glib.h>

#include "berth-manifest.h"

typedef struct
{
  struct archive *a;
  int fd;
} TestTar;

TestTar *test_tar_new (BerthCompression compression);
void test_tar_file (TestTar *t, const char *path, const char *content, unsigned mode);
void test_tar_file_owned (TestTar *t, const char *path, const char *content, unsigned mode,
                          unsigned uid, unsigned gid);
void test_tar_dir (TestTar *t, const char *path, unsigned mode);
void test_tar_symlink (TestTar *t, const char *path, const char *target);
void test_tar_hardlink (TestTar *t, const char *path, const char *target);
void test_tar_fifo (TestTar *t, const char *path);
void test_tar_chardev (TestTar *t, const char *path, unsigned major, unsigned minor);
void test_tar_xattr_file (TestTar *t, const char *path, const char *content, const char *xattr,
                          const char *value);
/* A header that declares @size bytes; libarchive pads the data with zeros. */
void test_tar_declared (TestTar *t, const char *path, gint64 size);
/* Finishes the archive; returns an fd positioned at 0 (the caller closes it). */
int test_tar_finish (TestTar *t);

/* A copy of @fd's content with only the first @len bytes. */
int test_fd_truncated (int fd, gsize len);
/* A copy of @fd with the byte at @offset flipped. */
int test_fd_corrupted (int fd, gsize offset);
gsize test_fd_size (int fd);

/* "path type mode uid size sha256" lines for every file below @dir,
 * sorted; two calls compare a tree byte for byte. */
char *test_tree_snapshot (const char *dir);

/* A scratch directory on a tmpfs when the tests run as root. */
char *test_scratch_dir (void);
void test_scratch_remove (char *dir);
