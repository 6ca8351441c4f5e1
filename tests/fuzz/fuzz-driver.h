/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Without libFuzzer (-Dfuzz... or gcc), each fuzz target is a program that
 * runs the files named on its command line, and every prefix of each, through
 * the target: the seed corpus then runs as a TAP test under the sanitizers. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#ifndef BERTH_LIBFUZZER
int
main (int argc, char **argv)
{
  int n = 0;

  for (int i = 1; i < argc; i++)
    {
      g_autofree char *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (argv[i], &data, &len, NULL))
        {
          printf ("not ok %d - cannot read %s\n", ++n, argv[i]);
          continue;
        }
      for (gsize cut = 0; cut <= len; cut++)
        {
          /* A copy of exactly @cut bytes, so that ASan sees reads past it. */
          uint8_t *copy = malloc (cut ? cut : 1);

          memcpy (copy, data, cut);
          LLVMFuzzerTestOneInput (copy, cut);
          free (copy);
        }
      printf ("ok %d - %s and its %zu prefixes\n", ++n, argv[i], len);
    }
  printf ("1..%d\n", n);
  return 0;
}
#endif
