/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The blob store: content-addressed files under root/blobs shared by every
 * repository, and a staging area (root/uploads) on the same filesystem.
 * A blob becomes visible only by rename(2) after its bytes were fsynced and
 * their digest checked, so a crash never leaves a partial blob behind. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "registry.h"

char *
registry_store_blob_path (const char *digest)
{
  const char *colon = strchr (digest, ':');
  g_autofree char *alg = g_strndup (digest, colon - digest);

  return g_strdup_printf ("%s/%.2s/%s", alg, colon + 1, colon + 1);
}

static int
open_dir_at (int dirfd, const char *name, GError **error)
{
  int fd;

  if (mkdirat (dirfd, name, 0755) < 0 && errno != EEXIST)
    return berth_error_set_errno (error, errno, "cannot create %s", name), -1;
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", name), -1;
  return fd;
}

gboolean
registry_store_open (Registry *registry, GError **error)
{
  const char *root = registry->settings->root;

  if (g_mkdir_with_parents (root, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot create the root %s", root);
  registry->root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (registry->root_fd < 0)
    return berth_error_set_errno (error, errno, "cannot open the root %s", root);
  registry->blobs_fd = open_dir_at (registry->root_fd, "blobs", error);
  if (registry->blobs_fd < 0)
    return FALSE;
  registry->uploads_fd = open_dir_at (registry->root_fd, "uploads", error);
  if (registry->uploads_fd < 0)
    return FALSE;
  return TRUE;
}

int
registry_store_open_blob (Registry *registry, const char *digest)
{
  g_autofree char *path = registry_store_blob_path (digest);

  return openat (registry->blobs_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

gboolean
registry_store_has_blob (Registry *registry, const char *digest)
{
  g_autofree char *path = registry_store_blob_path (digest);
  struct stat st;

  return fstatat (registry->blobs_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode);
}

void
registry_store_touch_blob (Registry *registry, const char *digest)
{
  g_autofree char *path = registry_store_blob_path (digest);

  utimensat (registry->blobs_fd, path, NULL, AT_SYMLINK_NOFOLLOW);
}

int
registry_store_new_staging (Registry *registry, char **out_name, GError **error)
{
  g_autofree char *name = g_uuid_string_random ();
  int fd = openat (registry->uploads_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot create an upload file"), -1;
  *out_name = g_steal_pointer (&name);
  return fd;
}

void
registry_store_discard_staging (Registry *registry, const char *name)
{
  unlinkat (registry->uploads_fd, name, 0);
}

void
registry_store_clean_staging (Registry *registry)
{
  int fd = dup (registry->uploads_fd);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;
  guint removed = 0;

  if (dir == NULL)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  while ((entry = readdir (dir)) != NULL)
    {
      if (entry->d_name[0] == '.')
        continue;
      if (unlinkat (registry->uploads_fd, entry->d_name, 0) == 0)
        removed++;
    }
  closedir (dir);
  if (removed > 0)
    g_message ("removed %u interrupted upload%s", removed, removed == 1 ? "" : "s");
}

/* Opens (creating) blobs/<alg>/<xx>/ for @digest. */
static int
open_blob_dir (Registry *registry, const char *digest, GError **error)
{
  const char *colon = strchr (digest, ':');
  g_autofree char *alg = g_strndup (digest, colon - digest);
  g_autofree char *prefix = g_strndup (colon + 1, 2);
  berth_autofd int alg_fd = open_dir_at (registry->blobs_fd, alg, error);

  if (alg_fd < 0)
    return -1;
  return open_dir_at (alg_fd, prefix, error);
}

gboolean
registry_store_commit (Registry *registry, int staged_fd, const char *staged_name,
                       const char *digest, GError **error)
{
  const char *hex = berth_digest_hex (digest);
  berth_autofd int dir_fd = -1;
  struct stat st;

  dir_fd = open_blob_dir (registry, digest, error);
  if (dir_fd < 0)
    return FALSE;
  /* The same content may already be there (another repository, or a
   * concurrent upload): keep the first copy. */
  if (fstatat (dir_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode))
    {
      registry_store_discard_staging (registry, staged_name);
      return TRUE;
    }
  if (fsync (staged_fd) < 0)
    return berth_error_set_errno (error, errno, "cannot write blob %s to disk", digest);
  if (renameat (registry->uploads_fd, staged_name, dir_fd, hex) < 0)
    return berth_error_set_errno (error, errno, "cannot store blob %s", digest);
  if (fsync (dir_fd) < 0)
    return berth_error_set_errno (error, errno, "cannot write the store's directory to disk");
  return TRUE;
}

gboolean
registry_store_put_bytes (Registry *registry, const void *data, gsize len, const char *digest,
                          GError **error)
{
  g_autofree char *name = NULL;
  berth_autofd int fd = -1;
  const guint8 *p = data;
  gsize done = 0;

  if (registry_store_has_blob (registry, digest))
    return TRUE;
  fd = registry_store_new_staging (registry, &name, error);
  if (fd < 0)
    return FALSE;
  while (done < len)
    {
      ssize_t n = write (fd, p + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          registry_store_discard_staging (registry, name);
          return berth_error_set_errno (error, errsv, "cannot write %s", digest);
        }
      done += n;
    }
  if (!registry_store_commit (registry, fd, name, digest, error))
    {
      registry_store_discard_staging (registry, name);
      return FALSE;
    }
  return TRUE;
}
