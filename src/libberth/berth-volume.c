/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The volume store: named directories under <root>/volumes that containers
 * mount, each with a small record beside its data. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-id.h"
#include "berth-json.h"
#include "berth-volume.h"

#define RECORD_FILE "volume.json"
#define DATA_DIR "_data"
#define NEW_PREFIX ".new-"
#define GONE_PREFIX ".gone-"
#define MAX_RECORD_SIZE (1024 * 1024)

struct _BerthVolumeStore
{
  GMutex lock;
  char *dir; /* <root>/volumes */
  int dirfd;
  GHashTable *volumes; /* name → BerthVolumeInfo */
};

BerthVolumeInfo *
berth_volume_info_copy (const BerthVolumeInfo *info)
{
  BerthVolumeInfo *copy = g_new0 (BerthVolumeInfo, 1);
  GHashTableIter iter;
  gpointer key, value;

  copy->name = g_strdup (info->name);
  copy->mountpoint = g_strdup (info->mountpoint);
  copy->created = info->created;
  copy->anonymous = info->anonymous;
  copy->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, info->labels);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->labels, g_strdup (key), g_strdup (value));
  return copy;
}

void
berth_volume_info_free (BerthVolumeInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->mountpoint);
  g_clear_pointer (&info->labels, g_hash_table_unref);
  g_free (info);
}

gboolean
berth_volume_name_validate (const char *name, GError **error)
{
  gsize len = name ? strlen (name) : 0;

  if (len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "empty volume name: give a name of letters, digits, \"_\", \".\" and \"-\"");
      return FALSE;
    }
  if (len > BERTH_VOLUME_NAME_MAX)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "volume name of %zu bytes is too long (at most %d)", len, BERTH_VOLUME_NAME_MAX);
      return FALSE;
    }
  if (strchr (name, '/') || strstr (name, ".."))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid volume name \"%s\": it may not contain \"/\" or \"..\"", name);
      return FALSE;
    }
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && (p == name || (*p != '_' && *p != '.' && *p != '-')))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "invalid volume name \"%s\": use letters, digits, \"_\", \".\" and \"-\", "
                     "starting with a letter or digit",
                     name);
        return FALSE;
      }
  return TRUE;
}

char *
berth_volume_new_anonymous_name (void)
{
  return berth_random_id ();
}

/* --- records ---------------------------------------------------------------------- */

static char *
record_json (const BerthVolumeInfo *info)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "Created");
  json_builder_add_int_value (b, info->created);
  json_builder_set_member_name (b, "Anonymous");
  json_builder_add_boolean_value (b, info->anonymous);
  berth_json_add_string_map (b, "Labels", info->labels);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, TRUE);
}

static BerthVolumeInfo *
info_new (BerthVolumeStore *store, const char *name)
{
  BerthVolumeInfo *info = g_new0 (BerthVolumeInfo, 1);

  info->name = g_strdup (name);
  info->mountpoint = g_build_filename (store->dir, name, DATA_DIR, NULL);
  info->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return info;
}

static BerthVolumeInfo *
read_record (BerthVolumeStore *store, const char *name, GError **error)
{
  g_autoptr (BerthVolumeInfo) info = info_new (store, name);
  g_autofree char *text = NULL;
  gsize len;
  berth_autofd int fd
    = openat (store->dirfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  g_autoptr (JsonObject) o = NULL;
  struct stat st;

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open volume %s", name), NULL;
  if (!berth_fs_read_file_at (fd, RECORD_FILE, MAX_RECORD_SIZE, &text, &len, error))
    return NULL;
  o = berth_json_parse_object (text, len, error);
  if (o == NULL)
    {
      g_prefix_error (error, "volume %s: %s: ", name, RECORD_FILE);
      return NULL;
    }
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "Name", NULL), name) != 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "volume %s: its record names another",
                   name);
      return NULL;
    }
  if (fstatat (fd, DATA_DIR, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "volume %s: %s is missing", name,
                   DATA_DIR);
      return NULL;
    }
  info->created = json_object_get_int_member_with_default (o, "Created", 0);
  info->anonymous = json_object_get_boolean_member_with_default (o, "Anonymous", FALSE);
  berth_json_get_string_map (o, "Labels", info->labels);
  return g_steal_pointer (&info);
}

/* --- open ------------------------------------------------------------------------ */

static void
load (BerthVolumeStore *store, guint *removed)
{
  DIR *d = fdopendir (dup (store->dirfd));
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir (d)) != NULL)
    {
      g_autoptr (GError) error = NULL;
      BerthVolumeInfo *info;

      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      /* What an interrupted creation or removal left. */
      if (g_str_has_prefix (de->d_name, NEW_PREFIX) || g_str_has_prefix (de->d_name, GONE_PREFIX)
          || (de->d_name[0] == '.' && strstr (de->d_name, ".tmp-")))
        {
          if (berth_fs_rm_rf_at (store->dirfd, de->d_name, &error))
            (*removed)++;
          else
            g_warning ("cannot remove %s/%s: %s", store->dir, de->d_name, error->message);
          continue;
        }
      if (!berth_volume_name_validate (de->d_name, NULL))
        {
          g_warning ("%s/%s is not a volume; left alone", store->dir, de->d_name);
          continue;
        }
      info = read_record (store, de->d_name, &error);
      if (info == NULL)
        {
          g_warning ("volume %s is unreadable and left alone: %s", de->d_name, error->message);
          continue;
        }
      g_hash_table_insert (store->volumes, info->name, info);
    }
  closedir (d);
}

BerthVolumeStore *
berth_volume_store_open (const char *root, guint *out_removed, GError **error)
{
  g_autoptr (BerthVolumeStore) store = g_new0 (BerthVolumeStore, 1);
  guint removed = 0;

  g_mutex_init (&store->lock);
  store->dirfd = -1;
  store->dir = g_build_filename (root, "volumes", NULL);
  store->volumes
    = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)berth_volume_info_free);
  if (g_mkdir_with_parents (store->dir, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", store->dir), NULL;
  store->dirfd = open (store->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (store->dirfd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", store->dir), NULL;
  load (store, &removed);
  if (out_removed)
    *out_removed = removed;
  return g_steal_pointer (&store);
}

void
berth_volume_store_free (BerthVolumeStore *store)
{
  if (store == NULL)
    return;
  berth_close_fdp (&store->dirfd);
  g_clear_pointer (&store->volumes, g_hash_table_unref);
  g_free (store->dir);
  g_mutex_clear (&store->lock);
  g_free (store);
}

const char *
berth_volume_store_get_dir (BerthVolumeStore *store)
{
  return store->dir;
}

/* --- create, look up, list, remove ----------------------------------------------- */

static char *
temp_name (const char *prefix, const char *name)
{
  /* Stays within NAME_MAX for a 255-byte volume name. */
  return g_strdup_printf ("%s%.200s-%08x", prefix, name, g_random_int ());
}

/* A complete volume directory under a temporary name, made outside the
 * lock (filling it may take a while); *out_tmp names it. */
static gboolean
build (BerthVolumeStore *store, BerthVolumeInfo *info, const char *fill_rootfs,
       const char *fill_path, char **out_tmp, GError **error)
{
  g_autofree char *tmp = temp_name (NEW_PREFIX, info->name);
  g_autofree char *json = record_json (info);
  g_autofree char *data = NULL;
  berth_autofd int fd = -1;

  if (mkdirat (store->dirfd, tmp, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s/%s", store->dir, tmp);
  fd = openat (store->dirfd, tmp, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  /* _data is what containers see: root's, open to every user in them, as docker makes it. */
  if (fd < 0 || mkdirat (fd, DATA_DIR, 0755) < 0 || fchmodat (fd, DATA_DIR, 0755, 0) < 0)
    {
      berth_error_set_errno (error, errno, "cannot create volume %s in %s", info->name, store->dir);
      goto fail;
    }
  data = g_build_filename (store->dir, tmp, DATA_DIR, NULL);
  if (fill_rootfs && !berth_volume_populate (fill_rootfs, fill_path, data, NULL, error))
    goto fail;
  /* What was copied reaches the disk before the volume has a name. */
  if (fill_rootfs && syncfs (fd) < 0)
    {
      berth_error_set_errno (error, errno, "cannot sync volume %s", info->name);
      goto fail;
    }
  if (!berth_fs_write_file_at (fd, RECORD_FILE, json, strlen (json), 0600, error))
    goto fail;
  *out_tmp = g_steal_pointer (&tmp);
  return TRUE;

fail:
  berth_fs_rm_rf_at (store->dirfd, tmp, NULL);
  return FALSE;
}

BerthVolumeInfo *
berth_volume_store_create (BerthVolumeStore *store, const char *name, GHashTable *labels,
                           gboolean anonymous, const char *fill_rootfs, const char *fill_path,
                           gboolean *out_created, GError **error)
{
  g_autofree char *new_name = name ? NULL : berth_volume_new_anonymous_name ();
  g_autoptr (BerthVolumeInfo) info = NULL;
  g_autofree char *tmp = NULL;
  BerthVolumeInfo *existing;

  if (out_created)
    *out_created = FALSE;
  if (name == NULL)
    name = new_name;
  if (!berth_volume_name_validate (name, error))
    return NULL;
  {
    g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);

    existing = g_hash_table_lookup (store->volumes, name);
    if (existing)
      return berth_volume_info_copy (existing);
  }

  info = info_new (store, name);
  info->created = g_get_real_time ();
  info->anonymous = anonymous;
  if (labels)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, labels);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (info->labels, g_strdup (key), g_strdup (value));
    }
  if (!build (store, info, fill_rootfs, fill_path, &tmp, error))
    return NULL;

  {
    g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
    BerthVolumeInfo *kept;

    /* Made meanwhile by someone else: theirs is the volume. */
    existing = g_hash_table_lookup (store->volumes, name);
    if (existing)
      {
        berth_fs_rm_rf_at (store->dirfd, tmp, NULL);
        return berth_volume_info_copy (existing);
      }
    if (renameat (store->dirfd, tmp, store->dirfd, name) < 0)
      {
        berth_error_set_errno (error, errno, "cannot create volume %s in %s", name, store->dir);
        berth_fs_rm_rf_at (store->dirfd, tmp, NULL);
        return NULL;
      }
    if (!berth_fs_fsync_dir_at (store->dirfd, ".", error))
      {
        berth_fs_rm_rf_at (store->dirfd, name, NULL);
        return NULL;
      }
    /* The table's key is the name of the record it holds. */
    kept = berth_volume_info_copy (info);
    g_hash_table_insert (store->volumes, kept->name, kept);
  }
  if (out_created)
    *out_created = TRUE;
  return g_steal_pointer (&info);
}

static gboolean
no_such_volume (const char *name, GError **error)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_VOLUME,
               "no such volume: %s (see berthctl volume ls)", name);
  return FALSE;
}

BerthVolumeInfo *
berth_volume_store_lookup (BerthVolumeStore *store, const char *name, GError **error)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  BerthVolumeInfo *info = name ? g_hash_table_lookup (store->volumes, name) : NULL;

  if (info == NULL)
    return no_such_volume (name ? name : "", error), NULL;
  return berth_volume_info_copy (info);
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 ((*(BerthVolumeInfo *const *)a)->name, (*(BerthVolumeInfo *const *)b)->name);
}

GPtrArray *
berth_volume_store_list (BerthVolumeStore *store)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_volume_info_free);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, store->volumes);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (list, berth_volume_info_copy (value));
  g_ptr_array_sort (list, by_name);
  return list;
}

gboolean
berth_volume_store_remove (BerthVolumeStore *store, const char *name, GError **error)
{
  g_autofree char *tmp = NULL;

  {
    g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&store->lock);

    if (name == NULL || !g_hash_table_contains (store->volumes, name))
      return no_such_volume (name ? name : "", error);
    /* Gone from sight at once; the content follows, or the next open removes it. */
    tmp = temp_name (GONE_PREFIX, name);
    if (renameat (store->dirfd, name, store->dirfd, tmp) < 0)
      return berth_error_set_errno (error, errno, "cannot remove volume %s", name);
    g_hash_table_remove (store->volumes, name);
    if (!berth_fs_fsync_dir_at (store->dirfd, ".", error))
      return FALSE;
  }
  /* Outside the lock: a large volume takes a while. */
  return berth_fs_rm_rf_at (store->dirfd, tmp, error);
}
