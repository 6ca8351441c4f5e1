/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A client of one registry (or mirror) speaking the OCI distribution API
 * with libcurl: one easy handle, so connections are reused (HTTP/2 where
 * the server offers it). It answers Bearer token challenges (anonymous or
 * with the credentials given) and Basic challenges, follows redirects
 * itself so that credentials are never sent to another host, and verifies
 * every manifest and blob against its digest while the bytes arrive.
 *
 * A client is used from one thread at a time; berth_registry_client_dup()
 * makes another one for the same server that shares nothing mutable. */
typedef struct _BerthRegistryClient BerthRegistryClient;

/* Called while a blob downloads or uploads: bytes so far. */
typedef void (*BerthRegistryProgress) (guint64 done, gpointer user_data);

/* @registry: "host[:port]" as in references and auth.json. @base_url: the
 * server to talk to ("https://host", "http://127.0.0.1:5000", a mirror's
 * URL). @user and @password may be NULL (anonymous). */
BerthRegistryClient *berth_registry_client_new (const char *registry, const char *base_url,
                                                const char *user, const char *password);
BerthRegistryClient *berth_registry_client_dup (BerthRegistryClient *client);
void berth_registry_client_free (BerthRegistryClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthRegistryClient, berth_registry_client_free)

/* The URL of @registry's API root: http:// when @allow_http, else https://. */
char *berth_registry_base_url (const char *registry, gboolean allow_http);

/* The host that served the last response (after redirects), for messages. */
const char *berth_registry_client_last_server (BerthRegistryClient *client);
/* Seconds before a connection attempt gives up, and before a transfer that
 * moves no byte for that long does (default 15). */
void berth_registry_client_set_timeout (BerthRegistryClient *client, guint seconds);

/* GET /v2/ with the credentials: FALSE with BERTH_ERROR_AUTH when the
 * registry refuses them, BERTH_ERROR_NETWORK when it cannot be reached. */
gboolean berth_registry_client_check (BerthRegistryClient *client, GError **error);

/* Fetches a manifest or index. When @reference is a digest, or
 * @expected_digest is given, the bytes must hash to it; otherwise the
 * digest of what arrived is returned (and a Docker-Content-Digest header,
 * if sent, must agree). */
gboolean berth_registry_client_get_manifest (BerthRegistryClient *client, const char *repository,
                                             const char *reference, const char *expected_digest,
                                             GBytes **out_data, char **out_media_type,
                                             char **out_digest, GError **error);

/* Downloads blob @digest into @fd (from its current offset), hashing as it
 * goes. FALSE with BERTH_ERROR_DIGEST_MISMATCH (naming expected digest,
 * received digest and server) when the bytes do not match, or when more
 * than @size bytes arrive (@size < 0: not checked). @fd then holds
 * unverified bytes: the caller discards it. */
gboolean berth_registry_client_get_blob (BerthRegistryClient *client, const char *repository,
                                         const char *digest, gint64 size, int fd,
                                         BerthRegistryProgress progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);

/* Like get_blob, continuing a download that was cut: the bytes already in
 * @fd (offset 0 to its size) are read back and hashed, and only the rest is
 * asked for (Range: bytes=N-). A server that ignores the Range sends the
 * whole blob, which replaces them; when the whole does not match (the kept
 * bytes were wrong) or the range cannot be served, it is downloaded once
 * more from byte 0. The full digest is checked either way. *out_resumed:
 * whether the kept bytes were used. */
gboolean berth_registry_client_resume_blob (BerthRegistryClient *client, const char *repository,
                                            const char *digest, gint64 size, int fd,
                                            BerthRegistryProgress progress, gpointer user_data,
                                            GCancellable *cancellable, gboolean *out_resumed,
                                            GError **error);

/* HEAD of a blob: *out_exists. */
gboolean berth_registry_client_has_blob (BerthRegistryClient *client, const char *repository,
                                         const char *digest, gboolean *out_exists, GError **error);
/* Tries a cross-repository mount of @digest from @from: *out_mounted. */
gboolean berth_registry_client_mount_blob (BerthRegistryClient *client, const char *repository,
                                           const char *digest, const char *from,
                                           gboolean *out_mounted, GError **error);
/* Uploads @size bytes of @fd (from offset 0) as blob @digest (POST, PUT). */
gboolean berth_registry_client_put_blob (BerthRegistryClient *client, const char *repository,
                                         const char *digest, int fd, guint64 size,
                                         BerthRegistryProgress progress, gpointer user_data,
                                         GCancellable *cancellable, GError **error);
gboolean berth_registry_client_put_manifest (BerthRegistryClient *client, const char *repository,
                                             const char *reference, GBytes *data,
                                             const char *media_type, GError **error);

/* GET /v2/@repository/tags/list[?@query]: the JSON body as sent and the
 * Link header (pagination), or NULL when there was none. */
gboolean berth_registry_client_get_tags (BerthRegistryClient *client, const char *repository,
                                         const char *query, GBytes **out_body, char **out_link,
                                         GError **error);

/* GET /v1/search?q=@term&n=@limit: the "results" array (owned by caller). */
JsonArray *berth_registry_client_search (BerthRegistryClient *client, const char *term, guint limit,
                                         GError **error);

/* The value of @param in a WWW-Authenticate challenge, or NULL. */
char *berth_registry_challenge_param (const char *challenge, const char *param);
/* Whether two URLs name the same scheme, host and port. */
gboolean berth_registry_same_origin (const char *url_a, const char *url_b);

G_END_DECLS
