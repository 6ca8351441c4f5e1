/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A container's volumes: what CreateContainer asks for (-v, --volumes-from,
 * the image's VOLUME entries), making and filling the volumes, the bind
 * mounts in the bundle, and the anonymous volumes that go with the
 * container. rec->mounts belongs to the creation's worker thread until the
 * container is exported; the main thread knows the volumes of a creation
 * under way through their reservations. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fsutil.h"
#include "berth-overlay.h"
#include "volume.h"

static char *
volume_source (BerthDaemon *daemon, const char *name)
{
  return g_build_filename (berth_volume_store_get_dir (daemon->volumes->store), name, "_data",
                           NULL);
}

/* The names berthd gives anonymous volumes; -v takes them only for
 * volumes that exist, so a volume made under such a name is anonymous. */
static gboolean
is_anonymous_name (const char *name)
{
  return strlen (name) == 64 && strspn (name, "0123456789abcdef") == 64;
}

static gboolean
check_destination_free (BerthContainerRec *rec, const char *destination, GError **error)
{
  for (guint i = 0; i < rec->mounts->len; i++)
    if (g_str_equal (((BerthContainerMount *)rec->mounts->pdata[i])->destination, destination))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "two mounts on %s: give each container path once", destination);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_not_removing (BerthDaemon *daemon, const char *name, GError **error)
{
  if (!g_hash_table_contains (daemon->volumes->removing, name))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
               "volume %s is being removed; try again once it is gone", name);
  return FALSE;
}

static gboolean
add_volume (BerthContainerRec *rec, const char *text, GError **error)
{
  BerthDaemon *daemon = rec->daemon;
  g_autoptr (BerthVolumeSpec) spec = berth_volume_spec_parse (text, error);
  g_autofree char *anonymous = NULL;
  g_autofree char *source = NULL;

  if (spec == NULL || !check_destination_free (rec, spec->destination, error))
    return FALSE;
  switch (spec->kind)
    {
    case BERTH_VOLUME_SPEC_ANONYMOUS:
      anonymous = berth_volume_new_anonymous_name ();
      source = volume_source (daemon, anonymous);
      g_ptr_array_add (rec->mounts, berth_container_mount_new ("volume", anonymous, source,
                                                               spec->destination, spec->read_only));
      break;
    case BERTH_VOLUME_SPEC_NAMED:
      if (!check_not_removing (daemon, spec->source, error))
        return FALSE;
      /* Such names are how anonymous volumes are told apart when made. */
      if (is_anonymous_name (spec->source))
        {
          g_autoptr (BerthVolumeInfo) info
            = berth_volume_store_lookup (daemon->volumes->store, spec->source, error);
          if (info == NULL)
            {
              g_prefix_error (error, "names of 64 hex digits are kept for anonymous volumes: ");
              return FALSE;
            }
        }
      source = volume_source (daemon, spec->source);
      g_ptr_array_add (rec->mounts, berth_container_mount_new ("volume", spec->source, source,
                                                               spec->destination, spec->read_only));
      break;
    case BERTH_VOLUME_SPEC_BIND:
      /* Whether the host path exists is checked in the worker thread. */
      g_ptr_array_add (rec->mounts, berth_container_mount_new ("bind", NULL, spec->source,
                                                               spec->destination, spec->read_only));
      break;
    }
  return TRUE;
}

static gboolean
add_volumes_from (BerthContainerRec *rec, const char *text, GError **error)
{
  g_autofree char *what = NULL;
  gboolean has_mode, read_only = FALSE;
  BerthContainerRec *from;

  if (!berth_volume_from_parse (text, &what, &has_mode, &read_only, error))
    return FALSE;
  from = berth_daemon_container_lookup (rec->daemon, what, error);
  if (from == NULL)
    {
      g_prefix_error (error, "--volumes-from: ");
      return FALSE;
    }
  if (from->state == BERTH_CONTAINER_REMOVING)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                   "--volumes-from: container %s is being removed", from->name);
      return FALSE;
    }
  for (guint i = 0; i < from->mounts->len; i++)
    {
      BerthContainerMount *m = from->mounts->pdata[i];

      if (m->name && !check_not_removing (rec->daemon, m->name, error))
        return FALSE;
      if (!check_destination_free (rec, m->destination, error))
        return FALSE;
      g_ptr_array_add (rec->mounts,
                       berth_container_mount_new (m->type, m->name, m->source, m->destination,
                                                  has_mode ? read_only : m->read_only));
    }
  return TRUE;
}

gboolean
berth_container_volumes_option (BerthContainerRec *rec, const char *key, GVariant *value,
                                GError **error)
{
  g_autofree const char **items = NULL;
  gboolean from = g_str_equal (key, "volumes-from");

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "option \"%s\" must be of type as, not %s", key,
                   g_variant_get_type_string (value));
      return FALSE;
    }
  items = g_variant_get_strv (value, NULL);
  for (guint i = 0; items[i]; i++)
    if (!(from ? add_volumes_from (rec, items[i], error) : add_volume (rec, items[i], error)))
      return FALSE;
  return TRUE;
}

/* --- in the creation's worker thread ------------------------------------------------- */

static guint
depth (const char *path)
{
  guint n = 0;

  for (; *path; path++)
    if (*path == '/')
      n++;
  return n;
}

static gint
by_depth (gconstpointer a, gconstpointer b)
{
  guint x = depth ((*(BerthContainerMount *const *)a)->destination);
  guint y = depth ((*(BerthContainerMount *const *)b)->destination);

  return x < y ? -1 : x > y ? 1 : 0;
}

static gboolean
add_image_volumes (BerthContainerRec *rec, JsonObject *run, GError **error)
{
  JsonNode *node = run ? json_object_get_member (run, "Volumes") : NULL;
  g_autoptr (GList) paths = NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return TRUE;
  paths
    = g_list_sort (json_object_get_members (json_node_get_object (node)), (GCompareFunc)g_strcmp0);
  for (GList *l = paths; l; l = l->next)
    {
      g_autofree char *destination = berth_volume_normalize_destination (l->data, error);
      g_autofree char *name = NULL;
      g_autofree char *source = NULL;
      gboolean covered = FALSE;

      if (destination == NULL)
        {
          g_prefix_error (error, "image %s: VOLUME: ", rec->image);
          return FALSE;
        }
      for (guint i = 0; i < rec->mounts->len && !covered; i++)
        covered
          = g_str_equal (((BerthContainerMount *)rec->mounts->pdata[i])->destination, destination);
      if (covered)
        continue;
      name = berth_volume_new_anonymous_name ();
      source = volume_source (rec->daemon, name);
      g_ptr_array_add (rec->mounts,
                       berth_container_mount_new ("volume", name, source, destination, FALSE));
    }
  return TRUE;
}

static gboolean
dir_is_empty (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) == NULL;
}

/* The image's root file system, mounted for a moment (with the container's
 * own, still empty, upper directory) to fill volumes from. */
static char *
mount_image (BerthContainerRec *rec, GError **error)
{
  BerthStore *store = rec->daemon->store;
  g_autofree char *upper = g_build_filename (rec->dir, "upper", NULL);
  g_autofree char *work = g_build_filename (rec->dir, "work", NULL);
  g_autofree char *target = g_build_filename (rec->dir, "populate", NULL);

  if (g_mkdir_with_parents (upper, 0700) < 0 || g_mkdir_with_parents (work, 0700) < 0
      || g_mkdir_with_parents (target, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", rec->dir), NULL;
  if (chmod (upper, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot set up %s", upper), NULL;
  if (!berth_store_hold_image (store, rec->image_id, error))
    return NULL;
  if (!berth_store_mount_image (store, rec->image_id, upper, work, target, error))
    {
      berth_store_release_image (store, rec->image_id);
      return NULL;
    }
  return g_steal_pointer (&target);
}

static gboolean
unmount_image (BerthContainerRec *rec, const char *target, GError **error)
{
  gboolean ok = berth_overlay_unmount (target, error);

  if (ok)
    rmdir (target);
  berth_store_release_image (rec->daemon->store, rec->image_id);
  return ok;
}

/* Makes the volumes that do not exist yet, filled from the image where it
 * has content at their paths (a new volume appears complete), and fills
 * existing empty ones in place, as docker does. */
static gboolean
make_volumes (BerthContainerRec *rec, GPtrArray *created, GError **error)
{
  BerthVolumeStore *store = rec->daemon->volumes->store;
  g_autofree char *image_root = NULL;
  gboolean ok = TRUE, need_image = FALSE;

  for (guint i = 0; i < rec->mounts->len && !need_image; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      g_autoptr (BerthVolumeInfo) info = NULL;

      if (!g_str_equal (m->type, "volume"))
        continue;
      info = berth_volume_store_lookup (store, m->name, NULL);
      need_image = info == NULL || dir_is_empty (m->source);
    }
  if (need_image)
    {
      image_root = mount_image (rec, error);
      if (image_root == NULL)
        return FALSE;
    }
  for (guint i = 0; ok && i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      g_autoptr (BerthVolumeInfo) info = NULL;
      gboolean was_created = FALSE, copied = FALSE;

      if (!g_str_equal (m->type, "volume"))
        continue;
      info = berth_volume_store_create (store, m->name, NULL, is_anonymous_name (m->name),
                                        image_root, m->destination, &was_created, error);
      ok = info != NULL;
      if (ok && was_created)
        g_ptr_array_add (created, g_strdup (m->name));
      else if (ok && image_root && dir_is_empty (m->source))
        ok = berth_volume_populate (image_root, m->destination, m->source, &copied, error);
      if (!ok)
        g_prefix_error (error, "volume %.12s on %s: ", m->name, m->destination);
    }
  if (image_root && !unmount_image (rec, image_root, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

gboolean
berth_container_volumes_setup (BerthContainerRec *rec, JsonObject *run_config, GError **error)
{
  g_autoptr (GPtrArray) created = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      struct stat st;

      if (g_str_equal (m->type, "bind") && stat (m->source, &st) < 0)
        {
          int errsv = errno;
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "cannot bind-mount the host path %s: %s (it must exist)", m->source,
                       g_strerror (errsv));
          return FALSE;
        }
    }
  if (!add_image_volumes (rec, run_config, error))
    return FALSE;
  /* Parents before what is mounted inside them. */
  g_ptr_array_sort (rec->mounts, by_depth);
  if (make_volumes (rec, created, error))
    return TRUE;
  /* A creation that fails leaves no volume behind. */
  for (guint i = 0; i < created->len; i++)
    berth_volume_store_remove (rec->daemon->volumes->store, created->pdata[i], NULL);
  return FALSE;
}

/* --- reservations, in the main thread ------------------------------------------------------ */

void
berth_container_volumes_reserve (BerthContainerRec *rec)
{
  GHashTable *reserved = rec->daemon->volumes->reserved;

  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      guint n;

      if (m->name == NULL)
        continue;
      n = GPOINTER_TO_UINT (g_hash_table_lookup (reserved, m->name));
      g_hash_table_insert (reserved, g_strdup (m->name), GUINT_TO_POINTER (n + 1));
    }
}

/* The image's volumes were added by the worker thread under new names,
 * never reserved: only what was reserved is released. */
static void
release (BerthContainerRec *rec)
{
  GHashTable *reserved = rec->daemon->volumes->reserved;

  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      guint n = m->name ? GPOINTER_TO_UINT (g_hash_table_lookup (reserved, m->name)) : 0;

      if (n > 1)
        g_hash_table_insert (reserved, g_strdup (m->name), GUINT_TO_POINTER (n - 1));
      else if (n == 1)
        g_hash_table_remove (reserved, m->name);
    }
}

typedef struct
{
  BerthDaemon *daemon;
  GPtrArray *names;
} RemoveLater;

static void
remove_later_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  RemoveLater *r = task_data;

  for (guint i = 0; i < r->names->len; i++)
    berth_volume_store_remove (r->daemon->volumes->store, r->names->pdata[i], NULL);
  g_task_return_boolean (task, TRUE);
}

static void
remove_later_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RemoveLater *r = g_task_get_task_data (G_TASK (result));

  r->daemon->volumes->jobs--;
  for (guint i = 0; i < r->names->len; i++)
    g_hash_table_remove (r->daemon->volumes->removing, r->names->pdata[i]);
  berth_daemon_volumes_sync (r->daemon, TRUE);
}

static void
remove_later_free (RemoveLater *r)
{
  g_ptr_array_unref (r->names);
  g_free (r);
}

void
berth_container_volumes_created (BerthContainerRec *rec, gboolean success)
{
  BerthDaemon *daemon = rec->daemon;
  RemoveLater *r;
  g_autoptr (GTask) task = NULL;

  release (rec);
  if (success)
    {
      berth_daemon_volumes_sync (daemon, TRUE);
      return;
    }
  /* The anonymous volumes made for a creation that failed after they were. */
  r = g_new0 (RemoveLater, 1);
  r->daemon = daemon;
  r->names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      g_autoptr (BerthVolumeInfo) info
        = m->name ? berth_volume_store_lookup (daemon->volumes->store, m->name, NULL) : NULL;

      if (info && info->anonymous && !g_hash_table_contains (daemon->volumes->removing, m->name)
          && berth_daemon_volume_check_unused (daemon, m->name, NULL))
        {
          g_hash_table_add (daemon->volumes->removing, g_strdup (m->name));
          g_ptr_array_add (r->names, g_strdup (m->name));
        }
    }
  daemon->volumes->jobs++;
  task = g_task_new (NULL, NULL, remove_later_done, NULL);
  g_task_set_task_data (task, r, (GDestroyNotify)remove_later_free);
  g_task_run_in_thread (task, remove_later_thread);
}

/* --- start: the bind mounts in the bundle ------------------------------------------------- */

gboolean
berth_container_volumes_add_to_spec (BerthContainerRec *rec, JsonNode *spec, GError **error)
{
  JsonObject *root = JSON_NODE_HOLDS_OBJECT (spec) ? json_node_get_object (spec) : NULL;
  JsonArray *mounts = root && json_object_has_member (root, "mounts")
                        ? json_object_get_array_member (root, "mounts")
                        : NULL;

  if (mounts == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "the runtime spec has no mounts");
      return FALSE;
    }
  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      JsonObject *o;
      JsonArray *options;

      if (!g_file_test (m->source, G_FILE_TEST_EXISTS))
        {
          if (g_str_equal (m->type, "volume"))
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                         "volume %s, mounted on %s, is missing from the store", m->name,
                         m->destination);
          else
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                         "host path %s, mounted on %s, no longer exists", m->source,
                         m->destination);
          return FALSE;
        }
      o = json_object_new ();
      json_object_set_string_member (o, "destination", m->destination);
      json_object_set_string_member (o, "type", "bind");
      json_object_set_string_member (o, "source", m->source);
      options = json_array_new ();
      json_array_add_string_element (options, "rbind");
      json_array_add_string_element (options, "rprivate");
      json_array_add_string_element (options, m->read_only ? "ro" : "rw");
      json_object_set_array_member (o, "options", options);
      json_array_add_object_element (mounts, o);
    }
  return TRUE;
}

/* --- removal ------------------------------------------------------------------------------- */

void
berth_container_volumes_prepare_removal (BerthContainerRec *rec)
{
  BerthDaemon *daemon = rec->daemon;
  g_autoptr (GPtrArray) doomed = g_ptr_array_new_with_free_func (g_free);

  if (!rec->remove_volumes || rec->volumes_to_remove || daemon->volumes == NULL)
    return;
  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      g_autoptr (BerthVolumeInfo) info
        = m->name ? berth_volume_store_lookup (daemon->volumes->store, m->name, NULL) : NULL;

      /* rec is "removing" by now, so it no longer counts as a user. */
      if (info == NULL || !info->anonymous
          || g_hash_table_contains (daemon->volumes->removing, m->name)
          || !berth_daemon_volume_check_unused (daemon, m->name, NULL))
        continue;
      g_hash_table_add (daemon->volumes->removing, g_strdup (m->name));
      g_ptr_array_add (doomed, g_strdup (m->name));
    }
  g_ptr_array_add (doomed, NULL);
  rec->volumes_to_remove = (char **)g_ptr_array_free (g_steal_pointer (&doomed), FALSE);
}

void
berth_container_volumes_remove_files (BerthContainerRec *rec)
{
  for (guint i = 0; rec->volumes_to_remove && rec->volumes_to_remove[i]; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!berth_volume_store_remove (rec->daemon->volumes->store, rec->volumes_to_remove[i],
                                      &error))
        g_warning ("container %.12s: cannot remove its volume: %s", rec->id, error->message);
    }
}

void
berth_container_volumes_forget (BerthContainerRec *rec)
{
  BerthDaemon *daemon = rec->daemon;

  if (daemon->volumes == NULL)
    return;
  for (guint i = 0; rec->volumes_to_remove && rec->volumes_to_remove[i]; i++)
    {
      g_message ("volume %s removed with container %.12s", rec->volumes_to_remove[i], rec->id);
      g_hash_table_remove (daemon->volumes->removing, rec->volumes_to_remove[i]);
    }
  berth_daemon_volumes_sync (daemon, TRUE);
}
