/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-store.h"
#include "test-layers.h"

typedef struct
{
  char *root;
  BerthStore *store;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->root = test_scratch_dir ();
  f->store = berth_store_open (f->root, 1024 * 1024, NULL, &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  berth_store_free (f->store);
  test_scratch_remove (f->root);
}

static int
layer_with (const char *path, const char *content)
{
  TestTar *t = test_tar_new (BERTH_COMPRESSION_GZIP);

  test_tar_file (t, path, content, 0644);
  return test_tar_finish (t);
}

static BerthStoreImage *
import (Fixture *f, const char *path, const char *content, const char *ref)
{
  berth_autofd int fd = layer_with (path, content);
  g_autoptr (GError) error = NULL;
  BerthStoreImage *image = berth_store_import_rootfs (f->store, fd, ref, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (image);
  return image;
}

/* An image of several layers, built the way a pull or load does. */
static BerthStoreImage *
add_layered (Fixture *f, const int *fds, guint n, const char *ref)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) config = g_string_new (
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
    "\"config\":{\"Labels\":{\"a\":\"b\"}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[");
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (BerthDescriptor) cdesc = NULL;
  g_autofree char *cdigest = NULL, *mjson = NULL, *mdigest = NULL, *parent = NULL;
  g_autoptr (GPtrArray) layers
    = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_descriptor_free);
  const char *names[] = { ref, NULL };
  gsize mlen;
  BerthStoreImage *image;

  berth_store_begin_write (f->store);
  for (guint i = 0; i < n; i++)
    {
      g_auto (BerthUnpackResult) r = { 0 };
      char *chain = NULL;

      lseek (fds[i], 0, SEEK_SET);
      g_assert_true (
        berth_store_commit_layer (f->store, fds[i], parent, NULL, NULL, &r, &chain, NULL, &error));
      g_assert_no_error (error);
      g_free (parent);
      parent = chain;
      g_string_append_printf (config, "%s\"%s\"", i ? "," : "", r.diff_id);
      g_ptr_array_add (
        layers, berth_descriptor_new (BERTH_MEDIA_OCI_LAYER_GZIP, r.digest, r.compressed_size));
    }
  g_string_append (config, "]}}");
  g_assert_true (
    berth_store_write_blob (f->store, config->str, config->len, NULL, &cdigest, &error));
  cdesc = berth_descriptor_new (BERTH_MEDIA_OCI_CONFIG, cdigest, config->len);
  manifest = berth_manifest_new_image (cdesc);
  for (guint i = 0; i < layers->len; i++)
    berth_manifest_add_layer (manifest, g_ptr_array_index (layers, i));
  mjson = berth_manifest_to_json (manifest, &mlen);
  g_assert_true (berth_store_write_blob (f->store, mjson, mlen, NULL, &mdigest, &error));
  image = berth_store_add_image (f->store, mdigest, ref ? names : NULL, &error);
  berth_store_end_write (f->store);
  g_assert_no_error (error);
  return image;
}

static char *
images_dir (Fixture *f)
{
  return g_build_filename (f->root, "images", NULL);
}

static void
test_import_and_find (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) image = import (f, "hello", "world", "busybox");
  g_autoptr (BerthStoreImage) by_name = NULL;
  g_autoptr (BerthStoreImage) by_id = NULL;
  g_autoptr (BerthStoreImage) by_short = NULL;
  g_autoptr (BerthStoreImage) by_digest = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *layer = NULL;
  g_autofree char *file = NULL;
  g_autofree char *content = NULL;
  g_autofree char *short_id = NULL;
  g_autofree char *at_digest = NULL;
  guint64 size = 0;

  g_assert_true (g_str_has_prefix (image->id, "sha256:"));
  g_assert_cmpstr (image->names[0], ==, "docker.io/library/busybox:latest");
  g_assert_null (image->names[1]);
  g_assert_cmpuint (g_strv_length (image->diff_ids), ==, 1);
  g_assert_cmpstr (image->chain_ids[0], ==, image->diff_ids[0]);
  g_assert_cmpuint (image->size, >, 0);
  g_assert_true (berth_store_has_blob (f->store, image->id));
  g_assert_true (berth_store_has_blob (f->store, image->manifest_digest));
  g_assert_true (berth_store_has_blob (f->store, image->layer_digests[0]));
  g_assert_true (berth_store_has_layer (f->store, image->chain_ids[0]));
  g_assert_true (berth_store_layer_size (f->store, image->chain_ids[0], &size, &error));
  g_assert_cmpuint (size, ==, image->size);

  layer = berth_store_layer_path (f->store, image->chain_ids[0]);
  file = g_build_filename (layer, "hello", NULL);
  g_assert_true (g_file_get_contents (file, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "world");

  by_name = berth_store_find_image (f->store, "busybox:latest", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_name->id, ==, image->id);
  by_id = berth_store_find_image (f->store, image->id, &error);
  g_assert_no_error (error);
  short_id = g_strndup (image->id + 7, 12);
  by_short = berth_store_find_image (f->store, short_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_short->id, ==, image->id);
  at_digest = g_strdup_printf ("busybox@%s", image->manifest_digest);
  by_digest = berth_store_find_image (f->store, at_digest, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_digest->id, ==, image->id);

  g_assert_null (berth_store_find_image (f->store, "nothere", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);
  g_assert_null (berth_store_find_image (f->store, "Bad:Name", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (berth_store_count_images (f->store), ==, 1);
  g_assert_true (g_str_has_suffix (berth_store_get_dir (f->store), "/images"));
}

static void
test_blobs (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *back = NULL;
  gsize len;
  berth_autofd int fd = -1;
  const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

  g_assert_true (berth_store_write_blob (f->store, "abc", 3, NULL, &digest, &error));
  g_assert_cmpstr (digest, ==,
                   "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  g_assert_true (berth_store_has_blob (f->store, digest));
  g_assert_true (berth_store_read_blob (f->store, digest, 100, &back, &len, &error));
  g_assert_cmpstr (back, ==, "abc");
  fd = berth_store_open_blob (f->store, digest, &error);
  g_assert_cmpint (fd, >=, 0);
  g_assert_false (berth_store_write_blob (f->store, "abd", 3, digest, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
  g_clear_error (&error);
  g_assert_false (berth_store_has_blob (f->store, wrong));
  g_assert_cmpint (berth_store_open_blob (f->store, wrong, &error), <, 0);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);
  g_assert_false (berth_store_read_blob (f->store, wrong, 100, &back, &len, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);
  g_assert_false (berth_store_has_blob (f->store, "sha256:nothex"));
}

/* Two images sharing their bottom layer: stored once; removing one keeps
 * the other whole. */
static void
test_shared_layers (Fixture *f, gconstpointer data)
{
  berth_autofd int base = layer_with ("base", "shared");
  berth_autofd int top1 = layer_with ("one", "1");
  berth_autofd int top2 = layer_with ("two", "2");
  int fds1[] = { base, top1 }, fds2[] = { base, top2 };
  g_autoptr (BerthStoreImage) a = add_layered (f, fds1, 2, "a");
  g_autoptr (BerthStoreImage) b = add_layered (f, fds2, 2, "b");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = images_dir (f);
  g_autofree char *layers = g_build_filename (dir, "layers", NULL);
  g_autoptr (GDir) d = NULL;
  g_autofree char *snapshot = NULL;
  g_autofree char *removed = NULL;
  gboolean deleted = FALSE;
  guint n = 0;

  g_assert_cmpstr (a->chain_ids[0], ==, b->chain_ids[0]);
  g_assert_cmpstr (a->chain_ids[1], !=, b->chain_ids[1]);
  d = g_dir_open (layers, 0, NULL);
  while (g_dir_read_name (d))
    n++;
  g_assert_cmpuint (n, ==, 3);

  g_assert_true (berth_store_remove_image (f->store, "a", FALSE, &removed, &deleted, &error));
  g_assert_no_error (error);
  g_assert_true (deleted);
  g_assert_cmpstr (removed, ==, a->id);
  g_assert_true (berth_store_has_layer (f->store, b->chain_ids[0]));
  g_assert_true (berth_store_has_layer (f->store, b->chain_ids[1]));
  g_assert_false (berth_store_has_layer (f->store, a->chain_ids[1]));
  g_assert_false (berth_store_has_blob (f->store, a->id));
  g_assert_false (berth_store_has_blob (f->store, a->layer_digests[1]));
  g_assert_true (berth_store_has_blob (f->store, b->layer_digests[0]));

  /* Reopening finds nothing to repair or collect. */
  snapshot = test_tree_snapshot (dir);
  {
    g_auto (BerthStoreReport) report = { 0 };
    BerthStore *again = berth_store_open (f->root, 0, &report, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (report.removed_unused + report.repaired_layers + report.removed_images, ==,
                      0);
    g_assert_cmpuint (berth_store_count_images (again), ==, 1);
    berth_store_free (again);
  }
  {
    g_autofree char *after = test_tree_snapshot (dir);

    g_assert_cmpstr (snapshot, ==, after);
  }
}

static void
test_tag_and_untag (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) image = import (f, "f", "x", "first:1");
  g_autoptr (BerthStoreImage) other = import (f, "g", "y", "second");
  g_autoptr (BerthStoreImage) found = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  gboolean deleted = TRUE;
  g_autoptr (GPtrArray) list = NULL;

  g_assert_true (
    berth_store_tag_image (f->store, "first:1", "registry.example:5000/team/app:v2", &error));
  g_assert_no_error (error);
  found = berth_store_find_image (f->store, "registry.example:5000/team/app:v2", &error);
  g_assert_cmpstr (found->id, ==, image->id);
  g_assert_cmpuint (g_strv_length (found->names), ==, 2);

  /* A name moves: tagging "second" onto image takes it from other. */
  g_assert_true (berth_store_tag_image (f->store, image->id, "second", &error));
  g_clear_pointer (&found, berth_store_image_free);
  found = berth_store_find_image (f->store, other->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (found->names), ==, 0);

  g_assert_false (berth_store_tag_image (f->store, "first:1", "bad@sha256:x", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (berth_store_tag_image (f->store, "missing", "x", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);

  /* Removing one of three names only untags. */
  g_assert_true (berth_store_remove_image (f->store, "first:1", FALSE, &id, &deleted, &error));
  g_assert_false (deleted);
  g_assert_true (berth_store_has_blob (f->store, image->id));
  /* By ID with two names left: needs force. */
  g_assert_false (berth_store_remove_image (f->store, image->id, FALSE, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_IN_USE);
  g_clear_error (&error);
  g_assert_true (berth_store_remove_image (f->store, image->id, TRUE, NULL, &deleted, &error));
  g_assert_true (deleted);
  list = berth_store_list_images (f->store);
  g_assert_cmpuint (list->len, ==, 1);
}

static void
test_hold (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) image = import (f, "f", "x", "held");
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_store_hold_image (f->store, image->id, &error));
  g_assert_false (berth_store_remove_image (f->store, "held", TRUE, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_IN_USE);
  g_clear_error (&error);
  berth_store_release_image (f->store, image->id);
  g_assert_true (berth_store_remove_image (f->store, "held", FALSE, NULL, NULL, &error));
  g_assert_false (berth_store_hold_image (f->store, image->id, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
}

/* Every malicious layer, and layers that do not match the digests they
 * claim, are refused and leave the store as it was, byte for byte. */
static const char *const corpus[] = {
  "absolute",   "dotdot",    "through-symlink", "hardlink-outside", "declared-size",
  "total-size", "truncated", "corrupt",         "wrong-digest",     "wrong-diff-id",
};

static int
corpus_layer (const char *name)
{
  TestTar *t = test_tar_new (BERTH_COMPRESSION_GZIP);
  int fd;

  test_tar_file (t, "fine", "fine", 0644);
  if (g_str_equal (name, "absolute"))
    test_tar_file (t, "/abs", "x", 0644);
  else if (g_str_equal (name, "dotdot"))
    test_tar_file (t, "../up", "x", 0644);
  else if (g_str_equal (name, "through-symlink"))
    {
      test_tar_symlink (t, "s", "/");
      test_tar_file (t, "s/x", "x", 0644);
    }
  else if (g_str_equal (name, "hardlink-outside"))
    test_tar_hardlink (t, "h", "nothere");
  else if (g_str_equal (name, "declared-size"))
    test_tar_declared (t, "big", 2 * 1024 * 1024);
  else if (g_str_equal (name, "total-size"))
    {
      g_autofree char *big = g_strnfill (700 * 1024, 'b');

      test_tar_file (t, "b1", big, 0644);
      test_tar_file (t, "b2", big, 0644);
    }
  else
    {
      g_autofree char *many = g_strnfill (100000, 'm');

      for (int i = 0; i < 5; i++)
        {
          g_autofree char *path = g_strdup_printf ("f%d", i);

          test_tar_file (t, path, many, 0644);
        }
    }
  fd = test_tar_finish (t);
  if (g_str_equal (name, "truncated"))
    {
      int cut = test_fd_truncated (fd, test_fd_size (fd) - 10);

      close (fd);
      return cut;
    }
  if (g_str_equal (name, "corrupt"))
    {
      int bad = test_fd_corrupted (fd, test_fd_size (fd) / 2);

      close (fd);
      return bad;
    }
  return fd;
}

static void
test_corpus (Fixture *f, gconstpointer data)
{
  const char *name = data;
  g_autoptr (BerthStoreImage) keep = import (f, "keep", "me", "keep");
  g_autofree char *dir = images_dir (f);
  g_autofree char *before = test_tree_snapshot (dir);
  g_autofree char *after = NULL;
  berth_autofd int fd = corpus_layer (name);
  g_autoptr (GError) error = NULL;
  const char *wrong = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

  if (g_str_equal (name, "wrong-digest") || g_str_equal (name, "wrong-diff-id"))
    {
      g_autofree char *digest = NULL;
      g_autofree char *diff_id = NULL;
      berth_autofd int sink = memfd_create ("sink", MFD_CLOEXEC);

      g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, NULL, NULL));
      lseek (fd, 0, SEEK_SET);
      g_assert_true (berth_unpack_decompress (fd, sink, 0, &diff_id, NULL, NULL, NULL));
      lseek (fd, 0, SEEK_SET);
      g_assert_false (berth_store_commit_layer (
        f->store, fd, NULL, g_str_equal (name, "wrong-digest") ? wrong : digest,
        g_str_equal (name, "wrong-diff-id") ? wrong : diff_id, NULL, NULL, NULL, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH);
    }
  else
    {
      g_assert_null (berth_store_import_rootfs (f->store, fd, "evil", NULL, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == BERTH_ERROR);
    }
  g_test_message ("%s: %s", name, error->message);
  after = test_tree_snapshot (dir);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpuint (berth_store_count_images (f->store), ==, 1);
}

/* Across a restart, staging/pull keeps verified blobs and cut downloads
 * named by a digest (for a day); everything else there goes. */
static void
test_staged_downloads (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = images_dir (f);
  g_autofree char *pull = g_build_filename (dir, "staging", "pull", NULL);
  const char *hex = "4f1cd08b3c7bcbfde2d4a3e6b2a26b49d1b8d1ef0f3c0a41b86a5d9bdb7cbb5e";
  g_autofree char *verified = g_build_filename (pull, hex, NULL);
  g_autofree char *partial = g_strdup_printf ("%s/%s.partial", pull, hex);
  g_autofree char *stale = g_build_filename (
    pull, "0000000000000000000000000000000000000000000000000000000000000000", NULL);
  g_autofree char *odd = g_build_filename (pull, "notadigest", NULL);
  g_autofree char *other = g_strdup_printf ("%s/%s.tmp", pull, hex);
  g_autofree char *subdir = g_build_filename (
    pull, "1111111111111111111111111111111111111111111111111111111111111111", NULL);
  g_autoptr (GError) error = NULL;
  g_auto (BerthStoreReport) report = { 0 };
  struct timeval old[2]
    = { { time (NULL) - 2 * 24 * 3600, 0 }, { time (NULL) - 2 * 24 * 3600, 0 } };

  berth_store_free (f->store);
  f->store = NULL;
  g_assert_cmpint (g_mkdir_with_parents (pull, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (subdir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (verified, "v", -1, NULL));
  g_assert_true (g_file_set_contents (partial, "p", -1, NULL));
  g_assert_true (g_file_set_contents (stale, "s", -1, NULL));
  g_assert_cmpint (utimes (stale, old), ==, 0);
  g_assert_true (g_file_set_contents (odd, "o", -1, NULL));
  g_assert_true (g_file_set_contents (other, "t", -1, NULL));

  f->store = berth_store_open (f->root, 0, &report, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (verified, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (partial, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (odd, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (subdir, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (report.removed_leftovers, ==, 4);
}

static void
test_startup_repair (Fixture *f, gconstpointer data)
{
  g_autoptr (BerthStoreImage) a = import (f, "a", "1", "repairable");
  g_autoptr (BerthStoreImage) b = import (f, "b", "2", "lost");
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = images_dir (f);
  g_autofree char *layer_a
    = g_build_filename (dir, "layers", berth_digest_hex (a->chain_ids[0]), NULL);
  g_autofree char *layer_b
    = g_build_filename (dir, "layers", berth_digest_hex (b->chain_ids[0]), NULL);
  g_autofree char *blob_b
    = g_build_filename (dir, "blobs/sha256", berth_digest_hex (b->layer_digests[0]), NULL);
  g_autofree char *leftover = g_build_filename (dir, "staging", "layer-deadbeef", NULL);
  g_autofree char *tmpfile = g_build_filename (dir, "blobs/sha256", ".x.tmp-1234", NULL);
  g_autofree char *cmd = NULL;
  g_auto (BerthStoreReport) report = { 0 };
  BerthStore *store;
  g_autoptr (BerthStoreImage) found = NULL;

  berth_store_free (f->store);
  f->store = NULL;
  /* a's layer vanished but its blob is there; b lost layer and blob. */
  cmd = g_strdup_printf ("rm -rf '%s' '%s' '%s'", layer_a, layer_b, blob_b);
  g_assert_cmpint (system (cmd), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (leftover, 0700), ==, 0);
  g_assert_true (g_file_set_contents (tmpfile, "half", -1, NULL));

  store = berth_store_open (f->root, 0, &report, &error);
  g_assert_no_error (error);
  f->store = store;
  g_assert_cmpuint (report.repaired_layers, ==, 1);
  g_assert_cmpuint (report.removed_images, ==, 1);
  g_assert_cmpuint (report.removed_leftovers, ==, 2);
  g_assert_nonnull (report.messages);
  g_assert_false (g_file_test (leftover, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tmpfile, G_FILE_TEST_EXISTS));
  g_assert_true (berth_store_has_layer (store, a->chain_ids[0]));
  found = berth_store_find_image (store, "repairable", &error);
  g_assert_no_error (error);
  g_assert_null (berth_store_find_image (store, "lost", NULL));
  /* What only the dropped image used is gone. */
  g_assert_false (berth_store_has_blob (store, b->id));
}

static void
test_gc (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint removed = 0;
  g_autofree char *digest = NULL;

  g_assert_true (berth_store_write_blob (f->store, "orphan", 6, NULL, &digest, &error));
  /* While a writer is active, nothing is collected. */
  berth_store_begin_write (f->store);
  g_assert_true (berth_store_gc (f->store, &removed, &error));
  g_assert_cmpuint (removed, ==, 0);
  berth_store_end_write (f->store);
  g_assert_true (berth_store_has_blob (f->store, digest));
  g_assert_true (berth_store_gc (f->store, &removed, &error));
  g_assert_cmpuint (removed, ==, 1);
  g_assert_false (berth_store_has_blob (f->store, digest));
}

static void
test_lower_links (Fixture *f, gconstpointer data)
{
  berth_autofd int l0 = layer_with ("0", "0");
  berth_autofd int l1 = layer_with ("1", "1");
  int fds[] = { l0, l1 };
  g_autoptr (BerthStoreImage) image = add_layered (f, fds, 2, "links");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) links = berth_store_image_lower_links (f->store, "links", &error);
  g_autofree char *links_dir = berth_store_links_dir (f->store);
  g_autofree char *top = NULL;
  g_autofree char *content = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (links), ==, 2);
  g_assert_cmpuint (strlen (links[0]), ==, 16);
  /* Top layer first. */
  top = g_build_filename (links_dir, links[0], "1", NULL);
  g_assert_true (g_file_get_contents (top, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "1");
  g_assert_null (berth_store_image_lower_links (f->store, "nope", NULL));
}

static void
test_set_max (Fixture *f, gconstpointer data)
{
  berth_autofd int fd = layer_with ("f", "0123456789");
  g_autoptr (GError) error = NULL;

  berth_store_set_max_layer_size (f->store, 100);
  g_assert_null (berth_store_import_rootfs (f->store, fd, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED);
}

static void
test_image_copy (void)
{
  BerthStoreImage image = { .id = (char *)"sha256:x",
                            .manifest_digest = (char *)"m",
                            .names = (char *[]){ (char *)"n", NULL },
                            .diff_ids = (char *[]){ NULL },
                            .chain_ids = (char *[]){ NULL },
                            .layer_digests = (char *[]){ NULL },
                            .size = 5 };
  g_autoptr (BerthStoreImage) copy = berth_store_image_copy (&image);

  g_assert_cmpstr (copy->id, ==, "sha256:x");
  g_assert_cmpstr (copy->names[0], ==, "n");
  g_assert_cmpuint (copy->size, ==, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/store/image-copy", test_image_copy);
  g_test_add ("/store/import-and-find", Fixture, NULL, setup, test_import_and_find, teardown);
  g_test_add ("/store/blobs", Fixture, NULL, setup, test_blobs, teardown);
  g_test_add ("/store/shared-layers", Fixture, NULL, setup, test_shared_layers, teardown);
  g_test_add ("/store/tag-and-untag", Fixture, NULL, setup, test_tag_and_untag, teardown);
  g_test_add ("/store/hold", Fixture, NULL, setup, test_hold, teardown);
  g_test_add ("/store/startup-repair", Fixture, NULL, setup, test_startup_repair, teardown);
  g_test_add ("/store/staged-downloads", Fixture, NULL, setup, test_staged_downloads, teardown);
  g_test_add ("/store/gc", Fixture, NULL, setup, test_gc, teardown);
  g_test_add ("/store/lower-links", Fixture, NULL, setup, test_lower_links, teardown);
  g_test_add ("/store/max-layer-size", Fixture, NULL, setup, test_set_max, teardown);
  for (gsize i = 0; i < G_N_ELEMENTS (corpus); i++)
    {
      g_autofree char *name = g_strdup_printf ("/store/malicious/%s", corpus[i]);

      g_test_add (name, Fixture, corpus[i], setup, test_corpus, teardown);
    }
  return g_test_run ();
}
