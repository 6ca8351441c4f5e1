/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* n= and last= for tag lists and the catalog, and the Link header that
 * points at the next page. */
#include "config.h"

#include <string.h>

#include "registry-request.h"

gboolean
registry_pagination_parse (RegistryRequest *req, guint fallback, guint max, guint *out_n,
                           const char **out_last)
{
  const char *n = registry_request_arg (req, "n");
  char *end = NULL;
  guint64 value;

  *out_last = registry_request_arg (req, "last");
  if (*out_last && **out_last == '\0')
    *out_last = NULL;
  if (n == NULL || *n == '\0')
    {
      *out_n = fallback;
      return TRUE;
    }
  value = g_ascii_strtoull (n, &end, 10);
  if (end == n || *end != '\0' || *n == '-' || value > max)
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "PAGINATION_NUMBER_INVALID",
                              "invalid n=%s: use a number from 0 to %u", n, max);
      return FALSE;
    }
  *out_n = value;
  return TRUE;
}

void
registry_pagination_link (struct MHD_Response *response, const char *path, guint n,
                          const char *last)
{
  g_autofree char *escaped = g_uri_escape_string (last, "/", FALSE);
  g_autofree char *link = g_strdup_printf ("<%s?n=%u&last=%s>; rel=\"next\"", path, n, escaped);

  MHD_add_response_header (response, "Link", link);
}
