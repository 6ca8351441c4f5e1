/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The searchable index: GET /v1/search?q=&n=&page=&s= in the shape of the
 * Docker Hub v1 API, and /v1/_ping so that docker-style clients find it. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "registry-request.h"

static gboolean
parse_number (RegistryRequest *req, const char *arg, guint fallback, guint min, guint max,
              guint *out)
{
  const char *text = registry_request_arg (req, arg);
  char *end = NULL;
  guint64 value;

  if (text == NULL || *text == '\0')
    {
      *out = fallback;
      return TRUE;
    }
  value = g_ascii_strtoull (text, &end, 10);
  if (end == text || *end != '\0' || *text == '-' || value < min || value > max)
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
                              "invalid %s=%s: use a number from %u to %u", arg, text, min, max);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

/* With private namespaces: only what the caller may pull is found, and
 * counted (all matches are ranked, then filtered, then paged). */
#define SEARCH_FILTER_MAX 10000

static GPtrArray *
search_pullable (RegistryRequest *req, const char *query, RegistrySearchOrder order, guint offset,
                 guint limit, guint *out_total, GError **error)
{
  g_autoptr (GPtrArray) all = NULL;
  GPtrArray *page;
  guint total = 0, seen = 0;

  all = registry_db_search (req->registry->db, query, order, 0, SEARCH_FILTER_MAX, &total, error);
  if (all == NULL)
    return NULL;
  page = g_ptr_array_new_with_free_func ((GDestroyNotify)registry_search_result_free);
  total = 0;
  for (guint i = 0; i < all->len; i++)
    {
      RegistrySearchResult *r = all->pdata[i];

      if (!registry_auth_allowed (req->registry, req->user, req->admin, REGISTRY_ACCESS_PULL,
                                  r->name))
        continue;
      total++;
      if (seen++ >= offset && page->len < limit)
        {
          RegistrySearchResult *copy = g_new0 (RegistrySearchResult, 1);

          *copy = *r;
          copy->name = g_strdup (r->name);
          copy->description = g_strdup (r->description);
          g_ptr_array_add (page, copy);
        }
    }
  *out_total = total;
  return page;
}

static void
search (RegistryRequest *req)
{
  Registry *registry = req->registry;
  const char *query = registry_request_arg (req, "q");
  const char *sort = registry_request_arg (req, "s");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) results = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  RegistrySearchOrder order = REGISTRY_SEARCH_RELEVANCE;
  guint n, page, total = 0;
  char *body;

  if (!parse_number (req, "n", 25, 1, 100, &n) || !parse_number (req, "page", 1, 1, 100000, &page))
    return;
  if (sort == NULL || *sort == '\0' || strcmp (sort, "relevance") == 0)
    order = REGISTRY_SEARCH_RELEVANCE;
  else if (strcmp (sort, "popular") == 0)
    order = REGISTRY_SEARCH_POPULAR;
  else if (strcmp (sort, "stars") == 0)
    order = REGISTRY_SEARCH_STARS;
  else
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "UNSUPPORTED",
                              "unknown order s=%s: use relevance, popular or stars", sort);
      return;
    }

  /* Counts from pulls a moment ago should already show. */
  registry_pulls_flush (registry);
  if (registry->settings->private_namespaces)
    results = search_pullable (req, query, order, (page - 1) * n, n, &total, &error);
  else
    results = registry_db_search (registry->db, query, order, (page - 1) * n, n, &total, &error);
  if (results == NULL)
    {
      registry_respond_error (req, MHD_HTTP_INTERNAL_SERVER_ERROR, "UNKNOWN", "%s", error->message);
      return;
    }

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "query");
  json_builder_add_string_value (builder, query ? query : "");
  json_builder_set_member_name (builder, "num_results");
  json_builder_add_int_value (builder, total);
  json_builder_set_member_name (builder, "num_pages");
  json_builder_add_int_value (builder, (total + n - 1) / n);
  json_builder_set_member_name (builder, "page");
  json_builder_add_int_value (builder, page);
  json_builder_set_member_name (builder, "page_size");
  json_builder_add_int_value (builder, n);
  json_builder_set_member_name (builder, "results");
  json_builder_begin_array (builder);
  for (guint i = 0; i < results->len; i++)
    {
      RegistrySearchResult *r = results->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, r->name);
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, r->description);
      json_builder_set_member_name (builder, "star_count");
      json_builder_add_int_value (builder, r->stars);
      json_builder_set_member_name (builder, "pull_count");
      json_builder_add_int_value (builder, r->pulls);
      json_builder_set_member_name (builder, "is_official");
      json_builder_add_boolean_value (builder, g_str_has_prefix (r->name, "library/"));
      json_builder_set_member_name (builder, "is_automated");
      json_builder_add_boolean_value (builder, FALSE);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  registry_respond (req, MHD_HTTP_OK,
                    registry_response_take (body, strlen (body), "application/json"));
}

void
registry_search_begin (RegistryRequest *req)
{
  if (!registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET");
      return;
    }
  if (req->route.kind == ROUTE_V1_PING)
    {
      struct MHD_Response *response
        = registry_response_take (g_strdup ("true"), 4, "application/json");
      MHD_add_response_header (response, "X-Docker-Registry-Standalone", "true");
      registry_respond (req, MHD_HTTP_OK, response);
      return;
    }
  /* Searching needs read access to the registry. */
  if (!req->registry->settings->anonymous_pull
      && !registry_auth_request (req, REGISTRY_ACCESS_PULL))
    return;
  search (req);
}
