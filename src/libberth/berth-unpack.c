/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-unpack.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ZSTD_DStream, ZSTD_freeDStream)

static void
archive_read_freep (struct archive *a)
{
  archive_read_free (a);
}
typedef struct archive BerthArchiveRead;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthArchiveRead, archive_read_freep)

#define IN_BUF_SIZE (256 * 1024)
#define OUT_BUF_SIZE (256 * 1024)

/* ---- the decompressing, hashing reader ---- */

typedef struct
{
  int fd;
  int copy_fd;
  BerthCompression compression;
  BerthHasher *digest;
  BerthHasher *diff_id;
  z_stream z;
  gboolean z_init;
  ZSTD_DStream *zstd;
  guint8 *in_buf;
  gsize in_len, in_pos;
  guint8 *out_buf;
  gboolean in_eof;
  gboolean frame_open; /* a compressed frame has started and not ended */
  guint64 compressed;
  guint64 uncompressed;
  guint64 max;
  GCancellable *cancellable;
  GError *error;
} Stream;

BerthCompression
berth_unpack_detect_compression (const guint8 *data, gsize len)
{
  if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b)
    return BERTH_COMPRESSION_GZIP;
  if (len >= 4 && data[0] == 0x28 && data[1] == 0xb5 && data[2] == 0x2f && data[3] == 0xfd)
    return BERTH_COMPRESSION_ZSTD;
  return BERTH_COMPRESSION_NONE;
}

static gboolean stream_fail (Stream *s, BerthError code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
stream_fail (Stream *s, BerthError code, const char *format, ...)
{
  va_list args;

  if (s->error == NULL)
    {
      va_start (args, format);
      s->error = g_error_new_valist (BERTH_ERROR, code, format, args);
      va_end (args);
    }
  return FALSE;
}

/* Reads the next chunk of the blob into in_buf. FALSE on error. */
static gboolean
stream_fill (Stream *s)
{
  ssize_t n;

  if (g_cancellable_set_error_if_cancelled (s->cancellable, &s->error))
    return FALSE;
  do
    n = read (s->fd, s->in_buf, IN_BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berth_error_set_errno (&s->error, errno, "cannot read the layer");
  s->in_pos = 0;
  s->in_len = n;
  if (n == 0)
    {
      s->in_eof = TRUE;
      return TRUE;
    }
  berth_hasher_update (s->digest, s->in_buf, n);
  s->compressed += n;
  if (s->copy_fd >= 0 && !berth_fs_write_all (s->copy_fd, s->in_buf, n, &s->error))
    return FALSE;
  return TRUE;
}

static gboolean
stream_init (Stream *s, int fd, int copy_fd, guint64 max, GCancellable *cancellable)
{
  s->fd = fd;
  s->copy_fd = copy_fd;
  s->max = max;
  s->cancellable = cancellable;
  s->digest = berth_hasher_new (BERTH_DIGEST_SHA256);
  s->diff_id = berth_hasher_new (BERTH_DIGEST_SHA256);
  s->in_buf = g_malloc (IN_BUF_SIZE);
  s->out_buf = g_malloc (OUT_BUF_SIZE);

  if (!stream_fill (s))
    return FALSE;
  s->compression = berth_unpack_detect_compression (s->in_buf, s->in_len);
  if (s->compression == BERTH_COMPRESSION_GZIP)
    {
      if (inflateInit2 (&s->z, 16 + MAX_WBITS) != Z_OK)
        return stream_fail (s, BERTH_ERROR_FAILED, "cannot initialise zlib");
      s->z_init = TRUE;
      s->frame_open = TRUE;
    }
  else if (s->compression == BERTH_COMPRESSION_ZSTD)
    {
      s->zstd = ZSTD_createDStream ();
      if (s->zstd == NULL || ZSTD_isError (ZSTD_initDStream (s->zstd)))
        return stream_fail (s, BERTH_ERROR_FAILED, "cannot initialise zstd");
      s->frame_open = TRUE;
    }
  return TRUE;
}

static void
stream_clear (Stream *s)
{
  if (s->z_init)
    inflateEnd (&s->z);
  if (s->zstd)
    ZSTD_freeDStream (s->zstd);
  g_clear_pointer (&s->digest, berth_hasher_free);
  g_clear_pointer (&s->diff_id, berth_hasher_free);
  g_clear_pointer (&s->in_buf, g_free);
  g_clear_pointer (&s->out_buf, g_free);
  g_clear_error (&s->error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Stream, stream_clear)

static gboolean
account (Stream *s, const guint8 *data, gsize n)
{
  s->uncompressed += n;
  if (s->uncompressed > s->max)
    return stream_fail (s, BERTH_ERROR_LIMIT_EXCEEDED,
                        "the layer decompresses to more than %" G_GUINT64_FORMAT
                        " bytes, the limit (max-layer-size in berth.conf)",
                        s->max);
  berth_hasher_update (s->diff_id, data, n);
  return TRUE;
}

/* Returns the number of uncompressed bytes at *out (0 at the end), or -1. */
static gssize
stream_read (Stream *s, const guint8 **out)
{
  for (;;)
    {
      if (s->in_pos >= s->in_len && !s->in_eof && !stream_fill (s))
        return -1;

      if (s->compression == BERTH_COMPRESSION_NONE)
        {
          gsize n = s->in_len - s->in_pos;

          if (n == 0)
            return 0;
          *out = s->in_buf + s->in_pos;
          s->in_pos = s->in_len;
          return account (s, *out, n) ? (gssize)n : -1;
        }

      if (s->in_pos >= s->in_len && s->in_eof)
        {
          if (s->frame_open)
            {
              stream_fail (s, BERTH_ERROR_INVALID_ARCHIVE,
                           "the layer is truncated: its %s stream ends early",
                           s->compression == BERTH_COMPRESSION_GZIP ? "gzip" : "zstd");
              return -1;
            }
          return 0;
        }

      if (s->compression == BERTH_COMPRESSION_GZIP)
        {
          int r;
          gsize produced;

          if (!s->frame_open)
            {
              /* Another gzip member follows (as in concatenated gzip files). */
              if (inflateReset (&s->z) != Z_OK)
                return stream_fail (s, BERTH_ERROR_FAILED, "zlib reset failed"), -1;
              s->frame_open = TRUE;
            }
          s->z.next_in = s->in_buf + s->in_pos;
          s->z.avail_in = s->in_len - s->in_pos;
          s->z.next_out = s->out_buf;
          s->z.avail_out = OUT_BUF_SIZE;
          r = inflate (&s->z, Z_NO_FLUSH);
          s->in_pos = s->in_len - s->z.avail_in;
          produced = OUT_BUF_SIZE - s->z.avail_out;
          if (r == Z_STREAM_END)
            s->frame_open = FALSE;
          else if (r != Z_OK && r != Z_BUF_ERROR)
            {
              stream_fail (s, BERTH_ERROR_INVALID_ARCHIVE, "the layer's gzip data is corrupt (%s)",
                           s->z.msg ? s->z.msg : "inflate failed");
              return -1;
            }
          if (produced > 0)
            {
              *out = s->out_buf;
              return account (s, s->out_buf, produced) ? (gssize)produced : -1;
            }
        }
      else
        {
          ZSTD_inBuffer in = { s->in_buf, s->in_len, s->in_pos };
          ZSTD_outBuffer outb = { s->out_buf, OUT_BUF_SIZE, 0 };
          size_t r = ZSTD_decompressStream (s->zstd, &outb, &in);

          s->in_pos = in.pos;
          if (ZSTD_isError (r))
            {
              stream_fail (s, BERTH_ERROR_INVALID_ARCHIVE, "the layer's zstd data is corrupt (%s)",
                           ZSTD_getErrorName (r));
              return -1;
            }
          s->frame_open = r != 0;
          if (outb.pos > 0)
            {
              *out = s->out_buf;
              return account (s, s->out_buf, outb.pos) ? (gssize)outb.pos : -1;
            }
        }
    }
}

static la_ssize_t
archive_read_cb (struct archive *a, void *user_data, const void **buf)
{
  Stream *s = user_data;
  const guint8 *out = NULL;
  gssize n = stream_read (s, &out);

  if (n < 0)
    {
      archive_set_error (a, EIO, "%s", s->error ? s->error->message : "read failed");
      return -1;
    }
  *buf = out;
  return n;
}

/* Reads what libarchive left (tar padding, the end of the compressed
 * stream) so that both digests cover the whole blob. */
static gboolean
stream_drain (Stream *s)
{
  const guint8 *out;
  gssize n;

  while ((n = stream_read (s, &out)) > 0)
    ;
  return n == 0;
}

static gboolean
stream_finish (Stream *s, char **out_digest, char **out_diff_id, GError **error)
{
  if (!stream_drain (s))
    {
      g_propagate_error (error, g_steal_pointer (&s->error));
      return FALSE;
    }
  *out_digest = berth_hasher_finish (s->digest);
  *out_diff_id = berth_hasher_finish (s->diff_id);
  return TRUE;
}

/* ---- extraction ---- */

typedef struct
{
  char *path; /* relative, normalized */
  struct timespec times[2];
} DirTimes;

typedef struct
{
  int root_fd;
  const BerthUnpackOptions *options;
  guint64 max;
  gboolean is_root;
  uid_t euid;
  gid_t egid;
  char *parent_path; /* cached parent directory */
  int parent_fd;
  GArray *dir_times;
  struct archive *a;
} Extract;

static void
dir_times_clear (DirTimes *d)
{
  g_free (d->path);
}

static gboolean entry_error (GError **error, BerthError code, const char *entry, const char *format,
                             ...) G_GNUC_PRINTF (4, 5);

static gboolean
entry_error (GError **error, BerthError code, const char *entry, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, BERTH_ERROR, code, "layer entry \"%s\": %s", entry, why);
  return FALSE;
}

/* Turns an archive path into normalized components, refusing absolute
 * paths and "..". "./a//b/" gives ["a", "b"]. */
static GPtrArray *
split_path (const char *raw, const char *what, GError **error)
{
  g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) split = NULL;

  if (raw == NULL)
    {
      entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, "?", "the %s cannot be decoded", what);
      return NULL;
    }
  if (raw[0] == '/')
    {
      entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, raw, "the %s is absolute", what);
      return NULL;
    }
  split = g_strsplit (raw, "/", -1);
  for (char **p = split; *p; p++)
    {
      if (**p == '\0' || g_str_equal (*p, "."))
        continue;
      if (g_str_equal (*p, ".."))
        {
          entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, raw, "the %s contains \"..\"", what);
          return NULL;
        }
      g_ptr_array_add (parts, g_strdup (*p));
    }
  return g_steal_pointer (&parts);
}

static char *
join_parts (GPtrArray *parts, guint n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      if (i)
        g_string_append_c (s, '/');
      g_string_append (s, g_ptr_array_index (parts, i));
    }
  return g_string_free (s, FALSE);
}

static void
invalidate_parent (Extract *x)
{
  g_clear_pointer (&x->parent_path, g_free);
  berth_close_fdp (&x->parent_fd);
}

/* Opens (creating as needed) the directory holding the last component of
 * @parts, never following a symbolic link. */
static int
open_parent (Extract *x, GPtrArray *parts, const char *entry, GError **error)
{
  g_autofree char *path = join_parts (parts, parts->len - 1);
  berth_autofd int cur = -1;
  int fd;

  if (x->parent_path && g_str_equal (x->parent_path, path))
    return x->parent_fd;
  invalidate_parent (x);

  if (*path == '\0')
    fd = fcntl (x->root_fd, F_DUPFD_CLOEXEC, 3);
  else
    fd = berth_fs_open_beneath (x->root_fd, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd >= 0)
    {
      x->parent_path = g_steal_pointer (&path);
      x->parent_fd = fd;
      return fd;
    }
  if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV)
    {
      berth_error_set_errno (error, errno, "layer entry \"%s\": cannot open its directory", entry);
      return -1;
    }

  /* Walk one component at a time, creating what tar did not list, so the
   * error can name the component that is a symbolic link. */
  cur = fcntl (x->root_fd, F_DUPFD_CLOEXEC, 3);
  for (guint i = 0; i + 1 < parts->len; i++)
    {
      const char *name = g_ptr_array_index (parts, i);
      struct stat st;
      int next;

      if (fstatat (cur, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno != ENOENT)
            {
              berth_error_set_errno (error, errno, "layer entry \"%s\"", entry);
              return -1;
            }
          if (mkdirat (cur, name, 0755) < 0)
            {
              berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create %s", entry,
                                     name);
              return -1;
            }
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *link = join_parts (parts, i + 1);

          entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, entry,
                       "it would be written through the symbolic link \"%s\"", link);
          return -1;
        }
      else if (!S_ISDIR (st.st_mode))
        {
          g_autofree char *what = join_parts (parts, i + 1);

          entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, entry, "\"%s\" is not a directory",
                       what);
          return -1;
        }
      next = openat (cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        {
          berth_error_set_errno (error, errno, "layer entry \"%s\": cannot open %s", entry, name);
          return -1;
        }
      berth_close_fdp (&cur);
      cur = next;
    }
  x->parent_path = g_steal_pointer (&path);
  x->parent_fd = cur;
  cur = -1;
  return x->parent_fd;
}

/* Makes room for a new entry called @name: nothing there, or a directory
 * when @want_dir (which is then reused, as tar does). */
static gboolean
clear_target (Extract *x, int dirfd, const char *name, gboolean want_dir, const char *entry,
              gboolean *out_exists_dir, GError **error)
{
  struct stat st;

  *out_exists_dir = FALSE;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return berth_error_set_errno (error, errno, "layer entry \"%s\"", entry);
    }
  if (S_ISDIR (st.st_mode) && want_dir)
    {
      *out_exists_dir = TRUE;
      return TRUE;
    }
  /* The cached parent is @dirfd itself, never below @name, so it stays valid. */
  if (S_ISDIR (st.st_mode))
    return berth_fs_rm_rf_at (dirfd, name, error);
  if (unlinkat (dirfd, name, 0) < 0)
    return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot replace it", entry);
  return TRUE;
}

static gboolean
apply_xattrs (int fd, struct archive_entry *entry, const char *path, GError **error)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (entry);
  while (archive_entry_xattr_next (entry, &name, &value, &size) == ARCHIVE_OK)
    {
      /* overlayfs reads trusted.overlay.* as instructions (redirects,
       * metacopy); a layer does not get to give them. Whiteouts and opaque
       * directories come from the OCI names only. */
      if (g_str_has_prefix (name, "trusted.overlay."))
        {
          g_debug ("layer entry \"%s\": dropping the xattr %s", path, name);
          continue;
        }
      if (fsetxattr (fd, name, value, size, 0) < 0)
        {
          if (errno == ENOTSUP || errno == EPERM)
            {
              g_debug ("layer entry \"%s\": xattr %s not kept: %s", path, name, g_strerror (errno));
              continue;
            }
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot set xattr %s",
                                        path, name);
        }
    }
  return TRUE;
}

static void
entry_times (struct archive_entry *entry, struct timespec times[2])
{
  times[0].tv_sec = archive_entry_atime_is_set (entry) ? archive_entry_atime (entry)
                                                       : archive_entry_mtime (entry);
  times[0].tv_nsec = archive_entry_atime_is_set (entry) ? archive_entry_atime_nsec (entry)
                                                        : archive_entry_mtime_nsec (entry);
  times[1].tv_sec = archive_entry_mtime (entry);
  times[1].tv_nsec = archive_entry_mtime_nsec (entry);
}

/* Ownership, mode, xattrs, times of an open file (or directory). */
static gboolean
apply_metadata_fd (Extract *x, int fd, struct archive_entry *entry, const char *path,
                   gboolean times, GError **error)
{
  uid_t uid = archive_entry_uid (entry);
  gid_t gid = archive_entry_gid (entry);
  struct timespec ts[2];

  if (x->is_root && (uid != x->euid || gid != x->egid) && fchown (fd, uid, gid) < 0)
    return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot change its owner",
                                  path);
  if (fchmod (fd, archive_entry_perm (entry)) < 0)
    return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot set its mode", path);
  if (!apply_xattrs (fd, entry, path, error))
    return FALSE;
  if (times)
    {
      entry_times (entry, ts);
      if (futimens (fd, ts) < 0)
        return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot set its times",
                                      path);
    }
  return TRUE;
}

static gboolean
write_data (Extract *x, int fd, const char *path, GError **error)
{
  const void *buf;
  size_t size;
  la_int64_t offset;
  la_int64_t pos = 0;
  int r;

  while ((r = archive_read_data_block (x->a, &buf, &size, &offset)) == ARCHIVE_OK)
    {
      if (offset != pos && lseek (fd, offset, SEEK_SET) < 0)
        return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot seek", path);
      if (!berth_fs_write_all (fd, buf, size, error))
        {
          g_prefix_error (error, "layer entry \"%s\": ", path);
          return FALSE;
        }
      pos = offset + size;
    }
  if (r != ARCHIVE_EOF)
    return FALSE; /* the caller reports the archive error */
  /* A sparse file may end in a hole. */
  if (pos > 0 && lseek (fd, 0, SEEK_CUR) != pos && ftruncate (fd, pos) < 0)
    return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot size it", path);
  return TRUE;
}

static gboolean
extract_whiteout (Extract *x, int dirfd, const char *name, const char *path, GError **error)
{
  const char *target = name + strlen (".wh.");
  gboolean exists_dir;

  if (g_str_equal (name, ".wh..wh..opq"))
    {
      if (fsetxattr (dirfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return berth_error_set_errno (error, errno,
                                      "layer entry \"%s\": cannot mark the directory opaque", path);
      return TRUE;
    }
  if (*target == '\0' || g_str_equal (target, ".") || g_str_equal (target, ".."))
    return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path, "invalid whiteout name");
  if (!clear_target (x, dirfd, target, FALSE, path, &exists_dir, error))
    return FALSE;
  if (mknodat (dirfd, target, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create the whiteout",
                                  path);
  return TRUE;
}

static gboolean
extract_hardlink (Extract *x, int dirfd, const char *name, struct archive_entry *entry,
                  const char *path, GError **error)
{
  const char *raw = archive_entry_hardlink (entry);
  g_autoptr (GPtrArray) target = NULL;
  g_autofree char *tparent = NULL;
  berth_autofd int tfd = -1;
  struct stat st;

  target = split_path (raw, "hard link target", error);
  if (target == NULL)
    {
      g_prefix_error (error, "hard link \"%s\": ", path);
      return FALSE;
    }
  if (target->len == 0)
    return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path, "hard link to the layer's root");
  tparent = join_parts (target, target->len - 1);
  tfd = *tparent ? berth_fs_open_beneath (x->root_fd, tparent, O_PATH | O_DIRECTORY, 0)
                 : fcntl (x->root_fd, F_DUPFD_CLOEXEC, 3);
  if (tfd < 0
      || fstatat (tfd, g_ptr_array_index (target, target->len - 1), &st, AT_SYMLINK_NOFOLLOW) < 0)
    return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path,
                        "hard link to \"%s\", which is not in the layer", raw);
  if (S_ISDIR (st.st_mode))
    return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path,
                        "hard link to the directory \"%s\"", raw);
  if (linkat (tfd, g_ptr_array_index (target, target->len - 1), dirfd, name, 0) < 0)
    {
      gboolean exists_dir;

      if (errno != EEXIST)
        return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot link to %s", path,
                                      raw);
      if (!clear_target (x, dirfd, name, FALSE, path, &exists_dir, error))
        return FALSE;
      if (linkat (tfd, g_ptr_array_index (target, target->len - 1), dirfd, name, 0) < 0)
        return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot link to %s", path,
                                      raw);
    }
  return TRUE;
}

static gboolean
extract_entry (Extract *x, struct archive_entry *entry, GError **error)
{
  const char *raw = archive_entry_pathname (entry);
  g_autoptr (GPtrArray) parts = NULL;
  g_autofree char *path = NULL;
  const char *name;
  mode_t type = archive_entry_filetype (entry);
  gboolean exists_dir = FALSE;
  int dirfd;

  parts = split_path (raw, "path", error);
  if (parts == NULL)
    return FALSE;
  if (parts->len == 0)
    return TRUE; /* the layer's root ("./") */
  path = join_parts (parts, parts->len);
  name = g_ptr_array_index (parts, parts->len - 1);

  if (archive_entry_size_is_set (entry) && (guint64)archive_entry_size (entry) > x->max)
    return entry_error (error, BERTH_ERROR_LIMIT_EXCEEDED, path,
                        "declares %" G_GINT64_FORMAT " bytes, over the limit of %" G_GUINT64_FORMAT
                        " (max-layer-size in berth.conf)",
                        (gint64)archive_entry_size (entry), x->max);

  dirfd = open_parent (x, parts, path, error);
  if (dirfd < 0)
    return FALSE;

  if (g_str_has_prefix (name, ".wh."))
    return extract_whiteout (x, dirfd, name, path, error);

  if (archive_entry_hardlink (entry) != NULL)
    return extract_hardlink (x, dirfd, name, entry, path, error);

  if (!clear_target (x, dirfd, name, type == AE_IFDIR, path, &exists_dir, error))
    return FALSE;

  switch (type)
    {
    case AE_IFREG:
      {
        berth_autofd int fd
          = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create it", path);
        if (!write_data (x, fd, path, error))
          return FALSE;
        return apply_metadata_fd (x, fd, entry, path, TRUE, error);
      }

    case AE_IFDIR:
      {
        berth_autofd int fd = -1;
        DirTimes dt = { 0 };

        if (!exists_dir && mkdirat (dirfd, name, 0700) < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create it", path);
        fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot open it", path);
        if (!apply_metadata_fd (x, fd, entry, path, FALSE, error))
          return FALSE;
        /* Times last: creating entries inside changes them. */
        dt.path = g_strdup (path);
        entry_times (entry, dt.times);
        g_array_append_val (x->dir_times, dt);
        return TRUE;
      }

    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (entry);
        struct timespec ts[2];

        if (target == NULL || *target == '\0')
          return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path,
                              "symbolic link without a target");
        /* The target is data: it is never followed while unpacking. */
        if (symlinkat (target, dirfd, name) < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create it", path);
        if (x->is_root
            && fchownat (dirfd, name, archive_entry_uid (entry), archive_entry_gid (entry),
                         AT_SYMLINK_NOFOLLOW)
                 < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot change its owner",
                                        path);
        entry_times (entry, ts);
        utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
        return TRUE;
      }

    case AE_IFIFO:
    case AE_IFCHR:
    case AE_IFBLK:
      {
        berth_autofd int fd = -1;
        dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev (entry);
        struct timespec ts[2];

        if (type != AE_IFIFO && !x->options->allow_devices)
          {
            g_debug ("layer entry \"%s\": device node skipped (not running as root)", path);
            return TRUE;
          }
        if (mknodat (dirfd, name, type | 0600, dev) < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot create it", path);
        if (x->is_root
            && fchownat (dirfd, name, archive_entry_uid (entry), archive_entry_gid (entry),
                         AT_SYMLINK_NOFOLLOW)
                 < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot change its owner",
                                        path);
        if (fchmodat (dirfd, name, archive_entry_perm (entry), 0) < 0)
          return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot set its mode",
                                        path);
        entry_times (entry, ts);
        utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
        return TRUE;
      }

    case AE_IFSOCK:
      g_debug ("layer entry \"%s\": socket skipped", path);
      return TRUE;

    default:
      return entry_error (error, BERTH_ERROR_INVALID_ARCHIVE, path, "unknown file type 0%o",
                          (unsigned)type);
    }
}

static gboolean
apply_dir_times (Extract *x, GError **error)
{
  for (guint i = x->dir_times->len; i > 0; i--)
    {
      DirTimes *dt = &g_array_index (x->dir_times, DirTimes, i - 1);
      berth_autofd int fd = berth_fs_open_beneath (x->root_fd, dt->path, O_RDONLY | O_DIRECTORY, 0);

      /* A later entry may have replaced the directory; then it has its own times. */
      if (fd < 0)
        continue;
      if (futimens (fd, dt->times) < 0)
        return berth_error_set_errno (error, errno, "layer entry \"%s\": cannot set its times",
                                      dt->path);
    }
  return TRUE;
}

void
berth_unpack_result_clear (BerthUnpackResult *result)
{
  g_clear_pointer (&result->digest, g_free);
  g_clear_pointer (&result->diff_id, g_free);
}

static gboolean
archive_failed (Stream *s, struct archive *a, const char *at, GError **error)
{
  if (s->error)
    {
      if (at)
        g_prefix_error (&s->error, "after layer entry \"%s\": ", at);
      g_propagate_error (error, g_steal_pointer (&s->error));
      return FALSE;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
               "the layer is truncated or corrupt%s%s%s: %s", at ? " (after entry \"" : "",
               at ? at : "", at ? "\")" : "", archive_error_string (a));
  return FALSE;
}

gboolean
berth_unpack_layer (int blob_fd, int dest_dirfd, const BerthUnpackOptions *options,
                    BerthUnpackResult *out_result, GCancellable *cancellable, GError **error)
{
  g_auto (Stream) s = { 0 };
  g_autoptr (BerthArchiveRead) a = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *diff_id = NULL;
  g_autofree char *last = NULL;
  Extract x = {
    .root_fd = dest_dirfd,
    .options = options,
    .parent_fd = -1,
    .is_root = geteuid () == 0,
    .euid = geteuid (),
    .egid = getegid (),
  };
  struct archive_entry *entry;
  guint64 n_entries = 0;
  gboolean ok = FALSE;
  int r;

  x.max = options->max_size ? options->max_size : BERTH_UNPACK_DEFAULT_MAX_SIZE;
  x.dir_times = g_array_new (FALSE, TRUE, sizeof (DirTimes));
  g_array_set_clear_func (x.dir_times, (GDestroyNotify)dir_times_clear);

  if (!stream_init (&s, blob_fd, options->copy_fd, x.max, cancellable))
    {
      g_propagate_error (error, g_steal_pointer (&s.error));
      goto out;
    }

  a = archive_read_new ();
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  x.a = a;
  if (archive_read_open (a, &s, NULL, archive_read_cb, NULL) != ARCHIVE_OK)
    {
      archive_failed (&s, a, NULL, error);
      goto out;
    }

  for (;;)
    {
      r = archive_read_next_header (a, &entry);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        {
          archive_failed (&s, a, last, error);
          goto out;
        }
      g_free (last);
      last = g_strdup (archive_entry_pathname (entry));
      if (!extract_entry (&x, entry, error))
        {
          /* write_data returns FALSE without an error for archive errors. */
          if (error == NULL || *error == NULL)
            archive_failed (&s, a, last, error);
          goto out;
        }
      n_entries++;
    }

  if (!stream_finish (&s, &digest, &diff_id, error))
    goto out;
  if (!apply_dir_times (&x, error))
    goto out;

  if (options->expected_digest && !g_str_equal (options->expected_digest, digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "layer %s does not match its digest (got %s)", options->expected_digest, digest);
      goto out;
    }
  if (options->expected_diff_id && !g_str_equal (options->expected_diff_id, diff_id))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "layer %s does not match its diff_id %s from the image config (the "
                   "uncompressed layer is %s)",
                   digest, options->expected_diff_id, diff_id);
      goto out;
    }

  if (out_result)
    {
      out_result->digest = g_steal_pointer (&digest);
      out_result->diff_id = g_steal_pointer (&diff_id);
      out_result->compressed_size = s.compressed;
      out_result->size = s.uncompressed;
      out_result->n_entries = n_entries;
      out_result->compression = s.compression;
    }
  ok = TRUE;

out:
  invalidate_parent (&x);
  g_array_unref (x.dir_times);
  return ok;
}

gboolean
berth_unpack_decompress (int in_fd, int out_fd, guint64 max_size, char **out_diff_id,
                         guint64 *out_size, GCancellable *cancellable, GError **error)
{
  g_auto (Stream) s = { 0 };
  g_autofree char *digest = NULL;
  const guint8 *buf;
  gssize n;

  if (!stream_init (&s, in_fd, -1, max_size ? max_size : BERTH_UNPACK_DEFAULT_MAX_SIZE,
                    cancellable))
    {
      g_propagate_error (error, g_steal_pointer (&s.error));
      return FALSE;
    }
  while ((n = stream_read (&s, &buf)) > 0)
    if (!berth_fs_write_all (out_fd, buf, n, error))
      return FALSE;
  if (n < 0)
    {
      g_propagate_error (error, g_steal_pointer (&s.error));
      return FALSE;
    }
  digest = berth_hasher_finish (s.digest);
  if (out_diff_id)
    *out_diff_id = berth_hasher_finish (s.diff_id);
  if (out_size)
    *out_size = s.uncompressed;
  return TRUE;
}
