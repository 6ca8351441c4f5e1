/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP server: libmicrohttpd with a thread pool. Each request is routed
 * once its headers are in, authorised, and handed to the handler of its
 * route, which answers at once or after its body has arrived. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "berth-error.h"
#include "berth-reference.h"
#include "registry-request.h"

static void
request_free (RegistryRequest *req)
{
  if (req->data_free && req->data)
    req->data_free (req->data);
  registry_route_clear (&req->route);
  if (req->body)
    g_byte_array_unref (req->body);
  g_free (req->user);
  g_strfreev (req->token_scopes);
  g_free (req->url);
  g_free (req);
}

/* What each route and method needs from the client. */
static RegistryAccess
route_access (RegistryRequest *req)
{
  gboolean read = registry_request_is (req, "GET") || registry_request_is (req, "HEAD");

  switch (req->route.kind)
    {
    case ROUTE_BLOB:
    case ROUTE_MANIFEST:
      if (registry_request_is (req, "DELETE"))
        return REGISTRY_ACCESS_DELETE;
      return read ? REGISTRY_ACCESS_PULL : REGISTRY_ACCESS_PUSH;
    case ROUTE_UPLOAD_START:
    case ROUTE_UPLOAD:
      return REGISTRY_ACCESS_PUSH;
    case ROUTE_TAGS:
    case ROUTE_REFERRERS:
    case ROUTE_CATALOG:
      return REGISTRY_ACCESS_PULL;
    case ROUTE_V1_DESCRIPTION:
      return read ? REGISTRY_ACCESS_PULL : REGISTRY_ACCESS_PUSH;
    case ROUTE_V1_STAR:
      return REGISTRY_ACCESS_ACCOUNT;
    case ROUTE_BASE:
    case ROUTE_TOKEN:
    case ROUTE_V1_PING:
    case ROUTE_V1_SEARCH:
    case ROUTE_NONE:
    default:
      return REGISTRY_ACCESS_NONE;
    }
}

static void
begin (RegistryRequest *req)
{
  g_autoptr (GError) error = NULL;
  RegistryAccess access;

  if (req->route.kind == ROUTE_NONE)
    {
      registry_respond_error (req, MHD_HTTP_NOT_FOUND, "NOT_FOUND", "no such endpoint: %s %s",
                              req->method, req->url);
      return;
    }
  if (req->route.name != NULL && !berth_reference_validate_repository (req->route.name, &error))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "NAME_INVALID", "%s", error->message);
      return;
    }
  access = route_access (req);
  if (access != REGISTRY_ACCESS_NONE && !registry_auth_request (req, access))
    return;

  switch (req->route.kind)
    {
    case ROUTE_BASE:
      registry_base_begin (req);
      break;
    case ROUTE_CATALOG:
      registry_catalog_begin (req);
      break;
    case ROUTE_TOKEN:
      registry_token_begin (req);
      break;
    case ROUTE_BLOB:
      registry_blobs_begin (req);
      break;
    case ROUTE_UPLOAD_START:
    case ROUTE_UPLOAD:
      registry_uploads_begin (req);
      break;
    case ROUTE_MANIFEST:
      registry_manifests_begin (req);
      break;
    case ROUTE_TAGS:
      registry_tags_begin (req);
      break;
    case ROUTE_REFERRERS:
      registry_referrers_begin (req);
      break;
    case ROUTE_V1_PING:
    case ROUTE_V1_SEARCH:
      registry_search_begin (req);
      break;
    case ROUTE_V1_DESCRIPTION:
    case ROUTE_V1_STAR:
      registry_repository_begin (req);
      break;
    case ROUTE_NONE:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
has_body (RegistryRequest *req)
{
  const char *length = registry_request_header (req, "Content-Length");

  if (registry_request_header (req, "Transfer-Encoding") != NULL)
    return TRUE;
  return length != NULL && g_ascii_strtoull (length, NULL, 10) > 0;
}

static enum MHD_Result
on_request (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  Registry *registry = cls;
  RegistryRequest *req = *con_cls;

  if (req == NULL)
    {
      req = g_new0 (RegistryRequest, 1);
      req->registry = registry;
      req->connection = connection;
      req->method = method;
      req->url = g_strdup (url);
      req->start = g_get_monotonic_time ();
      *con_cls = req;
      registry_route_parse (url, &req->route);
      /* Answering before the request is complete makes libmicrohttpd close
       * the connection, so requests without a body are answered on the
       * next call; those with one are checked now, before it is sent. */
      if (has_body (req))
        {
          req->began = TRUE;
          begin (req);
        }
      return MHD_YES;
    }

  if (!req->began)
    {
      req->began = TRUE;
      begin (req);
    }

  if (*upload_data_size > 0)
    {
      if (!req->responded && req->on_body && !req->on_body (req, upload_data, *upload_data_size))
        req->on_body = NULL;
      *upload_data_size = 0;
      return MHD_YES;
    }

  if (!req->responded)
    {
      if (req->on_finish)
        req->on_finish (req);
      if (!req->responded)
        registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN",
                                "the request was not answered");
    }
  return MHD_YES;
}

static void
access_log (RegistryRequest *req, enum MHD_RequestTerminationCode code)
{
  const union MHD_ConnectionInfo *info
    = MHD_get_connection_info (req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char host[INET6_ADDRSTRLEN + 8] = "-";
  const char *agent = registry_request_header (req, "User-Agent");
  const char *user = req->user && *req->user ? req->user : "-";
  double ms = (g_get_monotonic_time () - req->start) / 1000.0;
  g_autofree char *line = NULL;

  if (info && info->client_addr)
    getnameinfo (info->client_addr,
                 info->client_addr->sa_family == AF_INET6 ? sizeof (struct sockaddr_in6)
                                                          : sizeof (struct sockaddr_in),
                 host, sizeof host, NULL, 0, NI_NUMERICHOST);
  line = g_strdup_printf (
    "%s %s \"%s %s\" %u %.1fms%s \"%s\"", host, user, req->method, req->url, req->status, ms,
    code == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (interrupted)", agent ? agent : "-");
  /* In the journal with fields to select on (journalctl HTTP_STATUS=404);
   * elsewhere one write per line, so that threads do not interleave. */
  if (req->registry->log_to_journal)
    sd_journal_send ("MESSAGE=%s", line, "PRIORITY=%d", LOG_INFO,
                     "SYSLOG_IDENTIFIER=berth-registry", "REMOTE_ADDR=%s", host, "REGISTRY_USER=%s",
                     user, "HTTP_METHOD=%s", req->method, "HTTP_PATH=%s", req->url,
                     "HTTP_STATUS=%u", req->status, "IMAGE_NAME=%s",
                     req->route.name ? req->route.name : "", "DURATION_MS=%.1f", ms, NULL);
  else
    fprintf (stderr, "%s\n", line);
}

static void
on_completed (void *cls, struct MHD_Connection *connection, void **con_cls,
              enum MHD_RequestTerminationCode code)
{
  Registry *registry = cls;
  RegistryRequest *req = *con_cls;

  if (req == NULL)
    return;
  if (registry->settings->access_log)
    access_log (req, code);
  request_free (req);
  *con_cls = NULL;
}

static void
on_mhd_log (void *cls, const char *format, va_list ap)
{
  g_autofree char *message = g_strdup_vprintf (format, ap);

  g_debug ("libmicrohttpd: %s", g_strchomp (message));
}

static gboolean
parse_listen (const char *listen, struct sockaddr_storage *addr, socklen_t *len, GError **error)
{
  g_autofree char *host = NULL;
  const char *colon = strrchr (listen, ':');
  char *end = NULL;
  guint64 port;

  if (colon == NULL)
    goto bad;
  port = g_ascii_strtoull (colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || port == 0 || port > 65535)
    goto bad;
  host = g_strndup (listen, colon - listen);
  if (host[0] == '[' && g_str_has_suffix (host, "]"))
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;
      host[strlen (host) - 1] = '\0';
      memset (sin6, 0, sizeof *sin6);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons (port);
      if (inet_pton (AF_INET6, host + 1, &sin6->sin6_addr) != 1)
        goto bad;
      *len = sizeof *sin6;
      return TRUE;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *)addr;
      memset (sin, 0, sizeof *sin);
      sin->sin_family = AF_INET;
      sin->sin_port = htons (port);
      if (*host == '\0')
        sin->sin_addr.s_addr = htonl (INADDR_ANY);
      else if (inet_pton (AF_INET, host, &sin->sin_addr) != 1)
        goto bad;
      *len = sizeof *sin;
      return TRUE;
    }
bad:
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
               "invalid listen address \"%s\": use ADDR:PORT, e.g. 127.0.0.1:5000 or [::1]:5000",
               listen);
  return FALSE;
}

gboolean
registry_server_start (Registry *registry, GError **error)
{
  RegistrySettings *settings = registry->settings;
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  struct MHD_OptionItem options[16];
  guint n = 0;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  struct sockaddr_storage addr;
  socklen_t addr_len = 0;
  int listen_fds = sd_listen_fds (TRUE);

#define OPT(o, v, p) options[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) }
  OPT (MHD_OPTION_NOTIFY_COMPLETED, on_completed, registry);
  OPT (MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL);
  OPT (MHD_OPTION_THREAD_POOL_SIZE, settings->threads, NULL);
  OPT (MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL);
  /* Larger reads for uploads; the default 32 KiB makes many small writes. */
  OPT (MHD_OPTION_CONNECTION_MEMORY_LIMIT, 256 * 1024, NULL);

  if (listen_fds > 1)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                   "systemd passed %d sockets; berth-registry.socket must have exactly one",
                   listen_fds);
      return FALSE;
    }
  registry->socket_activated = listen_fds == 1;
  if (listen_fds == 1)
    OPT (MHD_OPTION_LISTEN_SOCKET, SD_LISTEN_FDS_START, NULL);
  else
    {
      if (!parse_listen (settings->listen, &addr, &addr_len, error))
        return FALSE;
      if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
      OPT (MHD_OPTION_SOCK_ADDR, 0, &addr);
    }

  if (settings->tls_cert || settings->tls_key)
    {
      if (!settings->tls_cert || !settings->tls_key)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_CONFIG,
                       "TLS needs both --tls-cert and --tls-key");
          return FALSE;
        }
      if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "this libmicrohttpd was built without TLS support");
          return FALSE;
        }
      if (!g_file_get_contents (settings->tls_cert, &cert, NULL, error)
          || !g_file_get_contents (settings->tls_key, &key, NULL, error))
        {
          g_prefix_error (error, "cannot read the TLS certificate or key: ");
          return FALSE;
        }
      flags |= MHD_USE_TLS;
      OPT (MHD_OPTION_HTTPS_MEM_CERT, 0, cert);
      OPT (MHD_OPTION_HTTPS_MEM_KEY, 0, key);
    }
  OPT (MHD_OPTION_END, 0, NULL);
#undef OPT

  registry->httpd = MHD_start_daemon (flags, 0, NULL, NULL, on_request, registry, MHD_OPTION_ARRAY,
                                      options, MHD_OPTION_END);
  if (registry->httpd == NULL)
    {
      int errsv = errno;
      if (listen_fds == 1)
        return berth_error_set_errno (error, errsv, "cannot serve on the socket from systemd");
      return berth_error_set_errno (error, errsv, "cannot listen on %s%s", settings->listen,
                                    (flags & MHD_USE_TLS) ? " (or the TLS key and certificate "
                                                            "do not load)"
                                                          : "");
    }
  return TRUE;
}

void
registry_server_stop (Registry *registry)
{
  if (registry->httpd)
    MHD_stop_daemon (registry->httpd);
  registry->httpd = NULL;
}
