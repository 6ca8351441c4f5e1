/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-layer-changes.h"
#include "test-layers.h"

static void
put (const char *root, const char *path, const char *content)
{
  g_autofree char *full = g_build_filename (root, path, NULL);

  if (content == NULL)
    g_assert_cmpint (g_mkdir_with_parents (full, 0755), ==, 0);
  else
    {
      g_autofree char *dir = g_path_get_dirname (full);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_assert_true (g_file_set_contents (full, content, -1, NULL));
    }
}

static void
whiteout (const char *root, const char *path)
{
  g_autofree char *full = g_build_filename (root, path, NULL);

  g_assert_cmpint (mknod (full, S_IFCHR, makedev (0, 0)), ==, 0);
}

static char *
render (GPtrArray *changes)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < changes->len; i++)
    {
      const BerthLayerChange *c = g_ptr_array_index (changes, i);

      g_string_append_printf (out, "%c %s\n", c->kind, c->path);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_changes (void)
{
  g_autofree char *dir = test_scratch_dir ();
  g_autofree char *image = g_build_filename (dir, "image", NULL);
  g_autofree char *upper = g_build_filename (dir, "upper", NULL);
  g_autofree char *opq = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GError) error = NULL;
  berth_autofd int image_fd = -1, upper_fd = -1;
  const char *excludes[] = { "/var/lib/data", NULL };

  if (geteuid () != 0)
    {
      g_test_skip ("needs root (whiteouts are device nodes)");
      test_scratch_remove (g_steal_pointer (&dir));
      return;
    }
  put (image, "etc/passwd", "root\n");
  put (image, "etc/group", "root\n");
  put (image, "opt/app/a", "a");
  put (image, "opt/app/b", "b");
  put (image, "tmp/old/x", "x");
  put (image, "var/lib", NULL);

  put (upper, "etc/passwd", "root\nuser\n"); /* changed, and its directory */
  put (upper, "etc/new", "new");             /* added */
  whiteout (upper, "etc/group");             /* deleted */
  put (upper, "tmp", NULL);
  whiteout (upper, "tmp/old");              /* a deleted directory: one line */
  put (upper, "opt/app/b", "b2");           /* opaque: a is gone */
  put (upper, "srv/new/deep", "d");         /* added with its directories */
  put (upper, "var/lib/data/db", "secret"); /* a volume: not shown */
  opq = g_build_filename (upper, "opt/app", NULL);
  g_assert_cmpint (setxattr (opq, "trusted.overlay.opaque", "y", 1, 0), ==, 0);

  image_fd = open (image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  upper_fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  changes = berth_layer_changes (upper_fd, image_fd, excludes, &error);
  g_assert_no_error (error);
  text = render (changes);
  g_assert_cmpstr (text, ==,
                   "C /etc\n"
                   "D /etc/group\n"
                   "A /etc/new\n"
                   "C /etc/passwd\n"
                   "C /opt\n"
                   "C /opt/app\n"
                   "D /opt/app/a\n"
                   "C /opt/app/b\n"
                   "A /srv\n"
                   "A /srv/new\n"
                   "A /srv/new/deep\n"
                   "C /tmp\n"
                   "D /tmp/old\n"
                   "C /var\n"
                   "C /var/lib\n");

  g_clear_pointer (&changes, g_ptr_array_unref);
  excludes[0] = "../x";
  g_assert_null (berth_layer_changes (upper_fd, image_fd, excludes, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  close (image_fd), close (upper_fd);
  image_fd = upper_fd = -1;
  test_scratch_remove (g_steal_pointer (&dir));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layer-changes/changes", test_changes);
  return g_test_run ();
}
