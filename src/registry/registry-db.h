/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The registry's metadata in SQLite (WAL): repositories with their
 * descriptions and pull counts, blob links, manifests, tags, stars, users and
 * settings. One connection shared by the server threads behind a mutex. */

typedef struct _RegistryDb RegistryDb;

RegistryDb *registry_db_open (const char *path, GError **error);
void registry_db_close (RegistryDb *db);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RegistryDb, registry_db_close)

/* Blobs a repository may serve (uploaded to it, mounted, or cached). */
gboolean registry_db_blob_link (RegistryDb *db, const char *repo, const char *digest,
                                GError **error);
gboolean registry_db_blob_linked (RegistryDb *db, const char *repo, const char *digest);
gboolean registry_db_blob_unlink (RegistryDb *db, const char *repo, const char *digest);

gboolean registry_db_repo_exists (RegistryDb *db, const char *repo);

typedef struct
{
  const char *repo;
  const char *digest;
  const char *media_type;
  gint64 size;
  const char *subject;       /* or NULL */
  const char *artifact_type; /* or NULL */
  const char *annotations;   /* JSON object text, or NULL */
  const char *const *refs;   /* digests of config, layers or child manifests */
  /* Blobs that must still be linked to the repository when the manifest is
   * stored (checked in the same transaction, so a concurrent gc either ran
   * before and the push fails cleanly, or runs after and sees them used);
   * NULL-terminated, may be NULL. */
  const char *const *required;
  const char *tag;         /* or NULL */
  const char *description; /* or NULL: leave as it is */
} RegistryManifestRow;

gboolean registry_db_put_manifest (RegistryDb *db, const RegistryManifestRow *row, GError **error);

/* Resolves a tag or digest. Returns FALSE when unknown; *out_repo_exists tells
 * NAME_UNKNOWN from MANIFEST_UNKNOWN. *out_tag_age is the seconds since the
 * tag was last set (or -1 for a digest). */
gboolean registry_db_get_manifest (RegistryDb *db, const char *repo, const char *reference,
                                   char **out_digest, char **out_media_type, gint64 *out_size,
                                   gint64 *out_tag_age, gboolean *out_repo_exists);
/* Whether the manifest is stored in @repo. */
gboolean registry_db_manifest_exists (RegistryDb *db, const char *repo, const char *digest);

/* Points @tag at the stored manifest @digest. */
gboolean registry_db_set_tag (RegistryDb *db, const char *repo, const char *tag, const char *digest,
                              GError **error);
gboolean registry_db_delete_manifest (RegistryDb *db, const char *repo, const char *digest);
gboolean registry_db_delete_tag (RegistryDb *db, const char *repo, const char *tag);

/* Up to @limit names after @last (NULL: from the start), in byte order;
 * *out_more tells whether others follow. */
GPtrArray *registry_db_list_tags (RegistryDb *db, const char *repo, const char *last, guint limit,
                                  gboolean *out_more);
GPtrArray *registry_db_list_repos (RegistryDb *db, const char *last, guint limit,
                                   gboolean *out_more);

typedef struct
{
  char *digest;
  char *media_type;
  gint64 size;
  char *artifact_type;
  char *annotations;
} RegistryReferrer;

void registry_referrer_free (RegistryReferrer *referrer);
GPtrArray *registry_db_referrers (RegistryDb *db, const char *repo, const char *subject,
                                  const char *artifact_type);

void registry_db_add_pulls (RegistryDb *db, GHashTable *counts);

typedef enum
{
  REGISTRY_SEARCH_RELEVANCE,
  REGISTRY_SEARCH_POPULAR,
  REGISTRY_SEARCH_STARS,
} RegistrySearchOrder;

typedef struct
{
  char *name;
  char *description;
  gint64 stars;
  gint64 pulls;
} RegistrySearchResult;

void registry_search_result_free (RegistrySearchResult *result);
GPtrArray *registry_db_search (RegistryDb *db, const char *query, RegistrySearchOrder order,
                               guint offset, guint limit, guint *out_total, GError **error);

gboolean registry_db_set_description (RegistryDb *db, const char *repo, const char *description);
gboolean registry_db_set_star (RegistryDb *db, const char *repo, const char *user, gboolean on);

gboolean registry_db_user_get (RegistryDb *db, const char *name, char **out_hash,
                               gboolean *out_admin);
/* @create: fail if the user exists; otherwise fail if it does not. */
gboolean registry_db_user_put (RegistryDb *db, const char *name, const char *hash, gboolean admin,
                               gboolean create, GError **error);
gboolean registry_db_user_delete (RegistryDb *db, const char *name);

/* Lets @user push to @prefix and the repositories under it ("PREFIX/..."). */
gboolean registry_db_grant (RegistryDb *db, const char *user, const char *prefix, gboolean on);
gboolean registry_db_granted (RegistryDb *db, const char *user, const char *repo);

char *registry_db_setting_get (RegistryDb *db, const char *key);
gboolean registry_db_setting_set (RegistryDb *db, const char *key, const char *value,
                                  GError **error);

/* For gc: every digest a manifest is, or references. */
GHashTable *registry_db_referenced_digests (RegistryDb *db);
/* Drops links to blobs no manifest references (they are about to go). */
void registry_db_unlink_blobs (RegistryDb *db, GHashTable *digests);
/* gc holds the database's write lock from its mark to the end of its
 * sweep: manifest pushes wait meanwhile. */
gboolean registry_db_begin_write (RegistryDb *db, GError **error);
gboolean registry_db_commit (RegistryDb *db, GError **error);

G_END_DECLS
