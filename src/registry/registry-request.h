/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "registry.h"

G_BEGIN_DECLS

typedef enum
{
  ROUTE_NONE,
  ROUTE_BASE,           /* /v2/ */
  ROUTE_CATALOG,        /* /v2/_catalog */
  ROUTE_TOKEN,          /* /token */
  ROUTE_BLOB,           /* /v2/NAME/blobs/DIGEST */
  ROUTE_UPLOAD_START,   /* /v2/NAME/blobs/uploads/ */
  ROUTE_UPLOAD,         /* /v2/NAME/blobs/uploads/ID */
  ROUTE_MANIFEST,       /* /v2/NAME/manifests/REF */
  ROUTE_TAGS,           /* /v2/NAME/tags/list */
  ROUTE_REFERRERS,      /* /v2/NAME/referrers/DIGEST */
  ROUTE_V1_PING,        /* /v1/_ping */
  ROUTE_V1_SEARCH,      /* /v1/search */
  ROUTE_V1_DESCRIPTION, /* /v1/repositories/NAME/description */
  ROUTE_V1_STAR,        /* /v1/repositories/NAME/star */
} RegistryRouteKind;

typedef struct
{
  RegistryRouteKind kind;
  char *name; /* repository, not yet validated */
  char *ref;  /* tag, digest or upload id */
} RegistryRoute;

/* Splits a request path; repository names may hold "/", so the keyword is
 * found from the right. Unknown paths give ROUTE_NONE. */
void registry_route_parse (const char *path, RegistryRoute *route);
void registry_route_clear (RegistryRoute *route);

typedef struct _RegistryRequest RegistryRequest;
typedef gboolean (*RegistryBodyFunc) (RegistryRequest *req, const char *data, gsize len);
typedef void (*RegistryFinishFunc) (RegistryRequest *req);

struct _RegistryRequest
{
  Registry *registry;
  struct MHD_Connection *connection;
  const char *method;
  char *url;
  RegistryRoute route;
  char *user; /* NULL: no credentials; "": anonymous token */
  gboolean admin;
  gboolean has_token;  /* Bearer: what it grants is all the request may do */
  char **token_scopes; /* what the token grants */
  gint64 start;

  /* The body, when the handler wants it in memory. */
  GByteArray *body;
  gsize body_limit;
  gboolean body_too_large;

  /* Streaming bodies (blob uploads). */
  RegistryBodyFunc on_body;
  RegistryFinishFunc on_finish;
  gpointer data;
  GDestroyNotify data_free;

  gboolean began;
  gboolean responded;
  guint status;
};

const char *registry_request_header (RegistryRequest *req, const char *name);
const char *registry_request_arg (RegistryRequest *req, const char *name);
gboolean registry_request_is (RegistryRequest *req, const char *method);
/* "http://host:port" as the client addressed us. */
char *registry_request_base_url (RegistryRequest *req);

/* Queues @response (and drops our reference). Adds the API version header. */
void registry_respond (RegistryRequest *req, guint status, struct MHD_Response *response);
struct MHD_Response *registry_response_empty (void);
/* Takes @body. */
struct MHD_Response *registry_response_take (char *body, gsize len, const char *content_type);
void registry_respond_error (RegistryRequest *req, guint status, const char *code,
                             const char *format, ...) G_GNUC_PRINTF (4, 5);
/* 401 with the challenge for @scope (may be NULL). */
void registry_respond_unauthorized (RegistryRequest *req, const char *scope);
void registry_respond_method_not_allowed (RegistryRequest *req, const char *allow);

/* Keeps the body in req->body, up to @limit bytes (then body_too_large). */
void registry_request_buffer_body (RegistryRequest *req, gsize limit, RegistryFinishFunc finish);

/* The handlers, one file each. Each either responds at once or sets
 * on_finish (and maybe on_body) to respond when the body has arrived. */
void registry_base_begin (RegistryRequest *req);
void registry_blobs_begin (RegistryRequest *req);
void registry_uploads_begin (RegistryRequest *req);
void registry_manifests_begin (RegistryRequest *req);
void registry_tags_begin (RegistryRequest *req);
void registry_catalog_begin (RegistryRequest *req);
void registry_referrers_begin (RegistryRequest *req);
void registry_search_begin (RegistryRequest *req);
void registry_repository_begin (RegistryRequest *req);
void registry_token_begin (RegistryRequest *req);

/* registry-auth.c: identifies the client and checks @access on the route's
 * repository; responds 401/403 and returns FALSE when refused. */
gboolean registry_auth_request (RegistryRequest *req, RegistryAccess access);

/* registry-pagination.c: reads n= (default @fallback, at most @max) and
 * last=; responds 400 and returns FALSE when n is not a number. */
gboolean registry_pagination_parse (RegistryRequest *req, guint fallback, guint max, guint *out_n,
                                    const char **out_last);
void registry_pagination_link (struct MHD_Response *response, const char *path, guint n,
                               const char *last);

/* registry-proxy.c (pull-through mirror) */
gboolean registry_proxy_fetch_manifest (Registry *registry, const char *name, const char *reference,
                                        GError **error);
/* The upstream's answer to tags/list?@query, passed on as it is. */
gboolean registry_proxy_fetch_tags (Registry *registry, const char *name, const char *query,
                                    GBytes **out_body, char **out_link, GError **error);
gboolean registry_proxy_fetch_blob (Registry *registry, const char *name, const char *digest,
                                    GError **error);
/* Stores a manifest after the checks of a push (shared with the proxy). */
gboolean registry_manifest_store (Registry *registry, const char *name, const char *tag,
                                  const char *data, gsize len, const char *content_type,
                                  gboolean check_blobs, char **out_digest, char **out_subject,
                                  GError **error);

G_END_DECLS
