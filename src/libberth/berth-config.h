/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* berth.conf: a GKeyFile. Every key is optional; data/berth.conf documents
 * the defaults. Unknown groups and keys are refused so typos do not pass
 * silently, except "[registry HOST]" groups, which name registries. */
typedef struct
{
  char *path;                /* the file read, or NULL when none existed */
  char *root;                /* [storage] root */
  char *run_dir;             /* [storage] run-dir */
  char *runtime;             /* [runtime] path: the OCI runtime for new containers */
  char *init;                /* [runtime] init: berth-init, PID 1 of every container */
  guint64 max_layer_size;    /* [storage] max-layer-size, bytes (decompressed) */
  char **unqualified_search; /* [registries] unqualified-search */
  GKeyFile *keyfile;
} BerthConfig;

BerthConfig *berth_config_new_defaults (void);

/* The "[registry HOST[:PORT]]" group for @host: its mirrors (base URLs, in
 * the order to try them; NULL-terminated, never NULL) and whether plain
 * HTTP is allowed. Loopback registries (localhost, 127.0.0.0/8, [::1]) may
 * always use plain HTTP. */
char **berth_config_registry_mirrors (BerthConfig *config, const char *host);
gboolean berth_config_registry_allows_http (BerthConfig *config, const char *host);
/* TRUE when @host (with or without ":port") names the local machine. */
gboolean berth_host_is_loopback (const char *host);
/* Loads @path. A missing file is fine when @must_exist is FALSE (the
 * defaults stand); a file that exists but cannot be read or parsed is an
 * error naming the file and the line. */
BerthConfig *berth_config_load (const char *path, gboolean must_exist, GError **error);
void berth_config_free (BerthConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthConfig, berth_config_free)

G_END_DECLS
