/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-layer-diff.h"
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

#define DATA_BUF_SIZE (1024 * 1024)
#define OUT_BUF_SIZE (256 * 1024)
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_NAME ".wh..wh..opq"

typedef struct
{
  char *name;
  char *value;
  gsize len;
} Xattr;

static void
xattr_free (Xattr *x)
{
  g_free (x->name);
  g_free (x->value);
  g_free (x);
}

typedef struct
{
  BerthLayerDiffFlags flags;
  struct archive *a;
  int out_fd;
  BerthHasher *hasher;
  guint64 size;
  guint64 n_entries;
  GHashTable *excludes; /* normalized paths */
  GHashTable *links;    /* "dev:ino" → first path written */
  guint8 *data;         /* file data */
  guint8 *out;          /* small writes gathered before they reach out_fd */
  gsize out_len;
  gboolean copy;
  int copy_root_fd; /* hard links are made from the top */
  GCancellable *cancellable;
  GError *write_error; /* from the archive's write callback */
} Diff;

void
berth_layer_diff_result_clear (BerthLayerDiffResult *result)
{
  g_clear_pointer (&result->diff_id, g_free);
}

char **
berth_layer_diff_normalize_paths (const char *const *paths, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; paths && paths[i]; i++)
    {
      g_auto (GStrv) parts = g_strsplit (paths[i], "/", -1);
      g_autoptr (GString) path = g_string_new (NULL);

      for (guint j = 0; parts[j]; j++)
        {
          if (*parts[j] == '\0' || g_str_equal (parts[j], "."))
            continue;
          if (g_str_equal (parts[j], ".."))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                           "excluded path \"%s\" must not contain \"..\"", paths[i]);
              return NULL;
            }
          if (path->len)
            g_string_append_c (path, '/');
          g_string_append (path, parts[j]);
        }
      /* "/" would exclude everything: nothing sensible to commit. */
      if (path->len == 0)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "excluded path \"%s\" names the root", paths[i]);
          return NULL;
        }
      g_ptr_array_add (out, g_string_free (g_steal_pointer (&path), FALSE));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* ---- output ---- */

static gboolean
flush_out (Diff *d)
{
  if (d->out_len == 0)
    return TRUE;
  if (!berth_fs_write_all (d->out_fd, d->out, d->out_len, &d->write_error))
    return FALSE;
  d->out_len = 0;
  return TRUE;
}

/* libarchive writes unblocked (bytes_per_block 0): headers come in small
 * pieces, which are gathered; file data comes in large ones, written as
 * they are. */
static la_ssize_t
write_cb (struct archive *a, void *user_data, const void *buf, size_t len)
{
  Diff *d = user_data;

  if (d->write_error)
    return -1; /* failed before; libarchive tries again when it closes */
  berth_hasher_update (d->hasher, buf, len);
  d->size += len;
  if (d->out_len + len <= OUT_BUF_SIZE)
    {
      memcpy (d->out + d->out_len, buf, len);
      d->out_len += len;
      return len;
    }
  if (!flush_out (d))
    goto fail;
  if (len < OUT_BUF_SIZE)
    {
      memcpy (d->out, buf, len);
      d->out_len = len;
      return len;
    }
  if (!berth_fs_write_all (d->out_fd, buf, len, &d->write_error))
    goto fail;
  return len;

fail:
  archive_set_error (a, EIO, "%s", d->write_error->message);
  return -1;
}

static gboolean
archive_failed (Diff *d, const char *path, GError **error)
{
  if (d->write_error)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&d->write_error),
                                  "cannot write the layer: ");
      return FALSE;
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write \"%s\" into the layer: %s",
               path, archive_error_string (d->a));
  return FALSE;
}

/* ---- reading the tree ---- */

static char *
child_path (const char *dir, const char *name)
{
  return *dir ? g_strconcat (dir, "/", name, NULL) : g_strdup (name);
}

static GPtrArray *
read_xattrs (int fd, const char *path, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)xattr_free);
  g_autofree char *names = NULL;
  ssize_t n;

  for (;;)
    {
      n = flistxattr (fd, NULL, 0);
      if (n < 0)
        {
          if (errno == ENOTSUP)
            return g_steal_pointer (&out);
          berth_error_set_errno (error, errno, "cannot list the xattrs of \"%s\"", path);
          return NULL;
        }
      if (n == 0)
        return g_steal_pointer (&out);
      g_free (names);
      names = g_malloc (n);
      n = flistxattr (fd, names, n);
      if (n >= 0)
        break;
      if (errno != ERANGE)
        {
          berth_error_set_errno (error, errno, "cannot list the xattrs of \"%s\"", path);
          return NULL;
        }
    }
  for (char *name = names; name < names + n; name += strlen (name) + 1)
    {
      Xattr *x;
      ssize_t len = fgetxattr (fd, name, NULL, 0);

      if (len < 0)
        {
          if (errno == ENODATA)
            continue; /* removed meanwhile */
          berth_error_set_errno (error, errno, "cannot read the xattr %s of \"%s\"", name, path);
          return NULL;
        }
      x = g_new0 (Xattr, 1);
      x->name = g_strdup (name);
      x->value = g_malloc (len + 1);
      len = fgetxattr (fd, name, x->value, len);
      if (len < 0)
        {
          xattr_free (x);
          if (errno == ENODATA)
            continue;
          berth_error_set_errno (error, errno, "cannot read the xattr %s of \"%s\"", name, path);
          return NULL;
        }
      x->len = len;
      g_ptr_array_add (out, x);
    }
  return g_steal_pointer (&out);
}

static const Xattr *
find_xattr (GPtrArray *xattrs, const char *name)
{
  for (guint i = 0; xattrs && i < xattrs->len; i++)
    {
      const Xattr *x = g_ptr_array_index (xattrs, i);

      if (g_str_equal (x->name, name))
        return x;
    }
  return NULL;
}

/* What overlayfs keeps in its own xattrs when redirect_dir or metacopy is
 * on: the data lives elsewhere, and a layer made from this tree would be
 * wrong. */
static gboolean
check_overlay_xattrs (GPtrArray *xattrs, const char *path, GError **error)
{
  if (find_xattr (xattrs, "trusted.overlay.redirect")
      || find_xattr (xattrs, "trusted.overlay.metacopy"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "\"%s\" in the upper directory was written with the overlay's redirect_dir or "
                   "metacopy feature, which berth cannot turn into a layer (turn them off for "
                   "the overlay module)",
                   path);
      return FALSE;
    }
  return TRUE;
}

/* The xattrs of the file or directory FD that becomes an entry; refused
 * in an overlay upper directory when overlayfs keeps its data elsewhere. */
static GPtrArray *
read_entry_xattrs (Diff *d, int fd, const char *path, GError **error)
{
  g_autoptr (GPtrArray) xattrs = read_xattrs (fd, path, error);

  if (xattrs == NULL)
    return NULL;
  if ((d->flags & BERTH_LAYER_DIFF_OVERLAY_UPPER) && !check_overlay_xattrs (xattrs, path, error))
    return NULL;
  return g_steal_pointer (&xattrs);
}

static gboolean
is_opaque (GPtrArray *xattrs)
{
  const Xattr *x = find_xattr (xattrs, OPAQUE_XATTR);

  return x && x->len == 1 && x->value[0] == 'y';
}

/* ---- tar entries ---- */

static struct archive_entry *
entry_new (const char *path, const struct stat *st)
{
  struct archive_entry *entry = archive_entry_new ();

  archive_entry_set_pathname (entry, path);
  archive_entry_set_uid (entry, st->st_uid);
  archive_entry_set_gid (entry, st->st_gid);
  archive_entry_set_mode (entry, st->st_mode);
  /* Whole seconds: nanoseconds would cost a pax header per entry. */
  archive_entry_set_mtime (entry, st->st_mtim.tv_sec, 0);
  return entry;
}

static void
entry_add_xattrs (struct archive_entry *entry, GPtrArray *xattrs)
{
  for (guint i = 0; xattrs && i < xattrs->len; i++)
    {
      const Xattr *x = g_ptr_array_index (xattrs, i);

      if (!g_str_has_prefix (x->name, OVERLAY_XATTR_PREFIX))
        archive_entry_xattr_add_entry (entry, x->name, x->value, x->len);
    }
}

/* Writes ENTRY's header and frees ENTRY. */
static gboolean
write_entry (Diff *d, struct archive_entry *entry, GError **error)
{
  gboolean ok = TRUE;

  d->n_entries++;
  /* A warning is a name that is not UTF-8: written as bytes (pax
   * hdrcharset=BINARY), which is what the file is called. */
  if (archive_write_header (d->a, entry) < ARCHIVE_WARN)
    ok = archive_failed (d, archive_entry_pathname (entry), error);
  archive_entry_free (entry);
  return ok;
}

/* An empty regular file: a whiteout or the opaque marker. */
static gboolean
write_marker (Diff *d, const char *path, const struct stat *st, GError **error)
{
  struct stat marker = *st;
  struct archive_entry *entry;

  marker.st_mode = S_IFREG | 0600;
  entry = entry_new (path, &marker);
  archive_entry_set_size (entry, 0);
  return write_entry (d, entry, error);
}

/* ---- the copy ---- */

static gboolean
copy_xattrs (int fd, GPtrArray *xattrs, const char *path, GError **error)
{
  for (guint i = 0; xattrs && i < xattrs->len; i++)
    {
      const Xattr *x = g_ptr_array_index (xattrs, i);

      /* The copy is a layer: of overlay's own xattrs only opaque means
       * something there. */
      if (g_str_has_prefix (x->name, OVERLAY_XATTR_PREFIX) && !g_str_equal (x->name, OPAQUE_XATTR))
        continue;
      if (fsetxattr (fd, x->name, x->value, x->len, 0) < 0)
        {
          if (errno == ENOTSUP || errno == EPERM)
            {
              g_debug ("\"%s\": xattr %s not kept in the layer: %s", path, x->name,
                       g_strerror (errno));
              continue;
            }
          return berth_error_set_errno (error, errno, "cannot set the xattr %s of \"%s\"", x->name,
                                        path);
        }
    }
  return TRUE;
}

/* Owner, then mode (chown clears set-id bits), then times. */
static gboolean
copy_attrs_fd (int fd, const struct stat *st, const char *path, GError **error)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (fchown (fd, st->st_uid, st->st_gid) < 0 && (errno != EPERM || geteuid () == 0))
    return berth_error_set_errno (error, errno, "cannot set the owner of \"%s\"", path);
  if (fchmod (fd, st->st_mode & 07777) < 0)
    return berth_error_set_errno (error, errno, "cannot set the mode of \"%s\"", path);
  if (futimens (fd, times) < 0)
    return berth_error_set_errno (error, errno, "cannot set the times of \"%s\"", path);
  return TRUE;
}

static gboolean
copy_attrs_at (int dirfd, const char *name, const struct stat *st, gboolean set_mode,
               const char *path, GError **error)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (fchownat (dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0
      && (errno != EPERM || geteuid () == 0))
    return berth_error_set_errno (error, errno, "cannot set the owner of \"%s\"", path);
  if (set_mode && fchmodat (dirfd, name, st->st_mode & 07777, 0) < 0)
    return berth_error_set_errno (error, errno, "cannot set the mode of \"%s\"", path);
  if (utimensat (dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot set the times of \"%s\"", path);
  return TRUE;
}

/* ---- one entry of each kind ---- */

static gboolean walk_dir (Diff *d, int dirfd, const char *path, int copy_dirfd, GError **error);

static gboolean
do_whiteout (Diff *d, int copy_dirfd, const char *dir, const char *name, const struct stat *st,
             GError **error)
{
  g_autofree char *marker_name = g_strconcat (WHITEOUT_PREFIX, name, NULL);
  g_autofree char *marker = child_path (dir, marker_name);

  if (!write_marker (d, marker, st, error))
    return FALSE;
  if (d->copy && mknodat (copy_dirfd, name, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return berth_error_set_errno (error, errno, "cannot create the whiteout \"%s\"", marker);
  return TRUE;
}

static gboolean
do_dir (Diff *d, int dirfd, int copy_dirfd, const char *name, const char *path,
        const struct stat *st, GError **error)
{
  berth_autofd int fd = -1;
  berth_autofd int copy_fd = -1;
  g_autoptr (GPtrArray) xattrs = NULL;
  struct archive_entry *entry;

  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return TRUE; /* removed meanwhile (a commit without pause) */
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open the directory \"%s\"", path);
  xattrs = read_entry_xattrs (d, fd, path, error);
  if (xattrs == NULL)
    return FALSE;

  entry = entry_new (path, st);
  entry_add_xattrs (entry, xattrs);
  if (!write_entry (d, entry, error))
    return FALSE;
  if ((d->flags & BERTH_LAYER_DIFF_OVERLAY_UPPER) && is_opaque (xattrs))
    {
      g_autofree char *marker = child_path (path, OPAQUE_NAME);

      if (!write_marker (d, marker, st, error))
        return FALSE;
    }

  if (d->copy)
    {
      if (mkdirat (copy_dirfd, name, 0700) < 0)
        return berth_error_set_errno (error, errno, "cannot create the directory \"%s\"", path);
      copy_fd = openat (copy_dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (copy_fd < 0)
        return berth_error_set_errno (error, errno, "cannot open the directory \"%s\"", path);
      if (!copy_xattrs (copy_fd, xattrs, path, error))
        return FALSE;
    }
  if (!walk_dir (d, fd, path, copy_fd, error))
    return FALSE;
  /* After the entries: creating them changed the time. */
  return !d->copy || copy_attrs_fd (copy_fd, st, path, error);
}

static gboolean
do_file (Diff *d, int dirfd, int copy_dirfd, const char *name, const char *path,
         const struct stat *st, GError **error)
{
  g_autofree char *key = NULL;
  const char *first = NULL;
  berth_autofd int fd = -1;
  berth_autofd int copy_fd = -1;
  g_autoptr (GPtrArray) xattrs = NULL;
  struct archive_entry *entry;
  guint64 left = st->st_size;

  if (st->st_nlink > 1)
    {
      key = g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st->st_dev,
                             (guint64)st->st_ino);
      first = g_hash_table_lookup (d->links, key);
    }
  if (first)
    {
      entry = entry_new (path, st);
      archive_entry_set_hardlink (entry, first);
      archive_entry_set_size (entry, 0);
      if (!write_entry (d, entry, error))
        return FALSE;
      if (d->copy && linkat (d->copy_root_fd, first, copy_dirfd, name, 0) < 0)
        return berth_error_set_errno (error, errno, "cannot link \"%s\" to \"%s\"", path, first);
      return TRUE;
    }

  fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM)
    fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return TRUE; /* removed meanwhile */
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open \"%s\"", path);
  xattrs = read_entry_xattrs (d, fd, path, error);
  if (xattrs == NULL)
    return FALSE;

  entry = entry_new (path, st);
  archive_entry_set_size (entry, st->st_size);
  entry_add_xattrs (entry, xattrs);
  if (!write_entry (d, entry, error))
    return FALSE;

  if (d->copy)
    {
      copy_fd
        = openat (copy_dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (copy_fd < 0)
        return berth_error_set_errno (error, errno, "cannot create \"%s\"", path);
    }

  /* Exactly the size the header declared, even when the file changes
   * under us (a commit with --pause=false): cut or padded with zeros. */
  while (left > 0)
    {
      gsize want = MIN (left, DATA_BUF_SIZE);
      ssize_t n = read (fd, d->data, want);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return berth_error_set_errno (error, errno, "cannot read \"%s\"", path);
        }
      if (n == 0)
        {
          memset (d->data, 0, want);
          n = want;
        }
      if (archive_write_data (d->a, d->data, n) != n)
        return archive_failed (d, path, error);
      if (copy_fd >= 0 && !berth_fs_write_all (copy_fd, d->data, n, error))
        return FALSE;
      left -= n;
    }
  if (archive_write_finish_entry (d->a) < ARCHIVE_WARN)
    return archive_failed (d, path, error);

  if (copy_fd >= 0
      && (!copy_xattrs (copy_fd, xattrs, path, error) || !copy_attrs_fd (copy_fd, st, path, error)))
    return FALSE;
  if (key)
    g_hash_table_insert (d->links, g_steal_pointer (&key), g_strdup (path));
  return TRUE;
}

static gboolean
do_symlink (Diff *d, int dirfd, int copy_dirfd, const char *name, const char *path,
            const struct stat *st, GError **error)
{
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);
  struct archive_entry *entry;

  if (n < 0 && errno == ENOENT)
    return TRUE; /* removed meanwhile */
  if (n < 0)
    return berth_error_set_errno (error, errno, "cannot read the symbolic link \"%s\"", path);
  target[n] = '\0';
  entry = entry_new (path, st);
  archive_entry_set_symlink (entry, target);
  if (!write_entry (d, entry, error))
    return FALSE;
  if (!d->copy)
    return TRUE;
  if (symlinkat (target, copy_dirfd, name) < 0)
    return berth_error_set_errno (error, errno, "cannot create the symbolic link \"%s\"", path);
  return copy_attrs_at (copy_dirfd, name, st, FALSE, path, error);
}

static gboolean
do_special (Diff *d, int copy_dirfd, const char *name, const char *path, const struct stat *st,
            GError **error)
{
  struct archive_entry *entry = entry_new (path, st);

  archive_entry_set_rdev (entry, st->st_rdev);
  if (!write_entry (d, entry, error))
    return FALSE;
  if (!d->copy)
    return TRUE;
  if (mknodat (copy_dirfd, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
    return berth_error_set_errno (error, errno, "cannot create the device or FIFO \"%s\"", path);
  return copy_attrs_at (copy_dirfd, name, st, TRUE, path, error);
}

/* ---- the walk ---- */

static gboolean
walk_dir (Diff *d, int dirfd, const char *path, int copy_dirfd, GError **error)
{
  g_autoptr (GPtrArray) names = berth_fs_list_dir (dirfd, *path ? path : "/", error);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *child = child_path (path, name);
      struct stat st;
      gboolean ok;

      if (g_cancellable_set_error_if_cancelled (d->cancellable, error))
        return FALSE;
      if (g_hash_table_contains (d->excludes, child))
        continue;
      if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue; /* removed while we read (not frozen) */
          return berth_error_set_errno (error, errno, "cannot examine \"%s\"", child);
        }
      switch (st.st_mode & S_IFMT)
        {
        case S_IFDIR:
          ok = do_dir (d, dirfd, copy_dirfd, name, child, &st, error);
          break;
        case S_IFREG:
          ok = do_file (d, dirfd, copy_dirfd, name, child, &st, error);
          break;
        case S_IFLNK:
          ok = do_symlink (d, dirfd, copy_dirfd, name, child, &st, error);
          break;
        case S_IFCHR:
          if ((d->flags & BERTH_LAYER_DIFF_OVERLAY_UPPER) && st.st_rdev == makedev (0, 0))
            ok = do_whiteout (d, copy_dirfd, path, name, &st, error);
          else
            ok = do_special (d, copy_dirfd, name, child, &st, error);
          break;
        case S_IFBLK:
        case S_IFIFO:
          ok = do_special (d, copy_dirfd, name, child, &st, error);
          break;
        default:
          g_debug ("\"%s\": a socket, not part of the layer", child);
          ok = TRUE;
          break;
        }
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_layer_diff_write (int root_dirfd, int out_fd, const BerthLayerDiffOptions *options,
                        BerthLayerDiffResult *out_result, GCancellable *cancellable, GError **error)
{
  static const BerthLayerDiffOptions defaults = BERTH_LAYER_DIFF_OPTIONS_INIT;
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  g_autoptr (GHashTable) excludes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree guint8 *data = g_malloc (DATA_BUF_SIZE);
  g_autofree guint8 *out = g_malloc (OUT_BUF_SIZE);
  g_auto (GStrv) normalized = NULL;
  Diff d = { 0 };
  gboolean ok = FALSE;

  if (options == NULL)
    options = &defaults;
  normalized = berth_layer_diff_normalize_paths (options->excludes, error);
  if (normalized == NULL)
    return FALSE;
  for (guint i = 0; normalized[i]; i++)
    g_hash_table_add (excludes, g_strdup (normalized[i]));

  d.flags = options->flags;
  d.out_fd = out_fd;
  d.hasher = hasher;
  d.excludes = excludes;
  d.links = links;
  d.data = data;
  d.out = out;
  d.copy = options->copy_dirfd >= 0;
  d.copy_root_fd = options->copy_dirfd;
  d.cancellable = cancellable;
  d.a = archive_write_new ();
  if (archive_write_set_format_pax_restricted (d.a) != ARCHIVE_OK
      /* SCHILY.xattr only, as Docker and Go write and read them. */
      || archive_write_set_format_option (d.a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK
      || archive_write_set_bytes_per_block (d.a, 0) != ARCHIVE_OK
      || archive_write_open2 (d.a, &d, NULL, write_cb, NULL, NULL) != ARCHIVE_OK)
    {
      archive_failed (&d, "", error);
      goto out;
    }
  if (!walk_dir (&d, root_dirfd, "", options->copy_dirfd, error))
    goto out;
  if (archive_write_close (d.a) != ARCHIVE_OK)
    {
      archive_failed (&d, "", error);
      goto out;
    }
  if (!flush_out (&d))
    {
      archive_failed (&d, "", error);
      goto out;
    }
  if (out_result)
    {
      out_result->diff_id = berth_hasher_finish (hasher);
      out_result->size = d.size;
      out_result->n_entries = d.n_entries;
    }
  ok = TRUE;

out:
  archive_write_free (d.a);
  g_clear_error (&d.write_error);
  return ok;
}
