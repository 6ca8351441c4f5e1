/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The steps of a build, in the build's worker thread: the context is
 * unpacked into the build's private directory, the Containerfile parsed,
 * then each stage up to the target is built step by step. Every step ends
 * in an image made by the commit API (a layer for RUN, COPY, ADD and a
 * WORKDIR that had to be created; config and history alone for the
 * others), so a step's result is the next one's parent.
 *
 * The layer cache maps a key — the parent image, the instruction after
 * substitution, the build arguments in effect and, for COPY and ADD, the
 * digest of the files copied — to the image the step made. A hit costs
 * one small file read and no container. Entries are hints: a lost one
 * only means the step runs again, so they are not fsynced. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-commit.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-host.h"
#include "berth-overlay.h"
#include "berth-unpack.h"
#include "build.h"
#include "transfer.h"

typedef struct
{
  Build *b;
  BerthStore *store;
  BerthContainerfile *file;
  BerthBuilderContext *context;
  char *cache_dir;
  guint step, steps;
  GHashTable *global_args; /* name → value (NULL: declared without one) */
  GHashTable *used_args;   /* build args some ARG took */
  GPtrArray *stage_images; /* per stage built: image ID ("" for an empty scratch stage) */
  guint mounts;            /* to name mount directories */
} Run;

typedef struct
{
  char *image;        /* NULL: scratch, nothing yet */
  JsonObject *config; /* the image's run config */
  char *author;
  GHashTable *args; /* in scope: name → value (may be NULL) */
  gboolean cmd_set;
  /* The base's ONBUILD triggers ran: the stage's first new image drops
   * them, as Docker's do (they are for the base's direct children). */
  gboolean drop_onbuild;
} Stage;

static void
stage_clear (Stage *s)
{
  g_free (s->image);
  g_clear_pointer (&s->config, json_object_unref);
  g_free (s->author);
  g_clear_pointer (&s->args, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Stage, stage_clear)

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->context, berth_builder_context_free);
  g_clear_pointer (&r->file, berth_containerfile_free);
  g_free (r->cache_dir);
  g_clear_pointer (&r->global_args, g_hash_table_unref);
  g_clear_pointer (&r->used_args, g_hash_table_unref);
  g_clear_pointer (&r->stage_images, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static GHashTable *
new_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* --- the context ---------------------------------------------------------- */

static const char *const default_names[] = { "Containerfile", "Dockerfile", NULL };

static gboolean
read_context (Run *r, GError **error)
{
  Build *b = r->b;
  g_autofree char *given = b->containerfile ? berth_builder_clean_path (b->containerfile) : NULL;
  const char *wanted[] = { given, NULL };

  if (b->containerfile && (given == NULL || *given == '\0'))
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "containerfile \"%s\" must name a file inside the context",
                        b->containerfile),
           FALSE;
  r->context = berth_builder_context_read (
    b->context_fd, b->dir, given ? wanted : (const char **)default_names,
    b->daemon->config->max_layer_size, b->cancellable, error);
  berth_close_fdp (&b->context_fd);
  return r->context != NULL;
}

static char *
read_containerfile (Run *r, char **out_name, gsize *out_len, GError **error)
{
  Build *b = r->b;
  g_autofree char *given = b->containerfile ? berth_builder_clean_path (b->containerfile) : NULL;
  const char *one[] = { given, NULL };
  const char *const *names = given ? one : default_names;

  for (guint i = 0; names[i]; i++)
    {
      g_autoptr (GBytes) bytes = berth_builder_context_get_file (r->context, names[i]);
      gsize len;
      const char *data;

      if (bytes == NULL)
        continue;
      data = g_bytes_get_data (bytes, &len);
      *out_name = g_strdup (names[i]);
      *out_len = len;
      return g_strndup (data, len);
    }
  if (given)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "%s: no such file in the build context", b->containerfile);
  else
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "the build context has no Containerfile and no Dockerfile (give one with -f)");
  return NULL;
}

/* --- the layer cache ------------------------------------------------------ */

static void
hash_line (BerthHasher *h, const char *tag, const char *value)
{
  berth_hasher_update (h, tag, strlen (tag) + 1);
  berth_hasher_update (h, value ? value : "", value ? strlen (value) + 1 : 0);
}

/* The instruction after substitution, in one unambiguous string. */
static char *
instruction_key (const BerthInstruction *ins)
{
  g_autoptr (JsonBuilder) jb = json_builder_new ();
  g_autoptr (JsonNode) node = NULL;
  guint n = ins->args ? g_strv_length (ins->args) : 0;

  json_builder_begin_array (jb);
  json_builder_add_string_value (jb, berth_instruction_kind_name (ins->kind));
  json_builder_add_boolean_value (jb, ins->exec_form);
  json_builder_begin_array (jb);
  for (guint i = 0; ins->flag_names[i]; i++)
    {
      json_builder_add_string_value (jb, ins->flag_names[i]);
      json_builder_add_string_value (jb, ins->flag_values[i] ? ins->flag_values[i] : "");
    }
  json_builder_end_array (jb);
  json_builder_begin_array (jb);
  for (guint i = 0; i < n; i++)
    {
      json_builder_add_string_value (jb, ins->args[i]);
      if (ins->values)
        json_builder_add_string_value (jb, ins->values[i] ? ins->values[i] : "\x01");
    }
  json_builder_end_array (jb);
  json_builder_end_array (jb);
  node = json_builder_get_root (jb);
  return json_to_string (node, FALSE);
}

static char *
cache_key (Stage *s, const char *what, const char *extra)
{
  g_autoptr (BerthHasher) h = berth_hasher_new (BERTH_DIGEST_SHA256);
  g_autoptr (GList) names = g_list_sort (g_hash_table_get_keys (s->args), (GCompareFunc)strcmp);

  hash_line (h, "parent", s->image ? s->image : "scratch");
  hash_line (h, "step", what);
  for (GList *l = names; l; l = l->next)
    {
      const char *value = g_hash_table_lookup (s->args, l->data);

      hash_line (h, "arg", l->data);
      hash_line (h, "value", value ? value : "\x01");
    }
  hash_line (h, "extra", extra);
  return berth_hasher_finish (h);
}

static char *
cache_lookup (Run *r, const char *key)
{
  g_autofree char *path = g_build_filename (r->cache_dir, berth_digest_hex (key), NULL);
  g_autofree char *id = NULL;
  g_autoptr (BerthStoreImage) image = NULL;

  if (r->b->no_cache || !g_file_get_contents (path, &id, NULL, NULL))
    return NULL;
  g_strstrip (id);
  image = berth_store_find_image (r->store, id, NULL);
  return image ? g_strdup (image->id) : NULL;
}

char *
berth_build_parent_path (const char *root, const char *image_id)
{
  return g_build_filename (root, "build-parents", berth_digest_hex (image_id), NULL);
}

static void
cache_store (Run *r, const char *key, const char *id, const char *parent)
{
  g_autofree char *path = g_build_filename (r->cache_dir, berth_digest_hex (key), NULL);

  /* g_file_set_contents writes a temporary file and renames it. */
  if (!g_file_set_contents (path, id, -1, NULL))
    g_debug ("cannot write the build cache entry %s", path);
  /* The step's parent, so that ListImages can leave out intermediate
   * images (daemon.h: berth_build_parent_path). */
  if (parent && !g_str_equal (parent, id))
    {
      g_autofree char *link = berth_build_parent_path (r->b->daemon->root, id);
      g_autofree char *dir = g_path_get_dirname (link);

      if (g_mkdir_with_parents (dir, 0700) < 0 || !g_file_set_contents (link, parent, -1, NULL))
        g_debug ("cannot record the parent of %s in %s", id, link);
    }
}

/* --- steps ---------------------------------------------------------------- */

static gboolean
load_config (Run *r, Stage *s, GError **error)
{
  g_clear_pointer (&s->config, json_object_unref);
  if (s->image == NULL)
    {
      s->config = json_object_new ();
      return TRUE;
    }
  s->config = berth_commit_get_run_config (r->store, s->image, error);
  return s->config != NULL;
}

/* Moves the stage to @image (a cache hit or a new image). */
static gboolean
advance (Run *r, Stage *s, const char *image, gboolean cached, GError **error)
{
  g_free (s->image);
  s->image = g_strdup (image);
  s->drop_onbuild = FALSE;
  if (!load_config (r, s, error))
    return FALSE;
  if (cached)
    berth_builder_emit_note (r->b, "---> Using cache\n");
  berth_builder_emit_step_done (r->b, r->step, image, cached);
  return TRUE;
}

/* Commits a step (with the layer in @upper_fd, or none) and records it in
 * the cache under @key. */
static gboolean commit_step_excluding (Run *r, Stage *s, const char *key, const char *created_by,
                                       JsonObject *config, int upper_fd, BerthLayerDiffFlags flags,
                                       const char *const *excludes, GError **error);

static gboolean
commit_step (Run *r, Stage *s, const char *key, const char *created_by, JsonObject *config,
             int upper_fd, BerthLayerDiffFlags flags, GError **error)
{
  return commit_step_excluding (r, s, key, created_by, config, upper_fd, flags, NULL, error);
}

/* @excludes: paths left out of the layer (a RUN step's VOLUME paths). */
static gboolean
commit_step_excluding (Run *r, Stage *s, const char *key, const char *created_by,
                       JsonObject *config, int upper_fd, BerthLayerDiffFlags flags,
                       const char *const *excludes, GError **error)
{
  BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (JsonObject) own = NULL;

  if (s->drop_onbuild && config == NULL && s->image)
    {
      own = berth_commit_get_run_config (r->store, s->image, error);
      if (own == NULL)
        return FALSE;
      json_object_remove_member (own, "OnBuild");
      config = own;
    }
  o.parent = s->image;
  o.config = config;
  o.author = s->author;
  o.created_by = created_by;
  o.upper_dirfd = upper_fd;
  o.layer_flags = flags;
  o.excludes = excludes;
  image = berth_commit_image (r->store, &o, r->b->cancellable, error);
  if (image == NULL)
    return FALSE;
  cache_store (r, key, image->id, s->image);
  return advance (r, s, image->id, FALSE, error);
}

static GHashTable *
variables (Stage *s)
{
  GHashTable *vars = new_table ();
  GHashTableIter iter;
  gpointer k, v;
  JsonNode *env = json_object_get_member (s->config, "Env");

  g_hash_table_iter_init (&iter, s->args);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (v)
      g_hash_table_insert (vars, g_strdup (k), g_strdup (v));
  /* ENV wins over ARG, as in Docker. */
  if (env && JSON_NODE_HOLDS_ARRAY (env))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (env)); i++)
      {
        const char *e = json_array_get_string_element (json_node_get_array (env), i);
        const char *eq = e ? strchr (e, '=') : NULL;

        if (eq)
          g_hash_table_insert (vars, g_strndup (e, eq - e), g_strdup (eq + 1));
      }
  return vars;
}

/* The RUN environment: the image's Env plus the build arguments in scope
 * that it does not set. */
static char **
run_environment (Stage *s)
{
  g_autoptr (GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonNode *node = json_object_get_member (s->config, "Env");
  GHashTableIter iter;
  gpointer k, v;

  if (node && JSON_NODE_HOLDS_ARRAY (node))
    for (guint i = 0; i < json_array_get_length (json_node_get_array (node)); i++)
      {
        const char *e = json_array_get_string_element (json_node_get_array (node), i);
        const char *eq = e ? strchr (e, '=') : NULL;

        if (eq)
          {
            g_ptr_array_add (env, g_strdup (e));
            g_hash_table_add (seen, g_strndup (e, eq - e));
          }
      }
  if (!g_hash_table_contains (seen, "PATH"))
    g_ptr_array_add (
      env, g_strdup ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  g_hash_table_iter_init (&iter, s->args);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (v && !g_hash_table_contains (seen, k))
      g_ptr_array_add (env, g_strdup_printf ("%s=%s", (char *)k, (char *)v));
  g_ptr_array_add (env, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&env), FALSE);
}

/* A mount of @image (NULL: an empty directory, for scratch) under the
 * build's directory, written through its upper directory. */
typedef struct
{
  Run *r;
  char *image;
  char *dir, *upper, *mnt;
  gboolean mounted, held;
  int root_fd;
} Mount;

static void
mount_clear (Mount *m)
{
  berth_close_fdp (&m->root_fd);
  if (m->mounted)
    berth_overlay_unmount (m->mnt, NULL);
  if (m->held)
    berth_store_release_image (m->r->store, m->image);
  if (m->dir)
    berth_fs_rm_rf_at (AT_FDCWD, m->dir, NULL);
  g_free (m->image);
  g_free (m->dir);
  g_free (m->upper);
  g_free (m->mnt);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Mount, mount_clear)
#define MOUNT_INIT                                                                                 \
  {                                                                                                \
    .root_fd = -1                                                                                  \
  }

static gboolean
mount_image (Run *r, const char *image, Mount *m, GError **error)
{
  g_autofree char *work = NULL;
  g_autofree char *name = g_strdup_printf ("mount-%u", ++r->mounts);

  m->r = r;
  m->root_fd = -1;
  m->image = g_strdup (image);
  m->dir = g_build_filename (r->b->dir, name, NULL);
  m->upper = g_build_filename (m->dir, "upper", NULL);
  work = g_build_filename (m->dir, "work", NULL);
  m->mnt = g_build_filename (m->dir, "root", NULL);
  if (g_mkdir_with_parents (m->upper, 0755) < 0 || g_mkdir_with_parents (work, 0700) < 0
      || g_mkdir_with_parents (m->mnt, 0755) < 0 || chmod (m->upper, 0755) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", m->dir);
  if (image)
    {
      if (!berth_store_hold_image (r->store, image, error))
        return FALSE;
      m->held = TRUE;
      if (!berth_store_mount_image (r->store, image, m->upper, work, m->mnt, error))
        return FALSE;
      m->mounted = TRUE;
    }
  m->root_fd = open (image ? m->mnt : m->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (m->root_fd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", m->mnt);
  return TRUE;
}

/* Unmounts and commits what was written as the step's layer. */
static gboolean
mount_commit (Run *r, Stage *s, Mount *m, const char *key, const char *created_by,
              JsonObject *config, GError **error)
{
  berth_autofd int upper = -1;

  berth_close_fdp (&m->root_fd);
  if (m->mounted)
    {
      if (!berth_overlay_unmount (m->mnt, error))
        return FALSE;
      m->mounted = FALSE;
    }
  upper = open (m->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (upper < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", m->upper);
  return commit_step (r, s, key, created_by, config, upper,
                      m->image ? BERTH_LAYER_DIFF_OVERLAY_UPPER : BERTH_LAYER_DIFF_NONE, error);
}

static char *
created_by (const BerthInstruction *ins, gboolean nop)
{
  return g_strconcat (nop ? "/bin/sh -c #(nop) " : "", ins->original, NULL);
}

/* --- pulls (through the Transfer machinery, in the main thread) --------- */

typedef struct
{
  Build *b;
  char *reference;
  char *path;
  gulong removed_handler;
  gulong cancel_handler;
} Pull;

static void
on_transfer_removed (BerthManager *manager, const char *path, const char *result, Pull *p)
{
  Transfer *t;
  GError *error = NULL;

  if (p->path == NULL || !g_str_equal (path, p->path))
    return;
  t = g_hash_table_lookup (p->b->daemon->transfers, path);
  if (!g_str_equal (result, "done"))
    {
      const char *message = t ? berth_transfer_get_error_message (t->skeleton) : NULL;

      error = g_error_new (BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "cannot pull %s: %s",
                           p->reference, message && *message ? message : result);
    }
  g_signal_handler_disconnect (manager, p->removed_handler);
  g_cancellable_disconnect (p->b->cancellable, p->cancel_handler);
  berth_builder_main_done (p->b, error);
}

static void
on_pull_cancelled (GCancellable *cancellable, Pull *p)
{
  Transfer *t = p->path ? g_hash_table_lookup (p->b->daemon->transfers, p->path) : NULL;

  if (t)
    g_cancellable_cancel (t->cancellable);
}

static gboolean
pull_in_main (gpointer user_data)
{
  Pull *p = user_data;
  Transfer *t = berth_transfer_new (p->b->daemon, "pull", p->reference);

  p->path = g_strdup (t->path);
  p->removed_handler = g_signal_connect (p->b->daemon->manager, "transfer-removed",
                                         G_CALLBACK (on_transfer_removed), p);
  p->cancel_handler
    = g_cancellable_connect (p->b->cancellable, G_CALLBACK (on_pull_cancelled), p, NULL);
  berth_transfer_run (t);
  return G_SOURCE_REMOVE;
}

static gboolean
pull (Run *r, const char *reference, GError **error)
{
  Pull p = { r->b, (char *)reference, NULL, 0, 0 };
  gboolean ok;

  berth_builder_emit_note (r->b, "Pulling %s\n", reference);
  ok = berth_builder_call_main (r->b, pull_in_main, &p, error);
  g_free (p.path);
  return ok;
}

/* An image by reference: the store's, pulled as the pull option says. */
static char *
resolve_image (Run *r, const char *reference, GError **error)
{
  g_autoptr (BerthStoreImage) image = NULL;
  g_autoptr (GError) local_error = NULL;
  const char *policy = r->b->pull;

  if (g_str_equal (policy, "always") && !pull (r, reference, error))
    return NULL;
  image = berth_store_find_image (r->store, reference, &local_error);
  if (image == NULL && g_str_equal (policy, "missing")
      && g_error_matches (local_error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE))
    {
      g_clear_error (&local_error);
      if (!pull (r, reference, error))
        return NULL;
      image = berth_store_find_image (r->store, reference, &local_error);
    }
  if (image == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      if (g_str_equal (policy, "never"))
        g_prefix_error (error, "(--pull=never) ");
      return NULL;
    }
  return g_strdup (image->id);
}

/* A stage named (or numbered) @name built earlier, else NULL. */
static const char *
stage_image (Run *r, const char *name, guint before)
{
  BerthBuildStage *stage = berth_containerfile_find_stage (r->file, name);

  if (stage == NULL || stage->index >= before || stage->index >= r->stage_images->len)
    return NULL;
  return g_ptr_array_index (r->stage_images, stage->index);
}

/* --- instructions ----------------------------------------------------------- */

static gboolean
step_arg (Run *r, Stage *s, const BerthInstruction *ins, GError **error)
{
  for (guint i = 0; ins->args[i]; i++)
    {
      const char *name = ins->args[i];
      const char *given = g_hash_table_lookup (r->b->build_args, name);
      const char *value = NULL;

      if (given)
        {
          value = given;
          g_hash_table_add (r->used_args, g_strdup (name));
        }
      else if (ins->values[i])
        value = ins->values[i];
      else if (s)
        value = g_hash_table_lookup (r->global_args, name);
      g_hash_table_insert (s ? s->args : r->global_args, g_strdup (name), g_strdup (value));
    }
  return TRUE;
}

static gboolean
step_metadata (Run *r, Stage *s, const BerthInstruction *ins, GError **error)
{
  g_autofree char *text = instruction_key (ins);
  g_autofree char *key = cache_key (s, text, s->cmd_set ? "cmd-set" : NULL);
  g_autofree char *cached = cache_lookup (r, key);
  g_autofree char *by = created_by (ins, TRUE);
  g_autoptr (JsonObject) config = NULL;
  JsonNode *cmd;

  if (ins->kind == BERTH_INSTRUCTION_CMD)
    s->cmd_set = TRUE;
  if (ins->kind == BERTH_INSTRUCTION_MAINTAINER)
    {
      g_free (s->author);
      s->author = g_strdup (ins->args[0]);
    }
  if (cached)
    return advance (r, s, cached, TRUE, error);

  /* A copy to change: the stage's stays as it is if the step fails. */
  config = s->image ? berth_commit_get_run_config (r->store, s->image, error) : json_object_new ();
  if (config == NULL)
    return FALSE;
  if (s->drop_onbuild)
    json_object_remove_member (config, "OnBuild");
  cmd = json_object_get_member (config, "Cmd");
  cmd = cmd ? json_node_copy (cmd) : NULL;
  if (ins->kind != BERTH_INSTRUCTION_MAINTAINER && !berth_containerfile_apply (config, ins, error))
    {
      g_clear_pointer (&cmd, json_node_unref);
      return FALSE;
    }
  /* ENTRYPOINT clears an inherited CMD, not one set in this stage. */
  if (ins->kind == BERTH_INSTRUCTION_ENTRYPOINT && s->cmd_set && cmd)
    json_object_set_member (config, "Cmd", g_steal_pointer (&cmd));
  g_clear_pointer (&cmd, json_node_unref);

  if (ins->kind == BERTH_INSTRUCTION_WORKDIR)
    {
      const char *dir = json_object_get_string_member_with_default (config, "WorkingDir", "/");
      g_auto (Mount) m = MOUNT_INIT;
      berth_autofd int fd = -1;

      if (!mount_image (r, s->image, &m, error))
        return FALSE;
      fd = berth_builder_open_in_root (m.root_fd, dir, O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        {
          /* Created where it is missing: a layer with the directory. */
          fd = berth_builder_mkdir_in_root (m.root_fd, dir, error);
          if (fd < 0)
            return g_prefix_error (error, "WORKDIR: "), FALSE;
          return mount_commit (r, s, &m, key, by, config, error);
        }
    }
  return commit_step (r, s, key, by, config, -1, BERTH_LAYER_DIFF_NONE, error);
}

static gboolean
step_run (Run *r, Stage *s, const BerthInstruction *ins, GError **error)
{
  g_autofree char *text = instruction_key (ins);
  g_autofree char *key = cache_key (s, text, NULL);
  g_autofree char *cached = cache_lookup (r, key);
  g_autofree char *by = NULL;
  g_autofree char *upper = NULL;
  g_autofree char *user = NULL;
  g_auto (GStrv) argv = NULL;
  g_auto (GStrv) env = NULL;
  const char *spec;
  berth_autofd int upper_fd = -1;
  gboolean ok;

  if (cached)
    return advance (r, s, cached, TRUE, error);
  if (s->image == NULL)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "RUN needs an image with a shell; this stage starts FROM scratch and has "
                        "nothing to run"),
           FALSE;
  argv = berth_instruction_command (ins, s->config);
  env = run_environment (s);
  spec = json_object_get_string_member_with_default (s->config, "User", "");
  if (*spec && !g_str_equal (spec, "root"))
    {
      g_auto (Mount) m = MOUNT_INIT;
      guint32 uid, gid;

      if (!mount_image (r, s->image, &m, error)
          || !berth_builder_resolve_user (m.root_fd, spec, &uid, &gid, error))
        return g_prefix_error (error, "USER %s: ", spec), FALSE;
      user = g_strdup_printf ("%u:%u", uid, gid);
    }
  by = ins->exec_form ? created_by (ins, FALSE) : g_strconcat ("/bin/sh -c ", ins->args[0], NULL);
  ok = berth_builder_container_run (
    r->b, s->image, argv, env,
    json_object_get_string_member_with_default (s->config, "WorkingDir", "/"), user, &upper, error);
  if (ok)
    {
      upper_fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (upper_fd < 0)
        ok = berth_error_set_errno (error, errno, "cannot open %s", upper);
      else
        {
          /* As Docker's builder does, what a RUN step writes under a
           * VOLUME path declared before it is not kept. */
          JsonNode *node = json_object_get_member (s->config, "Volumes");
          g_autoptr (GPtrArray) volumes = g_ptr_array_new ();

          if (node && JSON_NODE_HOLDS_OBJECT (node))
            {
              g_autoptr (GList) paths = json_object_get_members (json_node_get_object (node));

              for (GList *l = paths; l; l = l->next)
                g_ptr_array_add (volumes, l->data);
            }
          g_ptr_array_add (volumes, NULL);
          ok = commit_step_excluding (r, s, key, by, NULL, upper_fd, BERTH_LAYER_DIFF_OVERLAY_UPPER,
                                      (const char *const *)volumes->pdata, error);
        }
    }
  berth_builder_container_remove (r->b);
  return ok;
}

static gboolean
step_copy (Run *r, Stage *s, const BerthInstruction *ins, guint stage_index, GError **error)
{
  const char *from = berth_instruction_get_flag (ins, "from");
  guint n = g_strv_length (ins->args);
  g_autofree char *dest = g_strdup (ins->args[n - 1]);
  g_auto (GStrv) sources = g_strdupv (ins->args);
  g_auto (Mount) source = MOUNT_INIT;
  g_auto (Mount) m = MOUNT_INIT;
  g_autofree char *digest = NULL;
  g_autofree char *text = instruction_key (ins);
  g_autofree char *key = NULL;
  g_autofree char *cached = NULL;
  g_autofree char *by = created_by (ins, TRUE);
  BerthBuilderCopy copy = {
    .context_fd = -1,
    .root_fd = -1,
    .workdir = json_object_get_string_member_with_default (s->config, "WorkingDir", "/"),
    .add = ins->kind == BERTH_INSTRUCTION_ADD,
    .chown = berth_instruction_get_flag (ins, "chown"),
    .chmod = berth_instruction_get_flag (ins, "chmod"),
    .max_size = r->b->daemon->config->max_layer_size,
    .cancellable = r->b->cancellable,
  };

  g_clear_pointer (&sources[n - 1], g_free);
  if (from)
    {
      g_autofree char *image = NULL;
      const char *built = stage_image (r, from, stage_index);

      if (built)
        image = *built ? g_strdup (built) : NULL;
      else if (berth_containerfile_find_stage (r->file, from))
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "--from=%s names this stage or a later one", from),
               FALSE;
      else if ((image = resolve_image (r, from, error)) == NULL)
        return FALSE;
      if (!mount_image (r, image, &source, error))
        return FALSE;
      copy.context_fd = source.root_fd;
      digest = berth_builder_copy_digest (&copy, sources, error);
    }
  else
    digest = berth_builder_context_digest (r->context, sources, copy.add, error);
  if (digest == NULL)
    return FALSE;
  key = cache_key (s, text, digest);
  cached = cache_lookup (r, key);
  if (cached)
    return advance (r, s, cached, TRUE, error);

  if (from == NULL && (copy.context_fd = berth_builder_context_dir (r->context, error)) < 0)
    return FALSE;
  if (!mount_image (r, s->image, &m, error))
    return FALSE;
  copy.root_fd = m.root_fd;
  if (!berth_builder_copy (&copy, sources, dest, error))
    return FALSE;
  return mount_commit (r, s, &m, key, by, NULL, error);
}

static gboolean
step_labels (Run *r, Stage *s, GError **error)
{
  g_autoptr (GList) names
    = g_list_sort (g_hash_table_get_keys (r->b->labels), (GCompareFunc)strcmp);
  g_autoptr (GString) text = g_string_new ("LABEL");
  g_autoptr (JsonObject) config = NULL;
  g_autofree char *key = NULL;
  g_autofree char *cached = NULL;
  g_autofree char *by = NULL;
  JsonObject *labels;

  if (names == NULL)
    return TRUE;
  for (GList *l = names; l; l = l->next)
    {
      g_autofree char *quoted = g_strescape (g_hash_table_lookup (r->b->labels, l->data), NULL);

      g_string_append_printf (text, " %s=\"%s\"", (char *)l->data, quoted);
    }
  key = cache_key (s, text->str, NULL);
  cached = cache_lookup (r, key);
  if (cached)
    {
      g_free (s->image);
      s->image = g_steal_pointer (&cached);
      return TRUE;
    }
  config = s->image ? berth_commit_get_run_config (r->store, s->image, error) : json_object_new ();
  if (config == NULL)
    return FALSE;
  if (s->drop_onbuild)
    json_object_remove_member (config, "OnBuild");
  if (!json_object_has_member (config, "Labels")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (config, "Labels")))
    json_object_set_object_member (config, "Labels", json_object_new ());
  labels = json_object_get_object_member (config, "Labels");
  for (GList *l = names; l; l = l->next)
    json_object_set_string_member (labels, l->data, g_hash_table_lookup (r->b->labels, l->data));
  by = g_strconcat ("/bin/sh -c #(nop) ", text->str, NULL);
  {
    BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
    g_autoptr (BerthStoreImage) image = NULL;

    o.parent = s->image;
    o.config = config;
    o.author = s->author;
    o.created_by = by;
    image = berth_commit_image (r->store, &o, r->b->cancellable, error);
    if (image == NULL)
      return FALSE;
    cache_store (r, key, image->id, s->image);
    g_free (s->image);
    s->image = g_strdup (image->id);
  }
  return TRUE;
}

/* Prefixes @error with the step that failed. */
static gboolean
step_failed (Run *r, const BerthInstruction *ins, GError **error)
{
  if (error && *error && !g_error_matches (*error, BERTH_ERROR, BERTH_ERROR_CANCELLED)
      && !g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_prefix_error (error, "step %u/%u (%s) failed: ", r->step, r->steps, ins->original);
  return FALSE;
}

/* Expands one instruction in the stage's variables and runs it. */
static gboolean
dispatch (Run *r, Stage *s, const BerthInstruction *raw, guint stage_index, GError **error)
{
  g_autoptr (GHashTable) table = variables (s);
  g_autoptr (BerthInstruction) ins = berth_containerfile_expand (raw, table, error);

  if (ins == NULL)
    return FALSE;
  switch (ins->kind)
    {
    case BERTH_INSTRUCTION_ARG:
      if (!step_arg (r, s, ins, error))
        return FALSE;
      berth_builder_emit_step_done (r->b, r->step, s->image ? s->image : "", FALSE);
      return TRUE;
    case BERTH_INSTRUCTION_RUN:
      return step_run (r, s, ins, error);
    case BERTH_INSTRUCTION_COPY:
    case BERTH_INSTRUCTION_ADD:
      return step_copy (r, s, ins, stage_index, error);
    default:
      return step_metadata (r, s, ins, error);
    }
}

static gboolean
build_stage (Run *r, BerthBuildStage *stage, gboolean last, GError **error)
{
  g_auto (Stage) s = { 0 };
  g_autoptr (BerthInstruction) from = NULL;
  g_autoptr (GHashTable) vars = new_table ();
  g_autoptr (GPtrArray) triggers = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer k, v;

  s.args = new_table ();
  g_hash_table_iter_init (&iter, r->global_args);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (v)
      g_hash_table_insert (vars, g_strdup (k), g_strdup (v));

  r->step++;
  berth_builder_emit_step (r->b, r->step, r->steps, stage->from->original);
  berth_builder_set_progress (r->b, r->step, r->steps, "building");
  from = berth_containerfile_expand (stage->from, vars, error);
  if (from == NULL)
    return step_failed (r, stage->from, error);
  {
    const char *platform = berth_instruction_get_flag (from, "platform");
    const char *host = g_hash_table_lookup (r->global_args, "BUILDPLATFORM");

    /* Images run here are the host's platform: another would not run. */
    if (platform && g_strcmp0 (platform, host) != 0)
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                     "--platform=%s: berth builds for this host's platform (%s) only", platform,
                     host);
        return step_failed (r, stage->from, error);
      }
  }
  if (g_ascii_strcasecmp (from->args[0], "scratch") == 0)
    s.image = NULL;
  else
    {
      const char *built = stage_image (r, from->args[0], stage->index);

      if (built)
        s.image = *built ? g_strdup (built) : NULL;
      else if ((s.image = resolve_image (r, from->args[0], error)) == NULL)
        return step_failed (r, stage->from, error);
    }
  if (!load_config (r, &s, error))
    return step_failed (r, stage->from, error);
  {
    JsonNode *node = json_object_get_member (s.config, "OnBuild");
    JsonArray *array = node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

    /* The base's triggers run first, as if written right after FROM. */
    for (guint i = 0; array && i < json_array_get_length (array); i++)
      {
        const char *text = json_array_get_string_element (array, i);

        if (text)
          g_ptr_array_add (triggers, g_strdup (text));
      }
    s.drop_onbuild = array != NULL && json_array_get_length (array) > 0;
  }
  berth_builder_emit_step_done (r->b, r->step, s.image ? s.image : "", FALSE);

  for (guint i = 0; i < triggers->len; i++)
    {
      g_autoptr (BerthInstruction) raw = NULL;
      const char *text = g_ptr_array_index (triggers, i);

      berth_builder_emit_note (r->b, "---> Running ONBUILD trigger: %s\n", text);
      raw = berth_containerfile_parse_instruction (text, error);
      if (raw == NULL || !dispatch (r, &s, raw, stage->index, error))
        {
          g_prefix_error (error, "ONBUILD trigger %s of %s: ", text, from->args[0]);
          return step_failed (r, stage->from, error);
        }
    }

  for (guint i = 0; i < stage->instructions->len; i++)
    {
      BerthInstruction *raw = g_ptr_array_index (stage->instructions, i);

      if (g_cancellable_set_error_if_cancelled (r->b->cancellable, error))
        return FALSE;
      r->step++;
      berth_builder_emit_step (r->b, r->step, r->steps, raw->original);
      berth_builder_set_progress (r->b, r->step, r->steps, "building");
      if (!dispatch (r, &s, raw, stage->index, error))
        return step_failed (r, raw, error);
    }
  if (last && !step_labels (r, &s, error))
    return FALSE;
  g_ptr_array_add (r->stage_images, g_strdup (s.image ? s.image : ""));
  return TRUE;
}

char *
berth_builder_run (Build *b, GError **error)
{
  g_auto (Run) r = { 0 };
  g_autofree char *text = NULL;
  g_autofree char *name = NULL;
  gsize len = 0;
  g_autoptr (GError) parse_error = NULL;
  g_autofree char *platform = NULL;
  BerthBuildStage *target;
  const char *image;

  r.b = b;
  r.store = b->daemon->store;
  r.cache_dir = g_build_filename (b->daemon->root, "build-cache", NULL);
  r.global_args = new_table ();
  r.used_args = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r.stage_images = g_ptr_array_new_with_free_func (g_free);
  if (g_mkdir_with_parents (r.cache_dir, 0700) < 0 || g_mkdir_with_parents (b->dir, 0700) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", b->dir), NULL;
  if (!read_context (&r, error))
    return NULL;
  text = read_containerfile (&r, &name, &len, error);
  if (text == NULL)
    return NULL;
  r.file = berth_containerfile_parse (text, len, &parse_error);
  if (r.file == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "%s: %s", name,
                   parse_error->message);
      return NULL;
    }
  target = b->target ? berth_containerfile_find_stage (r.file, b->target)
                     : g_ptr_array_index (r.file->stages, r.file->stages->len - 1);
  if (target == NULL)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "%s has no stage \"%s\" (--target)", name, b->target),
           NULL;
  for (guint i = 0; i <= target->index; i++)
    r.steps += 1 + ((BerthBuildStage *)g_ptr_array_index (r.file->stages, i))->instructions->len;
  berth_builder_set_progress (b, 0, r.steps, "building");

  /* The platform arguments every FROM may use. */
  platform = g_strdup_printf ("linux/%s", berth_host_oci_arch ());
  for (const char *const *p = (const char *const[]){ "TARGET", "BUILD", NULL }; *p; p++)
    {
      g_hash_table_insert (r.global_args, g_strconcat (*p, "PLATFORM", NULL), g_strdup (platform));
      g_hash_table_insert (r.global_args, g_strconcat (*p, "OS", NULL), g_strdup ("linux"));
      g_hash_table_insert (r.global_args, g_strconcat (*p, "ARCH", NULL),
                           g_strdup (berth_host_oci_arch ()));
    }
  for (guint i = 0; i < r.file->global_args->len; i++)
    {
      BerthInstruction *raw = g_ptr_array_index (r.file->global_args, i);
      g_autoptr (BerthInstruction) ins = NULL;
      g_autoptr (GHashTable) vars = new_table ();
      GHashTableIter iter;
      gpointer k, v;

      g_hash_table_iter_init (&iter, r.global_args);
      while (g_hash_table_iter_next (&iter, &k, &v))
        if (v)
          g_hash_table_insert (vars, g_strdup (k), g_strdup (v));
      ins = berth_containerfile_expand (raw, vars, error);
      if (ins == NULL || !step_arg (&r, NULL, ins, error))
        return NULL;
    }

  for (guint i = 0; i <= target->index; i++)
    if (!build_stage (&r, g_ptr_array_index (r.file->stages, i), i == target->index, error))
      return NULL;

  image = g_ptr_array_index (r.stage_images, target->index);
  if (*image == '\0')
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "the stage FROM scratch has no instructions: no image to make"),
           NULL;
  for (guint i = 0; b->tags && b->tags[i]; i++)
    if (!berth_store_tag_image (r.store, image, b->tags[i], error))
      return NULL;
  {
    g_autoptr (GString) unused = g_string_new (NULL);
    GHashTableIter iter;
    gpointer k;

    g_hash_table_iter_init (&iter, b->build_args);
    while (g_hash_table_iter_next (&iter, &k, NULL))
      if (!g_hash_table_contains (r.used_args, k))
        g_string_append_printf (unused, "%s%s", unused->len ? " " : "", (char *)k);
    if (unused->len)
      berth_builder_emit_note (b, "[Warning] build arguments no ARG declared: %s\n", unused->str);
  }
  return g_strdup (image);
}
