/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target without libFuzzer: every file given (or every file in
 * every directory given) as is, then a fixed set of mutations of each
 * (flipped bytes, truncations, duplications), so the test suite exercises
 * the parser on malformed input with the sanitizers on. Deterministic. */
#include "config.h"

#include <glib.h>
#include <stdio.h>

#include "fuzz.h"

#define MUTATIONS 200

static void
run_mutations (const guint8 *data, gsize len, GRand *rand)
{
  g_autofree guint8 *buf = g_malloc (len + 64 + 16);

  for (int m = 0; m < MUTATIONS; m++)
    {
      gsize n = len;

      memcpy (buf, data, len);
      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0: /* flip a few bytes */
          for (int i = 0; len && i < 1 + g_rand_int_range (rand, 0, 4); i++)
            buf[g_rand_int_range (rand, 0, len)] ^= 1 << g_rand_int_range (rand, 0, 8);
          break;
        case 1: /* truncate */
          n = len ? g_rand_int_range (rand, 0, len) : 0;
          break;
        case 2: /* set a byte to an interesting value */
          if (len)
            buf[g_rand_int_range (rand, 0, len)] = (guint8[]){
              0, 0xff, '/', '.', '"', '\\', '[', '{', '0', '9'
            }[g_rand_int_range (rand, 0, 10)];
          break;
        default: /* duplicate a slice */
          if (len > 1)
            {
              gsize from = g_rand_int_range (rand, 0, len);
              gsize k = MIN (len - from, (gsize)g_rand_int_range (rand, 1, 64));

              memmove (buf + from + k, buf + from, len - from);
              n = len + k;
            }
          break;
        }
      LLVMFuzzerTestOneInput (buf, n);
    }
}

static int
run_file (const char *path, GRand *rand)
{
  g_autofree char *data = NULL;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, NULL))
    {
      fprintf (stderr, "cannot read %s\n", path);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const guint8 *)data, len);
  run_mutations ((const guint8 *)data, len, rand);
  printf ("ok - %s (and %d mutations)\n", path, MUTATIONS);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261123);
  int failed = 0, n = 0;

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
          g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
          const char *name;

          while (dir && (name = g_dir_read_name (dir)))
            g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
          g_ptr_array_sort (names, (GCompareFunc)g_strcmp0);
          for (guint j = 0; j < names->len; j++, n++)
            failed |= run_file (g_ptr_array_index (names, j), rand);
        }
      else
        {
          failed |= run_file (argv[i], rand);
          n++;
        }
    }
  printf ("1..%d\n", n);
  return failed;
}
