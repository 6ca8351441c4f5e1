/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-reference.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autoptr (BerthReference) ref = berth_reference_parse (text, NULL);

  if (ref)
    {
      g_autofree char *again = berth_reference_to_string (ref);
      g_autoptr (BerthReference) reparsed = NULL;
      g_autofree char *familiar = NULL;

      /* What parses prints back to itself and parses again. */
      g_assert_cmpstr (again, ==, text);
      berth_reference_normalize (ref);
      familiar = berth_reference_familiar (ref);
      reparsed = berth_reference_parse (familiar, NULL);
      g_assert_nonnull (reparsed);
    }
  berth_reference_validate_repository (text, NULL);
  berth_reference_validate_tag (text, NULL);
  return 0;
}
