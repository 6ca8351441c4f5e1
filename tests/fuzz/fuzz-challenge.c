/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WWW-Authenticate challenges come from any registry berth talks to. */
#include "config.h"

#include <string.h>

#include "berth-registry-client.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *)data, size);
  static const char *const params[] = { "realm", "service", "scope", "error", "" };

  for (gsize i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_autofree char *value = berth_registry_challenge_param (text, params[i]);

      /* A value is a piece of the challenge, never more. */
      if (value)
        g_assert_cmpuint (strlen (value), <=, strlen (text));
    }
  berth_registry_same_origin (text, "http://127.0.0.1:5000");
  return 0;
}
