/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-oci-name.h"
#include "fuzz-driver.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autofree char *tag = NULL;

  berth_oci_name_validate (text, NULL);
  berth_oci_tag_validate (text, NULL);
  tag = berth_oci_referrers_tag (text);
  if (tag)
    berth_oci_tag_validate (tag, NULL);
  return 0;
}
