/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "registry-db.h"
#include "berth-error.h"

#include <sqlite3.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

struct _RegistryDb
{
  sqlite3 *sql;
  GMutex lock;
  /* The hot path of every pull, prepared once. */
  sqlite3_stmt *by_tag;
  sqlite3_stmt *by_digest;
};

static const char schema[]
  = "CREATE TABLE IF NOT EXISTS repositories ("
    "  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '', pull_count INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blob_links ("
    "  repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS blob_links_digest ON blob_links (digest);"
    "CREATE TABLE IF NOT EXISTS manifests ("
    "  repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,"
    "  subject TEXT, artifact_type TEXT, annotations TEXT, created INTEGER NOT NULL,"
    "  PRIMARY KEY (repo_id, digest));"
    "CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo_id, subject)"
    "  WHERE subject IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS manifest_refs ("
    "  repo_id INTEGER NOT NULL, manifest TEXT NOT NULL, digest TEXT NOT NULL,"
    "  PRIMARY KEY (repo_id, manifest, digest),"
    "  FOREIGN KEY (repo_id, manifest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE);"
    "CREATE TABLE IF NOT EXISTS tags ("
    "  repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL, digest TEXT NOT NULL, updated INTEGER NOT NULL,"
    "  PRIMARY KEY (repo_id, name),"
    "  FOREIGN KEY (repo_id, digest) REFERENCES manifests (repo_id, digest) ON DELETE CASCADE);"
    "CREATE TABLE IF NOT EXISTS stars ("
    "  repo_id INTEGER NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,"
    "  user TEXT NOT NULL, PRIMARY KEY (repo_id, user));"
    "CREATE TABLE IF NOT EXISTS users ("
    "  name TEXT PRIMARY KEY, hash TEXT NOT NULL, admin INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS grants ("
    "  user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
    "  prefix TEXT NOT NULL, PRIMARY KEY (user, prefix));"
    "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS repo_search USING fts5 ("
    "  name, description, content='repositories', content_rowid='id');"
    "CREATE TRIGGER IF NOT EXISTS repo_search_ai AFTER INSERT ON repositories BEGIN"
    "  INSERT INTO repo_search (rowid, name, description)"
    "  VALUES (new.id, new.name, new.description); END;"
    "CREATE TRIGGER IF NOT EXISTS repo_search_ad AFTER DELETE ON repositories BEGIN"
    "  INSERT INTO repo_search (repo_search, rowid, name, description)"
    "  VALUES ('delete', old.id, old.name, old.description); END;"
    "CREATE TRIGGER IF NOT EXISTS repo_search_au AFTER UPDATE OF name, description"
    "  ON repositories BEGIN"
    "  INSERT INTO repo_search (repo_search, rowid, name, description)"
    "  VALUES ('delete', old.id, old.name, old.description);"
    "  INSERT INTO repo_search (rowid, name, description)"
    "  VALUES (new.id, new.name, new.description); END;";

static gboolean
sql_error (RegistryDb *db, GError **error, const char *what)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "metadata database: cannot %s: %s", what,
               sqlite3_errmsg (db->sql));
  return FALSE;
}

static sqlite3_stmt *
prepare (RegistryDb *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db->sql, sql, -1, &stmt, NULL) != SQLITE_OK)
    g_error ("registry database: bad statement \"%s\": %s", sql, sqlite3_errmsg (db->sql));
  return stmt;
}

static void
bind_text (sqlite3_stmt *stmt, int index, const char *text)
{
  if (text)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static gboolean
exec (RegistryDb *db, const char *sql, GError **error)
{
  char *message = NULL;

  if (sqlite3_exec (db->sql, sql, NULL, NULL, &message) != SQLITE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "metadata database: %s", message);
      sqlite3_free (message);
      return FALSE;
    }
  return TRUE;
}

RegistryDb *
registry_db_open (const char *path, GError **error)
{
  g_autoptr (RegistryDb) db = g_new0 (RegistryDb, 1);

  g_mutex_init (&db->lock);
  if (sqlite3_open_v2 (path, &db->sql,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)
      != SQLITE_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot open the database %s: %s", path,
                   db->sql ? sqlite3_errmsg (db->sql) : "out of memory");
      return NULL;
    }
  /* The command-line tools may write while the server runs. */
  sqlite3_busy_timeout (db->sql, 10000);
  if (!exec (db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
             error)
      || !exec (db, schema, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  db->by_tag
    = prepare (db, "SELECT t.digest, m.media_type, m.size, strftime('%s','now') - t.updated"
                   " FROM repositories r JOIN tags t ON t.repo_id = r.id"
                   " JOIN manifests m ON m.repo_id = r.id AND m.digest = t.digest"
                   " WHERE r.name = ?1 AND t.name = ?2");
  db->by_digest = prepare (db, "SELECT m.digest, m.media_type, m.size FROM repositories r"
                               " JOIN manifests m ON m.repo_id = r.id"
                               " WHERE r.name = ?1 AND m.digest = ?2");
  return g_steal_pointer (&db);
}

void
registry_db_close (RegistryDb *db)
{
  if (db == NULL)
    return;
  sqlite3_finalize (db->by_tag);
  sqlite3_finalize (db->by_digest);
  if (db->sql)
    sqlite3_close (db->sql);
  g_mutex_clear (&db->lock);
  g_free (db);
}

#define LOCKED(db) g_autoptr (GMutexLocker) G_GNUC_UNUSED _locker = g_mutex_locker_new (&(db)->lock)

gboolean
registry_db_blob_link (RegistryDb *db, const char *repo, const char *digest, GError **error)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "INSERT OR IGNORE INTO blob_links (repo, digest) VALUES (?1, ?2)");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, digest);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return sql_error (db, error, "record the blob");
  return TRUE;
}

gboolean
registry_db_blob_linked (RegistryDb *db, const char *repo, const char *digest)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT 1 FROM blob_links WHERE repo = ?1 AND digest = ?2");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, digest);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
registry_db_blob_unlink (RegistryDb *db, const char *repo, const char *digest)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "DELETE FROM blob_links WHERE repo = ?1 AND digest = ?2");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, digest);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

static gboolean
repo_exists_locked (RegistryDb *db, const char *repo)
{
  g_autoptr (sqlite3_stmt) stmt = prepare (db, "SELECT 1 FROM repositories WHERE name = ?1");

  bind_text (stmt, 1, repo);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

gboolean
registry_db_repo_exists (RegistryDb *db, const char *repo)
{
  LOCKED (db);
  return repo_exists_locked (db, repo);
}

static gboolean
step_done (RegistryDb *db, sqlite3_stmt *stmt, GError **error, const char *what)
{
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return sql_error (db, error, what);
  return TRUE;
}

static gboolean
put_manifest_locked (RegistryDb *db, const RegistryManifestRow *row, GError **error)
{
  g_autoptr (sqlite3_stmt) repo = NULL;
  g_autoptr (sqlite3_stmt) id = NULL;
  g_autoptr (sqlite3_stmt) manifest = NULL;
  g_autoptr (sqlite3_stmt) ref = NULL;
  gint64 repo_id;

  for (guint i = 0; row->required && row->required[i]; i++)
    {
      g_autoptr (sqlite3_stmt) linked
        = prepare (db, "SELECT 1 FROM blob_links WHERE repo = ?1 AND digest = ?2");

      bind_text (linked, 1, row->repo);
      bind_text (linked, 2, row->required[i]);
      if (sqlite3_step (linked) != SQLITE_ROW)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE,
                       "blob %s of the manifest was collected by gc meanwhile: push it again",
                       row->required[i]);
          return FALSE;
        }
    }
  repo = prepare (db, "INSERT OR IGNORE INTO repositories (name, created)"
                      " VALUES (?1, strftime('%s','now'))");
  bind_text (repo, 1, row->repo);
  if (!step_done (db, repo, error, "create the repository"))
    return FALSE;
  id = prepare (db, "SELECT id FROM repositories WHERE name = ?1");
  bind_text (id, 1, row->repo);
  if (sqlite3_step (id) != SQLITE_ROW)
    return sql_error (db, error, "find the repository");
  repo_id = sqlite3_column_int64 (id, 0);

  manifest = prepare (db, "INSERT INTO manifests (repo_id, digest, media_type, size,"
                          " subject, artifact_type, annotations, created)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, strftime('%s','now'))"
                          " ON CONFLICT (repo_id, digest) DO NOTHING");
  sqlite3_bind_int64 (manifest, 1, repo_id);
  bind_text (manifest, 2, row->digest);
  bind_text (manifest, 3, row->media_type);
  sqlite3_bind_int64 (manifest, 4, row->size);
  bind_text (manifest, 5, row->subject);
  bind_text (manifest, 6, row->artifact_type);
  bind_text (manifest, 7, row->annotations);
  if (!step_done (db, manifest, error, "store the manifest"))
    return FALSE;

  ref = prepare (db, "INSERT OR IGNORE INTO manifest_refs (repo_id, manifest, digest)"
                     " VALUES (?1, ?2, ?3)");
  for (guint i = 0; row->refs && row->refs[i]; i++)
    {
      sqlite3_reset (ref);
      sqlite3_bind_int64 (ref, 1, repo_id);
      bind_text (ref, 2, row->digest);
      bind_text (ref, 3, row->refs[i]);
      if (!step_done (db, ref, error, "record what the manifest references"))
        return FALSE;
    }

  if (row->tag)
    {
      g_autoptr (sqlite3_stmt) tag
        = prepare (db, "INSERT INTO tags (repo_id, name, digest, updated)"
                       " VALUES (?1, ?2, ?3, strftime('%s','now'))"
                       " ON CONFLICT (repo_id, name) DO UPDATE"
                       " SET digest = excluded.digest, updated = excluded.updated");
      sqlite3_bind_int64 (tag, 1, repo_id);
      bind_text (tag, 2, row->tag);
      bind_text (tag, 3, row->digest);
      if (!step_done (db, tag, error, "tag the manifest"))
        return FALSE;
    }
  if (row->description)
    {
      g_autoptr (sqlite3_stmt) desc
        = prepare (db, "UPDATE repositories SET description = ?2 WHERE id = ?1");
      sqlite3_bind_int64 (desc, 1, repo_id);
      bind_text (desc, 2, row->description);
      if (!step_done (db, desc, error, "set the description"))
        return FALSE;
    }
  return TRUE;
}

gboolean
registry_db_put_manifest (RegistryDb *db, const RegistryManifestRow *row, GError **error)
{
  LOCKED (db);

  if (!exec (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!put_manifest_locked (db, row, error))
    {
      exec (db, "ROLLBACK", NULL);
      return FALSE;
    }
  return exec (db, "COMMIT", error);
}

gboolean
registry_db_get_manifest (RegistryDb *db, const char *repo, const char *reference,
                          char **out_digest, char **out_media_type, gint64 *out_size,
                          gint64 *out_tag_age, gboolean *out_repo_exists)
{
  LOCKED (db);
  gboolean is_digest = strchr (reference, ':') != NULL;
  sqlite3_stmt *stmt = is_digest ? db->by_digest : db->by_tag;
  gboolean found = FALSE;

  sqlite3_reset (stmt);
  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, reference);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      found = TRUE;
      if (out_digest)
        *out_digest = g_strdup ((const char *)sqlite3_column_text (stmt, 0));
      if (out_media_type)
        *out_media_type = g_strdup ((const char *)sqlite3_column_text (stmt, 1));
      if (out_size)
        *out_size = sqlite3_column_int64 (stmt, 2);
      if (out_tag_age)
        *out_tag_age = is_digest ? -1 : sqlite3_column_int64 (stmt, 3);
    }
  sqlite3_reset (stmt);
  if (out_repo_exists)
    *out_repo_exists = found || repo_exists_locked (db, repo);
  return found;
}

gboolean
registry_db_manifest_exists (RegistryDb *db, const char *repo, const char *digest)
{
  return registry_db_get_manifest (db, repo, digest, NULL, NULL, NULL, NULL, NULL);
}

gboolean
registry_db_set_tag (RegistryDb *db, const char *repo, const char *tag, const char *digest,
                     GError **error)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "INSERT INTO tags (repo_id, name, digest, updated)"
                   " SELECT id, ?2, ?3, strftime('%s','now') FROM repositories WHERE name = ?1"
                   " ON CONFLICT (repo_id, name) DO UPDATE"
                   " SET digest = excluded.digest, updated = excluded.updated");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, tag);
  bind_text (stmt, 3, digest);
  return step_done (db, stmt, error, "tag the manifest");
}

gboolean
registry_db_delete_manifest (RegistryDb *db, const char *repo, const char *digest)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "DELETE FROM manifests WHERE digest = ?2"
                   " AND repo_id = (SELECT id FROM repositories WHERE name = ?1)");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, digest);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

gboolean
registry_db_delete_tag (RegistryDb *db, const char *repo, const char *tag)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "DELETE FROM tags WHERE name = ?2"
                   " AND repo_id = (SELECT id FROM repositories WHERE name = ?1)");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, tag);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

static GPtrArray *
list_names (sqlite3_stmt *stmt, guint limit, gboolean *out_more)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  *out_more = FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      if (names->len == limit)
        {
          *out_more = TRUE;
          break;
        }
      g_ptr_array_add (names, g_strdup ((const char *)sqlite3_column_text (stmt, 0)));
    }
  return names;
}

GPtrArray *
registry_db_list_tags (RegistryDb *db, const char *repo, const char *last, guint limit,
                       gboolean *out_more)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT t.name FROM tags t JOIN repositories r ON r.id = t.repo_id"
                   " WHERE r.name = ?1 AND t.name > ?2 ORDER BY t.name LIMIT ?3");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, last ? last : "");
  sqlite3_bind_int64 (stmt, 3, (gint64)limit + 1);
  return list_names (stmt, limit, out_more);
}

GPtrArray *
registry_db_list_repos (RegistryDb *db, const char *last, guint limit, gboolean *out_more)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT name FROM repositories WHERE name > ?1 ORDER BY name LIMIT ?2");

  bind_text (stmt, 1, last ? last : "");
  sqlite3_bind_int64 (stmt, 2, (gint64)limit + 1);
  return list_names (stmt, limit, out_more);
}

void
registry_referrer_free (RegistryReferrer *referrer)
{
  g_free (referrer->digest);
  g_free (referrer->media_type);
  g_free (referrer->artifact_type);
  g_free (referrer->annotations);
  g_free (referrer);
}

static char *
column_dup (sqlite3_stmt *stmt, int column)
{
  return g_strdup ((const char *)sqlite3_column_text (stmt, column));
}

GPtrArray *
registry_db_referrers (RegistryDb *db, const char *repo, const char *subject,
                       const char *artifact_type)
{
  LOCKED (db);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)registry_referrer_free);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations"
                   " FROM manifests m JOIN repositories r ON r.id = m.repo_id"
                   " WHERE r.name = ?1 AND m.subject = ?2"
                   " AND (?3 IS NULL OR m.artifact_type = ?3) ORDER BY m.created, m.digest");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, subject);
  bind_text (stmt, 3, artifact_type);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      RegistryReferrer *r = g_new0 (RegistryReferrer, 1);

      r->digest = column_dup (stmt, 0);
      r->media_type = column_dup (stmt, 1);
      r->size = sqlite3_column_int64 (stmt, 2);
      r->artifact_type = column_dup (stmt, 3);
      r->annotations = column_dup (stmt, 4);
      g_ptr_array_add (out, r);
    }
  return out;
}

void
registry_db_add_pulls (RegistryDb *db, GHashTable *counts)
{
  LOCKED (db);
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "UPDATE repositories SET pull_count = pull_count + ?2 WHERE name = ?1");

  if (!exec (db, "BEGIN IMMEDIATE", NULL))
    return;
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      sqlite3_reset (stmt);
      bind_text (stmt, 1, key);
      sqlite3_bind_int64 (stmt, 2, GPOINTER_TO_UINT (value));
      sqlite3_step (stmt);
    }
  exec (db, "COMMIT", NULL);
}

void
registry_search_result_free (RegistrySearchResult *result)
{
  g_free (result->name);
  g_free (result->description);
  g_free (result);
}

/* Each word of what the user typed becomes a quoted prefix term, so that
 * FTS5 syntax characters in a query are never interpreted. */
static char *
fts_query (const char *text)
{
  GString *out = g_string_new (NULL);
  GString *word = g_string_new (NULL);

  for (const char *p = text;; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c != 0 && g_unichar_isalnum (c))
        {
          g_string_append_unichar (word, c);
          continue;
        }
      if (word->len > 0)
        {
          g_string_append_printf (out, "%s\"%s\"*", out->len ? " " : "", word->str);
          g_string_truncate (word, 0);
        }
      if (c == 0)
        break;
    }
  g_string_free (word, TRUE);
  return g_string_free (out, FALSE);
}

GPtrArray *
registry_db_search (RegistryDb *db, const char *query, RegistrySearchOrder order, guint offset,
                    guint limit, guint *out_total, GError **error)
{
  LOCKED (db);
  g_autofree char *match = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *count_sql = NULL;
  g_autoptr (sqlite3_stmt) count = NULL;
  g_autoptr (sqlite3_stmt) stmt = NULL;
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify)registry_search_result_free);
  const char *order_by;
  const char *stars = "(SELECT COUNT(*) FROM stars s WHERE s.repo_id = r.id)";
  gboolean all = query == NULL || *query == '\0';

  *out_total = 0;
  if (!all)
    {
      match = fts_query (query);
      if (*match == '\0')
        return results;
    }
  switch (order)
    {
    case REGISTRY_SEARCH_POPULAR:
      order_by = "r.pull_count DESC, r.name";
      break;
    case REGISTRY_SEARCH_STARS:
      order_by = "stars DESC, r.pull_count DESC, r.name";
      break;
    case REGISTRY_SEARCH_RELEVANCE:
    default:
      /* Matches in the name count ten times those in the description. */
      order_by = all ? "r.name" : "bm25(repo_search, 10.0, 1.0), r.pull_count DESC, r.name";
      break;
    }

  if (all)
    {
      count_sql = g_strdup ("SELECT COUNT(*) FROM repositories");
      sql = g_strdup_printf ("SELECT r.name, r.description, %s AS stars, r.pull_count"
                             " FROM repositories r ORDER BY %s LIMIT ?2 OFFSET ?3",
                             stars, order_by);
    }
  else
    {
      count_sql = g_strdup ("SELECT COUNT(*) FROM repo_search WHERE repo_search MATCH ?1");
      sql = g_strdup_printf ("SELECT r.name, r.description, %s AS stars, r.pull_count"
                             " FROM repo_search JOIN repositories r ON r.id = repo_search.rowid"
                             " WHERE repo_search MATCH ?1 ORDER BY %s LIMIT ?2 OFFSET ?3",
                             stars, order_by);
    }

  count = prepare (db, count_sql);
  if (!all)
    bind_text (count, 1, match);
  if (sqlite3_step (count) != SQLITE_ROW)
    {
      sql_error (db, error, "search");
      g_ptr_array_unref (results);
      return NULL;
    }
  *out_total = sqlite3_column_int64 (count, 0);

  stmt = prepare (db, sql);
  if (!all)
    bind_text (stmt, 1, match);
  sqlite3_bind_int64 (stmt, 2, limit);
  sqlite3_bind_int64 (stmt, 3, offset);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      RegistrySearchResult *r = g_new0 (RegistrySearchResult, 1);

      r->name = column_dup (stmt, 0);
      r->description = column_dup (stmt, 1);
      r->stars = sqlite3_column_int64 (stmt, 2);
      r->pulls = sqlite3_column_int64 (stmt, 3);
      g_ptr_array_add (results, r);
    }
  return results;
}

gboolean
registry_db_set_description (RegistryDb *db, const char *repo, const char *description)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "UPDATE repositories SET description = ?2 WHERE name = ?1");

  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, description);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

gboolean
registry_db_set_star (RegistryDb *db, const char *repo, const char *user, gboolean on)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt = NULL;

  if (!repo_exists_locked (db, repo))
    return FALSE;
  stmt = prepare (db, on ? "INSERT OR IGNORE INTO stars (repo_id, user)"
                           " SELECT id, ?2 FROM repositories WHERE name = ?1"
                         : "DELETE FROM stars WHERE user = ?2"
                           " AND repo_id = (SELECT id FROM repositories WHERE name = ?1)");
  bind_text (stmt, 1, repo);
  bind_text (stmt, 2, user);
  return sqlite3_step (stmt) == SQLITE_DONE;
}

gboolean
registry_db_user_get (RegistryDb *db, const char *name, char **out_hash, gboolean *out_admin)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt = prepare (db, "SELECT hash, admin FROM users WHERE name = ?1");

  bind_text (stmt, 1, name);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return FALSE;
  if (out_hash)
    *out_hash = column_dup (stmt, 0);
  if (out_admin)
    *out_admin = sqlite3_column_int (stmt, 1) != 0;
  return TRUE;
}

gboolean
registry_db_user_put (RegistryDb *db, const char *name, const char *hash, gboolean admin,
                      gboolean create, GError **error)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt = NULL;

  stmt = prepare (db, create ? "INSERT OR IGNORE INTO users (name, hash, admin, created)"
                               " VALUES (?1, ?2, ?3, strftime('%s','now'))"
                             : "UPDATE users SET hash = ?2, admin = admin OR ?3 WHERE name = ?1");
  bind_text (stmt, 1, name);
  bind_text (stmt, 2, hash);
  sqlite3_bind_int (stmt, 3, admin);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    return sql_error (db, error, "store the user");
  if (sqlite3_changes (db->sql) == 0)
    {
      g_set_error (error, BERTH_ERROR, create ? BERTH_ERROR_NAME_IN_USE : BERTH_ERROR_FAILED,
                   create
                     ? "user \"%s\" already exists (use \"user passwd\" to change the password)"
                     : "no user \"%s\" (use \"user add\" to create it)",
                   name);
      return FALSE;
    }
  return TRUE;
}

gboolean
registry_db_user_delete (RegistryDb *db, const char *name)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt = prepare (db, "DELETE FROM users WHERE name = ?1");

  bind_text (stmt, 1, name);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

gboolean
registry_db_grant (RegistryDb *db, const char *user, const char *prefix, gboolean on)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, on ? "INSERT OR IGNORE INTO grants (user, prefix)"
                        " SELECT name, ?2 FROM users WHERE name = ?1"
                      : "DELETE FROM grants WHERE user = ?1 AND prefix = ?2");

  bind_text (stmt, 1, user);
  bind_text (stmt, 2, prefix);
  return sqlite3_step (stmt) == SQLITE_DONE && sqlite3_changes (db->sql) > 0;
}

gboolean
registry_db_granted (RegistryDb *db, const char *user, const char *repo)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT 1 FROM grants WHERE user = ?1"
                   " AND (prefix = ?2 OR substr (?2, 1, length (prefix) + 1) = prefix || '/')");

  bind_text (stmt, 1, user);
  bind_text (stmt, 2, repo);
  return sqlite3_step (stmt) == SQLITE_ROW;
}

char *
registry_db_setting_get (RegistryDb *db, const char *key)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt = prepare (db, "SELECT value FROM settings WHERE key = ?1");

  bind_text (stmt, 1, key);
  return sqlite3_step (stmt) == SQLITE_ROW ? column_dup (stmt, 0) : NULL;
}

gboolean
registry_db_setting_set (RegistryDb *db, const char *key, const char *value, GError **error)
{
  LOCKED (db);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)");

  bind_text (stmt, 1, key);
  bind_text (stmt, 2, value);
  return step_done (db, stmt, error, "store a setting");
}

GHashTable *
registry_db_referenced_digests (RegistryDb *db)
{
  LOCKED (db);
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (sqlite3_stmt) stmt
    = prepare (db, "SELECT digest FROM manifests UNION SELECT digest FROM manifest_refs");

  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_hash_table_add (set, column_dup (stmt, 0));
  return set;
}

void
registry_db_unlink_blobs (RegistryDb *db, GHashTable *digests)
{
  LOCKED (db);
  GHashTableIter iter;
  gpointer key;
  g_autoptr (sqlite3_stmt) stmt = prepare (db, "DELETE FROM blob_links WHERE digest = ?1");

  gboolean own = sqlite3_get_autocommit (db->sql) != 0;

  if (own)
    exec (db, "BEGIN IMMEDIATE", NULL);
  g_hash_table_iter_init (&iter, digests);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      sqlite3_reset (stmt);
      bind_text (stmt, 1, key);
      sqlite3_step (stmt);
    }
  if (own)
    exec (db, "COMMIT", NULL);
}

gboolean
registry_db_begin_write (RegistryDb *db, GError **error)
{
  LOCKED (db);

  return exec (db, "BEGIN IMMEDIATE", error);
}

gboolean
registry_db_commit (RegistryDb *db, GError **error)
{
  LOCKED (db);

  return exec (db, "COMMIT", error);
}
