/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /v2/NAME/referrers/DIGEST: an image index of the manifests in NAME
 * whose subject is DIGEST, optionally only those of one artifactType. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "berth-image-config.h"
#include "berth-manifest.h"
#include "registry-request.h"

void
registry_referrers_begin (RegistryRequest *req)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) referrers = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  const char *artifact_type = registry_request_arg (req, "artifactType");
  struct MHD_Response *response;
  char *body;

  if (!registry_request_is (req, "GET") && !registry_request_is (req, "HEAD"))
    {
      registry_respond_method_not_allowed (req, "GET");
      return;
    }
  if (!berth_digest_validate (req->route.ref, NULL, &error))
    {
      registry_respond_error (req, MHD_HTTP_BAD_REQUEST, "DIGEST_INVALID", "%s", error->message);
      return;
    }
  if (artifact_type && *artifact_type == '\0')
    artifact_type = NULL;
  referrers
    = registry_db_referrers (req->registry->db, req->route.name, req->route.ref, artifact_type);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "schemaVersion");
  json_builder_add_int_value (builder, 2);
  json_builder_set_member_name (builder, "mediaType");
  json_builder_add_string_value (builder, BERTH_MEDIA_OCI_INDEX);
  json_builder_set_member_name (builder, "manifests");
  json_builder_begin_array (builder);
  for (guint i = 0; i < referrers->len; i++)
    {
      RegistryReferrer *r = referrers->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "mediaType");
      json_builder_add_string_value (builder, r->media_type);
      json_builder_set_member_name (builder, "digest");
      json_builder_add_string_value (builder, r->digest);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, r->size);
      if (r->artifact_type)
        {
          json_builder_set_member_name (builder, "artifactType");
          json_builder_add_string_value (builder, r->artifact_type);
        }
      if (r->annotations)
        {
          JsonNode *node = json_from_string (r->annotations, NULL);
          if (node)
            {
              json_builder_set_member_name (builder, "annotations");
              json_builder_add_value (builder, node);
            }
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  response = registry_response_take (body, strlen (body), BERTH_MEDIA_OCI_INDEX);
  if (artifact_type)
    MHD_add_response_header (response, "OCI-Filters-Applied", "artifactType");
  registry_respond (req, MHD_HTTP_OK, response);
}
