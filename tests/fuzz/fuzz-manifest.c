/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manifests, indexes and image configs: the JSON an image brings along. */
#include "config.h"

#include "berth-image-config.h"
#include "berth-manifest.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (BerthManifest) manifest = berth_manifest_parse ((const char *)data, size, NULL);
  g_autoptr (BerthImageConfig) config = berth_image_config_parse ((const char *)data, size, NULL);
  g_autoptr (BerthManifest) any = berth_manifest_parse_any ((const char *)data, size, NULL, NULL);
  g_autofree char *label = berth_image_config_get_label ((const char *)data, size, "a");

  if (any)
    {
      g_autofree char *annotations = berth_manifest_annotations_to_json (any);

      berth_manifest_get_artifact_type (any);
    }

  if (manifest)
    {
      gsize len;
      g_autofree char *json = berth_manifest_to_json (manifest, &len);
      g_autoptr (BerthManifest) again = berth_manifest_parse (json, len, NULL);

      /* What berth writes, berth reads. */
      g_assert_nonnull (again);
      if (manifest->kind == BERTH_MANIFEST_INDEX)
        berth_manifest_find_platform (manifest, "linux", "amd64", NULL);
    }
  if (config)
    {
      g_auto (GStrv) chain = berth_chain_ids ((const char *const *)config->diff_ids);

      g_assert_cmpuint (g_strv_length (chain), ==, g_strv_length (config->diff_ids));
    }
  return 0;
}
