/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-ignore.h"

static void
check (const char *patterns, const char *const *excluded, const char *const *included)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthIgnore) ignore = berth_ignore_new (patterns, &error);

  g_assert_no_error (error);
  for (guint i = 0; excluded[i]; i++)
    if (!berth_ignore_excludes (ignore, excluded[i]))
      g_error ("patterns \"%s\" should exclude %s", patterns, excluded[i]);
  for (guint i = 0; included[i]; i++)
    if (berth_ignore_excludes (ignore, included[i]))
      g_error ("patterns \"%s\" should keep %s", patterns, included[i]);
}

#define V(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
test_patterns (void)
{
  check ("# comment\n\n*.log\n", V ("a.log", "b.log/x"), V ("dir/a.log", "a.txt", "log"));
  check ("**/*.log", V ("a.log", "x/y/z.log"), V ("a.txt", "x/log"));
  check ("tmp/", V ("tmp", "tmp/a", "tmp/a/b"), V ("tmpx", "a/tmp"));
  check ("/build\n", V ("build", "build/out"), V ("src/build"));
  check ("./a/../b/./c", V ("b/c", "b/c/d"), V ("a/b/c", "c"));
  check ("a?c\n[xy]z\n[!0-9]n", V ("abc", "xz", "yz", "qn"), V ("ac", "abbc", "zz", "5n"));
  check ("docs/**/secret", V ("docs/secret", "docs/a/b/secret", "docs/a/secret/x"),
         V ("secret", "docs/secretx"));
  check ("**", V ("a", "a/b", ".git"), (const char *const[]){ NULL });
  check ("\\*literal", V ("*literal"), V ("xliteral"));
  check ("a.b+c(d)", V ("a.b+c(d)"), V ("axb+c(d)", "a.bbc(d)"));
  check ("  spaced.txt  ", V ("spaced.txt"), V ("other"));
}

static void
test_exceptions (void)
{
  g_autoptr (BerthIgnore) none = berth_ignore_new ("*.md", NULL);
  g_autoptr (BerthIgnore) some = berth_ignore_new ("*.md\n!README.md", NULL);

  check ("*.md\n!README.md\n", V ("a.md", "CHANGES.md"), V ("README.md", "x.txt"));
  /* The last match decides. */
  check ("!README.md\n*.md\n", V ("README.md", "a.md"), V ("x.txt"));
  check ("data\n!data/keep\n", V ("data", "data/drop", "data/sub/x"),
         V ("data/keep", "data/keep/y"));
  check ("*\n!src\n!Containerfile\nsrc/*.o\n", V ("README", "src/a.o", "other/x"),
         V ("src", "src/a.c", "Containerfile"));
  g_assert_false (berth_ignore_has_exceptions (none));
  g_assert_true (berth_ignore_has_exceptions (some));
  g_assert_false (berth_ignore_has_exceptions (NULL));
  g_assert_false (berth_ignore_excludes (NULL, "anything"));
}

static void
test_bad (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_null (berth_ignore_new ("ok\n[abc\n", &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "line 2"));
  g_clear_error (&error);
  g_assert_null (berth_ignore_new ("!\n", &error));
  g_assert_nonnull (strstr (error->message, "line 1"));
}

static GPtrArray *
list_tar (const char *path)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;

  archive_read_support_format_tar (a);
  g_assert_cmpint (archive_read_open_filename (a, path, 65536), ==, ARCHIVE_OK);
  while (archive_read_next_header (a, &entry) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (entry);

      if (archive_entry_hardlink (entry))
        g_ptr_array_add (names, g_strdup_printf ("%s=>%s", name, archive_entry_hardlink (entry)));
      else if (archive_entry_symlink (entry))
        g_ptr_array_add (names, g_strdup_printf ("%s->%s", name, archive_entry_symlink (entry)));
      else
        g_ptr_array_add (names, g_strdup_printf ("%s %o %ld", name, archive_entry_perm (entry),
                                                 (long)archive_entry_size (entry)));
    }
  archive_read_free (a);
  return names;
}

static void
put (const char *dir, const char *name, const char *content)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  g_assert_cmpint (chmod (path, 0644), ==, 0);
}

static void
test_write_context (void)
{
  g_autofree char *dir = g_dir_make_tmp ("berth-ignore-XXXXXX", NULL);
  g_autofree char *tar = g_build_filename (dir, "..", "context.tar", NULL);
  g_autofree char *tarpath = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthIgnore) ignore = NULL;
  g_autoptr (GPtrArray) names = NULL;
  berth_autofd int dirfd = -1, out = -1;
  g_autofree char *joined = NULL;
  g_autofree char *symlink_path = NULL, *hard_a = NULL, *hard_b = NULL;

  put (dir, "Containerfile", "FROM busybox\n");
  put (dir, ".dockerignore", "*.log\nbuild\n!build/keep\nContainerfile\n.dockerignore\n");
  put (dir, "app.c", "int main;\n");
  put (dir, "debug.log", "noise");
  put (dir, "build/out.o", "obj");
  put (dir, "build/keep", "k");
  put (dir, "src/a/deep.txt", "deep");
  put (dir, "src/hard", "same");
  hard_a = g_build_filename (dir, "src", "hard", NULL);
  hard_b = g_build_filename (dir, "src", "hard2", NULL);
  g_assert_cmpint (link (hard_a, hard_b), ==, 0);
  symlink_path = g_build_filename (dir, "src", "link", NULL);
  g_assert_cmpint (symlink ("a/deep.txt", symlink_path), ==, 0);
  g_assert_cmpint (chmod (hard_a, 0755), ==, 0);

  ignore = berth_ignore_new ("*.log\nbuild\n!build/keep\nContainerfile\n.dockerignore\n", &error);
  g_assert_no_error (error);
  tarpath = g_canonicalize_filename (tar, NULL);
  dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  out = open (tarpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (out, >=, 0);
  g_assert_true (berth_ignore_write_context (
    dirfd, ignore, (const char *const[]){ "Containerfile", ".dockerignore", NULL }, out, &error));
  g_assert_no_error (error);
  names = list_tar (tarpath);
  g_ptr_array_add (names, NULL);
  joined = g_strjoinv ("|", (char **)names->pdata);
  g_assert_cmpstr (joined, ==,
                   ".dockerignore 644 52|Containerfile 644 13|app.c 644 10|build/keep 644 1|"
                   "src/ 755 0|src/a/ 755 0|src/a/deep.txt 644 4|src/hard 755 4|"
                   "src/hard2=>src/hard|src/link->a/deep.txt");
  g_assert_true (berth_fs_rm_rf_at (AT_FDCWD, dir, NULL));
  unlink (tarpath);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ignore/patterns", test_patterns);
  g_test_add_func ("/ignore/exceptions", test_exceptions);
  g_test_add_func ("/ignore/bad", test_bad);
  g_test_add_func ("/ignore/write-context", test_write_context);
  return g_test_run ();
}
