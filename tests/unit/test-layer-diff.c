/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-layer-diff.h"
#include "berth-unpack.h"
#include "test-layers.h"

/* A file of the tree: what the tar says about one entry. */
typedef struct
{
  char type; /* f d l h c p */
  unsigned mode;
  unsigned uid, gid;
  char *target; /* symlink or hardlink */
  char *content;
  char *xattrs; /* "name=value;" sorted by name as read */
  gint64 mtime;
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->target);
  g_free (e->content);
  g_free (e->xattrs);
  g_free (e);
}

static void
write_file (const char *root, const char *path, const char *content, unsigned mode)
{
  g_autofree char *full = g_build_filename (root, path, NULL);

  g_assert_true (g_file_set_contents (full, content, -1, NULL));
  g_assert_cmpint (chmod (full, mode), ==, 0);
}

static void
make_dir (const char *root, const char *path, unsigned mode)
{
  g_autofree char *full = g_build_filename (root, path, NULL);

  g_assert_cmpint (mkdir (full, mode), ==, 0);
  g_assert_cmpint (chmod (full, mode), ==, 0);
}

/* Reads a tar into path → Entry, in order into @order. */
static GHashTable *
read_tar (int fd, GPtrArray *order)
{
  GHashTable *entries
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)entry_free);
  struct archive *a = archive_read_new ();
  struct archive_entry *ae;

  archive_read_support_format_tar (a);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_cmpint (archive_read_open_fd (a, fd, 65536), ==, ARCHIVE_OK);
  while (archive_read_next_header (a, &ae) == ARCHIVE_OK)
    {
      Entry *e = g_new0 (Entry, 1);
      g_autoptr (GString) xattrs = g_string_new (NULL);
      const char *name, *value;
      size_t size;
      char *path = g_strdup (archive_entry_pathname (ae));

      if (g_str_has_suffix (path, "/") && strlen (path) > 1)
        path[strlen (path) - 1] = '\0';
      e->mode = archive_entry_perm (ae);
      e->uid = archive_entry_uid (ae);
      e->gid = archive_entry_gid (ae);
      e->mtime = archive_entry_mtime (ae);
      if (archive_entry_hardlink (ae))
        {
          e->type = 'h';
          e->target = g_strdup (archive_entry_hardlink (ae));
        }
      else
        switch (archive_entry_filetype (ae))
          {
          case AE_IFREG:
            e->type = 'f';
            break;
          case AE_IFDIR:
            e->type = 'd';
            break;
          case AE_IFLNK:
            e->type = 'l';
            e->target = g_strdup (archive_entry_symlink (ae));
            break;
          case AE_IFCHR:
            e->type = 'c';
            break;
          case AE_IFIFO:
            e->type = 'p';
            break;
          default:
            e->type = '?';
          }
      if (e->type == 'f')
        {
          gint64 len = archive_entry_size (ae);
          e->content = g_malloc0 (len + 1);
          g_assert_cmpint (archive_read_data (a, e->content, len), ==, len);
        }
      archive_entry_xattr_reset (ae);
      while (archive_entry_xattr_next (ae, &name, (const void **)&value, &size) == ARCHIVE_OK)
        g_string_append_printf (xattrs, "%s=%.*s;", name, (int)size, value);
      e->xattrs = g_string_free (g_steal_pointer (&xattrs), FALSE);
      if (order)
        g_ptr_array_add (order, g_strdup (path));
      g_hash_table_insert (entries, path, e);
    }
  archive_read_free (a);
  return entries;
}

static int
diff_to_memfd (int root_fd, const BerthLayerDiffOptions *options, BerthLayerDiffResult *result)
{
  g_autoptr (GError) error = NULL;
  int fd = memfd_create ("layer", MFD_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_true (berth_layer_diff_write (root_fd, fd, options, result, NULL, &error));
  g_assert_no_error (error);
  return fd;
}

/* An overlay upper directory as a container leaves it. */
static void
make_upper (const char *root)
{
  g_autofree char *wh = g_build_filename (root, "etc/removed", NULL);
  g_autofree char *opq = g_build_filename (root, "opt/app", NULL);
  g_autofree char *link1 = g_build_filename (root, "usr/bin/one", NULL);
  g_autofree char *link2 = g_build_filename (root, "usr/bin/two", NULL);
  g_autofree char *sym = g_build_filename (root, "usr/bin/sym", NULL);
  g_autofree char *fifo = g_build_filename (root, "run/fifo", NULL);
  g_autofree char *owned = g_build_filename (root, "etc/owned", NULL);
  g_autofree char *xfile = g_build_filename (root, "etc/xattr", NULL);

  make_dir (root, "etc", 0755);
  write_file (root, "etc/hosts", "127.0.0.1 here\n", 0644);
  write_file (root, "etc/owned", "mine\n", 04750);
  g_assert_cmpint (lchown (owned, 1000, 100), ==, 0);
  g_assert_cmpint (chmod (owned, 04750), ==, 0);
  write_file (root, "etc/xattr", "x\n", 0600);
  g_assert_cmpint (setxattr (xfile, "trusted.berth-test", "v1", 2, 0), ==, 0);
  g_assert_cmpint (mknod (wh, S_IFCHR | 0, makedev (0, 0)), ==, 0);
  make_dir (root, "opt", 0755);
  make_dir (root, "opt/app", 0700);
  g_assert_cmpint (setxattr (opq, "trusted.overlay.opaque", "y", 1, 0), ==, 0);
  write_file (root, "opt/app/new", "new\n", 0644);
  make_dir (root, "usr", 0755);
  make_dir (root, "usr/bin", 0755);
  write_file (root, "usr/bin/one", "#!/bin/sh\n", 0755);
  g_assert_cmpint (link (link1, link2), ==, 0);
  g_assert_cmpint (symlink ("one", sym), ==, 0);
  make_dir (root, "run", 0755);
  g_assert_cmpint (mkfifo (fifo, 0640), ==, 0);
  /* Volume mount points, and a sibling that only shares a prefix. */
  make_dir (root, "var", 0755);
  make_dir (root, "var/lib", 0755);
  make_dir (root, "var/lib/data", 0755);
  write_file (root, "var/lib/data/db", "secret\n", 0600);
  make_dir (root, "var/lib/database", 0755);
  write_file (root, "var/lib/database/keep", "keep\n", 0644);
  make_dir (root, "cache", 0755);
  write_file (root, "cache/x", "x\n", 0644);
}

static void
test_upper_to_tar (void)
{
  g_autofree char *dir = test_scratch_dir ();
  berth_autofd int root_fd = -1;
  berth_autofd int fd = -1;
  g_auto (BerthLayerDiffResult) result = { 0 };
  g_autoptr (GHashTable) entries = NULL;
  g_autoptr (GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *digest = NULL;
  const char *excludes[] = { "/var/lib/data", "cache/", NULL };
  BerthLayerDiffOptions options = BERTH_LAYER_DIFF_OPTIONS_INIT;
  guint64 size;
  Entry *e;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (whiteouts are device nodes)");
      test_scratch_remove (g_steal_pointer (&dir));
      return;
    }
  make_upper (dir);
  root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  options.flags = BERTH_LAYER_DIFF_OVERLAY_UPPER;
  options.excludes = excludes;
  fd = diff_to_memfd (root_fd, &options, &result);

  /* The diff_id is the digest of exactly the bytes written. */
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, &size, NULL));
  g_assert_cmpstr (digest, ==, result.diff_id);
  g_assert_cmpuint (size, ==, result.size);

  entries = read_tar (fd, order);
  g_assert_cmpuint (result.n_entries, ==, g_hash_table_size (entries));

  /* Whiteout: a .wh. file, no device. */
  e = g_hash_table_lookup (entries, "etc/.wh.removed");
  g_assert_nonnull (e);
  g_assert_cmpint (e->type, ==, 'f');
  g_assert_null (g_hash_table_lookup (entries, "etc/removed"));
  /* Opaque directory: the directory, then its marker, without the xattr. */
  e = g_hash_table_lookup (entries, "opt/app");
  g_assert_nonnull (e);
  g_assert_cmpint (e->type, ==, 'd');
  g_assert_cmpuint (e->mode, ==, 0700);
  g_assert_null (strstr (e->xattrs, "overlay"));
  g_assert_nonnull (g_hash_table_lookup (entries, "opt/app/.wh..wh..opq"));
  g_assert_nonnull (g_hash_table_lookup (entries, "opt/app/new"));
  /* Ownership, set-id modes and xattrs. */
  e = g_hash_table_lookup (entries, "etc/owned");
  g_assert_cmpuint (e->uid, ==, 1000);
  g_assert_cmpuint (e->gid, ==, 100);
  g_assert_cmpuint (e->mode, ==, 04750);
  g_assert_cmpstr (e->content, ==, "mine\n");
  e = g_hash_table_lookup (entries, "etc/xattr");
  g_assert_cmpstr (e->xattrs, ==, "trusted.berth-test=v1;");
  /* One file, two names: the second is a hard link to the first. */
  e = g_hash_table_lookup (entries, "usr/bin/one");
  g_assert_cmpint (e->type, ==, 'f');
  e = g_hash_table_lookup (entries, "usr/bin/two");
  g_assert_cmpint (e->type, ==, 'h');
  g_assert_cmpstr (e->target, ==, "usr/bin/one");
  e = g_hash_table_lookup (entries, "usr/bin/sym");
  g_assert_cmpint (e->type, ==, 'l');
  g_assert_cmpstr (e->target, ==, "one");
  e = g_hash_table_lookup (entries, "run/fifo");
  g_assert_cmpint (e->type, ==, 'p');
  g_assert_cmpuint (e->mode, ==, 0640);
  /* Excluded paths and everything below them are gone; the sibling stays. */
  g_assert_null (g_hash_table_lookup (entries, "var/lib/data"));
  g_assert_null (g_hash_table_lookup (entries, "var/lib/data/db"));
  g_assert_null (g_hash_table_lookup (entries, "cache"));
  g_assert_null (g_hash_table_lookup (entries, "cache/x"));
  g_assert_nonnull (g_hash_table_lookup (entries, "var/lib"));
  g_assert_nonnull (g_hash_table_lookup (entries, "var/lib/database/keep"));
  /* Every parent comes before its children. */
  for (guint i = 0; i < order->len; i++)
    {
      g_autofree char *parent = g_path_get_dirname (g_ptr_array_index (order, i));
      gboolean seen = g_str_equal (parent, ".");

      for (guint j = 0; j < i && !seen; j++)
        seen = g_str_equal (g_ptr_array_index (order, j), parent);
      g_assert_true (seen);
    }

  close (root_fd);
  root_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

/* The copy made in the same pass is the tree itself, and the same as
 * what unpacking the tar gives; the same tree gives the same bytes. */
static void
test_copy_matches_unpack (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autofree char *upper = g_build_filename (dir, "upper", NULL);
  g_autofree char *copy = g_build_filename (dir, "copy", NULL);
  g_autofree char *unpacked = g_build_filename (dir, "unpacked", NULL);
  g_autofree char *copy_snap = NULL, *upper_snap = NULL, *unpack_snap = NULL;
  g_autofree char *opq = g_build_filename (copy, "opt/app", NULL);
  g_autofree char *wh = g_build_filename (copy, "etc/removed", NULL);
  g_autofree char *one = g_build_filename (copy, "usr/bin/one", NULL);
  g_autoptr (GError) error = NULL;
  g_auto (BerthLayerDiffResult) first = { 0 };
  g_auto (BerthLayerDiffResult) second = { 0 };
  g_auto (BerthUnpackResult) unpack = { 0 };
  berth_autofd int root_fd = -1, copy_fd = -1, unpack_fd = -1, fd = -1, fd2 = -1;
  BerthLayerDiffOptions options = BERTH_LAYER_DIFF_OPTIONS_INIT;
  BerthUnpackOptions uopts = BERTH_UNPACK_OPTIONS_INIT;
  const char *excludes[] = { "var/lib/data", "cache", NULL };
  char value[8];
  struct stat st;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (whiteouts are device nodes)");
      test_scratch_remove (g_steal_pointer (&dir));
      return;
    }
  make_dir (dir, "upper", 0755);
  make_dir (dir, "copy", 0755);
  make_dir (dir, "unpacked", 0755);
  make_upper (upper);
  root_fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  copy_fd = open (copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  unpack_fd = open (unpacked, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  options.flags = BERTH_LAYER_DIFF_OVERLAY_UPPER;
  options.excludes = excludes;
  options.copy_dirfd = copy_fd;
  fd = diff_to_memfd (root_fd, &options, &first);

  /* The copy keeps the overlay form. */
  g_assert_cmpint (getxattr (opq, "trusted.overlay.opaque", value, sizeof value), ==, 1);
  g_assert_cmpint (lstat (wh, &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  g_assert_cmpint (lstat (one, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 2);

  uopts.allow_devices = TRUE;
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_true (berth_unpack_layer (fd, unpack_fd, &uopts, &unpack, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (unpack.diff_id, ==, first.diff_id);

  copy_snap = test_tree_snapshot (copy);
  unpack_snap = test_tree_snapshot (unpacked);
  g_assert_cmpstr (copy_snap, ==, unpack_snap);
  /* The upper directory minus the excluded paths. */
  {
    g_autofree char *data = g_build_filename (upper, "var/lib/data", NULL);
    g_autofree char *cache = g_build_filename (upper, "cache", NULL);

    g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, data, NULL));
    g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, cache, NULL));
  }
  upper_snap = test_tree_snapshot (upper);
  g_assert_cmpstr (copy_snap, ==, upper_snap);

  /* Same tree, same bytes (the exclusions now do nothing). */
  options.copy_dirfd = -1;
  fd2 = diff_to_memfd (root_fd, &options, &second);
  g_assert_cmpstr (first.diff_id, ==, second.diff_id);

  close (root_fd), close (copy_fd), close (unpack_fd);
  root_fd = copy_fd = unpack_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

/* A plain tree (export): character devices stay devices. */
static void
test_plain_tree (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autofree char *null = g_build_filename (dir, "null", NULL);
  g_autofree char *wh = g_build_filename (dir, "zero", NULL);
  g_autoptr (GHashTable) entries = NULL;
  g_auto (BerthLayerDiffResult) result = { 0 };
  berth_autofd int root_fd = -1, fd = -1;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (device nodes)");
      test_scratch_remove (g_steal_pointer (&dir));
      return;
    }
  g_assert_cmpint (mknod (null, S_IFCHR | 0666, makedev (1, 3)), ==, 0);
  g_assert_cmpint (mknod (wh, S_IFCHR | 0, makedev (0, 0)), ==, 0);
  write_file (dir, "file", "data", 0644);
  root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fd = diff_to_memfd (root_fd, NULL, &result);
  entries = read_tar (fd, NULL);
  g_assert_cmpint (((Entry *)g_hash_table_lookup (entries, "null"))->type, ==, 'c');
  g_assert_cmpint (((Entry *)g_hash_table_lookup (entries, "zero"))->type, ==, 'c');
  g_assert_null (g_hash_table_lookup (entries, ".wh.zero"));
  g_assert_cmpstr (((Entry *)g_hash_table_lookup (entries, "file"))->content, ==, "data");
  g_assert_cmpuint (g_hash_table_size (entries), ==, 3);
  close (root_fd);
  root_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

/* Upper directories written with metacopy or redirect_dir do not hold
 * the data: refused with the path named. */
static void
test_refuses_metacopy (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autofree char *file = g_build_filename (dir, "big", NULL);
  g_autoptr (GError) error = NULL;
  berth_autofd int root_fd = -1;
  berth_autofd int fd = memfd_create ("layer", MFD_CLOEXEC);
  BerthLayerDiffOptions options = BERTH_LAYER_DIFF_OPTIONS_INIT;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (trusted xattrs)");
      test_scratch_remove (g_steal_pointer (&dir));
      return;
    }
  write_file (dir, "big", "", 0644);
  g_assert_cmpint (setxattr (file, "trusted.overlay.metacopy", "", 0, 0), ==, 0);
  root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  options.flags = BERTH_LAYER_DIFF_OVERLAY_UPPER;
  g_assert_false (berth_layer_diff_write (root_fd, fd, &options, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "\"big\""));
  close (root_fd);
  root_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

static void
test_empty_and_cancelled (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_auto (BerthLayerDiffResult) result = { 0 };
  berth_autofd int root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  berth_autofd int fd = memfd_create ("layer", MFD_CLOEXEC);
  berth_autofd int fd2 = memfd_create ("layer", MFD_CLOEXEC);

  /* An empty tree is a valid layer: the two zero blocks that end a tar. */
  g_assert_true (berth_layer_diff_write (root_fd, fd, NULL, &result, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.size, ==, 1024);
  g_assert_cmpuint (result.n_entries, ==, 0);

  write_file (dir, "file", "data", 0644);
  g_cancellable_cancel (cancellable);
  g_assert_false (berth_layer_diff_write (root_fd, fd2, NULL, NULL, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  close (root_fd);
  root_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

/* A write error (a closed pipe) is reported, not a partial success. */
static void
test_write_error (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autoptr (GError) error = NULL;
  berth_autofd int root_fd = -1;
  g_autofree char *big = g_malloc0 (4 * 1024 * 1024);
  g_autofree char *path = g_build_filename (dir, "big", NULL);
  int pipefd[2];

  g_assert_true (g_file_set_contents (path, big, 4 * 1024 * 1024, NULL));
  root_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (pipe2 (pipefd, O_CLOEXEC), ==, 0);
  close (pipefd[0]);
  signal (SIGPIPE, SIG_IGN);
  g_assert_false (berth_layer_diff_write (root_fd, pipefd[1], NULL, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "cannot write the layer"));
  close (pipefd[1]);
  close (root_fd);
  root_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

/* Names are bytes: UTF-8 or not, long or not, they come back as they were. */
static void
test_names (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autofree char *out = g_build_filename (dir, "out", NULL);
  g_autofree char *src = g_build_filename (dir, "src", NULL);
  g_autofree char *long_name = g_strnfill (200, 'n');
  g_autofree char *deep = NULL;
  g_autofree char *listing = NULL, *want = NULL;
  g_autoptr (GError) error = NULL;
  g_auto (BerthUnpackResult) unpack = { 0 };
  BerthUnpackOptions uopts = BERTH_UNPACK_OPTIONS_INIT;
  berth_autofd int root_fd = -1, out_fd = -1, fd = -1;
  g_auto (BerthLayerDiffResult) result = { 0 };
  const char *names[] = { "caf\xc3\xa9", "latin\xe9", "sp ace", "new\nline", NULL };

  make_dir (dir, "src", 0755);
  make_dir (dir, "out", 0755);
  for (guint i = 0; names[i]; i++)
    write_file (src, names[i], names[i], 0644);
  write_file (src, long_name, "long", 0644);
  deep = g_build_filename (long_name, long_name, NULL);
  {
    g_autofree char *d = g_strconcat (long_name, ".d", NULL);
    g_autofree char *f = g_build_filename (d, long_name, NULL);

    make_dir (src, d, 0755);
    write_file (src, f, "deep", 0644);
  }
  root_fd = open (src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  out_fd = open (out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  fd = diff_to_memfd (root_fd, NULL, &result);
  g_assert_cmpuint (result.n_entries, ==, 7);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_true (berth_unpack_layer (fd, out_fd, &uopts, &unpack, NULL, &error));
  g_assert_no_error (error);
  listing = test_tree_snapshot (out);
  want = test_tree_snapshot (src);
  g_assert_cmpstr (listing, ==, want);
  close (root_fd), close (out_fd);
  root_fd = out_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

static void
test_normalize_paths (void)
{
  const char *good[] = { "/var/lib/data/", "//a//./b", "c", NULL };
  const char *dotdot[] = { "/a/../etc", NULL };
  const char *root[] = { "/", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) out = berth_layer_diff_normalize_paths (good, &error);
  g_auto (GStrv) none = berth_layer_diff_normalize_paths (NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (out[0], ==, "var/lib/data");
  g_assert_cmpstr (out[1], ==, "a/b");
  g_assert_cmpstr (out[2], ==, "c");
  g_assert_null (out[3]);
  g_assert_nonnull (none);
  g_assert_null (none[0]);
  g_assert_null (berth_layer_diff_normalize_paths (dotdot, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_layer_diff_normalize_paths (root, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layer-diff/upper-to-tar", test_upper_to_tar);
  g_test_add_func ("/layer-diff/copy-matches-unpack", test_copy_matches_unpack);
  g_test_add_func ("/layer-diff/plain-tree", test_plain_tree);
  g_test_add_func ("/layer-diff/refuses-metacopy", test_refuses_metacopy);
  g_test_add_func ("/layer-diff/empty-and-cancelled", test_empty_and_cancelled);
  g_test_add_func ("/layer-diff/write-error", test_write_error);
  g_test_add_func ("/layer-diff/names", test_names);
  g_test_add_func ("/layer-diff/normalize-paths", test_normalize_paths);
  return g_test_run ();
}
