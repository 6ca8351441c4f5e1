/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pull counts: each manifest GET adds one in memory; the counts are written
 * to the database every few seconds and before search results are computed,
 * so that a busy registry does not make one write per pull. */
#include "config.h"

#include "registry.h"

void
registry_pulls_count (Registry *registry, const char *name)
{
  gpointer old;

  g_mutex_lock (&registry->pulls_lock);
  old = g_hash_table_lookup (registry->pending_pulls, name);
  if (old)
    g_hash_table_insert (registry->pending_pulls, g_strdup (name),
                         GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
  else
    g_hash_table_insert (registry->pending_pulls, g_strdup (name), GUINT_TO_POINTER (1));
  g_mutex_unlock (&registry->pulls_lock);
}

void
registry_pulls_flush (Registry *registry)
{
  g_autoptr (GHashTable) counts = NULL;

  g_mutex_lock (&registry->pulls_lock);
  if (g_hash_table_size (registry->pending_pulls) > 0)
    {
      counts = registry->pending_pulls;
      registry->pending_pulls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    }
  g_mutex_unlock (&registry->pulls_lock);
  if (counts)
    registry_db_add_pulls (registry->db, counts);
}
