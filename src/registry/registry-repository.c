/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PUT /v1/repositories/NAME/description (its owner) and PUT/DELETE
 * /v1/repositories/NAME/star (any signed-in user). */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "registry-request.h"

#define DESCRIPTION_MAX (64 * 1024)

static void
respond_unknown (RegistryRequest *req)
{
  registry_respond_error (req, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
                          "repository %s is not known to this registry", req->route.name);
}

/* The body is {"description": "..."} or, with another Content-Type, the
 * text itself. */
static void
finish_description (RegistryRequest *req)
{
  const char *type = registry_request_header (req, "Content-Type");
  g_autofree char *text = NULL;

  if (req->body_too_large)
    {
      registry_respond_error (req, MHD_HTTP_CONTENT_TOO_LARGE, "SIZE_INVALID",
                              "descriptions are limited to %d bytes", DESCRIPTION_MAX);
      return;
    }
  if (type && g_str_has_prefix (type, "application/json"))
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *member = NULL;

      if (json_parser_load_from_data (parser, (const char *)req->body->data, req->body->len, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        member = json_object_get_member (json_node_get_object (json_parser_get_root (parser)),
                                         "description");
      if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
          || json_node_get_value_type (member) != G_TYPE_STRING)
        {
          registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
                                  "expected a JSON object {\"description\": \"...\"}");
          return;
        }
      text = g_strdup (json_node_get_string (member));
    }
  else
    text = g_strndup ((const char *)req->body->data, req->body->len);
  if (!g_utf8_validate (text, -1, NULL))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
                              "the description must be UTF-8 text");
      return;
    }
  if (!registry_db_set_description (req->registry->db, req->route.name, g_strstrip (text)))
    respond_unknown (req);
  else
    registry_respond (req, MHD_HTTP_NO_CONTENT, registry_response_empty ());
}

void
registry_repository_begin (RegistryRequest *req)
{
  if (req->route.kind == ROUTE_V1_DESCRIPTION)
    {
      if (!registry_request_is (req, "PUT"))
        registry_respond_method_not_allowed (req, "PUT");
      else
        registry_request_buffer_body (req, DESCRIPTION_MAX, finish_description);
      return;
    }

  if (!registry_request_is (req, "PUT") && !registry_request_is (req, "DELETE"))
    {
      registry_respond_method_not_allowed (req, "PUT, DELETE");
      return;
    }
  if (!registry_db_set_star (req->registry->db, req->route.name, req->user,
                             registry_request_is (req, "PUT")))
    respond_unknown (req);
  else
    registry_respond (req, MHD_HTTP_NO_CONTENT, registry_response_empty ());
}
