/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's container methods (CreateContainer, ListContainers,
 * GetContainer), and finding the containers again when berthd starts. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-id.h"
#include "berth-image-config.h"
#include "container.h"
#include "volume.h"

#define MAX_CONFIG_SIZE (4 * 1024 * 1024)

static char *
containers_dir (BerthDaemon *daemon)
{
  return g_build_filename (daemon->root, "containers", NULL);
}

static void
rec_set_paths (BerthContainerRec *rec)
{
  g_autofree char *dir = containers_dir (rec->daemon);

  rec->dir = g_build_filename (dir, rec->id, NULL);
  rec->bundle = g_build_filename (rec->daemon->run_dir, "containers", rec->id, NULL);
}

static gboolean
name_valid (const char *name)
{
  if (name == NULL || !g_ascii_isalnum (name[0]) || strlen (name) > 128)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
      return FALSE;
  return TRUE;
}

static BerthContainerRec *
find_by_name (BerthDaemon *daemon, const char *name)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, daemon->containers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (((BerthContainerRec *)value)->name, name))
      return value;
  return NULL;
}

BerthContainerRec *
berth_daemon_container_lookup (BerthDaemon *daemon, const char *what, GError **error)
{
  BerthContainerRec *rec, *found = NULL;
  GHashTableIter iter;
  gpointer value;
  guint matches = 0;

  rec = find_by_name (daemon, what);
  if (rec == NULL)
    rec = g_hash_table_lookup (daemon->containers, what);
  if (rec && rec->skeleton)
    return rec;
  if (*what != '\0' && strspn (what, "0123456789abcdef") == strlen (what))
    {
      g_hash_table_iter_init (&iter, daemon->containers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (g_str_has_prefix (((BerthContainerRec *)value)->id, what)
            && ((BerthContainerRec *)value)->skeleton)
          {
            found = value;
            matches++;
          }
      if (matches == 1)
        return found;
      if (matches > 1)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "\"%s\" matches %u containers; give more of the ID", what, matches);
          return NULL;
        }
    }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_CONTAINER,
               "no such container: %s (see berthctl ps -a)", what);
  return NULL;
}

/* --- CreateContainer ---------------------------------------------------------- */

static char *
new_name (BerthDaemon *daemon)
{
  static const char *const adjectives[]
    = { "brave", "calm",   "eager", "fancy", "gentle", "happy", "jolly", "keen",  "lucid",
        "merry", "nimble", "proud", "quick", "sharp",  "tidy",  "vivid", "witty", "zesty" };
  static const char *const nouns[]
    = { "anchor", "barge", "buoy", "cargo",  "dock", "ferry", "harbor", "hull",  "keel",
        "mast",   "pier",  "quay", "rudder", "sail", "skiff", "tug",    "wharf", "yacht" };

  for (int attempt = 0;; attempt++)
    {
      g_autofree char *name
        = g_strdup_printf ("%s_%s", adjectives[g_random_int_range (0, G_N_ELEMENTS (adjectives))],
                           nouns[g_random_int_range (0, G_N_ELEMENTS (nouns))]);

      if (attempt > 20)
        {
          g_autofree char *base = g_steal_pointer (&name);
          name = g_strdup_printf ("%s_%u", base, g_random_int_range (1000, 10000));
        }
      if (find_by_name (daemon, name) == NULL)
        return g_steal_pointer (&name);
    }
}

typedef struct
{
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  BerthContainerRec *rec; /* in daemon->containers, not yet exported */
  char **command;         /* as given */
  char **entrypoint;      /* as given, or NULL */
  gboolean has_entrypoint;
  char **env;
  char *user;
} CreateJob;

static void
create_job_free (CreateJob *job)
{
  g_clear_object (&job->invocation);
  g_strfreev (job->command);
  g_strfreev (job->entrypoint);
  g_strfreev (job->env);
  g_free (job->user);
  g_free (job);
}

static char **
json_strv (JsonObject *o, const char *key)
{
  JsonNode *node = o ? json_object_get_member (o, key) : NULL;
  JsonArray *a;
  GPtrArray *v;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  a = json_node_get_array (node);
  v = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_ptr_array_add (v, g_strdup (json_node_get_string (e)));
    }
  g_ptr_array_add (v, NULL);
  return (char **)g_ptr_array_free (v, FALSE);
}

static void
env_set (GPtrArray *env, const char *entry)
{
  const char *eq = strchr (entry, '=');
  gsize keylen = eq ? (gsize)(eq - entry) : strlen (entry);

  for (guint i = 0; i < env->len; i++)
    {
      const char *e = env->pdata[i];
      if (strncmp (e, entry, keylen) == 0 && (e[keylen] == '=' || e[keylen] == '\0'))
        {
          g_free (env->pdata[i]);
          env->pdata[i] = g_strdup (entry);
          return;
        }
    }
  g_ptr_array_add (env, g_strdup (entry));
}

/* NAME[:GROUP] or UID[:GID]: names are looked up at each start in the
 * container's own /etc/passwd and /etc/group (container-user.c); numbers
 * are taken as they are until then. */
static gboolean
parse_user (const char *user, guint32 *uid, guint32 *gid, GError **error)
{
  g_auto (GStrv) parts = NULL;
  guint64 n;

  if (user == NULL || *user == '\0')
    return TRUE;
  parts = g_strsplit (user, ":", 2);
  if (*parts[0] == '\0' || (parts[1] && *parts[1] == '\0') || strchr (user, '\n'))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "user \"%s\": give NAME or UID, optionally with :GROUP or :GID", user);
      return FALSE;
    }
  if (g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT32 - 1, &n, NULL))
    *uid = *gid = (guint32)n;
  if (parts[1] && g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT32 - 1, &n, NULL))
    *gid = (guint32)n;
  return TRUE;
}

/* In a worker thread: the image's run defaults, then the record on disk. */
static void
create_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CreateJob *job = task_data;
  BerthContainerRec *rec = job->rec;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autofree char *config = NULL;
  gsize config_len = 0;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *run = NULL;
  g_auto (GStrv) image_cmd = NULL, image_entrypoint = NULL, image_env = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
  const char *user = job->user;
  char **cmd;

  image = berth_store_find_image (rec->daemon->store, rec->image, &error);
  if (image == NULL)
    goto fail;
  rec->image_id = g_strdup (image->id);
  if (!berth_store_read_blob (rec->daemon->store, image->id, MAX_CONFIG_SIZE, &config, &config_len,
                              &error))
    goto fail;
  if (json_parser_load_from_data (parser, config, config_len, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *root = json_node_get_object (json_parser_get_root (parser));
      JsonNode *c = json_object_get_member (root, "config");

      if (c && JSON_NODE_HOLDS_OBJECT (c))
        run = json_node_get_object (c);
    }
  image_cmd = json_strv (run, "Cmd");
  image_entrypoint = json_strv (run, "Entrypoint");
  image_env = json_strv (run, "Env");

  /* docker's rules: an entrypoint given replaces the image's and clears its
   * Cmd; a command given replaces the image's Cmd. */
  if (job->has_entrypoint)
    {
      for (guint i = 0; job->entrypoint[i]; i++)
        if (*job->entrypoint[i])
          g_ptr_array_add (argv, g_strdup (job->entrypoint[i]));
    }
  else
    for (guint i = 0; image_entrypoint && image_entrypoint[i]; i++)
      g_ptr_array_add (argv, g_strdup (image_entrypoint[i]));
  cmd = job->command[0] ? job->command : job->has_entrypoint ? NULL : image_cmd;
  for (guint i = 0; cmd && cmd[i]; i++)
    g_ptr_array_add (argv, g_strdup (cmd[i]));
  if (argv->len == 0)
    {
      g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "no command given, and image %s has none (no Cmd or Entrypoint)", rec->image);
      goto fail;
    }
  g_ptr_array_add (argv, NULL);
  rec->command = (char **)g_ptr_array_free (g_steal_pointer (&argv), FALSE);

  for (guint i = 0; image_env && image_env[i]; i++)
    env_set (env, image_env[i]);
  for (guint i = 0; job->env && job->env[i]; i++)
    env_set (env, job->env[i]);
  g_ptr_array_add (env, NULL);
  rec->env = (char **)g_ptr_array_free (g_steal_pointer (&env), FALSE);

  if (rec->workdir == NULL && run)
    rec->workdir = g_strdup (json_object_get_string_member_with_default (run, "WorkingDir", NULL));
  if (rec->workdir && *rec->workdir == '\0')
    g_clear_pointer (&rec->workdir, g_free);
  if (user == NULL && run)
    user = json_object_get_string_member_with_default (run, "User", NULL);
  if (!parse_user (user, &rec->uid, &rec->gid, &error))
    goto fail;
  if (user && *user)
    rec->user = g_strdup (user);
  if (!berth_container_volumes_setup (rec, run, &error))
    goto fail;

  if (g_mkdir_with_parents (rec->dir, 0700) < 0)
    {
      berth_error_set_errno (&error, errno, "cannot create %s", rec->dir);
      goto fail;
    }
  {
    g_autoptr (JsonNode) node = berth_container_rec_to_json (rec);
    g_autofree char *json = json_to_string (node, TRUE);
    berth_autofd int dirfd = open (rec->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

    if (dirfd < 0)
      {
        berth_error_set_errno (&error, errno, "cannot open %s", rec->dir);
        goto fail;
      }
    if (!berth_fs_write_file_at (dirfd, "container.json", json, strlen (json), 0600, &error))
      {
        berth_fs_rm_rf_at (AT_FDCWD, rec->dir, NULL);
        goto fail;
      }
  }
  g_task_return_boolean (task, TRUE);
  return;

fail:
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
emit_new (BerthDaemon *daemon, BerthContainerRec *rec)
{
  berth_manager_emit_container_new (daemon->manager, rec->id, rec->object_path);
}

static void
on_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CreateJob *job = g_task_get_task_data (G_TASK (result));
  BerthContainerRec *rec = job->rec;
  BerthDaemon *daemon = job->daemon;
  g_autoptr (GError) error = NULL;

  rec->busy = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error)
      || !berth_store_hold_image (daemon->store, rec->image_id, &error))
    {
      if (rec->dir && g_file_test (rec->dir, G_FILE_TEST_IS_DIR))
        berth_fs_rm_rf_at (AT_FDCWD, rec->dir, NULL);
      berth_container_volumes_created (rec, FALSE);
      g_dbus_method_invocation_return_gerror (job->invocation, error);
      g_hash_table_remove (daemon->containers, rec->id);
      return;
    }
  rec->image_held = TRUE;
  if (!berth_container_export (rec, &error))
    {
      berth_container_volumes_created (rec, TRUE);
      g_dbus_method_invocation_return_gerror (job->invocation, error);
      return;
    }
  berth_container_volumes_created (rec, TRUE);
  g_message ("container %s (%.12s) created from %s", rec->name, rec->id, rec->image);
  emit_new (daemon, rec);
  berth_manager_complete_create_container (daemon->manager, job->invocation, rec->object_path);
}

static gboolean
check_type (const char *key, GVariant *value, const char *type, GError **error)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
               "option \"%s\" must be of type %s, not %s", key, type,
               g_variant_get_type_string (value));
  return FALSE;
}

static gboolean
parse_option (CreateJob *job, const char *key, GVariant *value, GError **error)
{
  BerthContainerRec *rec = job->rec;

#define TYPE(t)                                                                                    \
  if (!check_type (key, value, t, error))                                                          \
  return FALSE
  if (g_str_equal (key, "name"))
    {
      TYPE ("s");
      g_free (rec->name);
      rec->name = g_variant_dup_string (value, NULL);
    }
  else if (g_str_equal (key, "env"))
    {
      TYPE ("as");
      g_strfreev (job->env);
      job->env = g_variant_dup_strv (value, NULL);
      for (guint i = 0; job->env[i]; i++)
        if (job->env[i][0] == '=' || job->env[i][0] == '\0')
          {
            g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                         "environment entry \"%s\" has no name (use KEY=VALUE)", job->env[i]);
            return FALSE;
          }
    }
  else if (g_str_equal (key, "workdir"))
    {
      TYPE ("s");
      rec->workdir = g_variant_dup_string (value, NULL);
      if (!g_path_is_absolute (rec->workdir))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "working directory \"%s\" must be an absolute path", rec->workdir);
          return FALSE;
        }
    }
  else if (g_str_equal (key, "user"))
    {
      TYPE ("s");
      job->user = g_variant_dup_string (value, NULL);
    }
  else if (g_str_equal (key, "hostname"))
    {
      TYPE ("s");
      rec->hostname = g_variant_dup_string (value, NULL);
    }
  else if (g_str_equal (key, "entrypoint"))
    {
      TYPE ("as");
      job->entrypoint = g_variant_dup_strv (value, NULL);
      job->has_entrypoint = TRUE;
    }
  else if (g_str_equal (key, "tty"))
    {
      TYPE ("b");
      rec->tty = g_variant_get_boolean (value);
    }
  else if (g_str_equal (key, "stdin"))
    {
      TYPE ("b");
      rec->open_stdin = g_variant_get_boolean (value);
    }
  else if (g_str_equal (key, "memory"))
    {
      TYPE ("t");
      rec->memory = g_variant_get_uint64 (value);
    }
  else if (g_str_equal (key, "cpus"))
    {
      TYPE ("d");
      rec->cpus = g_variant_get_double (value);
    }
  else if (g_str_equal (key, "pids-limit"))
    {
      TYPE ("x");
      rec->pids_limit = g_variant_get_int64 (value);
    }
  else if (g_str_equal (key, "read-only"))
    {
      TYPE ("b");
      rec->read_only = g_variant_get_boolean (value);
    }
  else if (g_str_equal (key, "runtime"))
    {
      TYPE ("s");
      g_free (rec->runtime);
      rec->runtime = g_variant_dup_string (value, NULL);
      if (!g_path_is_absolute (rec->runtime)
          || !g_file_test (rec->runtime, G_FILE_TEST_IS_EXECUTABLE))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "runtime \"%s\" is not the absolute path of an executable", rec->runtime);
          return FALSE;
        }
    }
  else if (g_str_equal (key, "labels"))
    {
      GVariantIter iter;
      const char *k, *v;

      TYPE ("a{ss}");
      g_variant_iter_init (&iter, value);
      while (g_variant_iter_next (&iter, "{&s&s}", &k, &v))
        g_hash_table_insert (rec->labels, g_strdup (k), g_strdup (v));
    }
  else if (g_str_equal (key, "init"))
    {
      TYPE ("b");
      rec->init = g_variant_get_boolean (value);
    }
  else if (g_str_equal (key, "auto-remove"))
    {
      TYPE ("b");
      rec->auto_remove = g_variant_get_boolean (value);
    }
  else if (g_str_equal (key, "network"))
    {
      const char *net;

      TYPE ("s");
      net = g_variant_get_string (value, NULL);
      if (g_str_equal (net, "host"))
        rec->host_network = TRUE;
      else if (!g_str_equal (net, "none"))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "network \"%s\" is not supported (use \"none\" or \"host\")", net);
          return FALSE;
        }
    }
  else if (g_str_equal (key, "volumes") || g_str_equal (key, "volumes-from"))
    return berth_container_volumes_option (
      rec, key, value, berth_daemon_invocation_is_administrator (job->invocation), error);
  else
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "unknown container option \"%s\"", key);
      return FALSE;
    }
#undef TYPE
  return TRUE;
}

static gboolean
handle_create_container (BerthManager *manager, GDBusMethodInvocation *invocation,
                         const char *image, const char *const *command, GVariant *options,
                         BerthDaemon *daemon)
{
  CreateJob *job = g_new0 (CreateJob, 1);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  job->daemon = daemon;
  job->invocation = g_object_ref (invocation);
  job->command = g_strdupv ((char **)command);
  job->rec = berth_container_rec_new (daemon);
  job->rec->image = g_strdup (image);
  job->rec->runtime = g_strdup (daemon->config->runtime);

  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      parse_option (job, key, value, &error);
      g_variant_unref (value);
    }
  if (error == NULL && job->rec->name && !name_valid (job->rec->name))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "invalid container name \"%s\": use letters, digits, \"_\", \".\" and \"-\", "
                 "starting with a letter or digit",
                 job->rec->name);
  if (error == NULL && job->rec->name && find_by_name (daemon, job->rec->name))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_NAME_IN_USE,
                 "the name \"%s\" is in use by container %.12s; remove it or choose another",
                 job->rec->name, find_by_name (daemon, job->rec->name)->id);
  if (error == NULL && (image == NULL || *image == '\0'))
    g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "no image given");
  if (error)
    {
      berth_container_rec_free (job->rec);
      create_job_free (job);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  if (job->rec->name == NULL)
    job->rec->name = new_name (daemon);
  job->rec->id = berth_random_id ();
  job->rec->created = g_get_real_time ();
  job->rec->state = BERTH_CONTAINER_CREATED;
  job->rec->busy = TRUE;
  rec_set_paths (job->rec);
  /* In the table from now on, so that the name is taken. */
  g_hash_table_insert (daemon->containers, job->rec->id, job->rec);
  berth_container_volumes_reserve (job->rec);

  task = g_task_new (NULL, NULL, on_created, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify)create_job_free);
  g_task_run_in_thread (task, create_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- ListContainers, GetContainer ---------------------------------------------- */

static gint
by_created_desc (gconstpointer a, gconstpointer b)
{
  const BerthContainerRec *x = *(BerthContainerRec *const *)a;
  const BerthContainerRec *y = *(BerthContainerRec *const *)b;

  return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

static gboolean
handle_list_containers (BerthManager *manager, GDBusMethodInvocation *invocation,
                        BerthDaemon *daemon)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sssssixo)"));
  g_autoptr (GPtrArray) recs = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, daemon->containers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((BerthContainerRec *)value)->skeleton)
      g_ptr_array_add (recs, value);
  g_ptr_array_sort (recs, by_created_desc);
  for (guint i = 0; i < recs->len; i++)
    {
      BerthContainerRec *rec = recs->pdata[i];
      g_autofree char *command = g_strjoinv (" ", rec->command);

      g_variant_builder_add (&b, "(sssssixo)", rec->id, rec->name,
                             rec->image ? rec->image : rec->image_id, command,
                             berth_container_state_to_string (rec->state), rec->exit_code,
                             rec->created, rec->object_path);
    }
  berth_manager_complete_list_containers (manager, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_container (BerthManager *manager, GDBusMethodInvocation *invocation, const char *what,
                      BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;
  BerthContainerRec *rec = berth_daemon_container_lookup (daemon, what, &error);

  if (rec == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  berth_manager_complete_get_container (manager, invocation, rec->object_path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
berth_manager_containers_connect (BerthDaemon *daemon, BerthManager *manager)
{
  if (daemon->containers == NULL)
    daemon->containers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                (GDestroyNotify)berth_container_rec_free);
  g_signal_connect (manager, "handle-create-container", G_CALLBACK (handle_create_container),
                    daemon);
  g_signal_connect (manager, "handle-list-containers", G_CALLBACK (handle_list_containers), daemon);
  g_signal_connect (manager, "handle-get-container", G_CALLBACK (handle_get_container), daemon);
}

void
berth_daemon_containers_forget (BerthDaemon *daemon, BerthContainerRec *rec)
{
  g_autofree char *id = g_strdup (rec->id);
  g_autofree char *path = g_strdup (rec->object_path);

  if (rec->image_held)
    berth_store_release_image (daemon->store, rec->image_id);
  rec->image_held = FALSE;
  berth_container_log_detach (rec);
  berth_container_unexport (rec);
  berth_container_volumes_forget (rec);
  g_hash_table_remove (daemon->containers, id);
  if (path)
    berth_manager_emit_container_removed (daemon->manager, id, path);
}

guint
berth_daemon_containers_count (BerthDaemon *daemon, guint *out_running)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0, running = 0;

  if (daemon->containers)
    {
      g_hash_table_iter_init (&iter, daemon->containers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          BerthContainerRec *rec = value;
          if (rec->skeleton == NULL)
            continue;
          n++;
          if (rec->state == BERTH_CONTAINER_RUNNING)
            running++;
        }
    }
  *out_running = running;
  return n;
}

/* --- at start ------------------------------------------------------------------------ */

static void
on_restored_removal (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BerthContainerRec *rec = user_data;
  g_autoptr (GError) error = NULL;

  if (!berth_container_remove_files_finish (result, &error))
    g_warning ("container %s: %s", rec->name, error->message);
  berth_daemon_containers_forget (rec->daemon, rec);
}

static void
load_one (BerthDaemon *daemon, int dirfd, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  gsize len;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (BerthContainerRec) rec = NULL;
  berth_autofd int fd = openat (dirfd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  BerthContainerRec *r;

  if (fd < 0)
    return;
  if (!berth_fs_read_file_at (fd, "container.json", MAX_CONFIG_SIZE, &text, &len, &error))
    {
      /* A creation cut short: nothing was ever exported. */
      g_message ("removing %s: no container record (%s)", name, error->message);
      berth_fs_rm_rf_at (dirfd, name, NULL);
      return;
    }
  if (!json_parser_load_from_data (parser, text, len, &error)
      || (rec = berth_container_rec_from_json (daemon, json_parser_get_root (parser), &error))
           == NULL)
    {
      g_warning ("container %s: unreadable record, left alone: %s", name, error->message);
      return;
    }
  if (!g_str_equal (rec->id, name))
    {
      g_warning ("container record in %s names another ID (%s); left alone", name, rec->id);
      return;
    }
  rec_set_paths (rec);
  if (berth_store_hold_image (daemon->store, rec->image_id, &error))
    rec->image_held = TRUE;
  else
    g_warning ("container %s: %s", rec->name, error->message);

  r = g_steal_pointer (&rec);
  g_hash_table_insert (daemon->containers, r->id, r);
  if (!berth_container_export (r, &error))
    {
      g_warning ("container %s: %s", r->name, error->message);
      return;
    }
  switch (r->state)
    {
    case BERTH_CONTAINER_RUNNING:
      if (berth_container_pid_alive (r))
        g_message ("container %s (%.12s) still runs, pid %d", r->name, r->id, r->pid);
      /* When it is gone, the watch reports the exit from berth-init's file. */
      berth_container_watch (r);
      if (r->state == BERTH_CONTAINER_RUNNING)
        berth_container_execs_recover (r);
      break;
    case BERTH_CONTAINER_REMOVING:
      berth_container_remove_files (r, on_restored_removal, r);
      break;
    case BERTH_CONTAINER_EXITED:
      /* What its log got after berthd last looked. */
      berth_container_log_times_stop (r);
      break;
    default:
      break;
    }
}

gboolean
berth_daemon_containers_load (BerthDaemon *daemon, GError **error)
{
  g_autofree char *dir = containers_dir (daemon);
  g_autofree char *bundles = g_build_filename (daemon->run_dir, "containers", NULL);
  berth_autofd int dirfd = -1;
  DIR *d;
  struct dirent *de;

  if (g_mkdir_with_parents (dir, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", dir);
  if (g_mkdir_with_parents (bundles, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", bundles);
  dirfd = open (dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dirfd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", dir);
  d = fdopendir (dup (dirfd));
  if (d == NULL)
    return berth_error_set_errno (error, errno, "cannot read %s", dir);
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      load_one (daemon, dirfd, de->d_name);
    }
  closedir (d);
  berth_daemon_containers_restore_logs (daemon);
  if (g_hash_table_size (daemon->containers) > 0)
    g_message ("%u containers found", g_hash_table_size (daemon->containers));
  return TRUE;
}

void
berth_daemon_containers_clear (BerthDaemon *daemon)
{
  /* Saves still queued reach the disk before berthd exits. */
  if (daemon->save_pool)
    g_thread_pool_free (g_steal_pointer (&daemon->save_pool), FALSE, TRUE);
  if (daemon->containers)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, daemon->containers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        berth_container_unexport (value);
      g_clear_pointer (&daemon->containers, g_hash_table_unref);
    }
}
