/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"

static void
test_all (void)
{
  g_autofree char *dir = g_dir_make_tmp ("berth-fsutil-XXXXXX", NULL);
  berth_autofd int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;
  int fd;
  struct stat st;

  /* write_file_at / read_file_at */
  g_assert_true (berth_fs_write_file_at (dfd, "f", "hello", 5, 0640, &error));
  g_assert_no_error (error);
  g_assert_cmpint (fstatat (dfd, "f", &st, 0), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);
  g_assert_true (berth_fs_read_file_at (dfd, "f", 100, &data, &len, &error));
  g_assert_cmpstr (data, ==, "hello");
  g_assert_cmpuint (len, ==, 5);
  g_clear_pointer (&data, g_free);
  g_assert_false (berth_fs_read_file_at (dfd, "f", 4, &data, &len, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED);
  g_clear_error (&error);
  g_assert_false (berth_fs_read_file_at (dfd, "missing", 4, &data, &len, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* open_beneath refuses symlinks and escapes */
  g_assert_cmpint (mkdirat (dfd, "d", 0755), ==, 0);
  g_assert_cmpint (symlinkat ("/etc", dfd, "d/link"), ==, 0);
  fd = berth_fs_open_beneath (dfd, "d", O_RDONLY | O_DIRECTORY, 0);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_cmpint (berth_fs_open_beneath (dfd, "d/link/passwd", O_RDONLY, 0), <, 0);
  g_assert_cmpint (errno, ==, ELOOP);
  g_assert_cmpint (berth_fs_open_beneath (dfd, "../x", O_RDONLY, 0), <, 0);
  g_assert_cmpint (errno, ==, EXDEV);

  /* write_all and fsync_dir_at */
  fd = openat (dfd, "g", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  g_assert_true (berth_fs_write_all (fd, "abc", 3, &error));
  close (fd);
  g_assert_true (berth_fs_fsync_dir_at (dfd, "d", &error));
  g_assert_false (berth_fs_fsync_dir_at (dfd, "nope", &error));
  g_clear_error (&error);

  /* rm_rf_at removes trees without following links */
  g_assert_cmpint (mkdirat (dfd, "d/sub", 0500), ==, 0);
  g_assert_true (berth_fs_rm_rf_at (dfd, "d", &error));
  g_assert_no_error (error);
  g_assert_cmpint (fstatat (dfd, "d", &st, 0), <, 0);
  g_assert_true (g_file_test ("/etc/passwd", G_FILE_TEST_EXISTS));
  g_assert_true (berth_fs_rm_rf_at (dfd, "d", &error));
  g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, dir, &error));
  g_assert_no_error (error);
}

static void
test_list_dir (void)
{
  g_autofree char *dir = g_dir_make_tmp ("berth-fsutil-XXXXXX", NULL);
  berth_autofd int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) again = NULL;

  g_assert_cmpint (mkdirat (dfd, "b", 0755), ==, 0);
  g_assert_true (berth_fs_write_file_at (dfd, "a", "", 0, 0644, &error));
  g_assert_true (berth_fs_write_file_at (dfd, "B", "", 0, 0644, &error));
  names = berth_fs_list_dir (dfd, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 3);
  g_assert_cmpstr (names->pdata[0], ==, "B");
  g_assert_cmpstr (names->pdata[1], ==, "a");
  g_assert_cmpstr (names->pdata[2], ==, "b");
  /* A second listing of the same fd starts from the top again. */
  again = berth_fs_list_dir (dfd, dir, &error);
  g_assert_cmpuint (again->len, ==, 3);
  g_assert_null (berth_fs_list_dir (-1, "nothing", &error));
  g_assert_nonnull (strstr (error->message, "nothing"));
  g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, dir, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fsutil/all", test_all);
  g_test_add_func ("/fsutil/list-dir", test_list_dir);
  return g_test_run ();
}
