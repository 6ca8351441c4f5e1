/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /v2/: the version check. Clients learn here how to authenticate, so
 * a request without credentials gets the challenge (anonymous clients then
 * fetch an anonymous token, as with other registries). */
#include "config.h"

#include <string.h>

#include "registry-request.h"

void
registry_base_begin (RegistryRequest *req)
{
  const char *header = registry_request_header (req, "Authorization");

  if (!registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET, HEAD");
      return;
    }
  if (header == NULL)
    {
      registry_respond_unauthorized (req, NULL);
      return;
    }
  if (!registry_auth_request (req, REGISTRY_ACCESS_PULL))
    return;
  registry_respond (req, MHD_HTTP_OK,
                    registry_response_take (g_strdup ("{}"), 2, "application/json"));
}
