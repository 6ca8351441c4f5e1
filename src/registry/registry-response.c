/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading requests and building responses, with the distribution spec's
 * error body: {"errors":[{"code","message","detail"}]}. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "registry-request.h"

const char *
registry_request_header (RegistryRequest *req, const char *name)
{
  return MHD_lookup_connection_value (req->connection, MHD_HEADER_KIND, name);
}

const char *
registry_request_arg (RegistryRequest *req, const char *name)
{
  return MHD_lookup_connection_value (req->connection, MHD_GET_ARGUMENT_KIND, name);
}

gboolean
registry_request_is (RegistryRequest *req, const char *method)
{
  return strcmp (req->method, method) == 0;
}

char *
registry_request_base_url (RegistryRequest *req)
{
  const char *host = registry_request_header (req, "Host");
  const char *scheme = req->registry->settings->tls_cert ? "https" : "http";

  return g_strdup_printf ("%s://%s", scheme, host ? host : req->registry->settings->listen);
}

void
registry_respond (RegistryRequest *req, guint status, struct MHD_Response *response)
{
  MHD_add_response_header (response, "Docker-Distribution-API-Version", "registry/2.0");
  if (MHD_queue_response (req->connection, status, response) != MHD_YES)
    g_debug ("cannot queue the response to %s %s", req->method, req->url);
  MHD_destroy_response (response);
  req->responded = TRUE;
  req->status = status;
}

struct MHD_Response *
registry_response_empty (void)
{
  return MHD_create_response_from_buffer (0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

struct MHD_Response *
registry_response_take (char *body, gsize len, const char *content_type)
{
  struct MHD_Response *response
    = MHD_create_response_from_buffer (len, body, MHD_RESPMEM_MUST_FREE);

  if (content_type)
    MHD_add_response_header (response, "Content-Type", content_type);
  return response;
}

void
registry_respond_error (RegistryRequest *req, guint status, const char *code, const char *format,
                        ...)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *message = NULL;
  char *body;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "errors");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  json_builder_set_member_name (builder, "detail");
  json_builder_begin_object (builder);
  if (req->route.name)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, req->route.name);
    }
  if (req->route.ref)
    {
      json_builder_set_member_name (builder, "reference");
      json_builder_add_string_value (builder, req->route.ref);
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  g_debug ("%s %s: %u %s: %s", req->method, req->url, status, code, message);
  registry_respond (req, status, registry_response_take (body, strlen (body), "application/json"));
}

void
registry_respond_unauthorized (RegistryRequest *req, const char *scope)
{
  g_autofree char *base = registry_request_base_url (req);
  g_autofree char *challenge = NULL;
  g_autofree char *body = NULL;
  struct MHD_Response *response;
  gsize len;

  challenge = g_strdup_printf ("Bearer realm=\"%s/token\",service=\"%s\"%s%s%s", base,
                               req->registry->settings->service, scope ? ",scope=\"" : "",
                               scope ? scope : "", scope ? "\"" : "");
  body = g_strdup ("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":"
                   "\"authentication required\",\"detail\":null}]}");
  len = strlen (body);
  response = registry_response_take (g_steal_pointer (&body), len, "application/json");
  MHD_add_response_header (response, "WWW-Authenticate", challenge);
  registry_respond (req, MHD_HTTP_UNAUTHORIZED, response);
}

void
registry_respond_method_not_allowed (RegistryRequest *req, const char *allow)
{
  g_autofree char *body
    = g_strdup_printf ("{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":"
                       "\"method %s is not allowed here; use %s\",\"detail\":null}]}",
                       req->method, allow);
  gsize len = strlen (body);
  struct MHD_Response *response
    = registry_response_take (g_steal_pointer (&body), len, "application/json");

  MHD_add_response_header (response, "Allow", allow);
  registry_respond (req, MHD_HTTP_METHOD_NOT_ALLOWED, response);
}

static gboolean
buffer_body (RegistryRequest *req, const char *data, gsize len)
{
  if (req->body_too_large || req->body->len + len > req->body_limit)
    {
      req->body_too_large = TRUE;
      return TRUE;
    }
  g_byte_array_append (req->body, (const guint8 *)data, len);
  return TRUE;
}

void
registry_request_buffer_body (RegistryRequest *req, gsize limit, RegistryFinishFunc finish)
{
  req->body = g_byte_array_new ();
  req->body_limit = limit;
  req->on_body = buffer_body;
  req->on_finish = finish;
}
