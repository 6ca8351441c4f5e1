/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The OCI image configuration (the same document as Docker's image JSON):
 * platform, run defaults, the diff_ids of the layers and the history. */

typedef struct
{
  gint64 created; /* Unix seconds, 0 when unknown */
  char *created_by;
  char *author;
  char *comment;
  gboolean empty_layer;
} BerthHistoryEntry;

typedef struct
{
  char *architecture;
  char *os;
  char *variant;
  gint64 created; /* Unix seconds, 0 when absent */
  char *author;
  char **diff_ids;    /* rootfs.diff_ids, in order (bottom first) */
  GPtrArray *history; /* of BerthHistoryEntry */
  GHashTable *labels; /* config.Labels; never NULL */
  char *json;         /* the document as parsed */
} BerthImageConfig;

/* Refuses documents over BERTH_MANIFEST_MAX_SIZE, a rootfs that is not of
 * type "layers", invalid diff_ids and history that claims more non-empty
 * layers than rootfs has. */
BerthImageConfig *berth_image_config_parse (const char *data, gsize len, GError **error);
void berth_image_config_free (BerthImageConfig *config);
/* The label @key of an image config blob's config.Labels, or NULL when the
 * blob has no such label (or is not a JSON object). Cheaper than a full
 * parse, and lenient: a registry reads it from configs it does not run. */
char *berth_image_config_get_label (const char *data, gsize len, const char *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthImageConfig, berth_image_config_free)

/* A minimal config for an imported root file system (docker import):
 * the host's platform, one layer, one history entry. */
char *berth_image_config_new_for_rootfs (const char *diff_id, gint64 created,
                                         const char *created_by, gsize *out_len);

/* OCI chain IDs: ChainID(L0) = DiffID(L0), ChainID(Ln) =
 * sha256(ChainID(Ln-1) + " " + DiffID(Ln)). @parent may be NULL. */
char *berth_chain_id (const char *parent, const char *diff_id);
/* All chain IDs of @diff_ids, bottom first. */
char **berth_chain_ids (const char *const *diff_ids);

/* Parses an RFC 3339 time ("2024-01-02T03:04:05.123Z") to Unix seconds;
 * 0 for NULL or garbage. */
gint64 berth_parse_rfc3339 (const char *text);

G_END_DECLS
