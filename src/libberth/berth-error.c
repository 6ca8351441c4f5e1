/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"

#include <gio/gio.h>
#include <string.h>

static const GDBusErrorEntry berth_error_entries[] = {
  { BERTH_ERROR_FAILED, "org.berth.berth1.Error.Failed" },
  { BERTH_ERROR_INVALID_ARGUMENT, "org.berth.berth1.Error.InvalidArgument" },
  { BERTH_ERROR_NO_SUCH_CONTAINER, "org.berth.berth1.Error.NoSuchContainer" },
  { BERTH_ERROR_NO_SUCH_IMAGE, "org.berth.berth1.Error.NoSuchImage" },
  { BERTH_ERROR_NO_SUCH_VOLUME, "org.berth.berth1.Error.NoSuchVolume" },
  { BERTH_ERROR_NO_SUCH_TRANSFER, "org.berth.berth1.Error.NoSuchTransfer" },
  { BERTH_ERROR_NAME_IN_USE, "org.berth.berth1.Error.NameInUse" },
  { BERTH_ERROR_IN_USE, "org.berth.berth1.Error.InUse" },
  { BERTH_ERROR_DIGEST_MISMATCH, "org.berth.berth1.Error.DigestMismatch" },
  { BERTH_ERROR_NOT_PERMITTED, "org.berth.berth1.Error.NotPermitted" },
  { BERTH_ERROR_INVALID_STATE, "org.berth.berth1.Error.InvalidState" },
  { BERTH_ERROR_INVALID_ARCHIVE, "org.berth.berth1.Error.InvalidArchive" },
  { BERTH_ERROR_LIMIT_EXCEEDED, "org.berth.berth1.Error.LimitExceeded" },
  { BERTH_ERROR_NOT_SUPPORTED, "org.berth.berth1.Error.NotSupported" },
  { BERTH_ERROR_CANCELLED, "org.berth.berth1.Error.Cancelled" },
  { BERTH_ERROR_CONFIG, "org.berth.berth1.Error.Config" },
  { BERTH_ERROR_BUSY, "org.berth.berth1.Error.Busy" },
  { BERTH_ERROR_NETWORK, "org.berth.berth1.Error.Network" },
  { BERTH_ERROR_AUTH, "org.berth.berth1.Error.AuthenticationFailed" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (berth_error_entries) == BERTH_ERROR_N_CODES);

GQuark
berth_error_quark (void)
{
  static gsize quark = 0;

  /* Registering the domain makes GDBus send and receive these errors by name,
   * in the daemon and in every client alike. */
  g_dbus_error_register_error_domain ("berth-error-quark", &quark, berth_error_entries,
                                      G_N_ELEMENTS (berth_error_entries));
  return (GQuark)quark;
}

const char *
berth_error_dbus_name (BerthError code)
{
  if ((guint)code >= G_N_ELEMENTS (berth_error_entries))
    return berth_error_entries[BERTH_ERROR_FAILED].dbus_error_name;
  return berth_error_entries[code].dbus_error_name;
}

gboolean
berth_error_set_errno (GError **error, int errsv, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", message,
               g_strerror (errsv));
  return FALSE;
}
