/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-registry gc [--dry-run] [--grace SECONDS]: removes blobs that no
 * manifest is or references, while the server runs or not.
 *
 * A concurrent push must never end with a manifest whose blob is gone:
 *  - gc holds the database's write lock from its mark (which blobs are
 *    referenced) to the end of its sweep (files and links removed), and a
 *    manifest is stored only if its blobs are still linked, in one
 *    transaction: a push either completes before gc looks, or finds its
 *    blob gone and fails cleanly (MANIFEST_BLOB_UNKNOWN; pushed again, it
 *    works), never half;
 *  - blobs modified within the grace period (default an hour) are spared:
 *    a fresh upload, a mount or a HEAD (which a client sends before it
 *    decides not to upload) touches the blob, so a push in progress does
 *    not lose what it is about to reference. */
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
             GHashTable *referenced, GHashTable *doomed, gboolean dry_run, gint64 spare_after,
             guint *spared, guint64 *bytes, GError **error)
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
      if (fstatat (fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (st.st_mtime > spare_after)
        {
          (*spared)++;
          continue;
        }
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

static gboolean
sweep (Registry *registry, GHashTable *referenced, GHashTable *doomed, gboolean dry_run,
       gint64 spare_after, guint *spared, guint64 *bytes, GError **error)
{
  const char *algs[] = { "sha256", "sha512" };

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
                            spare_after, spared, bytes, error))
            {
              closedir (dir);
              return FALSE;
            }
        }
      closedir (dir);
    }
  if (!dry_run)
    registry_db_unlink_blobs (registry->db, doomed);
  return TRUE;
}

gboolean
registry_gc (Registry *registry, gboolean dry_run, guint grace_seconds, GError **error)
{
  g_autoptr (GHashTable) referenced = NULL;
  g_autoptr (GHashTable) doomed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 spare_after = g_get_real_time () / G_USEC_PER_SEC - grace_seconds;
  guint64 bytes = 0;
  guint spared = 0;
  gboolean ok;

  if (!registry_db_begin_write (registry->db, error))
    return FALSE;
  referenced = registry_db_referenced_digests (registry->db);
  ok = sweep (registry, referenced, doomed, dry_run, spare_after, &spared, &bytes, error);
  /* Even a failed sweep removed what it removed: commit the links' removal. */
  if (!registry_db_commit (registry->db, ok ? error : NULL))
    return FALSE;
  if (!ok)
    return FALSE;
  g_print ("%s %u blob%s, %" G_GUINT64_FORMAT " bytes.\n", dry_run ? "Would remove" : "Removed",
           g_hash_table_size (doomed), g_hash_table_size (doomed) == 1 ? "" : "s", bytes);
  if (spared)
    g_print ("Kept %u unreferenced blob%s younger than the grace period (%u s).\n", spared,
             spared == 1 ? "" : "s", grace_seconds);
  return TRUE;
}
