/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-layer-diff.h"
#include "berth-store.h"

G_BEGIN_DECLS

/* New images made from an existing one: what Container.Commit does, and
 * what every step of a Containerfile build ends with.
 *
 * One call writes, into the store, an image whose layers are the parent's
 * plus (optionally) one new layer made from a directory tree, and whose
 * config is the parent's with a new run configuration, a new "created"
 * time and one more history entry:
 *
 *   - a RUN or COPY step, or a container commit: upper_dirfd is the
 *     overlay upper directory of the container the step ran in (freeze or
 *     stop the container first); the new layer is an uncompressed OCI tar
 *     (whiteouts and opaque directories converted) made in one pass with
 *     the layer directory (berth_store_commit_tree);
 *   - an ENV, CMD, LABEL, ... step: upper_dirfd = -1; no layer is added
 *     and the history entry says "empty_layer": true.
 *
 * Typical use by a builder (in a worker thread; the store is thread-safe):
 *
 *   g_autoptr (JsonObject) run = berth_commit_get_run_config (store, base, &error);
 *   ... change run (e.g. set "Env") ...
 *   BerthCommitOptions o = BERTH_COMMIT_OPTIONS_INIT;
 *   o.parent = base;                 // image ID of the previous step
 *   o.config = run;
 *   o.created_by = "/bin/sh -c #(nop) ENV A=1";
 *   g_autoptr (BerthStoreImage) image = berth_commit_image (store, &o, NULL, &error);
 *   // image->id is the next step's base; image->diff_ids has the layers.
 *
 * Two calls with the same inputs in the same second give the same image
 * ID (configs record whole seconds), which the store keeps once. */

typedef struct
{
  /* The image the new one is built on: an ID (also short), "sha256:<id>"
   * or a reference. NULL: an image from scratch (no layers; the host's
   * platform). */
  const char *parent;
  /* The "config" member of the new image config (Cmd, Entrypoint, Env,
   * WorkingDir, User, Labels, ExposedPorts, Volumes, StopSignal, ...),
   * taken as it is. NULL: the parent's, unchanged. */
  JsonObject *config;
  /* The image's "author" (and the history entry's). NULL: the parent's
   * author stays, the history entry has none. */
  const char *author;
  /* History entry: the command the step ran, and a message. Either may
   * be NULL. */
  const char *created_by;
  const char *comment;
  /* Unix seconds for the config's "created" and the history entry; 0: now. */
  gint64 created;
  /* >= 0: the new layer's tree (not closed). -1: no new layer. */
  int upper_dirfd;
  /* How to read the tree (BERTH_LAYER_DIFF_OVERLAY_UPPER, the default,
   * for an overlay upper directory; NONE for a plain tree). */
  BerthLayerDiffFlags layer_flags;
  /* Paths in the tree left out with everything below them (a container's
   * volume mount points); NULL: none. */
  const char *const *excludes;
  /* References the new image gets (a name moves from the image that had
   * it); NULL: none (a dangling image, as build steps are). */
  const char *const *names;
} BerthCommitOptions;

#define BERTH_COMMIT_OPTIONS_INIT                                                                  \
  {                                                                                                \
    .upper_dirfd = -1, .layer_flags = BERTH_LAYER_DIFF_OVERLAY_UPPER                               \
  }

/* Writes the new image (layer blob and directory, config, manifest,
 * record). On failure nothing new is referenced (a layer already written
 * is collected by the store's gc). Errors: NoSuchImage (parent),
 * InvalidArgument (names, excludes), and those of the file system. */
BerthStoreImage *berth_commit_image (BerthStore *store, const BerthCommitOptions *options,
                                     GCancellable *cancellable, GError **error);

/* A copy of the "config" member of @image's config (an empty object when
 * it has none), for the caller to change and pass as options->config. */
JsonObject *berth_commit_get_run_config (BerthStore *store, const char *image, GError **error);

/* The whole image config document of @image, parsed (for inspection:
 * history, rootfs, platform). */
JsonObject *berth_commit_get_image_config (BerthStore *store, const char *image, GError **error);

G_END_DECLS
