/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "berth-archive.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-manifest.h"
#include "berth-store.h"
#include "test-layers.h"

typedef struct
{
  char *root1, *root2;
  BerthStore *s1, *s2;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->root1 = test_scratch_dir ();
  f->root2 = test_scratch_dir ();
  f->s1 = berth_store_open (f->root1, 0, NULL, &error);
  g_assert_no_error (error);
  f->s2 = berth_store_open (f->root2, 0, NULL, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  berth_store_free (f->s1);
  berth_store_free (f->s2);
  test_scratch_remove (f->root1);
  test_scratch_remove (f->root2);
}

static BerthStoreImage *
import (BerthStore *store, BerthCompression compression, const char *file, const char *ref)
{
  TestTar *t = test_tar_new (compression);
  berth_autofd int fd = -1;
  g_autoptr (GError) error = NULL;
  BerthStoreImage *image;

  test_tar_file (t, file, "content", 0644);
  test_tar_symlink (t, "link", file);
  fd = test_tar_finish (t);
  image = berth_store_import_rootfs (store, fd, ref, NULL, &error);
  g_assert_no_error (error);
  return image;
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  BerthArchiveFormat format = GPOINTER_TO_INT (data);
  g_autoptr (BerthStoreImage) a = import (f->s1, BERTH_COMPRESSION_GZIP, "a", "one:v1");
  g_autoptr (BerthStoreImage) b
    = import (f->s1, BERTH_COMPRESSION_ZSTD, "b", "example.org:5000/two");
  const char *refs[] = { "one:v1", b->id, NULL };
  berth_autofd int fd = memfd_create ("archive", MFD_CLOEXEC);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = NULL;

  g_assert_true (berth_archive_save (f->s1, refs, format, fd, NULL, &error));
  g_assert_no_error (error);
  lseek (fd, 0, SEEK_SET);
  ids = berth_archive_load (f->s2, fd, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, ==, 2);

  for (int i = 0; i < 2; i++)
    {
      BerthStoreImage *orig = i ? b : a;
      g_autoptr (BerthStoreImage) back = berth_store_find_image (f->s2, orig->id, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (back->id, ==, orig->id);
      g_assert_cmpstrv (back->diff_ids, orig->diff_ids);
      g_assert_cmpstrv (back->names, orig->names);
      if (format == BERTH_ARCHIVE_OCI)
        {
          g_assert_cmpstr (back->manifest_digest, ==, orig->manifest_digest);
          g_assert_cmpstrv (back->layer_digests, orig->layer_digests);
        }
      else
        /* docker archives carry uncompressed layers: the blob is the diff. */
        g_assert_cmpstr (back->layer_digests[0], ==, orig->diff_ids[0]);
    }
}

/* Loading the same archive twice stores nothing twice. */
static void
test_load_twice (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) a = import (f->s1, BERTH_COMPRESSION_GZIP, "a", "twice");
  const char *refs[] = { "twice", NULL };
  berth_autofd int fd = memfd_create ("archive", MFD_CLOEXEC);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids1 = NULL;
  g_autoptr (GPtrArray) ids2 = NULL;
  g_autofree char *dir = g_build_filename (f->root2, "images", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_true (berth_archive_save (f->s1, refs, BERTH_ARCHIVE_OCI, fd, NULL, &error));
  lseek (fd, 0, SEEK_SET);
  ids1 = berth_archive_load (f->s2, fd, NULL, &error);
  g_assert_no_error (error);
  before = test_tree_snapshot (dir);
  lseek (fd, 0, SEEK_SET);
  ids2 = berth_archive_load (f->s2, fd, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_ptr_array_index (ids1, 0), ==, g_ptr_array_index (ids2, 0));
  after = test_tree_snapshot (dir);
  /* repositories.json is rewritten with the same content. */
  g_assert_cmpstr (before, ==, after);
}

static void
test_load_rejects (Fixture *f, gconstpointer data)
{
  TestTar *t = test_tar_new (BERTH_COMPRESSION_NONE);
  berth_autofd int fd = -1;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->root2, "images", NULL);
  g_autofree char *before = test_tree_snapshot (dir);
  g_autofree char *after = NULL;

  test_tar_file (t, "random.txt", "not an image", 0644);
  fd = test_tar_finish (t);
  g_assert_null (berth_archive_load (f->s2, fd, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "neither manifest.json"));
  g_clear_error (&error);
  close (fd);

  /* A docker archive whose layer does not match the config's diff_id. */
  t = test_tar_new (BERTH_COMPRESSION_GZIP);
  test_tar_file (t, "manifest.json",
                 "[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"l/layer.tar\"]}]",
                 0644);
  test_tar_file (t, "c.json",
                 "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
                 "3333333333333333333333333333333333333333333333333333333333333333\"]}}",
                 0644);
  {
    TestTar *layer = test_tar_new (BERTH_COMPRESSION_NONE);
    int lfd;
    g_autofree char *bytes = NULL;
    gsize len = 0;

    test_tar_file (layer, "f", "x", 0644);
    lfd = test_tar_finish (layer);
    len = test_fd_size (lfd);
    bytes = g_malloc0 (len + 1);
    g_assert_cmpint (read (lfd, bytes, len), ==, (gssize)len);
    close (lfd);
    /* tar data with NULs cannot go through test_tar_file; a pax-free
     * layer of one file has no NUL before its end blocks, so use the
     * length-limited writer. */
    {
      struct archive_entry *e = archive_entry_new ();

      archive_entry_set_pathname (e, "l/layer.tar");
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0644);
      archive_entry_set_size (e, len);
      g_assert_cmpint (archive_write_header (t->a, e), ==, ARCHIVE_OK);
      g_assert_cmpint (archive_write_data (t->a, bytes, len), ==, (gssize)len);
      archive_entry_free (e);
    }
  }
  fd = test_tar_finish (t);
  g_assert_null (berth_archive_load (f->s2, fd, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_assert_nonnull (strstr (error->message, "diff_id"));

  after = test_tree_snapshot (dir);
  g_assert_cmpstr (before, ==, after);
}

/* An archive loads whole or not at all; images that were there before
 * stay. */
static void
test_load_all_or_nothing (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) a = import (f->s1, BERTH_COMPRESSION_GZIP, "a", "pre");
  g_autoptr (BerthStoreImage) c = import (f->s1, BERTH_COMPRESSION_GZIP, "c", "new");
  g_autoptr (BerthStoreImage) b = import (f->s1, BERTH_COMPRESSION_GZIP, "b", "broken");
  const char *only_a[] = { "pre", NULL };
  const char *all[] = { "new", "pre", "broken", NULL };
  berth_autofd int fd1 = memfd_create ("a", MFD_CLOEXEC);
  berth_autofd int fd2 = memfd_create ("all", MFD_CLOEXEC);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autofree char *blob
    = g_build_filename (f->root1, "images", "blobs", "sha256", b->layer_digests[0] + 7, NULL);
  g_autoptr (BerthStoreImage) still = NULL;

  g_assert_true (berth_archive_save (f->s1, only_a, BERTH_ARCHIVE_OCI, fd1, NULL, &error));
  lseek (fd1, 0, SEEK_SET);
  ids = berth_archive_load (f->s2, fd1, NULL, &error);
  g_assert_no_error (error);

  /* b's stored layer goes bad; save copies blobs as they are. */
  g_assert_true (g_file_set_contents (blob, "garbage", -1, NULL));
  g_assert_true (berth_archive_save (f->s1, all, BERTH_ARCHIVE_OCI, fd2, NULL, &error));
  g_assert_no_error (error);
  lseek (fd2, 0, SEEK_SET);
  g_assert_null (berth_archive_load (f->s2, fd2, NULL, &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (berth_store_count_images (f->s2), ==, 1);
  still = berth_store_find_image (f->s2, "pre", NULL);
  g_assert_nonnull (still);
  g_assert_null (berth_store_find_image (f->s2, "new", NULL));
  g_assert_false (berth_store_has_blob (f->s2, c->id));
}

static void
test_save_errors (Fixture *f, gconstpointer data)
{
  const char *refs[] = { "missing", NULL };
  const char *none[] = { NULL };
  berth_autofd int fd = memfd_create ("archive", MFD_CLOEXEC);
  g_autoptr (GError) error = NULL;

  g_assert_false (berth_archive_save (f->s1, refs, BERTH_ARCHIVE_OCI, fd, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);
  g_assert_false (berth_archive_save (f->s1, none, BERTH_ARCHIVE_OCI, fd, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
}

static void
test_format_from_string (void)
{
  BerthArchiveFormat format;
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_archive_format_from_string ("oci", &format, &error));
  g_assert_cmpint (format, ==, BERTH_ARCHIVE_OCI);
  g_assert_true (berth_archive_format_from_string ("docker", &format, &error));
  g_assert_cmpint (format, ==, BERTH_ARCHIVE_DOCKER);
  g_assert_false (berth_archive_format_from_string ("zip", &format, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/archive/format-from-string", test_format_from_string);
  g_test_add ("/archive/round-trip/oci", Fixture, GINT_TO_POINTER (BERTH_ARCHIVE_OCI), setup,
              test_round_trip, teardown);
  g_test_add ("/archive/round-trip/docker", Fixture, GINT_TO_POINTER (BERTH_ARCHIVE_DOCKER), setup,
              test_round_trip, teardown);
  g_test_add ("/archive/load-twice", Fixture, NULL, setup, test_load_twice, teardown);
  g_test_add ("/archive/load-rejects", Fixture, NULL, setup, test_load_rejects, teardown);
  g_test_add ("/archive/save-errors", Fixture, NULL, setup, test_save_errors, teardown);
  g_test_add ("/archive/load-all-or-nothing", Fixture, NULL, setup, test_load_all_or_nothing,
              teardown);
  return g_test_run ();
}
