/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "registry-request.h"

void
registry_route_clear (RegistryRoute *route)
{
  g_clear_pointer (&route->name, g_free);
  g_clear_pointer (&route->ref, g_free);
  route->kind = ROUTE_NONE;
}

static void
set (RegistryRoute *route, RegistryRouteKind kind, const char *name, gsize name_len,
     const char *ref)
{
  route->kind = kind;
  route->name = g_strndup (name, name_len);
  route->ref = g_strdup (ref);
}

/* Whether @path ends with "/<keyword>/<last segment>": then *name_len is the
 * length of what precedes and *ref the last segment. */
static gboolean
ends_with_keyword (const char *path, const char *keyword, gsize *name_len, const char **ref)
{
  const char *last = strrchr (path, '/');
  gsize klen = strlen (keyword);

  if (last == NULL || (gsize)(last - path) < klen + 1)
    return FALSE;
  if (strncmp (last - klen, keyword, klen) != 0 || last[-(gssize)klen - 1] != '/')
    return FALSE;
  *name_len = last - klen - 1 - path;
  *ref = last + 1;
  return *name_len > 0;
}

void
registry_route_parse (const char *path, RegistryRoute *route)
{
  gsize name_len;
  const char *ref;
  const char *rest;

  memset (route, 0, sizeof *route);
  if (strcmp (path, "/v2/") == 0 || strcmp (path, "/v2") == 0)
    route->kind = ROUTE_BASE;
  else if (strcmp (path, "/v2/_catalog") == 0)
    route->kind = ROUTE_CATALOG;
  else if (strcmp (path, "/token") == 0 || strcmp (path, "/v2/token") == 0)
    route->kind = ROUTE_TOKEN;
  else if (strcmp (path, "/v1/_ping") == 0)
    route->kind = ROUTE_V1_PING;
  else if (strcmp (path, "/v1/search") == 0)
    route->kind = ROUTE_V1_SEARCH;
  else if (g_str_has_prefix (path, "/v2/"))
    {
      rest = path + 4;
      if (g_str_has_suffix (rest, "/tags/list") && strlen (rest) > 10)
        set (route, ROUTE_TAGS, rest, strlen (rest) - 10, NULL);
      else if (ends_with_keyword (rest, "blobs/uploads", &name_len, &ref))
        set (route, *ref ? ROUTE_UPLOAD : ROUTE_UPLOAD_START, rest, name_len, ref);
      else if (g_str_has_suffix (rest, "/blobs/uploads") && strlen (rest) > 14)
        set (route, ROUTE_UPLOAD_START, rest, strlen (rest) - 14, NULL);
      else if (ends_with_keyword (rest, "blobs", &name_len, &ref))
        set (route, ROUTE_BLOB, rest, name_len, ref);
      else if (ends_with_keyword (rest, "manifests", &name_len, &ref))
        set (route, ROUTE_MANIFEST, rest, name_len, ref);
      else if (ends_with_keyword (rest, "referrers", &name_len, &ref))
        set (route, ROUTE_REFERRERS, rest, name_len, ref);
    }
  else if (g_str_has_prefix (path, "/v1/repositories/"))
    {
      rest = path + strlen ("/v1/repositories/");
      if (g_str_has_suffix (rest, "/description") && strlen (rest) > 12)
        set (route, ROUTE_V1_DESCRIPTION, rest, strlen (rest) - 12, NULL);
      else if (g_str_has_suffix (rest, "/star") && strlen (rest) > 5)
        set (route, ROUTE_V1_STAR, rest, strlen (rest) - 5, NULL);
    }
}
