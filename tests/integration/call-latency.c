/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* call-latency ADDRESS COUNT INTERVAL_MS: calls Manager.GetInfo COUNT times
 * over one connection, INTERVAL_MS apart, and prints each round trip in
 * milliseconds, one per line. Measures berthd's main loop, not the cost of
 * starting a client process for every call. */
#include "config.h"

#include <gio/gio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  int count, interval_ms;

  if (argc != 4)
    {
      g_printerr ("usage: call-latency ADDRESS COUNT INTERVAL_MS\n");
      return 2;
    }
  count = atoi (argv[2]);
  interval_ms = atoi (argv[3]);
  bus = g_dbus_connection_new_for_address_sync (argv[1],
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                  | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("call-latency: %s\n", error->message);
      return 1;
    }

  for (int i = 0; i < count; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
        bus, "org.berth.berth1", "/org/berth/berth1", "org.berth.berth1.Manager", "GetInfo", NULL,
        G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);

      if (reply == NULL)
        {
          g_printerr ("call-latency: %s\n", error->message);
          return 1;
        }
      g_print ("%.1f\n", (g_get_monotonic_time () - start) / 1000.0);
      g_usleep (interval_ms * 1000);
    }
  return 0;
}
