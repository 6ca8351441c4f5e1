/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /v2/NAME/tags/list and GET /v2/_catalog, in byte order, paginated
 * with n= and last= and a Link header while more remain. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "registry-request.h"

#define PAGE_MAX 10000

static void
respond_list (RegistryRequest *req, const char *name, const char *member, GPtrArray *items,
              gboolean more, const char *path, guint n)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  struct MHD_Response *response;
  char *body;

  json_builder_begin_object (builder);
  if (name)
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
    }
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; i < items->len; i++)
    json_builder_add_string_value (builder, items->pdata[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  response = registry_response_take (body, strlen (body), "application/json");
  if (more && items->len > 0)
    registry_pagination_link (response, path, n, items->pdata[items->len - 1]);
  registry_respond (req, MHD_HTTP_OK, response);
}

void
registry_tags_begin (RegistryRequest *req)
{
  g_autoptr (GPtrArray) tags = NULL;
  g_autofree char *path = NULL;
  const char *last;
  gboolean more = FALSE;
  guint n;

  if (!registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET");
      return;
    }
  if (!registry_pagination_parse (req, PAGE_MAX, PAGE_MAX, &n, &last))
    return;
  if (!registry_db_repo_exists (req->registry->db, req->route.name))
    {
      registry_respond_error (req, MHD_HTTP_NOT_FOUND, "NAME_UNKNOWN",
                              "repository %s is not known to this registry", req->route.name);
      return;
    }
  tags = registry_db_list_tags (req->registry->db, req->route.name, last, n, &more);
  path = g_strdup_printf ("/v2/%s/tags/list", req->route.name);
  respond_list (req, req->route.name, "tags", tags, more, path, n);
}

void
registry_catalog_begin (RegistryRequest *req)
{
  g_autoptr (GPtrArray) repos = NULL;
  const char *last;
  gboolean more = FALSE;
  guint n;

  if (!registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET");
      return;
    }
  if (!registry_pagination_parse (req, 100, PAGE_MAX, &n, &last))
    return;
  repos = registry_db_list_repos (req->registry->db, last, n, &more);
  respond_list (req, NULL, "repositories", repos, more, "/v2/_catalog", n);
}
