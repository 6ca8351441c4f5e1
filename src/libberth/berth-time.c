/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-time.h"
#include "berth-error.h"

#include <string.h>

/* "1h30m", "10s", "250ms", "1.5h": a sum of numbers with units. */
static gboolean
parse_duration (const char *text, gint64 *out)
{
  const char *p = text;
  gint64 total = 0;

  if (*p == '\0')
    return FALSE;
  while (*p)
    {
      char *end;
      double n = g_ascii_strtod (p, &end);
      gint64 unit;

      if (end == p || n < 0)
        return FALSE;
      p = end;
      if (g_str_has_prefix (p, "ms"))
        unit = 1000, p += 2;
      else if (g_str_has_prefix (p, "us"))
        unit = 1, p += 2;
      else if (*p == 's')
        unit = G_USEC_PER_SEC, p++;
      else if (*p == 'm')
        unit = G_GINT64_CONSTANT (60) * G_USEC_PER_SEC, p++;
      else if (*p == 'h')
        unit = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, p++;
      else
        return FALSE;
      if (n * (double)unit > (double)G_MAXINT64 / 2)
        return FALSE;
      total += (gint64)(n * (double)unit);
    }
  *out = total;
  return TRUE;
}

static gboolean
parse_unix (const char *text, gint64 *out)
{
  g_auto (GStrv) parts = g_strsplit (text, ".", 2);
  guint64 sec, frac = 0;
  gsize digits;

  if (parts[0] == NULL
      || !g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT64 / G_USEC_PER_SEC, &sec, NULL))
    return FALSE;
  if (parts[1])
    {
      char micro[7] = "000000";

      digits = strlen (parts[1]);
      if (digits == 0 || digits > 9 || strspn (parts[1], "0123456789") != digits)
        return FALSE;
      memcpy (micro, parts[1], MIN (digits, 6));
      frac = g_ascii_strtoull (micro, NULL, 10);
    }
  *out = (gint64)sec * G_USEC_PER_SEC + (gint64)frac;
  return TRUE;
}

gboolean
berth_time_parse (const char *text, gint64 now, gint64 *out, GError **error)
{
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  g_autoptr (GDateTime) dt = NULL;
  gint64 d;

  if (text && parse_duration (text, &d))
    {
      *out = now - d;
      return TRUE;
    }
  if (text && parse_unix (text, out))
    return TRUE;
  if (text && strlen (text) == 10 && text[4] == '-' && text[7] == '-')
    {
      g_autofree char *full = g_strconcat (text, "T00:00:00", NULL);
      dt = g_date_time_new_from_iso8601 (full, local);
    }
  else if (text && strchr (text, 'T'))
    dt = g_date_time_new_from_iso8601 (text, local);
  if (dt == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "cannot read \"%s\" as a time: give RFC 3339 (2026-11-23T18:00:00Z), a "
                   "date (2026-11-23), Unix seconds, or a duration before now (10m, 1h30m)",
                   text ? text : "");
      return FALSE;
    }
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

char *
berth_time_format (gint64 usec)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
  g_autofree char *base = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : NULL;

  return g_strdup_printf ("%s.%06" G_GINT64_FORMAT "000Z", base ? base : "0000-00-00T00:00:00",
                          usec % G_USEC_PER_SEC);
}
