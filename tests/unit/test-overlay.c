/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-image-config.h"
#include "berth-overlay.h"
#include "berth-store.h"
#include "test-layers.h"

typedef struct
{
  char *root;
  BerthStore *store;
  char *mnt, *upper, *work;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->root = test_scratch_dir ();
  f->store = berth_store_open (f->root, 0, NULL, &error);
  g_assert_no_error (error);
  f->mnt = g_build_filename (f->root, "mnt", NULL);
  f->upper = g_build_filename (f->root, "upper", NULL);
  f->work = g_build_filename (f->root, "work", NULL);
  g_assert_cmpint (g_mkdir (f->mnt, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->upper, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->work, 0755), ==, 0);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  berth_overlay_unmount (f->mnt, NULL);
  berth_store_free (f->store);
  test_scratch_remove (f->root);
  g_free (f->mnt);
  g_free (f->upper);
  g_free (f->work);
}

/* Commits @fd on top of *parent; returns the new chain in *parent. */
static void
commit (Fixture *f, int fd, char **parent)
{
  g_autoptr (GError) error = NULL;
  char *chain = NULL;

  g_assert_true (
    berth_store_commit_layer (f->store, fd, *parent, NULL, NULL, NULL, &chain, NULL, &error));
  g_assert_no_error (error);
  close (fd);
  g_free (*parent);
  *parent = chain;
}

static char **
links_for (char **chains, guint n)
{
  char **links = g_new0 (char *, n + 1);

  /* Top first, as berth_store_image_lower_links gives them. */
  for (guint i = 0; i < n; i++)
    links[i] = g_strndup (chains[n - 1 - i] + 7, 16);
  return links;
}

static gboolean
exists (const char *dir, const char *path)
{
  g_autofree char *full = g_build_filename (dir, path, NULL);
  struct stat st;

  return lstat (full, &st) == 0;
}

static void
test_multilayer_mount (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *links_dir = berth_store_links_dir (f->store);
  g_autofree char *written = g_build_filename (f->mnt, "new", NULL);
  g_autofree char *in_upper = g_build_filename (f->upper, "new", NULL);
  g_auto (GStrv) links = NULL;
  char *chains[3];
  TestTar *t;

  if (geteuid () != 0)
    {
      g_test_skip ("overlay mounts need root");
      return;
    }

  t = test_tar_new (BERTH_COMPRESSION_GZIP);
  test_tar_file (t, "a", "a", 0644);
  test_tar_file (t, "b", "b", 0644);
  test_tar_file (t, "d/x", "x", 0644);
  test_tar_file (t, "d/y", "y", 0644);
  test_tar_file (t, "keepdir/k", "k", 0644);
  commit (f, test_tar_finish (t), &parent);
  chains[0] = g_strdup (parent);

  t = test_tar_new (BERTH_COMPRESSION_ZSTD);
  test_tar_file (t, ".wh.a", "", 0644);
  test_tar_dir (t, "d", 0755);
  test_tar_file (t, "d/.wh..wh..opq", "", 0644);
  test_tar_file (t, "d/z", "z", 0644);
  test_tar_file (t, "keepdir/.wh.k", "", 0644);
  commit (f, test_tar_finish (t), &parent);
  chains[1] = g_strdup (parent);

  t = test_tar_new (BERTH_COMPRESSION_NONE);
  test_tar_file (t, "c", "c", 0644);
  commit (f, test_tar_finish (t), &parent);
  chains[2] = g_strdup (parent);

  links = links_for (chains, 3);
  g_assert_true (
    berth_overlay_mount (links_dir, (const char *const *)links, f->upper, f->work, f->mnt, &error));
  g_assert_no_error (error);

  g_assert_false (exists (f->mnt, "a")); /* deleted by a whiteout */
  g_assert_true (exists (f->mnt, "b"));
  g_assert_true (exists (f->mnt, "c"));
  g_assert_true (exists (f->mnt, "d/z"));
  g_assert_false (exists (f->mnt, "d/x")); /* hidden by the opaque directory */
  g_assert_false (exists (f->mnt, "d/y"));
  g_assert_true (exists (f->mnt, "keepdir"));
  g_assert_false (exists (f->mnt, "keepdir/k"));
  g_assert_true (g_file_set_contents (written, "rw", -1, NULL));
  g_assert_true (g_file_test (in_upper, G_FILE_TEST_EXISTS));

  g_assert_true (berth_overlay_unmount (f->mnt, &error));
  g_assert_no_error (error);
  g_assert_false (exists (f->mnt, "b"));
  /* Not mounted any more: still fine. */
  g_assert_true (berth_overlay_unmount (f->mnt, &error));
  for (int i = 0; i < 3; i++)
    g_free (chains[i]);
}

/* 120 layers: the lowerdir string of short links fits in a page. */
static void
test_many_layers (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *links_dir = berth_store_links_dir (f->store);
  g_autoptr (GPtrArray) chains = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) links = NULL;
  const guint n = 120;

  if (geteuid () != 0)
    {
      g_test_skip ("overlay mounts need root");
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      TestTar *t = test_tar_new (BERTH_COMPRESSION_NONE);
      g_autofree char *name = g_strdup_printf ("layer%u", i);

      test_tar_file (t, name, name, 0644);
      commit (f, test_tar_finish (t), &parent);
      g_ptr_array_add (chains, g_strdup (parent));
    }
  links = links_for ((char **)chains->pdata, n);
  g_assert_true (
    berth_overlay_mount (links_dir, (const char *const *)links, f->upper, f->work, f->mnt, &error));
  g_assert_no_error (error);
  g_assert_true (exists (f->mnt, "layer0"));
  g_assert_true (exists (f->mnt, "layer119"));
  g_assert_true (berth_overlay_unmount (f->mnt, &error));
}

static void
test_options (void)
{
  g_autoptr (GError) error = NULL;
  const char *two[] = { "aaaa", "bbbb", NULL };
  const char *bad[] = { "a:b", NULL };
  const char *none[] = { NULL };
  g_autofree char *opts = berth_overlay_options (two, "/u", "/w", &error);
  g_autofree char *ro = berth_overlay_options (two, NULL, NULL, &error);
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *too_many = NULL;

  g_assert_cmpstr (opts, ==, "lowerdir=aaaa:bbbb,upperdir=/u,workdir=/w");
  g_assert_cmpstr (ro, ==, "lowerdir=aaaa:bbbb");
  g_assert_null (berth_overlay_options (bad, "/u", "/w", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_overlay_options (none, "/u", "/w", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_overlay_options (two, "relative", "/w", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  for (int i = 0; i < 400; i++)
    g_ptr_array_add (many, g_strdup ("0123456789abcdef"));
  g_ptr_array_add (many, NULL);
  too_many = berth_overlay_options ((const char *const *)many->pdata, "/u", "/w", &error);
  g_assert_null (too_many);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED);
}

/* The whole path a container takes: import an image, mount its root. */
static void
test_mount_image (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autofree char *content = NULL;
  g_autofree char *file = g_build_filename (f->mnt, "etc", "os-release", NULL);
  TestTar *t;
  int fd;

  if (geteuid () != 0)
    {
      g_test_skip ("overlay mounts need root");
      return;
    }
  t = test_tar_new (BERTH_COMPRESSION_GZIP);
  test_tar_file (t, "etc/os-release", "ID=berth\n", 0644);
  fd = test_tar_finish (t);
  image = berth_store_import_rootfs (f->store, fd, "root:1", NULL, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_true (berth_store_mount_image (f->store, "root:1", f->upper, f->work, f->mnt, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (file, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "ID=berth\n");
  g_assert_true (berth_overlay_unmount (f->mnt, &error));
  g_assert_false (berth_store_mount_image (f->store, "nothere", f->upper, f->work, f->mnt, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
}

static void
test_mount_errors (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *links[] = { "0000000000000000", NULL };
  g_autofree char *links_dir = berth_store_links_dir (f->store);

  if (geteuid () != 0)
    {
      g_test_skip ("overlay mounts need root");
      return;
    }
  g_assert_false (berth_overlay_mount (links_dir, links, f->upper, f->work, f->mnt, &error));
  g_assert_nonnull (strstr (error->message, "cannot mount the overlay"));
  g_clear_error (&error);
  g_assert_false (berth_overlay_mount ("/nonexistent", links, f->upper, f->work, f->mnt, &error));
  g_assert_nonnull (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/overlay/options", test_options);
  g_test_add ("/overlay/multilayer-mount", Fixture, NULL, setup, test_multilayer_mount, teardown);
  g_test_add ("/overlay/many-layers", Fixture, NULL, setup, test_many_layers, teardown);
  g_test_add ("/overlay/mount-image", Fixture, NULL, setup, test_mount_image, teardown);
  g_test_add ("/overlay/mount-errors", Fixture, NULL, setup, test_mount_errors, teardown);
  return g_test_run ();
}
