/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <signal.h>

#include "berth-signal.h"

static void
test_names (void)
{
  g_assert_cmpint (berth_signal_parse ("TERM"), ==, SIGTERM);
  g_assert_cmpint (berth_signal_parse ("SIGTERM"), ==, SIGTERM);
  g_assert_cmpint (berth_signal_parse ("sigkill"), ==, SIGKILL);
  g_assert_cmpint (berth_signal_parse ("hup"), ==, SIGHUP);
  g_assert_cmpint (berth_signal_parse ("9"), ==, 9);
  g_assert_cmpint (berth_signal_parse ("RTMIN"), ==, SIGRTMIN);
  g_assert_cmpint (berth_signal_parse ("SIGRTMIN+3"), ==, SIGRTMIN + 3);
  g_assert_cmpint (berth_signal_parse ("RTMAX-1"), ==, SIGRTMAX - 1);
}

static void
test_bad (void)
{
  const char *bad[] = { "", "0", "FROB", "SIG", "999", "-9", "TERM ", "RTMIN+99", "RTMAXX" };

  g_assert_cmpint (berth_signal_parse (NULL), ==, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    if (berth_signal_parse (bad[i]) != -1)
      g_error ("\"%s\" parsed as a signal", bad[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/signal/names", test_names);
  g_test_add_func ("/signal/bad", test_bad);
  return g_test_run ();
}
