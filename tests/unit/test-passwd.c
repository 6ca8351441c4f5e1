/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-passwd.h"

typedef struct
{
  char *dir; /* the container's root */
  int fd;
} Root;

static void
root_setup (Root *r, gconstpointer data)
{
  r->dir = g_dir_make_tmp ("berth-passwd-XXXXXX", NULL);
  r->fd = open (r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (mkdirat (r->fd, "etc", 0755), ==, 0);
}

static void
root_teardown (Root *r, gconstpointer data)
{
  berth_fs_rm_rf_at (AT_FDCWD, r->dir, NULL);
  close (r->fd);
  g_free (r->dir);
}

static void
put (Root *r, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (r->dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# a comment\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                             "broken line\n"
                             "app:x:1000:1000:App:/home/app:/bin/sh\n"
                             "nohome:x:1001:100::/:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "users:x:100:app,other\n"
                            "app:x:1000:\n"
                            "audio:x:29:other, app\n"
                            "video:x:44:\n";

static void
put_files (Root *r)
{
  put (r, "etc/passwd", passwd);
  put (r, "etc/group", group);
}

static guint32
gid_at (BerthUser *u, guint i)
{
  return g_array_index (u->additional_gids, guint32, i);
}

static void
test_names (Root *r, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUser) u = NULL;

  put_files (r);
  u = berth_user_resolve (r->fd, "app", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 1000);
  g_assert_cmpuint (u->gid, ==, 1000);
  g_assert_cmpstr (u->home, ==, "/home/app");
  g_assert_cmpuint (u->additional_gids->len, ==, 2);
  g_assert_cmpuint (gid_at (u, 0), ==, 100);
  g_assert_cmpuint (gid_at (u, 1), ==, 29);
  g_clear_pointer (&u, berth_user_free);

  /* A group by name, then by number; the supplementary ones stay. */
  u = berth_user_resolve (r->fd, "app:video", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 1000);
  g_assert_cmpuint (u->gid, ==, 44);
  g_assert_cmpuint (u->additional_gids->len, ==, 2);
  g_clear_pointer (&u, berth_user_free);
  u = berth_user_resolve (r->fd, "app:100", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->gid, ==, 100);
  /* Not twice: the primary group is not a supplementary one. */
  g_assert_cmpuint (u->additional_gids->len, ==, 1);
  g_assert_cmpuint (gid_at (u, 0), ==, 29);
  g_clear_pointer (&u, berth_user_free);

  /* Empty is root. */
  u = berth_user_resolve (r->fd, "", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 0);
  g_assert_cmpuint (u->gid, ==, 0);
  g_assert_cmpstr (u->home, ==, "/root");
  g_assert_cmpuint (u->additional_gids->len, ==, 0);
}

static void
test_numbers (Root *r, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUser) u = NULL;

  put_files (r);
  /* In passwd: its group and home. */
  u = berth_user_resolve (r->fd, "1001", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 1001);
  g_assert_cmpuint (u->gid, ==, 100);
  g_assert_cmpstr (u->home, ==, "/");
  g_clear_pointer (&u, berth_user_free);
  /* Not there: as docker, group 0 and HOME=/. */
  u = berth_user_resolve (r->fd, "4242", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 4242);
  g_assert_cmpuint (u->gid, ==, 0);
  g_assert_cmpstr (u->home, ==, "/");
  g_clear_pointer (&u, berth_user_free);
  u = berth_user_resolve (r->fd, "4242:4343", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->gid, ==, 4343);
  g_clear_pointer (&u, berth_user_free);

  /* No /etc at all: numbers still work. */
  g_assert_cmpint (unlinkat (r->fd, "etc/passwd", 0), ==, 0);
  g_assert_cmpint (unlinkat (r->fd, "etc/group", 0), ==, 0);
  u = berth_user_resolve (r->fd, "7:8", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 7);
  g_assert_cmpuint (u->gid, ==, 8);
}

static void
test_unknown (Root *r, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *bad[] = { ":", "app:", ":0", "app:1:2:3" };

  put_files (r);
  g_assert_null (berth_user_resolve (r->fd, "nobody-here", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "unable to find user nobody-here"));
  g_clear_error (&error);
  g_assert_null (berth_user_resolve (r->fd, "app:nogroup", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "unable to find group nogroup"));
  g_clear_error (&error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (BerthUser) u = berth_user_resolve (r->fd, bad[i], &error);

      if (u != NULL)
        g_error ("\"%s\" resolved", bad[i]);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  g_assert_cmpint (unlinkat (r->fd, "etc/passwd", 0), ==, 0);
  g_assert_null (berth_user_resolve (r->fd, "app", &error));
  g_assert_nonnull (strstr (error->message, "has no /etc/passwd"));
}

/* The files come from an image: links resolve inside its root. */
static void
test_links (Root *r, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthUser) u = NULL;
  g_autofree char *outside = g_dir_make_tmp ("berth-passwd-out-XXXXXX", NULL);
  g_autofree char *outside_passwd = g_build_filename (outside, "passwd", NULL);
  g_autofree char *escape = NULL;

  /* An absolute link stays in the root: /etc/passwd -> /etc/real. */
  put (r, "etc/real", passwd);
  g_assert_cmpint (symlinkat ("/etc/real", r->fd, "etc/passwd"), ==, 0);
  u = berth_user_resolve (r->fd, "app", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (u->uid, ==, 1000);
  g_clear_pointer (&u, berth_user_free);

  /* A link to a host file (absolute, or with enough ".."), holding a user
   * the container does not have, finds nothing. */
  g_assert_true (
    g_file_set_contents (outside_passwd, "host:x:4711:4711::/host:/bin/sh\n", -1, NULL));
  g_assert_cmpint (unlinkat (r->fd, "etc/passwd", 0), ==, 0);
  g_assert_cmpint (symlinkat (outside_passwd, r->fd, "etc/passwd"), ==, 0);
  g_assert_null (berth_user_resolve (r->fd, "host", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  escape = g_strdup_printf ("../../../../../../..%s", outside_passwd);
  g_assert_cmpint (unlinkat (r->fd, "etc/passwd", 0), ==, 0);
  g_assert_cmpint (symlinkat (escape, r->fd, "etc/passwd"), ==, 0);
  g_assert_null (berth_user_resolve (r->fd, "host", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A FIFO would hang berthd: refused. */
  g_assert_cmpint (unlinkat (r->fd, "etc/passwd", 0), ==, 0);
  g_assert_cmpint (mkfifoat (r->fd, "etc/passwd", 0644), ==, 0);
  g_assert_null (berth_user_resolve (r->fd, "app", &error));
  g_assert_nonnull (strstr (error->message, "not a regular file"));

  berth_fs_rm_rf_at (AT_FDCWD, outside, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/passwd/names", Root, NULL, root_setup, test_names, root_teardown);
  g_test_add ("/passwd/numbers", Root, NULL, root_setup, test_numbers, root_teardown);
  g_test_add ("/passwd/unknown", Root, NULL, root_setup, test_unknown, root_teardown);
  g_test_add ("/passwd/links", Root, NULL, root_setup, test_links, root_teardown);
  return g_test_run ();
}
