/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The build context as it arrives: the tar stream is read once, kept as
 * it came in a file of the build's directory, and indexed on the way (path,
 * type, mode, size and the SHA-256 of every file). The layer cache needs no
 * more than the index, so a rebuild whose COPY steps hit the cache never
 * writes the context out as files; it is unpacked (with the store's safe
 * unpacker) only when a step copies from it.
 *
 * A context up to KEEP_IN_MEMORY_MAX is read straight into a buffer of the
 * build's own (no copy to a file), and written to the file only when a
 * step copies from it. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-unpack.h"
#include "build.h"

#define KEEP_IN_MEMORY_MAX ((gsize)32 << 20)

/* The buffer is anonymous memory of the build's own, asked for in huge
 * pages where the kernel offers them on request: a 20 MB context then
 * costs a handful of page faults instead of thousands, and the memory goes
 * back to the system when the build ends. NULL: use the file. */
static char *
keep_acquire (void)
{
  void *p
    = mmap (NULL, KEEP_IN_MEMORY_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (p == MAP_FAILED)
    return NULL;
  (void)madvise (p, KEEP_IN_MEMORY_MAX, MADV_HUGEPAGE);
  return p;
}

static void
keep_release (char *mem)
{
  munmap (mem, KEEP_IN_MEMORY_MAX);
}

typedef struct
{
  char *path; /* cleaned, relative, never "" */
  guint mode; /* with the type bits */
  guint64 size;
  char *content; /* files: "sha256:…"; links: the target */
} Entry;

struct _BerthBuilderContext
{
  char *dir;  /* the build's directory */
  int tar_fd; /* the stream as it came */
  char *mem;  /* or its first mem_len bytes, while tar_fd is -1 */
  gsize mem_len;
  GHashTable *entries; /* path → Entry */
  GPtrArray *sorted;   /* of Entry, by path */
  int dir_fd;          /* the unpacked tree, or -1 until needed */
  guint64 max_size;
  GCancellable *cancellable;
  /* Files kept in memory while reading (the Containerfile). */
  GHashTable *wanted; /* path → GBytes (NULL until seen) */
};

static void
entry_free (Entry *e)
{
  g_free (e->path);
  g_free (e->content);
  g_free (e);
}

void
berth_builder_context_free (BerthBuilderContext *ctx)
{
  if (ctx == NULL)
    return;
  g_free (ctx->dir);
  if (ctx->mem)
    keep_release (ctx->mem);
  berth_close_fdp (&ctx->tar_fd);
  berth_close_fdp (&ctx->dir_fd);
  g_clear_pointer (&ctx->sorted, g_ptr_array_unref);
  g_clear_pointer (&ctx->entries, g_hash_table_unref);
  g_clear_pointer (&ctx->wanted, g_hash_table_unref);
  g_clear_object (&ctx->cancellable);
  g_free (ctx);
}

/* "./a//b/" → "a/b"; NULL for paths that climb out. */
char *
berth_builder_clean_path (const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();

  for (guint i = 0; parts[i]; i++)
    {
      if (*parts[i] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          if (out->len == 0)
            return NULL;
          g_ptr_array_remove_index (out, out->len - 1);
          continue;
        }
      g_ptr_array_add (out, parts[i]);
    }
  g_ptr_array_add (out, NULL);
  return g_strjoinv ("/", (char **)out->pdata);
}

/* --- reading ------------------------------------------------------------ */

typedef struct
{
  int in_fd;
  BerthBuilderContext *ctx;
  char buf[1 << 20]; /* the size of berthctl's pipe: one read a fill */
  guint64 total, max;
  GError *error;
} Reader;

static gboolean
open_tar (BerthBuilderContext *ctx, GError **error)
{
  g_autofree char *tar_path = g_build_filename (ctx->dir, "context.tar", NULL);

  ctx->tar_fd = open (tar_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (ctx->tar_fd < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", tar_path);
  return TRUE;
}

/* From memory to the file: when the stream outgrows the buffer, or a step
 * needs the context as files. */
static gboolean
spill (BerthBuilderContext *ctx, GError **error)
{
  if (ctx->mem == NULL)
    return TRUE;
  if (!open_tar (ctx, error) || !berth_fs_write_all (ctx->tar_fd, ctx->mem, ctx->mem_len, error))
    return FALSE;
  keep_release (ctx->mem);
  ctx->mem = NULL;
  ctx->mem_len = 0;
  return TRUE;
}

static la_ssize_t
on_read (struct archive *a, void *user_data, const void **out)
{
  Reader *r = user_data;
  BerthBuilderContext *ctx = r->ctx;
  char *buf = r->buf;
  ssize_t n;

  if (ctx->mem && ctx->mem_len + sizeof r->buf > KEEP_IN_MEMORY_MAX
      && !spill (ctx, r->error ? NULL : &r->error))
    {
      archive_set_error (a, EIO, "cannot keep the build context");
      return -1;
    }
  if (ctx->mem)
    buf = ctx->mem + ctx->mem_len;
  do
    n = read (r->in_fd, buf, sizeof r->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      archive_set_error (a, errno, "cannot read the build context: %s", g_strerror (errno));
      return -1;
    }
  r->total += n;
  if (r->total > r->max)
    {
      archive_set_error (a, EFBIG, "the build context is larger than %" G_GUINT64_FORMAT " bytes",
                         r->max);
      return -1;
    }
  if (ctx->mem)
    ctx->mem_len += n;
  else if (n > 0 && !berth_fs_write_all (ctx->tar_fd, buf, n, r->error ? NULL : &r->error))
    {
      archive_set_error (a, EIO, "cannot keep the build context");
      return -1;
    }
  *out = buf;
  return n;
}

static void
add_entry (BerthBuilderContext *ctx, char *path, guint mode, guint64 size, char *content)
{
  Entry *e = g_new0 (Entry, 1);
  g_autofree char *parent = g_strdup (path);
  char *slash;

  e->path = path;
  e->mode = mode;
  e->size = size;
  e->content = content;
  g_hash_table_replace (ctx->entries, e->path, e);
  /* Parents the stream left out (an ignored directory holding an
   * exception) are directories all the same. */
  while ((slash = strrchr (parent, '/')) != NULL)
    {
      Entry *d;

      *slash = '\0';
      if (g_hash_table_contains (ctx->entries, parent))
        break;
      d = g_new0 (Entry, 1);
      d->path = g_strdup (parent);
      d->mode = S_IFDIR | 0755;
      g_hash_table_replace (ctx->entries, d->path, d);
    }
}

static gboolean
archive_failed (struct archive *a, Reader *r, GError **error)
{
  if (r->error)
    g_propagate_error (error, g_steal_pointer (&r->error));
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                 "cannot read the build context: %s",
                 archive_error_string (a) ? archive_error_string (a) : "not a tar archive");
  return FALSE;
}

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Entry *const *)a)->path, (*(Entry *const *)b)->path);
}

BerthBuilderContext *
berth_builder_context_read (int in_fd, const char *dir, const char *const *wanted, guint64 max_size,
                            GCancellable *cancellable, GError **error)
{
  g_autoptr (BerthBuilderContext) ctx = g_new0 (BerthBuilderContext, 1);
  g_autofree Reader *r = g_new0 (Reader, 1);
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;
  gboolean ok = FALSE;
  int rc;

  ctx->dir = g_strdup (dir);
  ctx->dir_fd = -1;
  ctx->tar_fd = -1;
  ctx->max_size = max_size;
  ctx->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  ctx->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)entry_free);
  ctx->wanted
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  for (guint i = 0; wanted && wanted[i]; i++)
    g_hash_table_insert (ctx->wanted, g_strdup (wanted[i]), NULL);
  ctx->mem = keep_acquire ();
  if (ctx->mem == NULL && !open_tar (ctx, error))
    {
      archive_read_free (a);
      return NULL;
    }

  r->in_fd = in_fd;
  r->ctx = ctx;
  r->max = max_size;
  archive_read_support_format_tar (a);
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  if (archive_read_open (a, r, NULL, on_read, NULL) != ARCHIVE_OK)
    goto out;
  while ((rc = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      g_autofree char *path = berth_builder_clean_path (archive_entry_pathname (entry));
      mode_t type = archive_entry_filetype (entry);
      const char *hardlink = archive_entry_hardlink (entry);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          archive_read_free (a);
          return NULL;
        }
      if (path == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                       "the build context's entry %s leaves the context",
                       archive_entry_pathname (entry));
          archive_read_free (a);
          return NULL;
        }
      if (*path == '\0')
        continue;
      if (hardlink)
        {
          g_autofree char *target = berth_builder_clean_path (hardlink);
          Entry *e = target ? g_hash_table_lookup (ctx->entries, target) : NULL;

          if (e)
            add_entry (ctx, g_steal_pointer (&path), e->mode, e->size, g_strdup (e->content));
          continue;
        }
      if (type == AE_IFREG)
        {
          g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
          gboolean keep = g_hash_table_contains (ctx->wanted, path);
          g_autoptr (GByteArray) data = keep ? g_byte_array_new () : NULL;
          const void *block;
          size_t len;
          la_int64_t offset;

          while ((rc = archive_read_data_block (a, &block, &len, &offset)) == ARCHIVE_OK)
            {
              berth_hasher_update (hasher, block, len);
              if (data && data->len + len <= BERTH_CONTAINERFILE_MAX_SIZE)
                g_byte_array_append (data, block, len);
            }
          if (rc != ARCHIVE_EOF)
            goto out;
          if (keep)
            g_hash_table_insert (ctx->wanted, g_strdup (path),
                                 g_byte_array_free_to_bytes (g_steal_pointer (&data)));
          add_entry (ctx, g_steal_pointer (&path), AE_IFREG | (archive_entry_perm (entry) & 07777),
                     archive_entry_size (entry), berth_hasher_finish (hasher));
        }
      else if (type == AE_IFDIR)
        add_entry (ctx, g_steal_pointer (&path), AE_IFDIR | (archive_entry_perm (entry) & 07777), 0,
                   NULL);
      else if (type == AE_IFLNK)
        add_entry (ctx, g_steal_pointer (&path), AE_IFLNK | 0777, 0,
                   g_strdup (archive_entry_symlink (entry)));
      /* Devices, FIFOs and sockets: COPY leaves them out anyway. */
    }
  ok = rc == ARCHIVE_EOF;
  /* What follows the end of the archive (block padding) is read too, so
   * that the sender finishes without a broken pipe. */
  while (ok && r->total <= r->max)
    {
      ssize_t n = read (in_fd, r->buf, sizeof r->buf);

      if (n > 0)
        r->total += n;
      else if (n == 0 || errno != EINTR)
        break;
    }

out:
  if (!ok)
    archive_failed (a, r, error);
  archive_read_free (a);
  g_clear_error (&r->error);
  if (!ok)
    return NULL;
  {
    GHashTableIter iter;
    gpointer value;

    ctx->sorted = g_ptr_array_new ();
    g_hash_table_iter_init (&iter, ctx->entries);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (ctx->sorted, value);
  }
  g_ptr_array_sort (ctx->sorted, compare_entries);
  return g_steal_pointer (&ctx);
}

GBytes *
berth_builder_context_get_file (BerthBuilderContext *ctx, const char *path)
{
  GBytes *bytes = g_hash_table_lookup (ctx->wanted, path);

  return bytes ? g_bytes_ref (bytes) : NULL;
}

/* --- what COPY names ------------------------------------------------------ */

static gboolean
glob_matches (const char *pattern, const char *path)
{
  g_auto (GStrv) p = g_strsplit (pattern, "/", -1);
  g_auto (GStrv) q = g_strsplit (path, "/", -1);

  if (g_strv_length (p) != g_strv_length (q))
    return FALSE;
  for (guint i = 0; p[i]; i++)
    if (fnmatch (p[i], q[i], 0) != 0)
      return FALSE;
  return TRUE;
}

char *
berth_builder_context_digest (BerthBuilderContext *ctx, char **sources, gboolean add,
                              GError **error)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  const char *what = add ? "ADD" : "COPY";

  for (guint i = 0; sources[i]; i++)
    {
      g_autofree char *clean = NULL;
      g_autoptr (GPtrArray) roots = g_ptr_array_new ();

      if (add
          && (g_str_has_prefix (sources[i], "http://")
              || g_str_has_prefix (sources[i], "https://")))
        {
          /* A URL counts by its text: fetched again only when it changes. */
          berth_hasher_update (hasher, sources[i], strlen (sources[i]) + 1);
          continue;
        }
      clean = berth_builder_clean_path (sources[i]);
      if (clean == NULL)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "%s: %s is outside the build context", what, sources[i]),
               NULL;
      if (strpbrk (clean, "*?["))
        {
          for (guint j = 0; j < ctx->sorted->len; j++)
            {
              Entry *e = g_ptr_array_index (ctx->sorted, j);

              if (glob_matches (clean, e->path))
                g_ptr_array_add (roots, e->path);
            }
          if (roots->len == 0)
            return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                "%s: no file matches %s", what, sources[i]),
                   NULL;
        }
      else if (*clean == '\0' || g_hash_table_contains (ctx->entries, clean))
        g_ptr_array_add (roots, clean);
      else
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "%s: %s: not found in the build context", what, sources[i]),
               NULL;

      for (guint k = 0; k < roots->len; k++)
        {
          const char *root = g_ptr_array_index (roots, k);
          gsize n = strlen (root);

          berth_hasher_update (hasher, root, n + 1);
          for (guint j = 0; j < ctx->sorted->len; j++)
            {
              Entry *e = g_ptr_array_index (ctx->sorted, j);
              g_autofree char *head = NULL;

              if (n > 0
                  && !(g_str_has_prefix (e->path, root)
                       && (e->path[n] == '\0' || e->path[n] == '/')))
                continue;
              head = g_strdup_printf ("%s\n%o %" G_GUINT64_FORMAT "\n", e->path, e->mode, e->size);
              berth_hasher_update (hasher, head, strlen (head) + 1);
              if (e->content)
                berth_hasher_update (hasher, e->content, strlen (e->content) + 1);
            }
        }
    }
  return berth_hasher_finish (hasher);
}

int
berth_builder_context_dir (BerthBuilderContext *ctx, GError **error)
{
  g_autofree char *path = NULL;
  BerthUnpackOptions o = BERTH_UNPACK_OPTIONS_INIT;
  g_auto (BerthUnpackResult) result = { 0 };

  if (ctx->dir_fd >= 0)
    return ctx->dir_fd;
  path = g_build_filename (ctx->dir, "context", NULL);
  if (g_mkdir_with_parents (path, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", path), -1;
  ctx->dir_fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ctx->dir_fd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", path), -1;
  o.max_size = ctx->max_size;
  if (!spill (ctx, error))
    {
      berth_close_fdp (&ctx->dir_fd);
      return -1;
    }
  if (lseek (ctx->tar_fd, 0, SEEK_SET) < 0
      || !berth_unpack_layer (ctx->tar_fd, ctx->dir_fd, &o, &result, ctx->cancellable, error))
    {
      g_prefix_error (error, "cannot unpack the build context: ");
      berth_close_fdp (&ctx->dir_fd);
      return -1;
    }
  return ctx->dir_fd;
}
