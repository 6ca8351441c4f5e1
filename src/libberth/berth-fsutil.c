/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-fsutil.h"
#include "berth-error.h"
#include "berth-fd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
open_walk (int dirfd, const char *path, int flags, mode_t mode)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  berth_autofd int cur = -1;
  guint n = g_strv_length (parts);

  cur = openat (dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0)
    return -1;
  for (guint i = 0; i < n; i++)
    {
      gboolean last = i + 1 == n;
      int fd;

      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        {
          if (!last)
            continue;
          return openat (cur, ".", flags | O_CLOEXEC);
        }
      if (g_str_equal (parts[i], ".."))
        {
          errno = EXDEV;
          return -1;
        }
      fd = openat (cur, parts[i], (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC,
                   mode);
      if (fd < 0)
        return -1;
      if (last)
        return fd;
      berth_close_fdp (&cur);
      cur = fd;
    }
  return openat (cur, ".", flags | O_CLOEXEC);
}

int
berth_fs_open_beneath (int dirfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (guint64)(flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd;

  do
    fd = syscall (SYS_openat2, dirfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  if (fd < 0 && errno == ENOSYS)
    return open_walk (dirfd, path, flags, mode);
  return fd;
}

static gboolean
rm_children (int fd, const char *what, GError **error)
{
  DIR *dir = fdopendir (fd);
  struct dirent *de;

  if (dir == NULL)
    {
      int errsv = errno;

      close (fd);
      return berth_error_set_errno (error, errsv, "cannot read directory %s", what);
    }
  while ((de = readdir (dir)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      if (!berth_fs_rm_rf_at (dirfd (dir), de->d_name, error))
        {
          closedir (dir);
          return FALSE;
        }
    }
  closedir (dir);
  return TRUE;
}

gboolean
berth_fs_rm_rf_at (int dirfd, const char *name, GError **error)
{
  int fd;

  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return TRUE;
  if (errno != EISDIR && errno != EPERM)
    return berth_error_set_errno (error, errno, "cannot remove %s", name);

  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return TRUE;
      return berth_error_set_errno (error, errno, "cannot open %s to remove it", name);
    }
  if (!rm_children (fd, name, error))
    return FALSE;
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return berth_error_set_errno (error, errno, "cannot remove directory %s", name);
  return TRUE;
}

gboolean
berth_fs_write_all (int fd, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot write");
      p += n;
      len -= n;
    }
  return TRUE;
}

gboolean
berth_fs_fsync_dir_at (int dirfd, const char *name, GError **error)
{
  berth_autofd int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || fsync (fd) < 0)
    return berth_error_set_errno (error, errno, "cannot sync directory %s", name);
  return TRUE;
}

gboolean
berth_fs_write_file_at (int dirfd, const char *name, const void *data, gsize len, mode_t mode,
                        GError **error)
{
  g_autofree char *tmp = g_strdup_printf (".%s.tmp-%x", name, g_random_int ());
  berth_autofd int fd = -1;

  fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", tmp);
  if (!berth_fs_write_all (fd, data, len, error) || fsync (fd) < 0)
    {
      if (error && *error == NULL)
        berth_error_set_errno (error, errno, "cannot sync %s", tmp);
      unlinkat (dirfd, tmp, 0);
      return FALSE;
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int errsv = errno;

      unlinkat (dirfd, tmp, 0);
      return berth_error_set_errno (error, errsv, "cannot rename %s to %s", tmp, name);
    }
  return berth_fs_fsync_dir_at (dirfd, ".", error);
}

gboolean
berth_fs_read_file_at (int dirfd, const char *name, gsize max_len, char **out_data, gsize *out_len,
                       GError **error)
{
  berth_autofd int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", name);
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read %s", name);
      if (n == 0)
        break;
      if (buf->len + (gsize)n > max_len)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                       "%s is larger than %" G_GSIZE_FORMAT " bytes", name, max_len);
          return FALSE;
        }
      g_byte_array_append (buf, chunk, n);
    }
  if (out_len)
    *out_len = buf->len;
  g_byte_array_append (buf, (const guint8 *)"", 1);
  *out_data = (char *)g_byte_array_free (g_steal_pointer (&buf), FALSE);
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
berth_fs_list_dir (int dirfd, const char *what, GError **error)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  DIR *dir;
  int fd = dup (dirfd);
  struct dirent *de;
  int errsv;

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      berth_error_set_errno (error, errno, "cannot read the directory \"%s\"", what);
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  /* The duplicate shares its offset with @dirfd: start from the top. */
  rewinddir (dir);
  errno = 0;
  while ((de = readdir (dir)) != NULL)
    {
      if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
        g_ptr_array_add (names, g_strdup (de->d_name));
      errno = 0;
    }
  errsv = errno;
  closedir (dir);
  if (errsv != 0)
    {
      berth_error_set_errno (error, errsv, "cannot read the directory \"%s\"", what);
      return NULL;
    }
  g_ptr_array_sort (names, compare_names);
  return g_steal_pointer (&names);
}
