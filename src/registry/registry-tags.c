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

/* A mirror lists the upstream's tags, and its own when the upstream does
 * not answer. */
static gboolean
relay_upstream_tags (RegistryRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *link = NULL;
  g_autofree char *query = NULL;
  const char *n = registry_request_arg (req, "n");
  const char *last = registry_request_arg (req, "last");
  struct MHD_Response *response;
  gsize len;

  if (n || last)
    {
      g_autofree char *e_n = g_uri_escape_string (n ? n : "", NULL, FALSE);
      g_autofree char *e_last = g_uri_escape_string (last ? last : "", NULL, FALSE);
      query = g_strdup_printf ("%s%s%s%s%s", n ? "n=" : "", n ? e_n : "", n && last ? "&" : "",
                               last ? "last=" : "", last ? e_last : "");
    }
  if (!registry_proxy_fetch_tags (req->registry, req->route.name, query, &body, &link, &error))
    {
      g_message ("mirror: %s (listing the cached tags)", error->message);
      return FALSE;
    }
  const char *data = g_bytes_get_data (body, &len);
  response = registry_response_take (g_memdup2 (data, len), len, "application/json");
  if (link)
    MHD_add_response_header (response, "Link", link);
  registry_respond (req, MHD_HTTP_OK, response);
  return TRUE;
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
  if (req->registry->settings->proxy_upstream && relay_upstream_tags (req))
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

/* Up to @n repositories after @last that the caller may pull: the others
 * are not even named to it. */
static GPtrArray *
list_pullable_repos (RegistryRequest *req, const char *last, guint n, gboolean *out_more)
{
  GPtrArray *repos = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cursor = g_strdup (last);
  gboolean more = TRUE;

  *out_more = FALSE;
  while (repos->len < n && more)
    {
      g_autoptr (GPtrArray) page
        = registry_db_list_repos (req->registry->db, cursor, MAX (n, 100), &more);

      for (guint i = 0; i < page->len; i++)
        {
          if (repos->len == n)
            {
              *out_more = TRUE;
              return repos;
            }
          if (registry_auth_allowed (req->registry, req->user, req->admin, REGISTRY_ACCESS_PULL,
                                     page->pdata[i]))
            g_ptr_array_add (repos, g_strdup (page->pdata[i]));
        }
      if (page->len == 0)
        break;
      g_free (cursor);
      cursor = g_strdup (page->pdata[page->len - 1]);
    }
  *out_more = more;
  return repos;
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
  repos = list_pullable_repos (req, last, n, &more);
  respond_list (req, NULL, "repositories", repos, more, "/v2/_catalog", n);
}
