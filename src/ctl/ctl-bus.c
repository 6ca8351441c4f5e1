/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"
#include "ctl.h"

#define CALL_TIMEOUT_MS (5 * 60 * 1000)

static void
print_unreachable (BerthCtl *ctl, const char *reason)
{
  if (ctl->bus_address)
    g_printerr ("berthctl: cannot reach berthd on %s: %s\n", ctl->bus_address, reason);
  else
    g_printerr ("berthctl: cannot reach berthd on the system bus: %s (start it with: "
                "systemctl start berthd)\n",
                reason);
}

GDBusConnection *
ctl_bus (BerthCtl *ctl)
{
  g_autoptr (GError) error = NULL;

  if (ctl->bus)
    return ctl->bus;

  if (ctl->bus_address)
    ctl->bus
      = g_dbus_connection_new_for_address_sync (ctl->bus_address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                  | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  else
    ctl->bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);

  if (ctl->bus == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      print_unreachable (ctl, error->message);
      return NULL;
    }
  return ctl->bus;
}

void
ctl_print_call_error (BerthCtl *ctl, GError *error)
{
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED)
      || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      g_autofree char *reason = NULL;

      g_dbus_error_strip_remote_error (error);
      reason = g_strdup (error->message);
      print_unreachable (ctl, reason);
      return;
    }

  g_dbus_error_strip_remote_error (error);
  g_printerr ("berthctl: %s\n", error->message);
}

GVariant *
ctl_call_manager (BerthCtl *ctl, const char *method, GVariant *args, const GVariantType *reply_type)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = ctl_bus (ctl);
  GVariant *reply;

  /* Make sure the error domain is registered so errors come back as BERTH_ERROR. */
  (void)BERTH_ERROR;

  if (bus == NULL)
    {
      if (args)
        g_variant_unref (g_variant_ref_sink (args));
      return NULL;
    }

  reply = g_dbus_connection_call_sync (bus, BERTH_BUS_NAME, BERTH_MANAGER_PATH,
                                       "org.berth.berth1.Manager", method, args, reply_type,
                                       G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, &error);
  if (reply == NULL)
    ctl_print_call_error (ctl, error);
  return reply;
}

GVariant *
ctl_call_object (BerthCtl *ctl, const char *path, const char *iface, const char *method,
                 GVariant *args, GUnixFDList *fd_list, const GVariantType *reply_type)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = ctl_bus (ctl);
  GVariant *reply;

  (void)BERTH_ERROR;
  if (bus == NULL)
    {
      if (args)
        g_variant_unref (g_variant_ref_sink (args));
      return NULL;
    }
  reply = g_dbus_connection_call_with_unix_fd_list_sync (bus, BERTH_BUS_NAME, path, iface, method,
                                                         args, reply_type, G_DBUS_CALL_FLAGS_NONE,
                                                         G_MAXINT, fd_list, NULL, NULL, &error);
  if (reply == NULL)
    ctl_print_call_error (ctl, error);
  return reply;
}

void
ctl_cancel (BerthCtl *ctl, const char *path, const char *interface)
{
  /* Not waited for: the object's end (a signal) says how it went. */
  g_dbus_connection_call (ctl->bus, BERTH_BUS_NAME, path, interface, "Cancel", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

GVariant *
ctl_call_manager_with_fds (BerthCtl *ctl, const char *method, GVariant *args, GUnixFDList *fd_list,
                           const GVariantType *reply_type)
{
  return ctl_call_object (ctl, BERTH_MANAGER_PATH, "org.berth.berth1.Manager", method, args,
                          fd_list, reply_type);
}

char *
ctl_container_path (BerthCtl *ctl, const char *name)
{
  g_autoptr (GVariant) reply
    = ctl_call_manager (ctl, "GetContainer", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(o)"));
  char *path = NULL;

  if (reply)
    g_variant_get (reply, "(o)", &path);
  return path;
}
