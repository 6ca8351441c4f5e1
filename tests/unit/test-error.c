/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>

#include "berth-error.h"

/* A BerthError crosses D-Bus by name, and comes back as the same code. */
static void
test_dbus_round_trip (void)
{
  g_autoptr (GError) error
    = g_error_new (BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE, "no image \"busybox\"");
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_autoptr (GError) back = g_dbus_error_new_for_dbus_error (name, "no image \"busybox\"");

  g_assert_cmpstr (name, ==, "org.berth.berth1.Error.NoSuchImage");
  g_assert_error (back, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE);
  g_assert_cmpstr (berth_error_dbus_name (BERTH_ERROR_DIGEST_MISMATCH), ==,
                   "org.berth.berth1.Error.DigestMismatch");
  g_assert_cmpstr (berth_error_dbus_name ((BerthError)9999), ==, "org.berth.berth1.Error.Failed");
}

static void
test_every_code_has_a_name (void)
{
  for (int code = 0; code < BERTH_ERROR_N_CODES; code++)
    {
      const char *name = berth_error_dbus_name (code);

      g_assert_true (g_str_has_prefix (name, "org.berth.berth1.Error."));
      g_assert_true (g_dbus_is_interface_name (name));
    }
}

static void
test_set_errno (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (berth_error_set_errno (&error, ENOENT, "cannot open %s", "/nope"));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "cannot open /nope: "));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/dbus-round-trip", test_dbus_round_trip);
  g_test_add_func ("/error/every-code-has-a-name", test_every_code_has_a_name);
  g_test_add_func ("/error/set-errno", test_set_errno);
  return g_test_run ();
}
