/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container records: what berthd knows about one container, and how it is
 * kept on disk so that a restart (or a crash) of berthd loses nothing. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-json.h"
#include "berth-overlay.h"
#include "container.h"
#include "volume.h"

#define RECORD_FILE "container.json"

static const char *const state_names[] = {
  [BERTH_CONTAINER_CREATED] = "created",
  [BERTH_CONTAINER_RUNNING] = "running",
  [BERTH_CONTAINER_EXITED] = "exited",
  [BERTH_CONTAINER_REMOVING] = "removing",
};

const char *
berth_container_state_to_string (BerthContainerState state)
{
  return state_names[state];
}

static gboolean
state_from_string (const char *name, BerthContainerState *out)
{
  for (gsize i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (state_names[i], name) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

BerthContainerMount *
berth_container_mount_new (const char *type, const char *name, const char *source,
                           const char *destination, gboolean read_only)
{
  BerthContainerMount *mount = g_new0 (BerthContainerMount, 1);

  mount->type = g_strdup (type);
  mount->name = g_strdup (name);
  mount->source = g_strdup (source);
  mount->destination = g_strdup (destination);
  mount->read_only = read_only;
  return mount;
}

void
berth_container_mount_free (BerthContainerMount *mount)
{
  if (mount == NULL)
    return;
  g_free (mount->type);
  g_free (mount->name);
  g_free (mount->source);
  g_free (mount->destination);
  g_free (mount);
}

BerthContainerRec *
berth_container_rec_new (BerthDaemon *daemon)
{
  BerthContainerRec *rec = g_new0 (BerthContainerRec, 1);

  rec->daemon = daemon;
  rec->pidfd = -1;
  rec->log_fds[0] = rec->log_fds[1] = -1;
  rec->init = TRUE;
  rec->labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  rec->mounts = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_container_mount_free);
  rec->waiters = g_ptr_array_new_with_free_func (g_object_unref);
  rec->stop_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  rec->remove_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  return rec;
}

void
berth_container_rec_free (BerthContainerRec *rec)
{
  if (rec == NULL)
    return;
  g_clear_handle_id (&rec->child_watch, g_source_remove);
  g_clear_handle_id (&rec->pidfd_watch, g_source_remove);
  g_clear_handle_id (&rec->stop_timer, g_source_remove);
  berth_close_fdp (&rec->pidfd);
  for (int i = 0; i < 2; i++)
    {
      g_clear_handle_id (&rec->log_watches[i], g_source_remove);
      berth_close_fdp (&rec->log_fds[i]);
      if (rec->log_partial[i])
        g_string_free (rec->log_partial[i], TRUE);
    }
  if (rec->log_times)
    berth_container_log_times_stop (rec);
  g_clear_object (&rec->skeleton);
  g_free (rec->object_path);
  g_free (rec->id);
  g_free (rec->name);
  g_free (rec->image);
  g_free (rec->image_id);
  g_strfreev (rec->command);
  g_strfreev (rec->env);
  g_free (rec->workdir);
  g_free (rec->user);
  g_free (rec->hostname);
  g_free (rec->runtime);
  g_hash_table_unref (rec->labels);
  g_ptr_array_unref (rec->mounts);
  g_strfreev (rec->volumes_to_remove);
  g_ptr_array_unref (rec->waiters);
  g_ptr_array_unref (rec->stop_waiters);
  g_ptr_array_unref (rec->remove_waiters);
  g_clear_object (&rec->restart_invocation);
  g_free (rec->dir);
  g_free (rec->bundle);
  g_free (rec);
}

static void
add_strv (JsonBuilder *b, const char *key, char **strv)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; strv && strv[i]; i++)
    json_builder_add_string_value (b, strv[i]);
  json_builder_end_array (b);
}

static void
add_settings (JsonBuilder *b, BerthContainerRec *rec)
{
  json_builder_set_member_name (b, "Image");
  json_builder_add_string_value (b, rec->image);
  json_builder_set_member_name (b, "ImageId");
  json_builder_add_string_value (b, rec->image_id);
  add_strv (b, "Command", rec->command);
  add_strv (b, "Env", rec->env);
  json_builder_set_member_name (b, "WorkingDir");
  json_builder_add_string_value (b, rec->workdir ? rec->workdir : "");
  json_builder_set_member_name (b, "User");
  json_builder_add_string_value (b, rec->user ? rec->user : "");
  json_builder_set_member_name (b, "Uid");
  json_builder_add_int_value (b, rec->uid);
  json_builder_set_member_name (b, "Gid");
  json_builder_add_int_value (b, rec->gid);
  json_builder_set_member_name (b, "Hostname");
  json_builder_add_string_value (b, rec->hostname ? rec->hostname : "");
  json_builder_set_member_name (b, "Tty");
  json_builder_add_boolean_value (b, rec->tty);
  json_builder_set_member_name (b, "OpenStdin");
  json_builder_add_boolean_value (b, rec->open_stdin);
  json_builder_set_member_name (b, "ReadOnly");
  json_builder_add_boolean_value (b, rec->read_only);
  json_builder_set_member_name (b, "Init");
  json_builder_add_boolean_value (b, rec->init);
  json_builder_set_member_name (b, "Network");
  json_builder_add_string_value (b, rec->host_network ? "host" : "none");
  json_builder_set_member_name (b, "AutoRemove");
  json_builder_add_boolean_value (b, rec->auto_remove);
  json_builder_set_member_name (b, "Memory");
  json_builder_add_int_value (b, (gint64)rec->memory);
  json_builder_set_member_name (b, "Cpus");
  json_builder_add_double_value (b, rec->cpus);
  json_builder_set_member_name (b, "PidsLimit");
  json_builder_add_int_value (b, rec->pids_limit);
  json_builder_set_member_name (b, "Runtime");
  json_builder_add_string_value (b, rec->runtime);
  berth_json_add_string_map (b, "Labels", rec->labels);
  json_builder_set_member_name (b, "Mounts");
  json_builder_begin_array (b);
  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Type");
      json_builder_add_string_value (b, m->type);
      json_builder_set_member_name (b, "Name");
      json_builder_add_string_value (b, m->name ? m->name : "");
      json_builder_set_member_name (b, "Source");
      json_builder_add_string_value (b, m->source);
      json_builder_set_member_name (b, "Destination");
      json_builder_add_string_value (b, m->destination);
      json_builder_set_member_name (b, "ReadOnly");
      json_builder_add_boolean_value (b, m->read_only);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

JsonNode *
berth_container_rec_to_json (BerthContainerRec *rec)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Id");
  json_builder_add_string_value (b, rec->id);
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, rec->name);
  add_settings (b, rec);
  json_builder_set_member_name (b, "State");
  /* A removal that was cut short is finished at the next start. */
  json_builder_add_string_value (b, berth_container_state_to_string (rec->state));
  json_builder_set_member_name (b, "Pid");
  json_builder_add_int_value (b, rec->pid);
  json_builder_set_member_name (b, "PidStartTime");
  json_builder_add_int_value (b, (gint64)rec->pid_start_time);
  json_builder_set_member_name (b, "ExitCode");
  json_builder_add_int_value (b, rec->exit_code);
  json_builder_set_member_name (b, "Created");
  json_builder_add_int_value (b, rec->created);
  json_builder_set_member_name (b, "StartedAt");
  json_builder_add_int_value (b, rec->started_at);
  json_builder_set_member_name (b, "FinishedAt");
  json_builder_add_int_value (b, rec->finished_at);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

char *
berth_container_rec_config_json (BerthContainerRec *rec)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  add_settings (b, rec);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char **
get_strv (JsonObject *o, const char *key)
{
  JsonArray *a = json_object_has_member (o, key) ? json_object_get_array_member (o, key) : NULL;
  g_autoptr (GPtrArray) v = g_ptr_array_new ();

  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      const char *s = json_array_get_string_element (a, i);
      if (s)
        g_ptr_array_add (v, g_strdup (s));
    }
  g_ptr_array_add (v, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&v), FALSE);
}

static char *
get_str (JsonObject *o, const char *key)
{
  const char *s = json_object_get_string_member_with_default (o, key, NULL);

  return s && *s ? g_strdup (s) : NULL;
}

static gboolean
get_mounts (JsonObject *o, GPtrArray *mounts, GError **error)
{
  JsonArray *a
    = json_object_has_member (o, "Mounts") ? json_object_get_array_member (o, "Mounts") : NULL;

  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *node = json_array_get_element (a, i);
      JsonObject *m = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      g_autofree char *type = m ? get_str (m, "Type") : NULL;
      g_autofree char *name = m ? get_str (m, "Name") : NULL;
      g_autofree char *source = m ? get_str (m, "Source") : NULL;
      g_autofree char *destination = m ? get_str (m, "Destination") : NULL;

      if (type == NULL || source == NULL || destination == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "container record with a mount lacking Type, Source or Destination");
          return FALSE;
        }
      g_ptr_array_add (mounts,
                       berth_container_mount_new (
                         type, name, source, destination,
                         json_object_get_boolean_member_with_default (m, "ReadOnly", FALSE)));
    }
  return TRUE;
}

BerthContainerRec *
berth_container_rec_from_json (BerthDaemon *daemon, JsonNode *node, GError **error)
{
  g_autoptr (BerthContainerRec) rec = berth_container_rec_new (daemon);
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  if (o == NULL || !json_object_has_member (o, "Id") || !json_object_has_member (o, "Name")
      || !json_object_has_member (o, "ImageId"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "not a container record (Id, Name or ImageId missing)");
      return NULL;
    }
  rec->id = get_str (o, "Id");
  rec->name = get_str (o, "Name");
  rec->image = get_str (o, "Image");
  rec->image_id = get_str (o, "ImageId");
  if (rec->id == NULL || rec->name == NULL || rec->image_id == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "container record with empty fields");
      return NULL;
    }
  rec->command = get_strv (o, "Command");
  rec->env = get_strv (o, "Env");
  rec->workdir = get_str (o, "WorkingDir");
  rec->user = get_str (o, "User");
  if (rec->user && *rec->user == '\0')
    g_clear_pointer (&rec->user, g_free);
  rec->uid = json_object_get_int_member_with_default (o, "Uid", 0);
  rec->gid = json_object_get_int_member_with_default (o, "Gid", 0);
  rec->hostname = get_str (o, "Hostname");
  rec->tty = json_object_get_boolean_member_with_default (o, "Tty", FALSE);
  rec->open_stdin = json_object_get_boolean_member_with_default (o, "OpenStdin", FALSE);
  rec->read_only = json_object_get_boolean_member_with_default (o, "ReadOnly", FALSE);
  rec->init = json_object_get_boolean_member_with_default (o, "Init", TRUE);
  rec->host_network
    = g_strcmp0 (json_object_get_string_member_with_default (o, "Network", "none"), "host") == 0;
  rec->auto_remove = json_object_get_boolean_member_with_default (o, "AutoRemove", FALSE);
  rec->memory = json_object_get_int_member_with_default (o, "Memory", 0);
  rec->cpus = json_object_get_double_member_with_default (o, "Cpus", 0);
  rec->pids_limit = json_object_get_int_member_with_default (o, "PidsLimit", 0);
  rec->runtime = get_str (o, "Runtime");
  if (rec->runtime == NULL)
    rec->runtime = g_strdup (daemon->config->runtime);
  berth_json_get_string_map (o, "Labels", rec->labels);
  if (!get_mounts (o, rec->mounts, error))
    return NULL;
  if (!state_from_string (json_object_get_string_member_with_default (o, "State", ""), &rec->state))
    rec->state = BERTH_CONTAINER_EXITED;
  rec->pid = json_object_get_int_member_with_default (o, "Pid", 0);
  rec->pid_start_time = json_object_get_int_member_with_default (o, "PidStartTime", 0);
  rec->exit_code = json_object_get_int_member_with_default (o, "ExitCode", 0);
  rec->created = json_object_get_int_member_with_default (o, "Created", 0);
  rec->started_at = json_object_get_int_member_with_default (o, "StartedAt", 0);
  rec->finished_at = json_object_get_int_member_with_default (o, "FinishedAt", 0);
  return g_steal_pointer (&rec);
}

typedef struct
{
  char *dir;
  char *json;
  GTask *task; /* a removal instead */
} SaveJob;

static void remove_job_run (gpointer data, gpointer user_data);

static void
save_job_free (SaveJob *job)
{
  g_free (job->dir);
  g_free (job->json);
  g_free (job);
}

/* In the daemon's one save thread. */
static void
save_job_run (gpointer data, gpointer user_data)
{
  SaveJob *job = data;
  g_autoptr (GError) error = NULL;
  berth_autofd int dirfd = -1;

  if (job->task)
    {
      remove_job_run (job->task, NULL);
      g_free (job);
      return;
    }
  dirfd = open (job->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dirfd < 0)
    g_warning ("cannot save the container record in %s: %s", job->dir, g_strerror (errno));
  else if (!berth_fs_write_file_at (dirfd, RECORD_FILE, job->json, strlen (job->json), 0600,
                                    &error))
    g_warning ("cannot save the container record in %s: %s", job->dir, error->message);
  save_job_free (job);
}

void
berth_container_rec_save (BerthContainerRec *rec)
{
  g_autoptr (JsonNode) node = NULL;
  SaveJob *job;

  if (rec->daemon->save_pool == NULL)
    rec->daemon->save_pool = g_thread_pool_new (save_job_run, NULL, 1, FALSE, NULL);
  node = berth_container_rec_to_json (rec);
  job = g_new0 (SaveJob, 1);
  job->dir = g_strdup (rec->dir);
  job->json = json_to_string (node, TRUE);
  g_thread_pool_push (rec->daemon->save_pool, job, NULL);
}

char *
berth_container_rec_cgroups_path (BerthContainerRec *rec)
{
  if (rec->daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    return g_strdup_printf ("machine.slice:berth:%s", rec->id);
  return g_strdup_printf ("/berth/%s", rec->id);
}

char *
berth_container_rec_unit (BerthContainerRec *rec)
{
  if (rec->daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    return g_strdup_printf ("berth-%s.scope", rec->id);
  return g_strdup_printf ("%s/%s", rec->daemon->cgroup_root, rec->id);
}

void
berth_container_rec_sync (BerthContainerRec *rec)
{
  BerthContainer *s = rec->skeleton;
  g_autofree char *unit = berth_container_rec_unit (rec);
  g_autofree char *config = berth_container_rec_config_json (rec);

  if (s == NULL)
    return;
  berth_container_set_id (s, rec->id);
  berth_container_set_name (s, rec->name);
  berth_container_set_image (s, rec->image ? rec->image : rec->image_id);
  berth_container_set_image_id (s, rec->image_id);
  berth_container_set_state (s, berth_container_state_to_string (rec->state));
  berth_container_set_pid (s, rec->state == BERTH_CONTAINER_RUNNING ? (guint)rec->pid : 0);
  berth_container_set_exit_code (s, rec->exit_code);
  berth_container_set_unit (s, unit);
  berth_container_set_created (s, rec->created);
  berth_container_set_started_at (s, rec->started_at);
  berth_container_set_finished_at (s, rec->finished_at);
  berth_container_set_command (s, (const char *const *)rec->command);
  berth_container_set_config (s, config);
}

/* Removal goes through the save thread too, so that it comes after every
 * save asked for before it. */
static void
remove_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  BerthContainerRec *rec = task_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *rootfs = g_build_filename (rec->bundle, "rootfs", NULL);

  if (!berth_overlay_unmount (rootfs, &error) || !berth_fs_rm_rf_at (AT_FDCWD, rec->bundle, &error)
      || !berth_fs_rm_rf_at (AT_FDCWD, rec->dir, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  berth_container_volumes_remove_files (rec);
  g_task_return_boolean (task, TRUE);
}

static void
remove_job_run (gpointer data, gpointer user_data)
{
  g_autoptr (GTask) task = data;

  remove_thread (task, NULL, g_task_get_task_data (task), NULL);
}

void
berth_container_remove_files (BerthContainerRec *rec, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  SaveJob *job = g_new0 (SaveJob, 1);

  if (rec->daemon->save_pool == NULL)
    rec->daemon->save_pool = g_thread_pool_new (save_job_run, NULL, 1, FALSE, NULL);
  g_task_set_task_data (task, rec, NULL);
  job->task = task;
  g_thread_pool_push (rec->daemon->save_pool, job, NULL);
}

gboolean
berth_container_remove_files_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
