/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>

#include "berth-error.h"
#include "berth-time.h"

#define NOW G_GINT64_CONSTANT (1795000000000000) /* 2026-11-18T11:06:40Z */

static gint64
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  gint64 t = -1;

  if (!berth_time_parse (text, NOW, &t, &error))
    g_error ("\"%s\": %s", text, error->message);
  return t;
}

static void
test_forms (void)
{
  g_assert_cmpint (parse_ok ("10s"), ==, NOW - 10 * G_USEC_PER_SEC);
  g_assert_cmpint (parse_ok ("1h30m"), ==, NOW - G_GINT64_CONSTANT (5400) * G_USEC_PER_SEC);
  g_assert_cmpint (parse_ok ("250ms"), ==, NOW - 250000);
  g_assert_cmpint (parse_ok ("1.5h"), ==, NOW - G_GINT64_CONSTANT (5400) * G_USEC_PER_SEC);
  g_assert_cmpint (parse_ok ("1795000000"), ==, NOW);
  g_assert_cmpint (parse_ok ("1795000000.25"), ==, NOW + 250000);
  g_assert_cmpint (parse_ok ("1795000000.123456789"), ==, NOW + 123456);
  g_assert_cmpint (parse_ok ("2026-11-18T11:06:40Z"), ==, NOW);
  g_assert_cmpint (parse_ok ("2026-11-18T11:06:40.5Z"), ==, NOW + 500000);
  g_assert_cmpint (parse_ok ("2026-11-18T12:06:40+01:00"), ==, NOW);
}

static void
test_local (void)
{
  /* Without a zone: local time. */
  g_setenv ("TZ", "UTC", TRUE);
  g_assert_cmpint (parse_ok ("2026-11-18T11:06:40"), ==, NOW);
  g_assert_cmpint (parse_ok ("2026-11-18"), ==,
                   NOW - G_GINT64_CONSTANT (11 * 3600 + 6 * 60 + 40) * G_USEC_PER_SEC);
}

static void
test_bad (void)
{
  const char *bad[] = { "", "yesterday", "10", "10x", "-5m", "2026-13-45", "1.2.3", "12:00" };

  /* "10" is Unix seconds; drop it from the bad list. */
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      gint64 t;

      if (g_str_equal (bad[i], "10"))
        continue;
      if (berth_time_parse (bad[i], NOW, &t, &error))
        g_error ("\"%s\" parsed as %" G_GINT64_FORMAT, bad[i], t);
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "RFC 3339"));
    }
}

static void
test_format (void)
{
  g_autofree char *a = berth_time_format (NOW + 123456);
  g_autofree char *b = berth_time_format (NOW);

  g_assert_cmpstr (a, ==, "2026-11-18T11:06:40.123456000Z");
  g_assert_cmpstr (b, ==, "2026-11-18T11:06:40.000000000Z");
  g_assert_cmpint (parse_ok (a), ==, NOW + 123456);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/time/forms", test_forms);
  g_test_add_func ("/time/local", test_local);
  g_test_add_func ("/time/bad", test_bad);
  g_test_add_func ("/time/format", test_format);
  return g_test_run ();
}
