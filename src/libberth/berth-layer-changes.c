/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-layer-changes.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-layer-diff.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

typedef struct
{
  GHashTable *excludes; /* "var/lib/data" */
  GPtrArray *changes;
} Walk;

void
berth_layer_change_free (BerthLayerChange *change)
{
  if (change == NULL)
    return;
  g_free (change->path);
  g_free (change);
}

static void
add (Walk *w, char kind, const char *rel)
{
  BerthLayerChange *change = g_new0 (BerthLayerChange, 1);

  change->kind = kind;
  change->path = g_strconcat ("/", rel, NULL);
  g_ptr_array_add (w->changes, change);
}

static char *
child_path (const char *dir, const char *name)
{
  return *dir ? g_strconcat (dir, "/", name, NULL) : g_strdup (name);
}

static gboolean
is_opaque (int fd)
{
  char value[2];

  return fgetxattr (fd, "trusted.overlay.opaque", value, sizeof value) == 1 && value[0] == 'y';
}

/* @image_fd: the same directory in the image, or -1 when the image has
 * none. @opaque: the upper directory hides the image's entries. */
static gboolean
walk (Walk *w, int upper_fd, int image_fd, const char *path, gboolean opaque, GError **error)
{
  g_autoptr (GPtrArray) names = berth_fs_list_dir (upper_fd, *path ? path : "/", error);
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);

  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *child = child_path (path, name);
      struct stat st, ist;
      gboolean in_image;

      g_hash_table_add (present, (gpointer)name);
      if (g_hash_table_contains (w->excludes, child))
        continue;
      if (fstatat (upper_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          if (errno == ENOENT)
            continue;
          return berth_error_set_errno (error, errno, "cannot examine \"/%s\"", child);
        }
      if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
        {
          add (w, 'D', child);
          continue;
        }
      in_image = image_fd >= 0 && fstatat (image_fd, name, &ist, AT_SYMLINK_NOFOLLOW) == 0;
      add (w, in_image ? 'C' : 'A', child);
      if (S_ISDIR (st.st_mode))
        {
          berth_autofd int sub
            = openat (upper_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          berth_autofd int image_sub = -1;

          if (sub < 0)
            return berth_error_set_errno (error, errno, "cannot open \"/%s\"", child);
          if (in_image && S_ISDIR (ist.st_mode))
            image_sub = openat (image_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (!walk (w, sub, image_sub, child, is_opaque (sub), error))
            return FALSE;
        }
    }

  /* An opaque directory deleted whatever the image had in it. */
  if (opaque && image_fd >= 0)
    {
      g_autoptr (GPtrArray) hidden = berth_fs_list_dir (image_fd, *path ? path : "/", error);

      if (hidden == NULL)
        return FALSE;
      for (guint i = 0; i < hidden->len; i++)
        {
          const char *name = g_ptr_array_index (hidden, i);
          g_autofree char *child = child_path (path, name);

          if (!g_hash_table_contains (present, name) && !g_hash_table_contains (w->excludes, child))
            add (w, 'D', child);
        }
    }
  return TRUE;
}

static int
compare_changes (gconstpointer a, gconstpointer b)
{
  const BerthLayerChange *x = *(BerthLayerChange *const *)a;
  const BerthLayerChange *y = *(BerthLayerChange *const *)b;

  return strcmp (x->path, y->path);
}

GPtrArray *
berth_layer_changes (int upper_dirfd, int image_root_dirfd, const char *const *excludes,
                     GError **error)
{
  g_autoptr (GHashTable) set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) changes
    = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_layer_change_free);
  g_auto (GStrv) normalized = berth_layer_diff_normalize_paths (excludes, error);
  Walk w = { set, changes };

  if (normalized == NULL)
    return NULL;
  for (guint i = 0; normalized[i]; i++)
    g_hash_table_add (set, g_strdup (normalized[i]));
  if (!walk (&w, upper_dirfd, image_root_dirfd, "", is_opaque (upper_dirfd), error))
    return NULL;
  g_ptr_array_sort (changes, compare_changes);
  return g_steal_pointer (&changes);
}
