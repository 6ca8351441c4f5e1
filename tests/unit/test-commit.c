/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth-commit.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-store.h"
#include "test-layers.h"

typedef struct
{
  char *root;
  char *upper;
  int upper_fd;
  BerthStore *store;
  BerthStoreImage *base;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  TestTar *t = test_tar_new (BERTH_COMPRESSION_GZIP);
  berth_autofd int fd = -1;

  f->root = test_scratch_dir ();
  f->store = berth_store_open (f->root, 0, NULL, &error);
  g_assert_no_error (error);
  test_tar_dir (t, "etc", 0755);
  test_tar_file (t, "etc/keep", "keep\n", 0644);
  test_tar_file (t, "etc/gone", "gone\n", 0644);
  test_tar_dir (t, "srv", 0755);
  test_tar_file (t, "srv/old", "old\n", 0644);
  fd = test_tar_finish (t);
  f->base = berth_store_import_rootfs (f->store, fd, "base:1", NULL, &error);
  g_assert_no_error (error);

  f->upper = g_build_filename (f->root, "upper", NULL);
  g_assert_cmpint (mkdir (f->upper, 0755), ==, 0);
  f->upper_fd = open (f->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (f->upper_fd, >=, 0);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  close (f->upper_fd);
  g_free (f->upper);
  berth_store_image_free (f->base);
  berth_store_free (f->store);
  test_scratch_remove (f->root);
}

static void
upper_file (Fixture *f, const char *path, const char *content)
{
  g_autofree char *full = g_build_filename (f->upper, path, NULL);
  g_autofree char *dir = g_path_get_dirname (full);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (full, content, -1, NULL));
}

static BerthImageConfig *
image_config (Fixture *f, const BerthStoreImage *image)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;
  BerthImageConfig *config;

  g_assert_true (berth_store_read_blob (f->store, image->id, 1 << 20, &data, &len, &error));
  config = berth_image_config_parse (data, len, &error);
  g_assert_no_error (error);
  return config;
}

static BerthManifest *
image_manifest (Fixture *f, const BerthStoreImage *image)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;
  BerthManifest *manifest;

  g_assert_true (
    berth_store_read_blob (f->store, image->manifest_digest, 1 << 20, &data, &len, &error));
  manifest = berth_manifest_parse (data, len, &error);
  g_assert_no_error (error);
  return manifest;
}

/* A container's changes become one more layer on top of the parent's. */
static void
test_layer_commit (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (JsonObject) run = json_object_new ();
  g_autoptr (JsonObject) doc = NULL;
  g_autofree char *layer_dir = NULL;
  g_autofree char *wh = NULL;
  g_autofree char *digest = NULL;
  const char *names[] = { "committed:v1", NULL };
  const char *excludes[] = { "/srv/volume", NULL };
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  const BerthHistoryEntry *last;
  const BerthDescriptor *top;
  struct stat st;
  JsonArray *cmd = json_array_new ();
  berth_autofd int blob_fd = -1;

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (whiteouts are device nodes)");
      return;
    }
  upper_file (f, "etc/new", "new\n");
  upper_file (f, "srv/volume/data", "volume data\n");
  wh = g_build_filename (f->upper, "etc/gone", NULL);
  g_assert_cmpint (mknod (wh, S_IFCHR, makedev (0, 0)), ==, 0);

  json_array_add_string_element (cmd, "/bin/true");
  json_object_set_array_member (run, "Cmd", cmd);
  o.parent = "base:1";
  o.config = run;
  o.author = "A. U. Thor <a@example.org>";
  o.comment = "first commit";
  o.created_by = "/bin/sh";
  o.created = 1700000000;
  o.upper_dirfd = f->upper_fd;
  o.excludes = excludes;
  o.names = names;
  image = berth_commit_image (f->store, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (image);

  g_assert_cmpuint (g_strv_length (image->diff_ids), ==, 2);
  g_assert_cmpstr (image->diff_ids[0], ==, f->base->diff_ids[0]);
  g_assert_cmpstr (image->names[0], ==, "docker.io/library/committed:v1");

  config = image_config (f, image);
  g_assert_cmpint (config->created, ==, 1700000000);
  g_assert_cmpstr (config->author, ==, "A. U. Thor <a@example.org>");
  g_assert_cmpuint (config->history->len, ==, 2);
  last = g_ptr_array_index (config->history, 1);
  g_assert_cmpstr (last->comment, ==, "first commit");
  g_assert_cmpstr (last->created_by, ==, "/bin/sh");
  g_assert_cmpstr (last->author, ==, "A. U. Thor <a@example.org>");
  g_assert_false (last->empty_layer);
  doc = berth_commit_get_run_config (f->store, image->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (doc, "Cmd"), 0), ==,
                   "/bin/true");

  /* The top layer: an uncompressed tar whose blob digest is its diff_id. */
  manifest = image_manifest (f, image);
  g_assert_cmpuint (manifest->layers->len, ==, 2);
  top = g_ptr_array_index (manifest->layers, 1);
  g_assert_cmpstr (top->media_type, ==, BERTH_MEDIA_OCI_LAYER);
  g_assert_cmpstr (top->digest, ==, image->diff_ids[1]);
  g_assert_cmpstr (((BerthDescriptor *)g_ptr_array_index (manifest->layers, 0))->media_type, ==,
                   BERTH_MEDIA_OCI_LAYER_GZIP);
  blob_fd = berth_store_open_blob (f->store, top->digest, &error);
  g_assert_no_error (error);
  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, blob_fd, &digest, NULL, NULL));
  g_assert_cmpstr (digest, ==, top->digest);

  /* The layer directory holds the changes in overlay form, not the volume. */
  layer_dir = berth_store_layer_path (f->store, image->chain_ids[1]);
  {
    g_autofree char *new_file = g_build_filename (layer_dir, "etc/new", NULL);
    g_autofree char *gone = g_build_filename (layer_dir, "etc/gone", NULL);
    g_autofree char *volume = g_build_filename (layer_dir, "srv/volume", NULL);
    g_autofree char *content = NULL;

    g_assert_true (g_file_get_contents (new_file, &content, NULL, NULL));
    g_assert_cmpstr (content, ==, "new\n");
    g_assert_cmpint (lstat (gone, &st), ==, 0);
    g_assert_true (S_ISCHR (st.st_mode) && st.st_rdev == 0);
    g_assert_cmpint (lstat (volume, &st), ==, -1);
  }

  /* It survives a reopening of the store (what a berthd restart does),
   * which checks every record against its content. */
  {
    g_auto (BerthStoreReport) report = { 0 };
    g_autoptr (BerthStoreImage) again = NULL;

    berth_store_free (f->store);
    f->store = berth_store_open (f->root, 0, &report, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (report.removed_images, ==, 0);
    g_assert_cmpuint (report.repaired_layers, ==, 0);
    again = berth_store_find_image (f->store, "committed:v1", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (again->id, ==, image->id);
  }
}

/* ENV, CMD, LABEL steps: a new config and history entry, no layer. */
static void
test_metadata_only (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (BerthStoreImage) again = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (JsonObject) run = NULL;
  g_autoptr (JsonObject) base_run = NULL;
  g_autoptr (JsonObject) labels = json_object_new ();
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  const BerthHistoryEntry *last;
  guint before = berth_store_count_images (f->store);

  run = berth_commit_get_run_config (f->store, f->base->id, &error);
  g_assert_no_error (error);
  json_object_set_string_member (labels, "stage", "test");
  json_object_set_object_member (run, "Labels", json_object_ref (labels));
  o.parent = f->base->id;
  o.config = run;
  o.created_by = "/bin/sh -c #(nop) LABEL stage=test";
  o.created = 1700000001;
  image = berth_commit_image (f->store, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (berth_store_count_images (f->store), ==, before + 1);
  g_assert_cmpuint (g_strv_length (image->names), ==, 0);
  g_assert_cmpstrv (image->diff_ids, f->base->diff_ids);
  g_assert_cmpstr (image->manifest_digest, !=, f->base->manifest_digest);

  config = image_config (f, image);
  g_assert_cmpstr (g_hash_table_lookup (config->labels, "stage"), ==, "test");
  last = g_ptr_array_index (config->history, config->history->len - 1);
  g_assert_true (last->empty_layer);
  g_assert_cmpstr (last->created_by, ==, "/bin/sh -c #(nop) LABEL stage=test");
  manifest = image_manifest (f, image);
  g_assert_cmpuint (manifest->layers->len, ==, 1);

  /* The whole document: the history grew by one, rootfs is the parent's. */
  {
    g_autoptr (JsonObject) doc = berth_commit_get_image_config (f->store, image->id, &error);
    JsonArray *history;

    g_assert_no_error (error);
    history = json_object_get_array_member (doc, "history");
    g_assert_cmpuint (json_array_get_length (history), ==, 2);
    g_assert_true (
      json_object_get_boolean_member (json_array_get_object_element (history, 1), "empty_layer"));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                        json_object_get_object_member (doc, "rootfs"), "diff_ids")),
                      ==, 1);
    g_assert_null (berth_commit_get_image_config (f->store, "sha256:0000", &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
    g_clear_error (&error);
  }

  /* The parent's run config was copied, not changed. */
  base_run = berth_commit_get_run_config (f->store, f->base->id, &error);
  g_assert_false (json_object_has_member (base_run, "Labels"));

  /* The same step again (same inputs, same second) is the same image. */
  again = berth_commit_image (f->store, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->id, ==, image->id);
  g_assert_cmpuint (berth_store_count_images (f->store), ==, before + 1);
}

/* FROM scratch: no parent, the first layer from a plain tree. */
static void
test_from_scratch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  const char *names[] = { "scratchy", NULL };

  upper_file (f, "hello", "hi\n");
  o.upper_dirfd = f->upper_fd;
  o.layer_flags = BERTH_LAYER_DIFF_NONE;
  o.names = names;
  image = berth_commit_image (f->store, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (image->diff_ids), ==, 1);
  g_assert_cmpstr (image->chain_ids[0], ==, image->diff_ids[0]);
  config = image_config (f, image);
  g_assert_nonnull (config->architecture);
  g_assert_cmpstr (config->os, ==, "linux");
  g_assert_cmpuint (config->history->len, ==, 1);
  g_assert_true (config->created > 0);
}

/* Bad input: one error, nothing added. */
static void
test_bad_input (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  const char *bad_names[] = { "Bad Name!", NULL };
  const char *bad_excludes[] = { "../etc", NULL };
  guint before = berth_store_count_images (f->store);

  o.parent = "nosuchimage:latest";
  g_assert_null (berth_commit_image (f->store, &o, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_clear_error (&error);

  o.parent = "base:1";
  o.names = bad_names;
  o.upper_dirfd = f->upper_fd;
  g_assert_null (berth_commit_image (f->store, &o, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  o.names = NULL;
  o.excludes = bad_excludes;
  g_assert_null (berth_commit_image (f->store, &o, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (berth_commit_get_run_config (f->store, "nosuchimage", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_assert_cmpuint (berth_store_count_images (f->store), ==, before);
}

/* berth_store_commit_tree on its own: a layer already stored stays. */
static void
test_commit_tree_twice (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_auto (BerthUnpackResult) first = { 0 };
  g_auto (BerthUnpackResult) second = { 0 };
  g_autofree char *chain1 = NULL, *chain2 = NULL;
  const char *parent = f->base->chain_ids[0];

  upper_file (f, "etc/x", "x\n");
  g_assert_true (
    berth_store_commit_tree (f->store, f->upper_fd, parent, NULL, &first, &chain1, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (first.digest, ==, first.diff_id);
  g_assert_cmpint (first.compression, ==, BERTH_COMPRESSION_NONE);
  g_assert_true (berth_store_has_layer (f->store, chain1));
  g_assert_true (
    berth_store_commit_tree (f->store, f->upper_fd, parent, NULL, &second, &chain2, NULL, &error));
  g_assert_cmpstr (chain1, ==, chain2);

  g_assert_false (berth_store_commit_tree (f->store, f->upper_fd,
                                           "sha256:"
                                           "00000000000000000000000000000000000000000000000000000"
                                           "00000000000",
                                           NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/commit/" name, Fixture, NULL, setup, fn, teardown)
  ADD ("layer", test_layer_commit);
  ADD ("metadata-only", test_metadata_only);
  ADD ("from-scratch", test_from_scratch);
  ADD ("bad-input", test_bad_input);
  ADD ("commit-tree-twice", test_commit_tree_twice);
  return g_test_run ();
}
