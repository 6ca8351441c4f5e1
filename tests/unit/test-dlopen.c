/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-dlopen.h"
#include "berth-error.h"

#include <string.h>

static void
test_loads (void)
{
  g_autoptr (GError) error = NULL;
  void *init = NULL;
  const BerthDlsym symbols[] = { { "curl_easy_init", &init } };

  g_assert_true (berth_dlopen_symbols ("libcurl.so.4", "libcurl4", symbols, 1, &error));
  g_assert_no_error (error);
  g_assert_nonnull (init);
}

/* A missing library or symbol is a message naming it and the package. */
static void
test_missing (void)
{
  g_autoptr (GError) error = NULL;
  void *slot = NULL;
  const BerthDlsym missing[] = { { "no_such_symbol_in_berth", &slot } };

  g_assert_false (berth_dlopen_symbols ("libnosuch-berth.so.9", "nosuch", missing, 1, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "libnosuch-berth.so.9"));
  g_assert_nonnull (strstr (error->message, "install nosuch"));
  g_clear_error (&error);
  g_assert_false (berth_dlopen_symbols ("libcurl.so.4", "libcurl4", missing, 1, &error));
  g_assert_nonnull (strstr (error->message, "has no no_such_symbol_in_berth"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dlopen/loads", test_loads);
  g_test_add_func ("/dlopen/missing", test_missing);
  return g_test_run ();
}
