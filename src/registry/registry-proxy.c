/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pull-through mirror: what a client asks for and this registry lacks
 * is fetched from --proxy-upstream with the registry client berth-pull
 * uses too (libberth's berth-registry-client.c), checked against its
 * digest, and only then stored and served. Upstream registries that want a
 * token get the usual Bearer flow (anonymous, or with the configured
 * credentials). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-registry-client.h"
#include "registry-request.h"

/* A client of the upstream, with the shared registry client's token
 * handling, redirects (credentials stay with the upstream) and digest
 * checks. */
static BerthRegistryClient *
upstream_client (Registry *registry)
{
  RegistrySettings *s = registry->settings;
  g_autoptr (GUri) uri = g_uri_parse (s->proxy_upstream, G_URI_FLAGS_NONE, NULL);
  g_autofree char *host = NULL;
  BerthRegistryClient *client;

  if (uri && g_uri_get_host (uri))
    host = g_uri_get_port (uri) > 0
             ? g_strdup_printf ("%s:%d", g_uri_get_host (uri), g_uri_get_port (uri))
             : g_strdup (g_uri_get_host (uri));
  client = berth_registry_client_new (host ? host : s->proxy_upstream, s->proxy_upstream,
                                      s->proxy_username, s->proxy_password);
  berth_registry_client_set_timeout (client, 60);
  return client;
}

gboolean
registry_proxy_fetch_manifest (Registry *registry, const char *name, const char *reference,
                               GError **error)
{
  g_autoptr (BerthRegistryClient) client = upstream_client (registry);
  g_autoptr (GBytes) data = NULL;
  g_autofree char *media_type = NULL;
  g_autofree char *digest = NULL;
  gsize len = 0;
  const char *bytes;

  /* The client checks the bytes against a digest reference and against
   * the Docker-Content-Digest the upstream announces. */
  if (!berth_registry_client_get_manifest (client, name, reference, NULL, &data, &media_type,
                                           &digest, error))
    return FALSE;
  bytes = g_bytes_get_data (data, &len);
  if (!registry_manifest_store (registry, name, reference, bytes, len, media_type, FALSE, NULL,
                                NULL, error))
    return FALSE;
  g_message ("mirror: cached %s:%s (%s) from upstream", name, reference, digest);
  return TRUE;
}

void
registry_proxy_init (Registry *registry)
{
  g_mutex_init (&registry->proxy_lock);
  g_cond_init (&registry->proxy_cond);
  registry->proxy_inflight = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
registry_proxy_clear (Registry *registry)
{
  g_clear_pointer (&registry->proxy_inflight, g_hash_table_unref);
  g_cond_clear (&registry->proxy_cond);
  g_mutex_clear (&registry->proxy_lock);
}

static gboolean
fetch_blob (Registry *registry, const char *name, const char *digest, GError **error)
{
  g_autoptr (BerthRegistryClient) client = upstream_client (registry);
  g_autofree char *staged = NULL;
  berth_autofd int fd = -1;
  gboolean ok = FALSE;

  fd = registry_store_new_staging (registry, &staged, error);
  if (fd < 0)
    return FALSE;
  /* Only bytes that match the digest are committed. */
  if (berth_registry_client_get_blob (client, name, digest, -1, fd, NULL, NULL, NULL, error)
      && registry_store_commit (registry, fd, staged, digest, error))
    {
      g_clear_pointer (&staged, g_free);
      ok = registry_db_blob_link (registry->db, name, digest, error);
    }
  if (staged)
    registry_store_discard_staging (registry, staged);
  return ok;
}

/* Clients asking for the same missing blob at once wait for one download
 * instead of each fetching it. */
gboolean
registry_proxy_fetch_blob (Registry *registry, const char *name, const char *digest, GError **error)
{
  gboolean ok;

  g_mutex_lock (&registry->proxy_lock);
  while (g_hash_table_contains (registry->proxy_inflight, digest))
    g_cond_wait (&registry->proxy_cond, &registry->proxy_lock);
  if (registry_db_blob_linked (registry->db, name, digest))
    {
      g_mutex_unlock (&registry->proxy_lock);
      return TRUE;
    }
  g_hash_table_add (registry->proxy_inflight, g_strdup (digest));
  g_mutex_unlock (&registry->proxy_lock);

  ok = fetch_blob (registry, name, digest, error);

  g_mutex_lock (&registry->proxy_lock);
  g_hash_table_remove (registry->proxy_inflight, digest);
  g_cond_broadcast (&registry->proxy_cond);
  g_mutex_unlock (&registry->proxy_lock);
  return ok;
}

gboolean
registry_proxy_fetch_tags (Registry *registry, const char *name, const char *query,
                           GBytes **out_body, char **out_link, GError **error)
{
  g_autoptr (BerthRegistryClient) client = upstream_client (registry);

  return berth_registry_client_get_tags (client, name, query, out_body, out_link, error);
}
