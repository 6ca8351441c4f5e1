/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-oci-manifest.h"
#include "fuzz-driver.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (BerthManifest) manifest = berth_manifest_parse ((const char *)data, size, NULL, NULL);
  g_autofree char *label
    = berth_image_config_get_label ((const char *)data, size, BERTH_ANNOTATION_DESCRIPTION);

  if (manifest)
    {
      berth_manifest_get_annotation (manifest, BERTH_ANNOTATION_DESCRIPTION);
      berth_manifest_get_artifact_type (manifest);
    }
  return 0;
}
