/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-ignore.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

typedef struct
{
  GRegex *regex;
  gboolean exception; /* "!pattern" */
} Pattern;

struct _BerthIgnore
{
  GPtrArray *patterns; /* of Pattern */
  gboolean has_exceptions;
};

static void
pattern_free (Pattern *pattern)
{
  g_regex_unref (pattern->regex);
  g_free (pattern);
}

void
berth_ignore_free (BerthIgnore *ignore)
{
  if (ignore == NULL)
    return;
  g_ptr_array_unref (ignore->patterns);
  g_free (ignore);
}

/* Cleans a path as Go's filepath.Clean does, relative to the root:
 * no empty, "." or ".." components, no leading or trailing '/'. */
static char *
clean_path (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; parts[i]; i++)
    {
      if (*parts[i] == '\0' || strcmp (parts[i], ".") == 0)
        continue;
      if (strcmp (parts[i], "..") == 0)
        {
          if (out->len)
            g_ptr_array_remove_index (out, out->len - 1);
          continue;
        }
      g_ptr_array_add (out, parts[i]);
    }
  g_ptr_array_add (out, NULL);
  return g_strjoinv ("/", (char **)out->pdata);
}

/* The pattern as an anchored regular expression, following Docker's
 * translation of filepath.Match plus "**". */
static GRegex *
compile (const char *pattern, guint line, GError **error)
{
  g_autoptr (GString) re = g_string_new ("^");
  g_autoptr (GError) local_error = NULL;
  GRegex *regex;

  for (const char *p = pattern; *p; p++)
    {
      if (*p == '*')
        {
          if (p[1] == '*')
            {
              p++;
              if (p[1] == '/')
                {
                  p++;
                  g_string_append (re, "(.*/)?");
                }
              else
                g_string_append (re, ".*");
            }
          else
            g_string_append (re, "[^/]*");
        }
      else if (*p == '?')
        g_string_append (re, "[^/]");
      else if (*p == '[')
        {
          const char *end = p + 1;

          if (*end == '^' || *end == '!')
            end++;
          if (*end == ']')
            end++;
          end = strchr (end, ']');
          if (end == NULL)
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                           "ignore file line %u: \"%s\" has a '[' without ']'", line, pattern);
              return NULL;
            }
          g_string_append_c (re, '[');
          p++;
          if (*p == '^' || *p == '!')
            {
              g_string_append_c (re, '^');
              p++;
            }
          for (; p < end; p++)
            {
              if (*p == '\\' && p + 1 < end)
                p++;
              if (*p == '\\' || *p == '[' || *p == ']' || *p == '^')
                g_string_append_c (re, '\\');
              g_string_append_c (re, *p);
            }
          g_string_append_c (re, ']');
        }
      else
        {
          if (*p == '\\' && p[1])
            p++;
          if (strchr ("\\.+*?()|{}^$[]", *p))
            g_string_append_c (re, '\\');
          g_string_append_c (re, *p);
        }
    }
  g_string_append_c (re, '$');
  regex = g_regex_new (re->str, G_REGEX_DOTALL | G_REGEX_OPTIMIZE, 0, &local_error);
  if (regex == NULL)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "ignore file line %u: \"%s\" is not a valid pattern: %s", line, pattern,
                 local_error->message);
  return regex;
}

BerthIgnore *
berth_ignore_new (const char *text, GError **error)
{
  g_autoptr (BerthIgnore) ignore = g_new0 (BerthIgnore, 1);
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);

  ignore->patterns = g_ptr_array_new_with_free_func ((GDestroyNotify)pattern_free);
  for (guint i = 0; lines[i]; i++)
    {
      g_autofree char *cleaned = NULL;
      char *line = g_strstrip (lines[i]);
      gboolean exception = FALSE;
      Pattern *pattern;
      GRegex *regex;

      if (*line == '\0' || *line == '#')
        continue;
      if (*line == '!')
        {
          exception = TRUE;
          line = g_strstrip (line + 1);
          if (*line == '\0')
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                           "ignore file line %u: \"!\" needs a pattern after it", i + 1);
              return NULL;
            }
        }
      cleaned = clean_path (line);
      if (*cleaned == '\0')
        {
          /* "/" or "." alone: the whole context. */
          g_free (cleaned);
          cleaned = g_strdup ("**");
        }
      regex = compile (cleaned, i + 1, error);
      if (regex == NULL)
        return NULL;
      pattern = g_new0 (Pattern, 1);
      pattern->regex = regex;
      pattern->exception = exception;
      ignore->has_exceptions |= exception;
      g_ptr_array_add (ignore->patterns, pattern);
    }
  return g_steal_pointer (&ignore);
}

gboolean
berth_ignore_has_exceptions (BerthIgnore *ignore)
{
  return ignore && ignore->has_exceptions;
}

/* Whether @pattern matches @path or one of its parent directories. */
static gboolean
pattern_matches (Pattern *pattern, const char *path)
{
  g_autofree char *copy = NULL;
  char *slash;

  if (g_regex_match (pattern->regex, path, 0, NULL))
    return TRUE;
  copy = g_strdup (path);
  while ((slash = strrchr (copy, '/')) != NULL)
    {
      *slash = '\0';
      if (g_regex_match (pattern->regex, copy, 0, NULL))
        return TRUE;
    }
  return FALSE;
}

gboolean
berth_ignore_excludes (BerthIgnore *ignore, const char *path)
{
  g_autofree char *cleaned = NULL;
  gboolean excluded = FALSE;

  if (ignore == NULL || ignore->patterns->len == 0)
    return FALSE;
  cleaned = clean_path (path);
  for (guint i = 0; i < ignore->patterns->len; i++)
    {
      Pattern *pattern = g_ptr_array_index (ignore->patterns, i);

      /* Only a pattern that could change the answer needs matching. */
      if (pattern->exception == excluded && pattern_matches (pattern, cleaned))
        excluded = !pattern->exception;
    }
  return excluded;
}

/* ---- The context as a tar ---------------------------------------------- */

typedef struct archive_entry BerthArchiveEntry;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthArchiveEntry, archive_entry_free)

typedef struct
{
  struct archive *archive;
  BerthIgnore *ignore;
  const char *const *always;
  GHashTable *links; /* "dev:ino" → first path, for hard links */
  char *buf;         /* file data on its way: one read and one write a file */
} Writer;

#define WRITER_BUF_SIZE (1 << 20)

static gboolean
archive_failed (struct archive *a, const char *path, GError **error)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write %s to the build context: %s",
               path, archive_error_string (a));
  return FALSE;
}

static gboolean
always_included (Writer *w, const char *path)
{
  return w->always && g_strv_contains (w->always, path);
}

static gboolean write_dir (Writer *w, int dirfd, const char *prefix, GError **error);

static gboolean
write_entry (Writer *w, int dirfd, const char *name, const char *path, GError **error)
{
  g_autoptr (BerthArchiveEntry) entry = archive_entry_new ();
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s in the build context", path);
  if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode) && !S_ISLNK (st.st_mode))
    return TRUE;

  archive_entry_set_pathname (entry, path);
  archive_entry_copy_stat (entry, &st);
  archive_entry_set_uname (entry, NULL);
  archive_entry_set_gname (entry, NULL);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);

      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read the link %s", path);
      target[n] = '\0';
      archive_entry_set_symlink (entry, target);
    }
  if (S_ISREG (st.st_mode) && st.st_nlink > 1)
    {
      g_autofree char *key = g_strdup_printf ("%lu:%lu", (gulong)st.st_dev, (gulong)st.st_ino);
      const char *first = g_hash_table_lookup (w->links, key);

      if (first)
        {
          archive_entry_set_hardlink (entry, first);
          archive_entry_set_size (entry, 0);
          if (archive_write_header (w->archive, entry) != ARCHIVE_OK)
            return archive_failed (w->archive, path, error);
          return TRUE;
        }
      g_hash_table_insert (w->links, g_steal_pointer (&key), g_strdup (path));
    }
  if (archive_write_header (w->archive, entry) != ARCHIVE_OK)
    return archive_failed (w->archive, path, error);

  if (S_ISREG (st.st_mode))
    {
      berth_autofd int fd = openat (dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      char *buf = w->buf;
      off_t left = st.st_size;

      if (fd < 0)
        return berth_error_set_errno (error, errno, "cannot read %s in the build context", path);
      while (left > 0)
        {
          ssize_t n = read (fd, buf, MIN ((off_t)WRITER_BUF_SIZE, left));

          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return berth_error_set_errno (error, errno, "cannot read %s", path);
          if (n == 0)
            {
              /* The file shrank while being read: pad, the header is out. */
              memset (buf, 0, WRITER_BUF_SIZE);
              n = MIN ((off_t)WRITER_BUF_SIZE, left);
            }
          if (archive_write_data (w->archive, buf, n) != n)
            return archive_failed (w->archive, path, error);
          left -= n;
        }
    }
  else if (S_ISDIR (st.st_mode))
    {
      berth_autofd int sub = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

      if (sub < 0)
        return berth_error_set_errno (error, errno, "cannot open %s in the build context", path);
      return write_dir (w, sub, path, error);
    }
  return TRUE;
}

static gboolean
write_dir (Writer *w, int dirfd, const char *prefix, GError **error)
{
  /* Sorted, so that the same tree gives the same tar. */
  g_autoptr (GPtrArray) names = berth_fs_list_dir (dirfd, *prefix ? prefix : ".", error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = *prefix ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);

      if (berth_ignore_excludes (w->ignore, path) && !always_included (w, path))
        {
          struct stat st;

          /* An excluded directory is still searched when a '!' pattern
           * may bring back something inside it. */
          if (berth_ignore_has_exceptions (w->ignore)
              && fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
            {
              berth_autofd int sub
                = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

              if (sub >= 0 && !write_dir (w, sub, path, error))
                return FALSE;
            }
          continue;
        }
      if (!write_entry (w, dirfd, name, path, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_ignore_write_context (int dirfd, BerthIgnore *ignore, const char *const *always_include,
                            int out_fd, GError **error)
{
  g_autoptr (GHashTable) links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *buf = g_malloc (WRITER_BUF_SIZE);
  Writer w = { archive_write_new (), ignore, always_include, links, buf };
  gboolean ok;

  archive_write_set_format_pax_restricted (w.archive);
  archive_write_set_bytes_per_block (w.archive, 0);
  if (archive_write_open_fd (w.archive, out_fd) != ARCHIVE_OK)
    {
      archive_failed (w.archive, ".", error);
      archive_write_free (w.archive);
      return FALSE;
    }
  ok = write_dir (&w, dirfd, "", error);
  if (archive_write_close (w.archive) != ARCHIVE_OK && ok)
    ok = archive_failed (w.archive, "the end", error);
  archive_write_free (w.archive);
  return ok;
}
