/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <microhttpd.h>

#include "berth-digest.h"
#include "registry-db.h"

G_BEGIN_DECLS

/* Settings from registry.conf and the command line (the command line wins). */
typedef struct
{
  char *root;
  char *listen; /* ADDR:PORT */
  char *tls_cert;
  char *tls_key;
  gboolean delete_enabled;
  gboolean anonymous_pull;
  gboolean private_namespaces; /* pull only where push is allowed */
  gboolean access_log;
  guint threads;
  guint token_lifetime;     /* seconds */
  char **redirect_blobs_to; /* base URLs, tried in order */
  char *proxy_upstream;
  char *proxy_username;
  char *proxy_password;
  guint proxy_ttl;      /* seconds a cached tag is served before asking upstream */
  guint upload_timeout; /* seconds an idle upload session is kept */
  char *service;        /* the "service" of the token flow */
} RegistrySettings;

void registry_settings_init (RegistrySettings *settings);
void registry_settings_clear (RegistrySettings *settings);
/* Reads @path into @settings (a missing file is fine unless @must_exist). */
gboolean registry_settings_load (RegistrySettings *settings, const char *path, gboolean must_exist,
                                 GError **error);

typedef struct _RegistryUpload RegistryUpload;

typedef struct
{
  RegistrySettings *settings;
  RegistryDb *db;
  int root_fd;
  int blobs_fd;   /* root/blobs: sha256/<2 hex>/<hex> */
  int uploads_fd; /* root/uploads: one file per upload session, wiped at start */
  guint8 token_key[32];

  GMutex uploads_lock;
  GHashTable *uploads; /* id -> RegistryUpload */

  GMutex pulls_lock;
  GHashTable *pending_pulls; /* repository -> GUINT_TO_POINTER (count) */

  GMutex credentials_lock;
  GHashTable *verified_credentials; /* sha256 of "user:password" -> expiry (µs) */

  GMutex proxy_lock;
  GCond proxy_cond;
  GHashTable *proxy_inflight; /* digests being fetched from the upstream */

  GMutex redirect_lock;
  GHashTable *redirect_answers; /* mirror URL of a blob -> whether it has it, until when */
  gint64 *redirect_down_until;  /* per mirror: skipped until then */

  struct MHD_Daemon *httpd;
  gboolean socket_activated;
  gboolean log_to_journal; /* standard error is the journal */
} Registry;

/* registry-store.c: the content-addressed blob store and upload staging. */
gboolean registry_store_open (Registry *registry, GError **error);
/* A read-only fd on the blob, or -1 with errno (ENOENT when absent). */
int registry_store_open_blob (Registry *registry, const char *digest);
gboolean registry_store_has_blob (Registry *registry, const char *digest);
/* Moves staged file @staged_name (in the uploads dir, already written and
 * verified to hold @digest) into the store, durably. */
gboolean registry_store_commit (Registry *registry, int staged_fd, const char *staged_name,
                                const char *digest, GError **error);
/* Stores @data under its digest; used for manifests. */
gboolean registry_store_put_bytes (Registry *registry, const void *data, gsize len,
                                   const char *digest, GError **error);
/* Marks a blob as just used: a push may be about to reference it (after a
 * HEAD said it exists, or a mount), so gc's grace period spares it. */
void registry_store_touch_blob (Registry *registry, const char *digest);
/* Creates a staging file; returns its fd and name. */
int registry_store_new_staging (Registry *registry, char **out_name, GError **error);
void registry_store_discard_staging (Registry *registry, const char *name);
/* Removes every staging file (what a crash or kill left). */
void registry_store_clean_staging (Registry *registry);
/* "sha256/ab/abcdef..." for a valid digest. */
char *registry_store_blob_path (const char *digest);

/* registry-auth.c */
typedef enum
{
  REGISTRY_ACCESS_NONE,
  REGISTRY_ACCESS_PULL,
  REGISTRY_ACCESS_PUSH,
  REGISTRY_ACCESS_DELETE,
  REGISTRY_ACCESS_ACCOUNT, /* any signed-in user (stars) */
} RegistryAccess;

gboolean registry_auth_load_key (Registry *registry, GError **error);
/* @scopes: what the token grants, space-separated ("repository:NAME:pull,push
 * registry:catalog:*"). */
char *registry_auth_issue_token (Registry *registry, const char *user, gint64 expires,
                                 const char *scopes);
/* The user a token names, or NULL when it is forged or expired; "" is
 * anonymous. *out_scopes: what it grants. */
char *registry_auth_verify_token (Registry *registry, const char *token, char ***out_scopes);
/* Whether @scopes grant @action on TYPE:NAME (an action list may be "*"). */
gboolean registry_auth_token_covers (char **scopes, const char *type, const char *name,
                                     const char *action);
gboolean registry_auth_check_password (Registry *registry, const char *user, const char *password,
                                       gboolean *out_admin);
/* Whether @user (NULL: anonymous) may do @access on repository @name. */
gboolean registry_auth_allowed (Registry *registry, const char *user, gboolean admin,
                                RegistryAccess access, const char *name);

/* registry-password.c */
char *registry_password_hash (const char *password, GError **error);
gboolean registry_password_verify (const char *password, const char *hash);

/* registry-pulls.c: pull counts kept in memory and written in batches */
void registry_pulls_count (Registry *registry, const char *name);
void registry_pulls_flush (Registry *registry);

/* registry-server.c */
gboolean registry_server_start (Registry *registry, GError **error);
void registry_server_stop (Registry *registry);

/* registry-proxy.c */
void registry_proxy_init (Registry *registry);
void registry_proxy_clear (Registry *registry);

/* registry-redirect.c: the first mirror that has the blob, as the URL to
 * send the client to, or NULL to serve it here. */
void registry_redirect_init (Registry *registry);
void registry_redirect_clear (Registry *registry);
char *registry_redirect_pick (Registry *registry, const char *name, const char *digest,
                              guint64 size);
char *registry_redirect_url (const char *base, const char *name, const char *digest);

/* registry-gc.c */
gboolean registry_gc (Registry *registry, gboolean dry_run, guint grace_seconds, GError **error);

/* registry-users.c */
int registry_users_main (Registry *registry, int argc, char **argv, gboolean admin);

/* registry-uploads.c */
void registry_uploads_init (Registry *registry);
void registry_uploads_clear (Registry *registry);
/* Drops sessions idle for longer than @max_idle_usec; returns how many. */
guint registry_uploads_expire (Registry *registry, gint64 max_idle_usec);

G_END_DECLS
