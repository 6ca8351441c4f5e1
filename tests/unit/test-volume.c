/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-volume.h"

static char *
make_tmp (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("berth-volume-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
rm_tmp (const char *dir)
{
  g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, dir, NULL));
}

static void
test_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *long_name = g_strnfill (BERTH_VOLUME_NAME_MAX + 1, 'a');
  g_autofree char *max_name = g_strnfill (BERTH_VOLUME_NAME_MAX, 'a');
  g_autofree char *anon = berth_volume_new_anonymous_name ();
  g_autofree char *anon2 = berth_volume_new_anonymous_name ();
  const char *const good[] = { "data", "a", "db-1.data_x", "9lives", NULL };
  const char *const bad[] = { "", "a/b", "..", "a..b", ".hidden", "-x", "_x", "a b", "a:b", NULL };

  for (guint i = 0; good[i]; i++)
    {
      g_assert_true (berth_volume_name_validate (good[i], &error));
      g_assert_no_error (error);
    }
  g_assert_true (berth_volume_name_validate (max_name, NULL));
  for (guint i = 0; bad[i]; i++)
    {
      g_assert_false (berth_volume_name_validate (bad[i], &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_false (berth_volume_name_validate (NULL, NULL));
  g_assert_false (berth_volume_name_validate (long_name, &error));
  g_assert_nonnull (strstr (error->message, "too long"));
  g_clear_error (&error);
  g_assert_false (berth_volume_name_validate ("a/b", &error));
  g_assert_nonnull (strstr (error->message, "\"/\""));
  g_clear_error (&error);

  g_assert_cmpuint (strlen (anon), ==, 64);
  g_assert_cmpuint (strspn (anon, "0123456789abcdef"), ==, 64);
  g_assert_cmpstr (anon, !=, anon2);
  g_assert_true (berth_volume_name_validate (anon, NULL));
}

static GHashTable *
labels_new (const char *key, const char *value)
{
  GHashTable *labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_hash_table_insert (labels, g_strdup (key), g_strdup (value));
  return labels;
}

static void
test_store (void)
{
  g_autofree char *root = make_tmp ();
  g_autofree char *dir = g_build_filename (root, "volumes", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthVolumeStore) store = NULL;
  g_autoptr (BerthVolumeInfo) info = NULL, again = NULL, anon = NULL, found = NULL, copy = NULL;
  g_autoptr (GHashTable) labels = labels_new ("team", "db");
  g_autoptr (GPtrArray) list = NULL;
  g_autofree char *data_file = NULL;
  gboolean created = TRUE;
  guint removed = 99;
  gint64 before = g_get_real_time ();
  struct stat st;

  store = berth_volume_store_open (root, &removed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 0);
  g_assert_cmpstr (berth_volume_store_get_dir (store), ==, dir);
  g_assert_cmpint (stat (dir, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 0777, ==, 0700);

  /* create, named */
  info = berth_volume_store_create (store, "data", labels, FALSE, NULL, NULL, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_cmpstr (info->name, ==, "data");
  g_assert_false (info->anonymous);
  g_assert_cmpint (info->created, >=, before);
  g_assert_cmpstr (g_hash_table_lookup (info->labels, "team"), ==, "db");
  g_assert_true (g_str_has_suffix (info->mountpoint, "/volumes/data/_data"));
  g_assert_cmpint (stat (info->mountpoint, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpuint (st.st_mode & 0777, ==, 0755);

  /* again: the same volume, not a new one */
  again = berth_volume_store_create (store, "data", NULL, FALSE, NULL, NULL, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpint (again->created, ==, info->created);
  g_assert_cmpstr (g_hash_table_lookup (again->labels, "team"), ==, "db");

  /* invalid names create nothing */
  g_assert_null (berth_volume_store_create (store, "../x", NULL, FALSE, NULL, NULL, NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* anonymous */
  anon = berth_volume_store_create (store, NULL, NULL, TRUE, NULL, NULL, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_true (anon->anonymous);
  g_assert_cmpuint (strlen (anon->name), ==, 64);

  /* lookup, list */
  found = berth_volume_store_lookup (store, "data", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->mountpoint, ==, info->mountpoint);
  g_assert_null (berth_volume_store_lookup (store, "nope", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_VOLUME);
  g_clear_error (&error);
  list = berth_volume_store_list (store);
  g_assert_cmpuint (list->len, ==, 2);
  /* sorted by name: the hex name before "data" only when it starts with a digit */
  g_assert_cmpint (g_strcmp0 (((BerthVolumeInfo *)list->pdata[0])->name,
                              ((BerthVolumeInfo *)list->pdata[1])->name),
                   <, 0);

  /* info_copy is deep */
  copy = berth_volume_info_copy (info);
  g_hash_table_insert (info->labels, g_strdup ("team"), g_strdup ("other"));
  g_assert_cmpstr (g_hash_table_lookup (copy->labels, "team"), ==, "db");
  g_assert_cmpstr (copy->mountpoint, ==, info->mountpoint);

  /* data survives a reopen; leftovers of interrupted work go */
  data_file = g_build_filename (info->mountpoint, "f", NULL);
  g_assert_true (g_file_set_contents (data_file, "kept", -1, NULL));
  g_clear_pointer (&store, berth_volume_store_free);
  {
    g_autofree char *new_left = g_build_filename (dir, ".new-x-12345678", "_data", NULL);
    g_autofree char *gone_left = g_build_filename (dir, ".gone-y-12345678", "_data", "f", NULL);
    g_autofree char *gone_dir = g_path_get_dirname (gone_left);
    g_autofree char *tmp_left = g_build_filename (dir, "data", ".volume.json.tmp-1234", NULL);
    g_autofree char *text = NULL;

    g_assert_cmpint (g_mkdir_with_parents (new_left, 0700), ==, 0);
    g_assert_cmpint (g_mkdir_with_parents (gone_dir, 0700), ==, 0);
    g_assert_true (g_file_set_contents (gone_left, "x", -1, NULL));
    g_assert_true (g_file_set_contents (tmp_left, "x", -1, NULL));
    store = berth_volume_store_open (root, &removed, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (removed, ==, 2);
    g_assert_false (g_file_test (gone_dir, G_FILE_TEST_EXISTS));
    g_clear_pointer (&list, g_ptr_array_unref);
    list = berth_volume_store_list (store);
    g_assert_cmpuint (list->len, ==, 2);
    g_assert_true (g_file_get_contents (data_file, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "kept");
    g_clear_pointer (&found, berth_volume_info_free);
    found = berth_volume_store_lookup (store, anon->name, &error);
    g_assert_no_error (error);
    g_assert_true (found->anonymous);
  }

  /* create, filled from an image path; an existing volume is never filled */
  {
    g_autofree char *rootfs = g_build_filename (root, "rootfs", NULL);
    g_autofree char *file = g_build_filename (rootfs, "srv", "f", NULL);
    g_autofree char *srv = g_path_get_dirname (file);
    g_autoptr (BerthVolumeInfo) filled = NULL, existing = NULL;
    g_autofree char *copy_path = NULL;
    g_autofree char *text = NULL;
    guint leftovers = 0;

    g_assert_cmpint (g_mkdir_with_parents (srv, 0755), ==, 0);
    g_assert_true (g_file_set_contents (file, "image", -1, NULL));
    filled
      = berth_volume_store_create (store, "filled", NULL, FALSE, rootfs, "/srv", &created, &error);
    g_assert_no_error (error);
    g_assert_true (created);
    copy_path = g_build_filename (filled->mountpoint, "f", NULL);
    g_assert_true (g_file_get_contents (copy_path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "image");
    existing
      = berth_volume_store_create (store, "filled", NULL, FALSE, rootfs, "/srv", &created, &error);
    g_assert_false (created);
    g_assert_true (berth_volume_store_remove (store, "filled", &error));
    /* a failed fill leaves nothing (the volume directory does not exist) */
    g_assert_null (berth_volume_store_create (store, "bad", NULL, FALSE, "/nonexistent/rootfs",
                                              "/srv", &created, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_null (berth_volume_store_lookup (store, "bad", NULL));
    g_clear_pointer (&store, berth_volume_store_free);
    store = berth_volume_store_open (root, &leftovers, &error);
    g_assert_cmpuint (leftovers, ==, 0);
  }

  /* remove */
  g_assert_true (berth_volume_store_remove (store, "data", &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (info->mountpoint, G_FILE_TEST_EXISTS));
  g_assert_false (berth_volume_store_remove (store, "data", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_VOLUME);
  g_clear_error (&error);
  g_clear_pointer (&list, g_ptr_array_unref);
  list = berth_volume_store_list (store);
  g_assert_cmpuint (list->len, ==, 1);

  g_clear_pointer (&store, berth_volume_store_free);
  rm_tmp (root);
}

static void
test_spec (void)
{
  g_autoptr (GError) error = NULL;
  struct
  {
    const char *text;
    BerthVolumeSpecKind kind;
    const char *source, *destination;
    gboolean read_only;
  } good[] = {
    { "/data", BERTH_VOLUME_SPEC_ANONYMOUS, NULL, "/data", FALSE },
    { "/data/:ro", BERTH_VOLUME_SPEC_ANONYMOUS, NULL, "/data", TRUE },
    { "db:/var/lib/db", BERTH_VOLUME_SPEC_NAMED, "db", "/var/lib/db", FALSE },
    { "db:/var//lib/./db:ro", BERTH_VOLUME_SPEC_NAMED, "db", "/var/lib/db", TRUE },
    { "db:/x:rw", BERTH_VOLUME_SPEC_NAMED, "db", "/x", FALSE },
    { "/srv/www:/www:ro", BERTH_VOLUME_SPEC_BIND, "/srv/www", "/www", TRUE },
    { "/srv/../srv/www/:/www", BERTH_VOLUME_SPEC_BIND, "/srv/www", "/www", FALSE },
  };
  struct
  {
    const char *text, *message;
  } bad[] = {
    { "data", "relative" },         { "db:data", "relative" },       { "db:/", "root" },
    { "a/b:/x", "may not" },        { "..:/x", "may not" },          { ":/x", "empty volume name" },
    { "db:/x:rx", "unknown mode" }, { "a:b:c:d", "invalid volume" }, { "db:/a/../b", "\"..\"" },
    { "", "invalid volume" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (BerthVolumeSpec) spec = berth_volume_spec_parse (good[i].text, &error);

      g_assert_no_error (error);
      g_assert_cmpint (spec->kind, ==, good[i].kind);
      g_assert_cmpstr (spec->source, ==, good[i].source);
      g_assert_cmpstr (spec->destination, ==, good[i].destination);
      g_assert_cmpint (spec->read_only, ==, good[i].read_only);
      g_assert_cmpint (berth_volume_spec_is_bind (good[i].text), ==,
                       good[i].kind == BERTH_VOLUME_SPEC_BIND);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_null (berth_volume_spec_parse (bad[i].text, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("\"%s\": \"%s\" lacks \"%s\"", bad[i].text, error->message, bad[i].message);
      g_clear_error (&error);
    }
  berth_volume_spec_free (NULL);
  /* a source with a slash counts as a host path for authorization, even when invalid */
  g_assert_true (berth_volume_spec_is_bind ("a/b:/x"));
  g_assert_true (berth_volume_spec_is_bind ("/etc:/x:y:z"));
  g_assert_false (berth_volume_spec_is_bind ("/data"));
  g_assert_false (berth_volume_spec_is_bind (NULL));
}

static void
test_normalize (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *a = berth_volume_normalize_destination ("//a/./b//", &error);
  g_autofree char *b = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "/a/b");
  b = berth_volume_normalize_destination ("/", &error);
  g_assert_null (b);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_volume_normalize_destination ("a/b", &error));
  g_assert_nonnull (strstr (error->message, "must be absolute"));
  g_clear_error (&error);
  g_assert_null (berth_volume_normalize_destination (NULL, &error));
  g_clear_error (&error);
}

static void
test_from (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *c1 = NULL, *c2 = NULL, *c3 = NULL;
  gboolean has_mode, ro = FALSE;

  g_assert_true (berth_volume_from_parse ("db", &c1, &has_mode, &ro, &error));
  g_assert_cmpstr (c1, ==, "db");
  g_assert_false (has_mode);
  g_assert_true (berth_volume_from_parse ("db:ro", &c2, &has_mode, &ro, &error));
  g_assert_cmpstr (c2, ==, "db");
  g_assert_true (has_mode);
  g_assert_true (ro);
  g_assert_true (berth_volume_from_parse ("db:rw", &c3, &has_mode, &ro, &error));
  g_assert_false (ro);
  g_assert_false (berth_volume_from_parse ("db:x", &c1, &has_mode, &ro, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (berth_volume_from_parse (":ro", &c1, &has_mode, &ro, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (berth_volume_from_parse ("", &c1, &has_mode, &ro, &error));
  g_clear_error (&error);
}

static void
test_populate (void)
{
  g_autofree char *tmp = make_tmp ();
  g_autofree char *rootfs = g_build_filename (tmp, "rootfs", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autofree char *data2 = g_build_filename (tmp, "data2", NULL);
  g_autofree char *outside = g_build_filename (tmp, "outside", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *conf = NULL, *secret = NULL;
  berth_autofd int r = -1, d = -1, d2 = -1;
  gboolean copied = FALSE, have_xattr;
  struct stat st, st2;
  char buf[64];
  ssize_t n;

  g_assert_cmpint (g_mkdir_with_parents (rootfs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (data, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (data2, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0755), ==, 0);
  r = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* the image's /srv/app: owned by 1000:1001, mode 0750, with content */
  g_assert_cmpint (mkdirat (r, "srv", 0755), ==, 0);
  g_assert_cmpint (mkdirat (r, "srv/app", 0750), ==, 0);
  g_assert_cmpint (fchownat (r, "srv/app", 1000, 1001, 0), ==, 0);
  conf = g_build_filename (rootfs, "srv/app/conf", NULL);
  g_assert_true (g_file_set_contents (conf, "x=1\n", 4, &error));
  g_assert_cmpint (fchownat (r, "srv/app/conf", 33, 44, 0), ==, 0);
  g_assert_cmpint (fchmodat (r, "srv/app/conf", 04755, 0), ==, 0);
  g_assert_cmpint (linkat (r, "srv/app/conf", r, "srv/app/hard", 0), ==, 0);
  g_assert_cmpint (mkdirat (r, "srv/app/sub", 0700), ==, 0);
  g_assert_cmpint (symlinkat ("/etc/passwd", r, "srv/app/sub/link"), ==, 0);
  g_assert_cmpint (mknodat (r, "srv/app/sub/fifo", S_IFIFO | 0600, 0), ==, 0);
  g_assert_cmpint (mknodat (r, "srv/app/sub/null", S_IFCHR | 0666, makedev (1, 3)), ==, 0);
  have_xattr = lsetxattr (conf, "trusted.berth", "v", 1, 0) == 0;
  /* an image whose path is a symbolic link out of it */
  g_assert_cmpint (symlinkat (outside, r, "escape"), ==, 0);
  secret = g_build_filename (outside, "secret", NULL);
  g_assert_true (g_file_set_contents (secret, "s", -1, NULL));

  g_assert_true (berth_volume_populate (rootfs, "/srv/app", data, &copied, &error));
  g_assert_no_error (error);
  g_assert_true (copied);
  d = open (data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fstat (d, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, 1000);
  g_assert_cmpuint (st.st_gid, ==, 1001);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0750);
  g_assert_cmpint (fstatat (d, "conf", &st, 0), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, 33);
  g_assert_cmpuint (st.st_gid, ==, 44);
  g_assert_cmpuint (st.st_mode & 07777, ==, 04755);
  g_assert_cmpuint (st.st_nlink, ==, 2);
  g_assert_cmpint (fstatat (d, "hard", &st2, 0), ==, 0);
  g_assert_cmpuint (st.st_ino, ==, st2.st_ino);
  g_assert_cmpint (fstatat (d, "sub", &st, 0), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
  n = readlinkat (d, "sub/link", buf, sizeof buf - 1);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, "/etc/passwd");
  g_assert_cmpint (fstatat (d, "sub/fifo", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_assert_cmpint (fstatat (d, "sub/null", &st, AT_SYMLINK_NOFOLLOW), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));
  g_assert_cmpuint (st.st_rdev, ==, makedev (1, 3));
  if (have_xattr)
    {
      g_autofree char *path = g_build_filename (data, "conf", NULL);
      g_assert_cmpint (lgetxattr (path, "trusted.berth", buf, sizeof buf), ==, 1);
      g_assert_cmpint (buf[0], ==, 'v');
    }

  /* a volume with content is left alone */
  g_assert_true (berth_volume_populate (rootfs, "/srv", data, &copied, &error));
  g_assert_false (copied);
  g_assert_cmpint (faccessat (d, "app", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);

  /* a path missing from the image: nothing to copy */
  g_assert_true (berth_volume_populate (rootfs, "/nope", data2, &copied, &error));
  g_assert_no_error (error);
  g_assert_false (copied);

  /* an absolute link in the image stays inside the image: /escape → /tmp/... is not there */
  d2 = open (data2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_true (berth_volume_populate (rootfs, "/escape", data2, &copied, &error));
  g_assert_no_error (error);
  g_assert_false (copied);
  g_assert_cmpint (faccessat (d2, "secret", F_OK, AT_SYMLINK_NOFOLLOW), <, 0);

  /* a volume directory that is not there */
  g_assert_false (berth_volume_populate (rootfs, "/srv", "/nonexistent/berth", &copied, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  rm_tmp (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/names", test_names);
  g_test_add_func ("/volume/store", test_store);
  g_test_add_func ("/volume/spec", test_spec);
  g_test_add_func ("/volume/normalize-destination", test_normalize);
  g_test_add_func ("/volume/volumes-from", test_from);
  if (geteuid () == 0)
    g_test_add_func ("/volume/populate", test_populate);
  return g_test_run ();
}
