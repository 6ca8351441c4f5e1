/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-id.h"

static void
test_random (void)
{
  g_autofree char *a = berth_random_id ();
  g_autofree char *b = berth_random_id ();

  g_assert_true (berth_id_is_valid (a));
  g_assert_true (berth_id_is_valid (b));
  g_assert_cmpstr (a, !=, b);
}

static void
test_valid (void)
{
  g_autofree char *upper
    = g_ascii_strup ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", -1);

  g_assert_true (
    berth_id_is_valid ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  g_assert_false (berth_id_is_valid (upper));
  g_assert_false (berth_id_is_valid ("0123456789abcdef"));
  g_assert_false (
    berth_id_is_valid ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefa"));
  g_assert_false (
    berth_id_is_valid ("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  g_assert_false (berth_id_is_valid (""));
  g_assert_false (berth_id_is_valid (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/id/random", test_random);
  g_test_add_func ("/id/valid", test_valid);
  return g_test_run ();
}
