/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-unpack.h"
#include "test-layers.h"

typedef struct
{
  char *dir;
  int dest_fd;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = test_scratch_dir ();
  f->dest_fd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (f->dest_fd, >=, 0);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  close (f->dest_fd);
  test_scratch_remove (f->dir);
}

static int
rich_layer (BerthCompression compression)
{
  TestTar *t = test_tar_new (compression);

  test_tar_dir (t, "./etc/", 0755);
  test_tar_file (t, "./etc/hostname", "berth\n", 0644);
  test_tar_file_owned (t, "etc/shadow", "root:*:1::::::\n", 0640, 0, 42);
  test_tar_file_owned (t, "usr/bin/suid", "#!/bin/true\n", 04755, 0, 0);
  test_tar_symlink (t, "bin", "usr/bin");
  test_tar_symlink (t, "etc/escape", "/etc/passwd");
  test_tar_hardlink (t, "etc/hostname.link", "etc/hostname");
  test_tar_fifo (t, "run/fifo");
  test_tar_chardev (t, "dev/null", 1, 3);
  test_tar_xattr_file (t, "etc/cap", "x", "user.berth", "yes");
  test_tar_file (t, "etc/.wh.removed", "", 0644);
  test_tar_dir (t, "opaque", 0700);
  test_tar_file (t, "opaque/.wh..wh..opq", "", 0644);
  test_tar_file (t, "opaque/kept", "kept", 0600);
  test_tar_dir (t, "mtime", 0755);
  test_tar_file (t, "mtime/inner", "changes the dir's mtime", 0644);
  return test_tar_finish (t);
}

static void
check_rich_tree (Fixture *f)
{
  struct stat st, st2;
  char buf[64];
  g_autofree char *content = NULL;
  g_autofree char *path = g_build_filename (f->dir, "etc/hostname", NULL);

  g_assert_true (g_file_get_contents (path, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "berth\n");
  g_assert_cmpint (fstatat (f->dest_fd, "etc/shadow", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0640);
  if (geteuid () == 0)
    g_assert_cmpint (st.st_gid, ==, 42);
  g_assert_cmpint (fstatat (f->dest_fd, "usr/bin/suid", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 04755);
  g_assert_cmpint (st.st_mtim.tv_sec, ==, 1700000000);
  g_assert_cmpint (readlinkat (f->dest_fd, "etc/escape", buf, sizeof buf), ==, 11);
  g_assert_cmpint (fstatat (f->dest_fd, "etc/hostname.link", &st2, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (fstatat (f->dest_fd, "etc/hostname", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (st.st_ino, ==, st2.st_ino);
  g_assert_cmpint (fstatat (f->dest_fd, "run/fifo", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  if (geteuid () == 0)
    {
      g_autofree char *opq = g_build_filename (f->dir, "opaque", NULL);
      ssize_t n;

      g_assert_cmpint (fstatat (f->dest_fd, "dev/null", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
      g_assert_true (S_ISCHR (st.st_mode));
      g_assert_cmpint (st.st_rdev, ==, makedev (1, 3));
      /* The whiteout is an overlayfs whiteout: a 0/0 character device. */
      g_assert_cmpint (fstatat (f->dest_fd, "etc/removed", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
      g_assert_true (S_ISCHR (st.st_mode));
      g_assert_cmpint (st.st_rdev, ==, makedev (0, 0));
      n = getxattr (opq, "trusted.overlay.opaque", buf, sizeof buf);
      g_assert_cmpint (n, ==, 1);
      g_assert_cmpint (buf[0], ==, 'y');
    }
  g_assert_cmpint (fstatat (f->dest_fd, "opaque/.wh..wh..opq", &st, AT_SYMLINK_NOFOLLOW), <, 0);
  g_assert_cmpint (fstatat (f->dest_fd, "etc/.wh.removed", &st, AT_SYMLINK_NOFOLLOW), <, 0);
  /* Directory times are set after their content. */
  g_assert_cmpint (fstatat (f->dest_fd, "mtime", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_cmpint (st.st_mtim.tv_sec, ==, 1700000000);
}

static void
test_unpack_formats (Fixture *f, gconstpointer data)
{
  BerthCompression compression = GPOINTER_TO_INT (data);
  berth_autofd int fd = rich_layer (compression);
  g_autoptr (GError) error = NULL;
  g_auto (BerthUnpackResult) result = { 0 };
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  g_autofree char *digest = NULL;
  g_autofree char *diff_id = NULL;
  guint64 size = 0;
  berth_autofd int plain = memfd_create ("plain", MFD_CLOEXEC);
  berth_autofd int copy = memfd_create ("copy", MFD_CLOEXEC);
  g_autofree char *copy_digest = NULL;

  /* Independent digests of the blob and of its uncompressed form. */
  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, NULL, NULL));
  lseek (fd, 0, SEEK_SET);
  g_assert_true (berth_unpack_decompress (fd, plain, 0, &diff_id, &size, NULL, &error));
  g_assert_no_error (error);
  lseek (fd, 0, SEEK_SET);
  if (compression == BERTH_COMPRESSION_NONE)
    g_assert_cmpstr (digest, ==, diff_id);
  else
    g_assert_cmpstr (digest, !=, diff_id);

  options.allow_devices = geteuid () == 0;
  options.expected_digest = digest;
  options.expected_diff_id = diff_id;
  options.copy_fd = copy;
  g_assert_true (berth_unpack_layer (fd, f->dest_fd, &options, &result, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (result.digest, ==, digest);
  g_assert_cmpstr (result.diff_id, ==, diff_id);
  g_assert_cmpuint (result.size, ==, size);
  g_assert_cmpuint (result.compressed_size, ==, test_fd_size (fd));
  g_assert_cmpint (result.compression, ==, compression);
  g_assert_cmpuint (result.n_entries, ==, 16);
  /* The copy is the blob, byte for byte. */
  lseek (copy, 0, SEEK_SET);
  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, copy, &copy_digest, NULL, NULL));
  g_assert_cmpstr (copy_digest, ==, digest);
  check_rich_tree (f);
}

static void
test_detect_compression (void)
{
  const guint8 gz[] = { 0x1f, 0x8b, 8 };
  const guint8 zst[] = { 0x28, 0xb5, 0x2f, 0xfd };

  g_assert_cmpint (berth_unpack_detect_compression (gz, 3), ==, BERTH_COMPRESSION_GZIP);
  g_assert_cmpint (berth_unpack_detect_compression (zst, 4), ==, BERTH_COMPRESSION_ZSTD);
  g_assert_cmpint (berth_unpack_detect_compression ((const guint8 *)"ustar", 5), ==,
                   BERTH_COMPRESSION_NONE);
  g_assert_cmpint (berth_unpack_detect_compression (gz, 1), ==, BERTH_COMPRESSION_NONE);
}

static void
test_result_clear (void)
{
  BerthUnpackResult result = { .digest = g_strdup ("a"), .diff_id = g_strdup ("b") };

  berth_unpack_result_clear (&result);
  g_assert_null (result.digest);
  g_assert_null (result.diff_id);
  berth_unpack_result_clear (&result);
}

/* Replacing entries within a layer, and a directory replaced by a file. */
static void
test_unpack_replace (Fixture *f, gconstpointer data)
{
  TestTar *t = test_tar_new (BERTH_COMPRESSION_NONE);
  berth_autofd int fd = -1;
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  struct stat st;

  test_tar_file (t, "a", "one", 0644);
  test_tar_file (t, "a", "two", 0644);
  test_tar_file (t, "d/x", "x", 0644);
  test_tar_file (t, "d", "now a file", 0644);
  test_tar_symlink (t, "l", "a");
  test_tar_file (t, "l", "replaces the link, not its target", 0644);
  fd = test_tar_finish (t);
  g_assert_true (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fstatat (f->dest_fd, "d", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (fstatat (f->dest_fd, "a", &st, 0), ==, 0);
  g_assert_cmpint (st.st_size, ==, 3);
  g_assert_cmpint (fstatat (f->dest_fd, "l", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
}

/* trusted.overlay.* xattrs from the archive are dropped: overlayfs would
 * obey them (redirects, metacopy). */
static void
test_unpack_drops_overlay_xattrs (Fixture *f, gconstpointer data)
{
  TestTar *t = test_tar_new (BERTH_COMPRESSION_NONE);
  berth_autofd int fd = -1;
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  g_autofree char *path = NULL;
  char buf[16];

  if (geteuid () != 0)
    {
      g_test_skip ("needs root for trusted.* xattrs");
      return;
    }
  test_tar_xattr_file (t, "f", "x", "trusted.overlay.redirect", "/etc");
  fd = test_tar_finish (t);
  g_assert_true (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "f", NULL);
  g_assert_cmpint (getxattr (path, "trusted.overlay.redirect", buf, sizeof buf), <, 0);
}

typedef struct
{
  const char *name;
  int code;
  const char *message;
} BadCase;

static int
bad_archive (const char *name, char **out_digest, char **out_diff_id)
{
  TestTar *t = test_tar_new (g_str_has_suffix (name, "-gz") ? BERTH_COMPRESSION_GZIP
                                                            : BERTH_COMPRESSION_NONE);

  test_tar_file (t, "ok", "fine", 0644);
  if (g_str_equal (name, "absolute"))
    test_tar_file (t, "/etc/evil", "x", 0644);
  else if (g_str_equal (name, "dotdot"))
    test_tar_file (t, "a/../../evil", "x", 0644);
  else if (g_str_equal (name, "dotdot-hardlink"))
    test_tar_hardlink (t, "h", "../outside");
  else if (g_str_equal (name, "through-symlink"))
    {
      test_tar_symlink (t, "link", "/tmp");
      test_tar_file (t, "link/evil", "x", 0644);
    }
  else if (g_str_equal (name, "through-relative-symlink"))
    {
      test_tar_dir (t, "d", 0755);
      test_tar_symlink (t, "d/up", "../..");
      test_tar_file (t, "d/up/evil", "x", 0644);
    }
  else if (g_str_equal (name, "hardlink-outside"))
    test_tar_hardlink (t, "h", "etc/passwd");
  else if (g_str_equal (name, "hardlink-absolute"))
    test_tar_hardlink (t, "h", "/etc/passwd");
  else if (g_str_equal (name, "hardlink-through-symlink"))
    {
      test_tar_symlink (t, "etc", "/etc");
      test_tar_hardlink (t, "h", "etc/passwd");
    }
  else if (g_str_equal (name, "declared-size"))
    test_tar_declared (t, "huge", 2 * 1024 * 1024);
  else if (g_str_equal (name, "total-size") || g_str_equal (name, "total-size-gz"))
    {
      g_autofree char *big = g_strnfill (600 * 1024, 'z');

      test_tar_file (t, "big1", big, 0644);
      test_tar_file (t, "big2", big, 0644);
    }
  else if (g_str_equal (name, "whiteout-dotdot"))
    test_tar_file (t, ".wh...", "", 0644);
  test_tar_file (t, "last", "fine", 0644);
  {
    int fd = test_tar_finish (t);
    berth_autofd int sink = memfd_create ("sink", MFD_CLOEXEC);

    if (out_digest)
      g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, out_digest, NULL, NULL));
    lseek (fd, 0, SEEK_SET);
    if (out_diff_id)
      g_assert_true (berth_unpack_decompress (fd, sink, 0, out_diff_id, NULL, NULL, NULL));
    lseek (fd, 0, SEEK_SET);
    return fd;
  }
}

static const BadCase bad_cases[] = {
  { "absolute", BERTH_ERROR_INVALID_ARCHIVE, "\"/etc/evil\": the path is absolute" },
  { "dotdot", BERTH_ERROR_INVALID_ARCHIVE, "\"a/../../evil\": the path contains \"..\"" },
  { "dotdot-hardlink", BERTH_ERROR_INVALID_ARCHIVE,
    "\"../outside\": the hard link target contains" },
  { "through-symlink", BERTH_ERROR_INVALID_ARCHIVE,
    "\"link/evil\": it would be written through the symbolic link \"link\"" },
  { "through-relative-symlink", BERTH_ERROR_INVALID_ARCHIVE,
    "\"d/up/evil\": it would be written through the symbolic link \"d/up\"" },
  { "hardlink-outside", BERTH_ERROR_INVALID_ARCHIVE,
    "\"h\": hard link to \"etc/passwd\", which is not in the layer" },
  { "hardlink-absolute", BERTH_ERROR_INVALID_ARCHIVE,
    "\"/etc/passwd\": the hard link target is absolute" },
  { "hardlink-through-symlink", BERTH_ERROR_INVALID_ARCHIVE,
    "\"h\": hard link to \"etc/passwd\", which is not in the layer" },
  { "declared-size", BERTH_ERROR_LIMIT_EXCEEDED,
    "\"huge\": declares 2097152 bytes, over the limit of 1048576" },
  { "total-size", BERTH_ERROR_LIMIT_EXCEEDED, "decompresses to more than 1048576 bytes" },
  { "total-size-gz", BERTH_ERROR_LIMIT_EXCEEDED, "decompresses to more than 1048576 bytes" },
  { "whiteout-dotdot", BERTH_ERROR_INVALID_ARCHIVE, "\".wh...\": invalid whiteout name" },
};

static void
test_unpack_rejects (Fixture *f, gconstpointer data)
{
  const BadCase *c = data;
  berth_autofd int fd = bad_archive (c->name, NULL, NULL);
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  struct stat st;

  options.max_size = 1024 * 1024;
  g_assert_false (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, c->code);
  if (strstr (error->message, c->message) == NULL)
    g_error ("%s: \"%s\" lacks \"%s\"", c->name, error->message, c->message);
  /* Nothing escaped the destination. */
  g_assert_cmpint (stat ("/tmp/evil", &st), <, 0);
  g_assert_cmpint (stat ("/evil", &st), <, 0);
  g_assert_false (g_file_test ("/etc/evil", G_FILE_TEST_EXISTS));
}

static void
test_unpack_truncated (Fixture *f, gconstpointer data)
{
  BerthCompression compression = GPOINTER_TO_INT (data);
  berth_autofd int fd = rich_layer (compression);
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  gsize size = test_fd_size (fd);

  /* Cut in the middle, and (compressed) just before the end, where only
   * the gzip or zstd trailer is missing. A plain tar cut in its zero
   * padding is still a whole tar: only the blob digest can tell. */
  for (guint i = 0; i < (compression == BERTH_COMPRESSION_NONE ? 1u : 2u); i++)
    {
      berth_autofd int cut = test_fd_truncated (fd, i == 0 ? size / 2 : size - 4);

      g_clear_error (&error);
      g_assert_false (berth_unpack_layer (cut, f->dest_fd, &options, NULL, NULL, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE);
      g_assert_true (strstr (error->message, "truncated") != NULL
                     || strstr (error->message, "corrupt") != NULL);
    }
}

static void
test_unpack_corrupt (Fixture *f, gconstpointer data)
{
  BerthCompression compression = GPOINTER_TO_INT (data);
  berth_autofd int fd = rich_layer (compression);
  berth_autofd int bad = test_fd_corrupted (fd, test_fd_size (fd) / 3);
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  g_autofree char *digest = NULL;

  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, NULL, NULL));
  options.expected_digest = digest;
  g_assert_false (berth_unpack_layer (bad, f->dest_fd, &options, NULL, NULL, &error));
  /* Either the format notices or the digest does; both are refusals. */
  g_assert_true (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE)
                 || g_error_matches (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH));
}

static void
test_unpack_wrong_digests (Fixture *f, gconstpointer data)
{
  berth_autofd int fd = rich_layer (BERTH_COMPRESSION_GZIP);
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

  options.expected_digest = wrong;
  g_assert_false (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, wrong));
  g_assert_nonnull (strstr (error->message, "(got sha256:"));

  g_clear_error (&error);
  lseek (fd, 0, SEEK_SET);
  options.expected_digest = NULL;
  options.expected_diff_id = wrong;
  g_assert_false (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "diff_id"));
}

static void
test_unpack_not_tar (Fixture *f, gconstpointer data)
{
  berth_autofd int fd = memfd_create ("junk", MFD_CLOEXEC);
  g_autoptr (GError) error = NULL;
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;
  g_autofree char *junk = g_strnfill (2000, 'j');

  g_assert_cmpint (write (fd, junk, 2000), ==, 2000);
  lseek (fd, 0, SEEK_SET);
  g_assert_false (berth_unpack_layer (fd, f->dest_fd, &options, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  berth_autofd int fd = rich_layer (BERTH_COMPRESSION_NONE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  BerthUnpackOptions options = BERTH_UNPACK_OPTIONS_INIT;

  g_cancellable_cancel (cancellable);
  g_assert_false (berth_unpack_layer (fd, f->dest_fd, &options, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unpack/detect-compression", test_detect_compression);
  g_test_add_func ("/unpack/result-clear", test_result_clear);
  g_test_add ("/unpack/plain", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_NONE), setup,
              test_unpack_formats, teardown);
  g_test_add ("/unpack/gzip", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_GZIP), setup,
              test_unpack_formats, teardown);
  g_test_add ("/unpack/zstd", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_ZSTD), setup,
              test_unpack_formats, teardown);
  g_test_add ("/unpack/replace", Fixture, NULL, setup, test_unpack_replace, teardown);
  g_test_add ("/unpack/drops-overlay-xattrs", Fixture, NULL, setup,
              test_unpack_drops_overlay_xattrs, teardown);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/unpack/rejects/%s", bad_cases[i].name);

      g_test_add (name, Fixture, &bad_cases[i], setup, test_unpack_rejects, teardown);
    }
  g_test_add ("/unpack/truncated/plain", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_NONE), setup,
              test_unpack_truncated, teardown);
  g_test_add ("/unpack/truncated/gzip", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_GZIP), setup,
              test_unpack_truncated, teardown);
  g_test_add ("/unpack/truncated/zstd", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_ZSTD), setup,
              test_unpack_truncated, teardown);
  g_test_add ("/unpack/corrupt/gzip", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_GZIP), setup,
              test_unpack_corrupt, teardown);
  g_test_add ("/unpack/corrupt/zstd", Fixture, GINT_TO_POINTER (BERTH_COMPRESSION_ZSTD), setup,
              test_unpack_corrupt, teardown);
  g_test_add ("/unpack/wrong-digests", Fixture, NULL, setup, test_unpack_wrong_digests, teardown);
  g_test_add ("/unpack/not-tar", Fixture, NULL, setup, test_unpack_not_tar, teardown);
  g_test_add ("/unpack/cancel", Fixture, NULL, setup, test_cancel, teardown);
  return g_test_run ();
}
