/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* -v and --volumes-from arguments, and the container paths of an image's
 * VOLUME entries (which come from images, so are untrusted). */
#include "config.h"

#include <string.h>

#include "berth-volume.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *)data, size);
  g_autoptr (BerthVolumeSpec) spec = berth_volume_spec_parse (text, NULL);
  g_autofree char *destination = berth_volume_normalize_destination (text, NULL);
  g_autofree char *container = NULL;
  gboolean has_mode, read_only = FALSE;

  if (spec)
    {
      g_autofree char *again = berth_volume_normalize_destination (spec->destination, NULL);
      g_auto (GStrv) parts = g_strsplit (spec->destination, "/", -1);

      /* A parsed path is canonical: absolute, no empty, "." or ".." component. */
      g_assert_cmpstr (again, ==, spec->destination);
      g_assert_cmpstr (parts[0], ==, "");
      for (guint i = 1; parts[i]; i++)
        g_assert_true (*parts[i] && strcmp (parts[i], ".") != 0 && strcmp (parts[i], "..") != 0);
      if (spec->kind == BERTH_VOLUME_SPEC_NAMED)
        g_assert_true (berth_volume_name_validate (spec->source, NULL));
      g_assert_true (berth_volume_spec_is_bind (text) == (spec->kind == BERTH_VOLUME_SPEC_BIND));
    }
  if (destination)
    g_assert_true (destination[0] == '/' && strcmp (destination, "/") != 0);
  if (berth_volume_from_parse (text, &container, &has_mode, &read_only, NULL))
    g_assert_true (*container != '\0');
  berth_volume_name_validate (text, NULL);
  return 0;
}
