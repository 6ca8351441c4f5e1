/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container.Commit, GetChanges and Export: what a container changed in
 * its file system, as a new image, as a list, or (flattened with its
 * image) as a tar. The handlers copy what they need from the record in
 * the main thread; the work, freezing included, runs in a GTask thread. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-commit.h"
#include "berth-containerfile.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-layer-changes.h"
#include "berth-layer-diff.h"
#include "berth-overlay.h"
#include "berth-reference.h"
#include "container-freeze.h"
#include "container.h"

/* Set on the Container object while a commit of it runs. */
#define COMMITTING_KEY "berth-committing"

typedef enum
{
  JOB_COMMIT,
  JOB_CHANGES,
  JOB_EXPORT,
} JobKind;

typedef struct
{
  JobKind kind;
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  BerthContainer *skeleton;
  char *id;
  char *name;
  char *image_id;
  char *upper;  /* <dir>/upper */
  char *rootfs; /* the mounted root while running, else NULL */
  char **excludes;

  /* Commit */
  char *reference;
  char *message;
  char *author;
  GPtrArray *changes;    /* of BerthInstruction, checked */
  BerthFreezer *freezer; /* NULL: not running, or pause=false */
  char **command;
  char **env;
  char *workdir;
  guint32 uid, gid;
  GHashTable *labels;
  char **volumes; /* destinations of volume mounts */

  /* Export */
  int fd;

  /* results */
  char *new_id;
  GPtrArray *infos;
  GPtrArray *change_list;
} Job;

static void
job_free (Job *job)
{
  g_clear_object (&job->invocation);
  g_clear_object (&job->skeleton);
  g_free (job->id);
  g_free (job->name);
  g_free (job->image_id);
  g_free (job->upper);
  g_free (job->rootfs);
  g_strfreev (job->excludes);
  g_free (job->reference);
  g_free (job->message);
  g_free (job->author);
  g_clear_pointer (&job->changes, g_ptr_array_unref);
  berth_freezer_free (job->freezer);
  g_strfreev (job->command);
  g_strfreev (job->env);
  g_free (job->workdir);
  g_clear_pointer (&job->labels, g_hash_table_unref);
  g_strfreev (job->volumes);
  berth_close_fdp (&job->fd);
  g_free (job->new_id);
  g_clear_pointer (&job->infos, g_ptr_array_unref);
  g_clear_pointer (&job->change_list, g_ptr_array_unref);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_free)

static Job *
job_new (JobKind kind, BerthContainerRec *rec, BerthContainer *skeleton,
         GDBusMethodInvocation *invocation)
{
  Job *job = g_new0 (Job, 1);
  g_autoptr (GPtrArray) excludes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) volumes = g_ptr_array_new_with_free_func (g_free);

  job->kind = kind;
  job->daemon = rec->daemon;
  job->invocation = g_object_ref (invocation);
  job->skeleton = g_object_ref (skeleton);
  job->id = g_strdup (rec->id);
  job->name = g_strdup (rec->name);
  job->image_id = g_strdup (rec->image_id);
  job->upper = g_build_filename (rec->dir, "upper", NULL);
  if (rec->state == BERTH_CONTAINER_RUNNING)
    job->rootfs = g_build_filename (rec->bundle, "rootfs", NULL);
  /* Volumes and host directories are not the container's changes. */
  for (guint i = 0; i < rec->mounts->len; i++)
    {
      BerthContainerMount *m = rec->mounts->pdata[i];

      g_ptr_array_add (excludes, g_strdup (m->destination));
      if (g_strcmp0 (m->type, "volume") == 0)
        g_ptr_array_add (volumes, g_strdup (m->destination));
    }
  g_ptr_array_add (excludes, NULL);
  g_ptr_array_add (volumes, NULL);
  job->excludes = (char **)g_ptr_array_free (g_steal_pointer (&excludes), FALSE);
  job->volumes = (char **)g_ptr_array_free (g_steal_pointer (&volumes), FALSE);
  job->fd = -1;
  return job;
}

static gboolean
check_state (BerthContainerRec *rec, GDBusMethodInvocation *invocation)
{
  const char *problem = NULL;

  if (rec->state == BERTH_CONTAINER_REMOVING)
    problem = "is being removed";
  else if (rec->busy)
    problem = "is starting; try again when it runs";
  if (problem == NULL)
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                                         "container %s %s", rec->name, problem);
  return FALSE;
}

/* ---- the image's file system without the container's changes ---- */

typedef struct
{
  char *dir;  /* <run-dir>/commit-XXXXXX */
  char *root; /* <dir>/root, the mount */
  gboolean mounted;
} TempMount;

static void
temp_mount_clear (TempMount *t)
{
  g_autoptr (GError) error = NULL;

  if (t->dir == NULL)
    return;
  if (t->mounted && !berth_overlay_unmount (t->root, &error))
    /* Never remove a tree through a mount that is still there. */
    g_warning ("cannot unmount %s: %s; leaving %s", t->root, error->message, t->dir);
  else if (!berth_fs_rm_rf_at (AT_FDCWD, t->dir, &error))
    g_warning ("cannot remove %s: %s", t->dir, error->message);
  g_clear_pointer (&t->dir, g_free);
  g_clear_pointer (&t->root, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TempMount, temp_mount_clear)

static gboolean
temp_dir (Job *job, TempMount *t, GError **error)
{
  g_autofree char *template = g_build_filename (job->daemon->run_dir, "commit-XXXXXX", NULL);

  if (g_mkdir_with_parents (job->daemon->run_dir, 0755) < 0 || g_mkdtemp (template) == NULL)
    return berth_error_set_errno (error, errno, "cannot create a directory under %s",
                                  job->daemon->run_dir);
  t->dir = g_steal_pointer (&template);
  t->root = g_build_filename (t->dir, "root", NULL);
  if (mkdir (t->root, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", t->root);
  return TRUE;
}

/* The image as it is: its layers with an empty upper directory of our
 * own, so that nothing the container uses is mounted twice. */
static gboolean
mount_image (Job *job, TempMount *t, GError **error)
{
  g_autofree char *upper = NULL;
  g_autofree char *work = NULL;

  if (!temp_dir (job, t, error))
    return FALSE;
  upper = g_build_filename (t->dir, "upper", NULL);
  work = g_build_filename (t->dir, "work", NULL);
  if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", upper);
  if (!berth_store_mount_image (job->daemon->store, job->image_id, upper, work, t->root, error))
    return FALSE;
  t->mounted = TRUE;
  return TRUE;
}

/* The container's file system while it is not running: a read-only
 * overlay whose top lower layer is its upper directory (overlayfs honours
 * whiteouts and opaque directories in lower layers), so that its work
 * directory stays free for a start meanwhile. The layers are named by
 * links in a directory of our own: "c" for the container's changes, the
 * store's short names for the image's layers. */
static gboolean
mount_stopped (Job *job, TempMount *t, GError **error)
{
  g_autofree char *links = NULL;
  g_autofree char *store_links = berth_store_links_dir (job->daemon->store);
  g_auto (GStrv) image_links = NULL;
  g_autoptr (GPtrArray) lowers = g_ptr_array_new_with_free_func (g_free);

  if (!temp_dir (job, t, error))
    return FALSE;
  image_links = berth_store_image_lower_links (job->daemon->store, job->image_id, error);
  if (image_links == NULL)
    return FALSE;
  links = g_build_filename (t->dir, "l", NULL);
  if (mkdir (links, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", links);
  g_ptr_array_add (lowers, g_strdup ("c"));
  for (guint i = 0; image_links[i]; i++)
    g_ptr_array_add (lowers, g_strdup (image_links[i]));
  g_ptr_array_add (lowers, NULL);
  for (guint i = 0; lowers->pdata[i]; i++)
    {
      const char *name = lowers->pdata[i];
      g_autofree char *link = g_build_filename (links, name, NULL);
      g_autofree char *target
        = i == 0 ? g_strdup (job->upper) : g_build_filename (store_links, name, NULL);

      if (symlink (target, link) < 0)
        return berth_error_set_errno (error, errno, "cannot create %s", link);
    }
  if (!berth_overlay_mount (links, (const char *const *)lowers->pdata, NULL, NULL, t->root, error))
    return FALSE;
  t->mounted = TRUE;
  return TRUE;
}

static int
open_dir (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    berth_error_set_errno (error, errno, "cannot open %s", path);
  return fd;
}

/* ---- Commit ---- */

static char **
json_strv (JsonObject *o, const char *key)
{
  JsonNode *node = json_object_get_member (o, key);
  g_autoptr (GPtrArray) out = NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  array = json_node_get_array (node);
  out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *s = json_node_get_string (json_array_get_element (array, i));

      if (s)
        g_ptr_array_add (out, g_strdup (s));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static JsonArray *
strv_to_json (char **strv, guint from)
{
  JsonArray *array = json_array_new ();

  for (guint i = from; strv && strv[i]; i++)
    json_array_add_string_element (array, strv[i]);
  return array;
}

/* The new image runs what the container ran, where and as whom. */
static JsonObject *
container_run_config (Job *job, GError **error)
{
  g_autoptr (JsonObject) run
    = berth_commit_get_run_config (job->daemon->store, job->image_id, error);
  g_auto (GStrv) entrypoint = NULL;
  guint n_entry = 0;
  JsonObject *volumes;
  JsonObject *labels;
  GHashTableIter iter;
  gpointer key, value;

  if (run == NULL)
    return NULL;

  /* The record keeps entrypoint and command as one list: when it starts
   * with the image's entrypoint that stays the entrypoint, the rest is
   * the command; otherwise all of it is the command. */
  entrypoint = json_strv (run, "Entrypoint");
  if (entrypoint && entrypoint[0])
    {
      n_entry = g_strv_length (entrypoint);
      for (guint i = 0; i < n_entry; i++)
        if (job->command[i] == NULL || !g_str_equal (job->command[i], entrypoint[i]))
          {
            n_entry = 0;
            break;
          }
    }
  if (n_entry == 0)
    json_object_remove_member (run, "Entrypoint");
  if (job->command[n_entry])
    json_object_set_array_member (run, "Cmd", strv_to_json (job->command, n_entry));
  else
    json_object_remove_member (run, "Cmd");

  json_object_set_array_member (run, "Env", strv_to_json (job->env, 0));
  if (job->workdir)
    json_object_set_string_member (run, "WorkingDir", job->workdir);
  else
    json_object_remove_member (run, "WorkingDir");
  if (job->uid != 0 || job->gid != 0)
    {
      g_autofree char *user = g_strdup_printf ("%u:%u", job->uid, job->gid);

      json_object_set_string_member (run, "User", user);
    }
  else
    json_object_remove_member (run, "User");

  if (job->volumes[0])
    {
      if (!json_object_has_member (run, "Volumes")
          || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (run, "Volumes")))
        json_object_set_object_member (run, "Volumes", json_object_new ());
      volumes = json_object_get_object_member (run, "Volumes");
      for (guint i = 0; job->volumes[i]; i++)
        json_object_set_object_member (volumes, job->volumes[i], json_object_new ());
    }
  if (g_hash_table_size (job->labels))
    {
      if (!json_object_has_member (run, "Labels")
          || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (run, "Labels")))
        json_object_set_object_member (run, "Labels", json_object_new ());
      labels = json_object_get_object_member (run, "Labels");
      g_hash_table_iter_init (&iter, job->labels);
      while (g_hash_table_iter_next (&iter, &key, &value))
        json_object_set_string_member (labels, key, value);
    }
  return g_steal_pointer (&run);
}

static gboolean
do_commit (Job *job, GCancellable *cancellable, GError **error)
{
  g_autoptr (JsonObject) run = NULL;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (GError) thaw_error = NULL;
  g_autofree char *created_by = NULL;
  berth_autofd int upper_fd = -1;
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  const char *names[] = { job->reference, NULL };

  run = container_run_config (job, error);
  if (run == NULL)
    return FALSE;
  for (guint i = 0; i < job->changes->len; i++)
    if (!berth_containerfile_apply (run, g_ptr_array_index (job->changes, i), error))
      return FALSE;
  /* A container that never started has no upper directory: no changes. */
  if (g_mkdir_with_parents (job->upper, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", job->upper);
  upper_fd = open_dir (job->upper, error);
  if (upper_fd < 0)
    return FALSE;

  created_by = g_strjoinv (" ", job->command);
  o.parent = job->image_id;
  o.config = run;
  o.author = job->author;
  o.comment = job->message;
  o.created_by = created_by;
  o.upper_dirfd = upper_fd;
  o.excludes = (const char *const *)job->excludes;
  o.names = *job->reference ? names : NULL;

  if (job->freezer)
    {
      if (!berth_freezer_freeze (job->freezer, error))
        {
          g_prefix_error (error,
                          "cannot freeze container %s (commit with --pause=false to read "
                          "it while it runs): ",
                          job->name);
          return FALSE;
        }
      g_message ("container %s frozen for the commit (%s)", job->name,
                 berth_freezer_method (job->freezer));
    }
  image = berth_commit_image (job->daemon->store, &o, cancellable, error);
  /* Thawed whatever happened: a commit never leaves a container frozen. */
  if (job->freezer && berth_freezer_thaw (job->freezer, &thaw_error))
    g_message ("container %s thawed", job->name);
  else if (job->freezer)
    {
      g_warning ("container %s: %s", job->name, thaw_error->message);
      if (image)
        {
          g_propagate_error (error, g_steal_pointer (&thaw_error));
          return FALSE;
        }
    }
  if (image == NULL)
    return FALSE;
  job->new_id = g_strdup (image->id);
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "CONTAINER_ID_FULL", job->id,
                    "CONTAINER_NAME", job->name, "IMAGE_ID", image->id, "IMAGE_NAME",
                    job->reference, "MESSAGE", "container %s committed as image %s%s%s", job->name,
                    image->id, *job->reference ? " " : "", job->reference);
  return TRUE;
}

/* ---- GetChanges ---- */

static gboolean
do_changes (Job *job, GError **error)
{
  g_auto (TempMount) image = { 0 };
  berth_autofd int upper_fd = -1;
  berth_autofd int image_fd = -1;

  upper_fd = open (job->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper_fd < 0)
    {
      if (errno != ENOENT)
        return berth_error_set_errno (error, errno, "cannot open %s", job->upper);
      /* Never started: nothing changed. */
      job->change_list = g_ptr_array_new ();
      return TRUE;
    }
  if (!mount_image (job, &image, error))
    return FALSE;
  image_fd = open_dir (image.root, error);
  if (image_fd < 0)
    return FALSE;
  job->change_list
    = berth_layer_changes (upper_fd, image_fd, (const char *const *)job->excludes, error);
  return job->change_list != NULL;
}

/* ---- Export ---- */

static gboolean
do_export (Job *job, GCancellable *cancellable, GError **error)
{
  g_auto (TempMount) mount = { 0 };
  berth_autofd int root_fd = -1;
  BerthLayerDiffOptions o = BERTH_LAYER_DIFF_OPTIONS_INIT;
  const char *root = job->rootfs;

  if (root == NULL)
    {
      /* Never started: the image is all there is. */
      gboolean started = g_file_test (job->upper, G_FILE_TEST_IS_DIR);

      if (!(started ? mount_stopped (job, &mount, error) : mount_image (job, &mount, error)))
        return FALSE;
      root = mount.root;
    }
  root_fd = open_dir (root, error);
  if (root_fd < 0)
    return FALSE;
  o.excludes = (const char *const *)job->excludes;
  return berth_layer_diff_write (root_fd, job->fd, &o, NULL, cancellable, error);
}

/* ---- jobs ---- */

static void
job_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  g_autoptr (GError) error = NULL;
  pid_t tid = syscall (SYS_gettid);
  gboolean ok = FALSE;

  /* As the image jobs: file work yields the CPU to the main loop. */
  setpriority (PRIO_PROCESS, tid, 10);
  switch (job->kind)
    {
    case JOB_COMMIT:
      ok = do_commit (job, cancellable, &error);
      job->infos = berth_image_infos_collect (job->daemon->store);
      break;
    case JOB_CHANGES:
      ok = do_changes (job, &error);
      break;
    case JOB_EXPORT:
      ok = do_export (job, cancellable, &error);
      break;
    }
  setpriority (PRIO_PROCESS, tid, 0);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  if (job->kind == JOB_COMMIT)
    g_object_set_data (G_OBJECT (job->skeleton), COMMITTING_KEY, NULL);
  if (job->infos)
    berth_daemon_images_apply (job->daemon, job->infos, TRUE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_return_gerror (job->invocation, error);
      return;
    }
  switch (job->kind)
    {
    case JOB_COMMIT:
      {
        g_autofree char *path = berth_image_object_path (job->new_id);

        berth_container_complete_commit (job->skeleton, job->invocation, path);
        break;
      }
    case JOB_CHANGES:
      {
        g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(ss)"));

        for (guint i = 0; i < job->change_list->len; i++)
          {
            const BerthLayerChange *c = g_ptr_array_index (job->change_list, i);
            char kind[2] = { c->kind, '\0' };

            /* D-Bus strings are UTF-8; other bytes show as U+FFFD. */
            g_autofree char *path = g_utf8_make_valid (c->path, -1);

            g_variant_builder_add (&b, "(ss)", kind, path);
          }
        berth_container_complete_get_changes (job->skeleton, job->invocation,
                                              g_variant_builder_end (&b));
        break;
      }
    case JOB_EXPORT:
      berth_container_complete_export (job->skeleton, job->invocation, NULL);
      break;
    }
}

static void
job_start (Job *job)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, job_done, NULL);

  g_task_set_task_data (task, job, (GDestroyNotify)job_free);
  g_task_run_in_thread (task, job_thread);
}

/* ---- handlers ---- */

/* The instructions docker's commit --change takes. */
static gboolean
parse_change (GPtrArray *changes, const char *line, GError **error)
{
  static const BerthInstructionKind allowed[]
    = { BERTH_INSTRUCTION_CMD,     BERTH_INSTRUCTION_ENTRYPOINT, BERTH_INSTRUCTION_ENV,
        BERTH_INSTRUCTION_WORKDIR, BERTH_INSTRUCTION_USER,       BERTH_INSTRUCTION_LABEL,
        BERTH_INSTRUCTION_EXPOSE,  BERTH_INSTRUCTION_VOLUME,     BERTH_INSTRUCTION_STOPSIGNAL,
        BERTH_INSTRUCTION_ONBUILD };
  g_autoptr (BerthInstruction) instruction = NULL;

  instruction = berth_containerfile_parse_instruction (line, error);
  if (instruction == NULL)
    {
      g_prefix_error (error, "change \"%s\": ", line);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (allowed); i++)
    if (instruction->kind == allowed[i])
      {
        g_ptr_array_add (changes, g_steal_pointer (&instruction));
        return TRUE;
      }
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
               "change \"%s\": %s cannot be applied by a commit (use CMD, ENTRYPOINT, ENV, "
               "WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL or ONBUILD)",
               line, berth_instruction_kind_name (instruction->kind));
  return FALSE;
}

static gboolean
handle_commit (BerthContainer *skeleton, GDBusMethodInvocation *invocation, const char *reference,
               GVariant *options, BerthContainerRec *rec)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (Job) job = NULL;
  gboolean pause = TRUE;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (!check_state (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  /* One at a time: the second's thaw would end the first's freeze. */
  if (g_object_get_data (G_OBJECT (skeleton), COMMITTING_KEY))
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_STATE,
                                             "container %s is being committed already; try again "
                                             "when that commit is done",
                                             rec->name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job = job_new (JOB_COMMIT, rec, skeleton, invocation);
  job->reference = g_strdup (reference);
  job->changes = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_instruction_free);
  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (g_str_equal (key, "message") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        job->message = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "author") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        job->author = g_variant_dup_string (value, NULL);
      else if (g_str_equal (key, "changes")
               && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
        {
          g_autofree const char **lines = g_variant_get_strv (value, NULL);

          for (guint i = 0; lines[i] && error == NULL; i++)
            parse_change (job->changes, lines[i], &error);
        }
      else if (g_str_equal (key, "pause") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        pause = g_variant_get_boolean (value);
      else
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "unknown commit option \"%s\" or wrong type (known: message s, author s, "
                     "changes as, pause b)",
                     key);
      g_variant_unref (value);
    }
  if (error == NULL && *reference)
    {
      g_autoptr (BerthReference) ref = berth_reference_parse_normalized (reference, &error);

      if (ref && ref->digest)
        g_set_error (&error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "cannot name an image \"%s\": give REPOSITORY[:TAG], not a digest", reference);
    }
  if (error)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  job->command = g_strdupv (rec->command);
  job->env = g_strdupv (rec->env);
  job->workdir = g_strdup (rec->workdir);
  job->uid = rec->uid;
  job->gid = rec->gid;
  job->labels = g_hash_table_ref (rec->labels);
  if (pause && rec->state == BERTH_CONTAINER_RUNNING)
    job->freezer = berth_freezer_new (rec);
  g_object_set_data (G_OBJECT (skeleton), COMMITTING_KEY, GINT_TO_POINTER (1));
  job_start (g_steal_pointer (&job));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_changes (BerthContainer *skeleton, GDBusMethodInvocation *invocation,
                    BerthContainerRec *rec)
{
  if (!check_state (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  job_start (job_new (JOB_CHANGES, rec, skeleton, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_export (BerthContainer *skeleton, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
               GVariant *handle, GVariant *options, BerthContainerRec *rec)
{
  g_autoptr (GError) error = NULL;
  Job *job;

  if (g_variant_n_children (options) > 0)
    {
      g_autoptr (GVariant) first = g_variant_get_child_value (options, 0);
      const char *key;

      g_variant_get_child (first, 0, "&s", &key);
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "unknown export option \"%s\" (there are none yet)",
                                             key);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (!check_state (rec, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  job = job_new (JOB_EXPORT, rec, skeleton, invocation);
  job->fd = berth_daemon_take_fd (fd_list, handle, "the tar", &error);
  if (job->fd < 0)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      job_free (job);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  job_start (job);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
berth_daemon_commit_clean_leftovers (BerthDaemon *daemon)
{
  g_autoptr (GDir) dir = g_dir_open (daemon->run_dir, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)) != NULL)
    {
      g_auto (TempMount) t = { 0 };

      if (!g_str_has_prefix (name, "commit-"))
        continue;
      t.dir = g_build_filename (daemon->run_dir, name, NULL);
      t.root = g_build_filename (t.dir, "root", NULL);
      t.mounted = TRUE; /* perhaps: unmounting what is not mounted does nothing */
      g_message ("removing %s, left by an interrupted diff or export", t.dir);
    }
}

void
berth_container_commit_connect (BerthContainerRec *rec, BerthContainer *skeleton)
{
  g_signal_connect (skeleton, "handle-commit", G_CALLBACK (handle_commit), rec);
  g_signal_connect (skeleton, "handle-get-changes", G_CALLBACK (handle_get_changes), rec);
  g_signal_connect (skeleton, "handle-export", G_CALLBACK (handle_export), rec);
}
