/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Populating a new volume from the image path it is mounted over, as docker
 * does: a copy that keeps owners, modes, times, extended attributes, links
 * and special files. Everything is opened relative to directory fds with
 * O_NOFOLLOW; the image path itself is resolved inside the image's root
 * (RESOLVE_IN_ROOT), the way the runtime resolves the mount point, so an
 * image's symbolic link never leads to a host directory. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-volume.h"

typedef struct
{
  int dst_root;
  GHashTable *links; /* "dev:ino" of a source file with several links → path under dst_root */
  GString *path;     /* of the current directory, relative to dst_root ("" at the top) */
} Copy;

static char *
proc_path (int dirfd, const char *name)
{
  return g_strdup_printf ("/proc/self/fd/%d/%s", dirfd, name);
}

/* Extended attributes, without following a final symbolic link. Overlay's
 * own attributes describe the source's layers, not its content. */
static gboolean
copy_xattrs (int src_dir, const char *src_name, int dst_dir, const char *dst_name, GError **error)
{
  g_autofree char *src = proc_path (src_dir, src_name);
  g_autofree char *dst = proc_path (dst_dir, dst_name);
  g_autofree char *names = NULL;
  ssize_t len = llistxattr (src, NULL, 0);

  if (len < 0 && (errno == ENOTSUP || errno == EPERM))
    return TRUE;
  if (len < 0)
    return berth_error_set_errno (error, errno, "cannot list the extended attributes of %s",
                                  src_name);
  if (len == 0)
    return TRUE;
  names = g_malloc (len);
  len = llistxattr (src, names, len);
  if (len < 0)
    return berth_error_set_errno (error, errno, "cannot list the extended attributes of %s",
                                  src_name);
  for (char *n = names; n < names + len; n += strlen (n) + 1)
    {
      g_autofree char *value = NULL;
      ssize_t vlen;

      if (g_str_has_prefix (n, "trusted.overlay.") || g_str_has_prefix (n, "user.overlay."))
        continue;
      vlen = lgetxattr (src, n, NULL, 0);
      if (vlen < 0)
        continue;
      value = g_malloc (vlen + 1);
      vlen = lgetxattr (src, n, value, vlen);
      if (vlen < 0)
        continue;
      if (lsetxattr (dst, n, value, vlen, 0) < 0 && errno != ENOTSUP)
        return berth_error_set_errno (error, errno, "cannot set the extended attribute %s on %s", n,
                                      dst_name);
    }
  return TRUE;
}

/* Owner first (it clears set-id bits and file capabilities), then mode,
 * extended attributes and, last, times. */
static gboolean
copy_attributes (int src_dir, const char *src_name, int dst_dir, const char *dst_name,
                 const struct stat *st, GError **error)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (fchownat (dst_dir, dst_name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot set the owner of %s", dst_name);
  if (!S_ISLNK (st->st_mode) && fchmodat (dst_dir, dst_name, st->st_mode & 07777, 0) < 0)
    return berth_error_set_errno (error, errno, "cannot set the mode of %s", dst_name);
  if (!copy_xattrs (src_dir, src_name, dst_dir, dst_name, error))
    return FALSE;
  if (utimensat (dst_dir, dst_name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot set the times of %s", dst_name);
  return TRUE;
}

static gboolean
copy_data (int src, int dst, const char *name, GError **error)
{
  for (;;)
    {
      ssize_t n = copy_file_range (src, NULL, dst, NULL, 1 << 30, 0);

      if (n == 0)
        return TRUE;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
        return berth_error_set_errno (error, errno, "cannot copy %s", name);
      break;
    }
  /* Where the kernel cannot copy between these file systems. */
  for (;;)
    {
      char buf[65536];
      ssize_t n = read (src, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read %s", name);
      if (n == 0)
        return TRUE;
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (dst, buf + off, n - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return berth_error_set_errno (error, errno, "cannot write %s", name);
          off += w;
        }
    }
}

static gboolean copy_dir (Copy *c, int src_dir, int dst_dir, GError **error);

static gboolean
copy_entry (Copy *c, int src_dir, int dst_dir, const char *name, GError **error)
{
  struct stat st;
  g_autofree char *key = NULL;
  g_autofree char *rel = NULL;

  if (fstatat (src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s", name);
  rel = c->path->len ? g_strdup_printf ("%s/%s", c->path->str, name) : g_strdup (name);

  if (!S_ISDIR (st.st_mode) && st.st_nlink > 1)
    {
      const char *first;

      key = g_strdup_printf ("%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
      first = g_hash_table_lookup (c->links, key);
      if (first)
        {
          if (linkat (c->dst_root, first, dst_dir, name, 0) < 0)
            return berth_error_set_errno (error, errno, "cannot link %s", rel);
          return TRUE;
        }
    }

  if (S_ISDIR (st.st_mode))
    {
      berth_autofd int s = -1, d = -1;
      gsize len = c->path->len;
      gboolean ok;

      if (mkdirat (dst_dir, name, 0700) < 0)
        return berth_error_set_errno (error, errno, "cannot create %s", rel);
      s = openat (src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      d = openat (dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || d < 0)
        return berth_error_set_errno (error, errno, "cannot open %s", rel);
      g_string_assign (c->path, rel);
      ok = copy_dir (c, s, d, error);
      g_string_truncate (c->path, len);
      if (!ok)
        return FALSE;
    }
  else if (S_ISREG (st.st_mode))
    {
      berth_autofd int s = openat (src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      berth_autofd int d = -1;

      if (s < 0)
        return berth_error_set_errno (error, errno, "cannot open %s", rel);
      d = openat (dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (d < 0)
        return berth_error_set_errno (error, errno, "cannot create %s", rel);
      if (!copy_data (s, d, rel, error))
        return FALSE;
    }
  else if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (src_dir, name, target, PATH_MAX);

      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read the link %s", rel);
      target[n] = '\0';
      if (symlinkat (target, dst_dir, name) < 0)
        return berth_error_set_errno (error, errno, "cannot create the link %s", rel);
    }
  else if (S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) || S_ISFIFO (st.st_mode))
    {
      if (mknodat (dst_dir, name, st.st_mode & S_IFMT, st.st_rdev) < 0)
        return berth_error_set_errno (error, errno, "cannot create %s", rel);
    }
  else
    return TRUE; /* sockets belong to a process that is not there */

  if (key)
    g_hash_table_insert (c->links, g_steal_pointer (&key), g_strdup (rel));
  return copy_attributes (src_dir, name, dst_dir, name, &st, error);
}

static gboolean
copy_dir (Copy *c, int src_dir, int dst_dir, GError **error)
{
  DIR *d = fdopendir (dup (src_dir));
  struct dirent *de;
  gboolean ok = TRUE;

  if (d == NULL)
    return berth_error_set_errno (error, errno, "cannot read %s",
                                  c->path->len ? c->path->str : ".");
  while (ok && (errno = 0, de = readdir (d)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      ok = copy_entry (c, src_dir, dst_dir, de->d_name, error);
    }
  closedir (d);
  return ok;
}

static gboolean
is_empty (int dirfd, gboolean *out_empty, GError **error)
{
  DIR *d = fdopendir (dup (dirfd));
  struct dirent *de;

  if (d == NULL)
    return berth_error_set_errno (error, errno, "cannot read the volume");
  *out_empty = TRUE;
  while ((de = readdir (d)) != NULL)
    if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
      {
        *out_empty = FALSE;
        break;
      }
  closedir (d);
  return TRUE;
}

gboolean
berth_volume_populate (const char *rootfs, const char *destination, const char *data_dir,
                       gboolean *out_copied, GError **error)
{
  struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  berth_autofd int root = -1, src = -1, dst = -1;
  g_autoptr (GHashTable) links = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GString) path = g_string_new (NULL);
  Copy c = { .links = links, .path = path };
  gboolean empty;
  struct stat st;
  const char *rel = destination;

  if (out_copied)
    *out_copied = FALSE;
  while (*rel == '/')
    rel++;
  root = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", rootfs);
  src = (int)syscall (SYS_openat2, root, *rel ? rel : ".", &how, sizeof how);
  if (src < 0 && (errno == ENOENT || errno == ENOTDIR))
    return TRUE; /* nothing in the image there */
  if (src < 0)
    return berth_error_set_errno (error, errno, "cannot open %s in the image", destination);
  dst = open (data_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return berth_error_set_errno (error, errno, "cannot open the volume %s", data_dir);
  if (!is_empty (dst, &empty, error))
    return FALSE;
  if (!empty)
    return TRUE;
  if (fstat (src, &st) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s in the image", destination);

  c.dst_root = dst;
  if (!copy_dir (&c, src, dst, error))
    return FALSE;
  /* The volume's own directory takes the image directory's attributes
   * ("." names the directory a /proc/self/fd link leads to). */
  {
    struct timespec times[2] = { st.st_atim, st.st_mtim };

    if (fchown (dst, st.st_uid, st.st_gid) < 0 || fchmod (dst, st.st_mode & 07777) < 0)
      return berth_error_set_errno (error, errno, "cannot set the owner and mode of %s", data_dir);
    if (!copy_xattrs (src, ".", dst, ".", error))
      return FALSE;
    if (futimens (dst, times) < 0)
      return berth_error_set_errno (error, errno, "cannot set the times of %s", data_dir);
  }
  if (out_copied)
    *out_copied = TRUE;
  return TRUE;
}
