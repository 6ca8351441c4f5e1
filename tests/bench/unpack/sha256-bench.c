/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-256 throughput: libcrypto (berth_hasher, which uses the CPU's SHA
 * extensions where there are some) against GLib's portable GChecksum.
 * Prints one line per implementation with the median of several runs. */
#include "config.h"

#include <glib.h>
#include <stdio.h>

#include "berth-digest.h"

#define SIZE (256 << 20)
#define CHUNK (256 << 10)
#define RUNS 5

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), (int (*) (const void *, const void *))compare_double);
  return v[n / 2];
}

int
main (int argc, char **argv)
{
  g_autofree guint8 *buf = g_malloc (CHUNK);
  double berth[RUNS], glib[RUNS];
  g_autofree char *d1 = NULL;
  g_autofree char *d2 = NULL;

  for (gsize i = 0; i < CHUNK; i++)
    buf[i] = (guint8)(i * 2654435761u >> 13);

  for (int r = 0; r < RUNS; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (BerthHasher) h = berth_hasher_new (BERTH_DIGEST_SHA256);
      g_autoptr (GChecksum) c = NULL;

      for (gsize done = 0; done < SIZE; done += CHUNK)
        berth_hasher_update (h, buf, CHUNK);
      g_free (d1);
      d1 = berth_hasher_finish (h);
      berth[r] = (g_get_monotonic_time () - t0) / 1e6;

      t0 = g_get_monotonic_time ();
      c = g_checksum_new (G_CHECKSUM_SHA256);
      for (gsize done = 0; done < SIZE; done += CHUNK)
        g_checksum_update (c, buf, CHUNK);
      g_free (d2);
      d2 = g_strconcat ("sha256:", g_checksum_get_string (c), NULL);
      glib[r] = (g_get_monotonic_time () - t0) / 1e6;
    }
  if (!g_str_equal (d1, d2))
    {
      fprintf (stderr, "digests differ: %s %s\n", d1, d2);
      return 1;
    }
  {
    double b = median (berth, RUNS), g = median (glib, RUNS);

    printf ("sha256 libcrypto (berth_hasher): %.0f MB/s (median of %d runs over %d MiB)\n",
            SIZE / 1e6 / b, RUNS, SIZE >> 20);
    printf ("sha256 GLib GChecksum:           %.0f MB/s\n", SIZE / 1e6 / g);
    printf ("libcrypto is %.1fx faster\n", g / b);
  }
  return 0;
}
