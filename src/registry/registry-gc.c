/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-registry gc [--dry-run]: removes blobs that no manifest is or
 * references. It runs while the server is stopped (the root lock says so),
 * so no upload can be about to use a blob it removes. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "registry.h"

static gboolean
scan_prefix (Registry *registry, int alg_fd, const char *alg, const char *prefix,
             GHashTable *referenced, GHashTable *doomed, gboolean dry_run, guint64 *bytes,
             GError **error)
{
  berth_autofd int fd = openat (alg_fd, prefix, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  DIR *dir;
  struct dirent *entry;

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open blobs/%s/%s", alg, prefix);
  dir = fdopendir (dup (fd));
  if (dir == NULL)
    return berth_error_set_errno (error, errno, "cannot read blobs/%s/%s", alg, prefix);
  while ((entry = readdir (dir)) != NULL)
    {
      g_autofree char *digest = NULL;
      struct stat st;

      if (entry->d_name[0] == '.')
        continue;
      digest = g_strconcat (alg, ":", entry->d_name, NULL);
      if (g_hash_table_contains (referenced, digest))
        continue;
      if (fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        *bytes += st.st_size;
      g_print ("%s %s\n", dry_run ? "would remove" : "removing", digest);
      if (!dry_run && unlinkat (fd, entry->d_name, 0) < 0 && errno != ENOENT)
        {
          int errsv = errno;
          closedir (dir);
          return berth_error_set_errno (error, errsv, "cannot remove %s", digest);
        }
      g_hash_table_add (doomed, g_steal_pointer (&digest));
    }
  closedir (dir);
  return TRUE;
}

gboolean
registry_gc (Registry *registry, gboolean dry_run, GError **error)
{
  g_autoptr (GHashTable) referenced = registry_db_referenced_digests (registry->db);
  g_autoptr (GHashTable) doomed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *algs[] = { "sha256", "sha512" };
  guint64 bytes = 0;

  for (guint a = 0; a < G_N_ELEMENTS (algs); a++)
    {
      berth_autofd int alg_fd
        = openat (registry->blobs_fd, algs[a], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      DIR *dir;
      struct dirent *entry;

      if (alg_fd < 0 && errno == ENOENT)
        continue;
      if (alg_fd < 0)
        return berth_error_set_errno (error, errno, "cannot open blobs/%s", algs[a]);
      dir = fdopendir (dup (alg_fd));
      if (dir == NULL)
        return berth_error_set_errno (error, errno, "cannot read blobs/%s", algs[a]);
      while ((entry = readdir (dir)) != NULL)
        {
          if (entry->d_name[0] == '.')
            continue;
          if (!scan_prefix (registry, alg_fd, algs[a], entry->d_name, referenced, doomed, dry_run,
                            &bytes, error))
            {
              closedir (dir);
              return FALSE;
            }
        }
      closedir (dir);
    }
  if (!dry_run)
    registry_db_unlink_blobs (registry->db, doomed);
  g_print ("%s %u blob%s, %" G_GUINT64_FORMAT " bytes.\n", dry_run ? "Would remove" : "Removed",
           g_hash_table_size (doomed), g_hash_table_size (doomed) == 1 ? "" : "s", bytes);
  return TRUE;
}
