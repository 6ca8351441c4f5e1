/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "test-layers.h"
#include "berth-digest.h"
#include "berth-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

TestTar *
test_tar_new (BerthCompression compression)
{
  TestTar *t = g_new0 (TestTar, 1);

  t->fd = memfd_create ("test-layer", MFD_CLOEXEC);
  g_assert_cmpint (t->fd, >=, 0);
  t->a = archive_write_new ();
  archive_write_set_format_pax_restricted (t->a);
  if (compression == BERTH_COMPRESSION_GZIP)
    archive_write_add_filter_gzip (t->a);
  else if (compression == BERTH_COMPRESSION_ZSTD)
    archive_write_add_filter_zstd (t->a);
  g_assert_cmpint (archive_write_open_fd (t->a, t->fd), ==, ARCHIVE_OK);
  return t;
}

static struct archive_entry *
entry_new (const char *path, unsigned type, unsigned mode)
{
  struct archive_entry *e = archive_entry_new ();

  archive_entry_set_pathname (e, path);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, mode);
  archive_entry_set_mtime (e, 1700000000, 0);
  return e;
}

static void
write_entry (TestTar *t, struct archive_entry *e, const char *content)
{
  g_assert_cmpint (archive_write_header (t->a, e), ==, ARCHIVE_OK);
  if (content && *content)
    g_assert_cmpint (archive_write_data (t->a, content, strlen (content)), ==, strlen (content));
  archive_entry_free (e);
}

void
test_tar_file_owned (TestTar *t, const char *path, const char *content, unsigned mode, unsigned uid,
                     unsigned gid)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, mode);

  archive_entry_set_size (e, strlen (content));
  archive_entry_set_uid (e, uid);
  archive_entry_set_gid (e, gid);
  write_entry (t, e, content);
}

void
test_tar_file (TestTar *t, const char *path, const char *content, unsigned mode)
{
  test_tar_file_owned (t, path, content, mode, 0, 0);
}

void
test_tar_dir (TestTar *t, const char *path, unsigned mode)
{
  write_entry (t, entry_new (path, AE_IFDIR, mode), NULL);
}

void
test_tar_symlink (TestTar *t, const char *path, const char *target)
{
  struct archive_entry *e = entry_new (path, AE_IFLNK, 0777);

  archive_entry_set_symlink (e, target);
  write_entry (t, e, NULL);
}

void
test_tar_hardlink (TestTar *t, const char *path, const char *target)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, 0644);

  archive_entry_set_hardlink (e, target);
  archive_entry_set_size (e, 0);
  write_entry (t, e, NULL);
}

void
test_tar_fifo (TestTar *t, const char *path)
{
  write_entry (t, entry_new (path, AE_IFIFO, 0640), NULL);
}

void
test_tar_chardev (TestTar *t, const char *path, unsigned major, unsigned minor)
{
  struct archive_entry *e = entry_new (path, AE_IFCHR, 0666);

  archive_entry_set_rdev (e, makedev (major, minor));
  write_entry (t, e, NULL);
}

void
test_tar_xattr_file (TestTar *t, const char *path, const char *content, const char *xattr,
                     const char *value)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, 0644);

  archive_entry_set_size (e, strlen (content));
  archive_entry_xattr_add_entry (e, xattr, value, strlen (value));
  write_entry (t, e, content);
}

void
test_tar_declared (TestTar *t, const char *path, gint64 size)
{
  struct archive_entry *e = entry_new (path, AE_IFREG, 0644);

  archive_entry_set_size (e, size);
  g_assert_cmpint (archive_write_header (t->a, e), ==, ARCHIVE_OK);
  archive_entry_free (e);
}

int
test_tar_finish (TestTar *t)
{
  int fd = t->fd;

  /* A header that declared data nobody wrote makes close complain; the
   * archive is still what the test wants (a lie about sizes). */
  archive_write_close (t->a);
  archive_write_free (t->a);
  g_free (t);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

gsize
test_fd_size (int fd)
{
  struct stat st;

  g_assert_cmpint (fstat (fd, &st), ==, 0);
  return st.st_size;
}

static int
copy_fd (int fd, gsize len, gssize flip)
{
  int out = memfd_create ("test-copy", MFD_CLOEXEC);
  g_autofree guint8 *buf = g_malloc (len ? len : 1);

  g_assert_cmpint (pread (fd, buf, len, 0), ==, (gssize)len);
  if (flip >= 0)
    buf[flip] ^= 0xff;
  g_assert_cmpint (write (out, buf, len), ==, (gssize)len);
  g_assert_cmpint (lseek (out, 0, SEEK_SET), ==, 0);
  return out;
}

int
test_fd_truncated (int fd, gsize len)
{
  return copy_fd (fd, len, -1);
}

int
test_fd_corrupted (int fd, gsize offset)
{
  return copy_fd (fd, test_fd_size (fd), offset);
}

static GPtrArray *snapshot_lines;
static gsize snapshot_prefix;

static int
snapshot_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  g_autofree char *digest = NULL;
  char target[4096] = "";

  if (S_ISREG (st->st_mode))
    {
      berth_autofd int fd = open (path, O_RDONLY | O_CLOEXEC);

      g_assert_cmpint (fd, >=, 0);
      g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, NULL, NULL));
    }
  else if (S_ISLNK (st->st_mode))
    g_assert_cmpint (readlink (path, target, sizeof target - 1), >=, 0);
  g_ptr_array_add (snapshot_lines,
                   g_strdup_printf ("%s %o %u:%u %lld %s%s", path + snapshot_prefix, st->st_mode,
                                    st->st_uid, st->st_gid,
                                    S_ISDIR (st->st_mode) ? 0LL : (long long)st->st_size,
                                    digest ? digest : "", target));
  return 0;
}

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *)a, *(char *const *)b);
}

char *
test_tree_snapshot (const char *dir)
{
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  snapshot_lines = lines;
  snapshot_prefix = strlen (dir);
  g_assert_cmpint (nftw (dir, snapshot_one, 32, FTW_PHYS), ==, 0);
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  snapshot_lines = NULL;
  return g_strjoinv ("\n", (char **)lines->pdata);
}

char *
test_scratch_dir (void)
{
  char *dir = g_dir_make_tmp ("berth-test-XXXXXX", NULL);

  g_assert_nonnull (dir);
  if (geteuid () == 0)
    mount ("berth-test", dir, "tmpfs", 0, "mode=0755");
  return dir;
}

void
test_scratch_remove (char *dir)
{
  g_autofree char *cmd = NULL;

  if (dir == NULL)
    return;
  umount2 (dir, MNT_DETACH);
  cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (dir);
}
