/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "berth-build-gen.h"
#include "berth-containerfile.h"
#include "container.h"
#include "daemon.h"

G_BEGIN_DECLS

/* One image build (Manager.BuildImage): the org.berth.berth1.Build object
 * and the worker thread that runs the steps. The worker owns everything
 * below except what it asks the main thread to do for it: containers
 * (RUN), pulls (FROM) and the D-Bus object. */
typedef struct
{
  BerthDaemon *daemon;
  guint id;
  char *path;
  char *dir; /* <root>/builds/<id>: context/, mounts, RUN containers */
  BerthBuild *skeleton;
  GCancellable *cancellable;
  int context_fd;

  /* Options. */
  char *containerfile; /* NULL: Containerfile, else Dockerfile */
  char **tags;
  GHashTable *build_args; /* name → value */
  GHashTable *labels;     /* name → value */
  gboolean no_cache;
  char *pull; /* "missing", "always" or "never" */
  char *target;

  /* The RUN step's container while it runs (main thread). */
  BerthContainerRec *rec;
  GMutex lock;
  GCond cond;
  gboolean main_done; /* what the worker waits for in build_call_main */
  GError *main_error;
  int exit_code;

  /* Results. */
  char *image_id;
  GPtrArray *infos; /* image infos collected at the end */
} Build;

/* build-dbus.c */
void berth_manager_builds_connect (BerthDaemon *daemon, BerthManager *manager);
/* Cancels every build and waits for them to end (at exit). */
void berth_daemon_builds_shutdown (BerthDaemon *daemon);
/* Worker side: the Step, Steps and State properties (set in the main
 * thread). */
void berth_builder_set_progress (Build *b, guint step, guint steps, const char *state);
/* Worker side: signals, emitted from any thread. */
void berth_builder_emit_step (Build *b, guint step, guint steps, const char *text);
void berth_builder_emit_output (Build *b, const void *data, gsize len);
void berth_builder_emit_note (Build *b, const char *format, ...) G_GNUC_PRINTF (2, 3);
void berth_builder_emit_step_done (Build *b, guint step, const char *image_id, gboolean cached);

/* build-container.c: the worker hands @func to the main thread and waits
 * until it (or a callback it started) calls berth_builder_main_done. */
gboolean berth_builder_call_main (Build *b, GSourceFunc func, gpointer data, GError **error);
void berth_builder_main_done (Build *b, GError *error);

/* build-run.c: the worker thread; returns the image ID. */
char *berth_builder_run (Build *b, GError **error);

/* <root>/build-parents/<hex of @image_id>: the ID of the image a build
 * step made @image_id from. ListImages leaves out unnamed images that are
 * the parent of another image (intermediate images), as Docker does. */
char *berth_build_parent_path (const char *root, const char *image_id);

/* build-container.c: a RUN step as a container (worker thread; waits for
 * the main thread). On success *out_upper_dir is the container's upper
 * directory, left in place until berth_builder_container_remove. */
gboolean berth_builder_container_run (Build *b, const char *image_id, char **command, char **env,
                                      const char *workdir, const char *user, char **out_upper_dir,
                                      GError **error);
void berth_builder_container_remove (Build *b);

/* build-context.c: the context as it came (a tar) and its index. */
typedef struct _BerthBuilderContext BerthBuilderContext;
/* Reads the tar stream @in_fd to its end, keeping it in @dir and the
 * files named in @wanted in memory. */
BerthBuilderContext *berth_builder_context_read (int in_fd, const char *dir,
                                                 const char *const *wanted, guint64 max_size,
                                                 GCancellable *cancellable, GError **error);
void berth_builder_context_free (BerthBuilderContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthBuilderContext, berth_builder_context_free)
/* A file named in @wanted, or NULL when the context has none. */
GBytes *berth_builder_context_get_file (BerthBuilderContext *ctx, const char *path);
/* The cache digest of what COPY (@add: ADD) @sources name, from the index. */
char *berth_builder_context_digest (BerthBuilderContext *ctx, char **sources, gboolean add,
                                    GError **error);
/* The context unpacked (the first call unpacks it); owned by @ctx. */
int berth_builder_context_dir (BerthBuilderContext *ctx, GError **error);
/* "./a//b/" → "a/b"; NULL for paths that climb out. */
char *berth_builder_clean_path (const char *path);

/* build-copy.c: COPY and ADD into a mounted root. */
typedef struct
{
  int context_fd; /* where the sources are (the context, or another stage's root) */
  int root_fd;    /* the mounted root written into */
  const char *workdir;
  gboolean add;      /* ADD: local archives are extracted, URLs fetched */
  const char *chown; /* user[:group], or NULL */
  const char *chmod; /* octal, or NULL */
  guint64 max_size;  /* for URLs */
  GCancellable *cancellable;
} BerthBuilderCopy;
/* The digest of what @sources name in the context, for the layer cache. */
char *berth_builder_copy_digest (const BerthBuilderCopy *copy, char **sources, GError **error);
gboolean berth_builder_copy (const BerthBuilderCopy *copy, char **sources, const char *dest,
                             GError **error);
/* Paths of a root resolved inside it (RESOLVE_IN_ROOT: its symbolic
 * links point within it); the second creates missing directories
 * (root-owned, 0755) and returns the last one open. */
int berth_builder_open_in_root (int root_fd, const char *path, int flags);
int berth_builder_mkdir_in_root (int root_fd, const char *path, GError **error);
/* USER[:GROUP] (numbers, or names from the root's /etc/passwd and
 * /etc/group) as numbers. */
gboolean berth_builder_resolve_user (int root_fd, const char *spec, guint32 *out_uid,
                                     guint32 *out_gid, GError **error);

G_END_DECLS
