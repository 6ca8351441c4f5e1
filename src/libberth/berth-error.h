/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One error domain for all of berth. Each code maps to a D-Bus error name
 * org.berth.berth1.Error.<Name> so that clients can react to it. */
#define BERTH_ERROR (berth_error_quark ())

typedef enum
{
  BERTH_ERROR_FAILED,            /* org.berth.berth1.Error.Failed */
  BERTH_ERROR_INVALID_ARGUMENT,  /* .InvalidArgument */
  BERTH_ERROR_NO_SUCH_CONTAINER, /* .NoSuchContainer */
  BERTH_ERROR_NO_SUCH_IMAGE,     /* .NoSuchImage */
  BERTH_ERROR_NO_SUCH_VOLUME,    /* .NoSuchVolume */
  BERTH_ERROR_NO_SUCH_TRANSFER,  /* .NoSuchTransfer */
  BERTH_ERROR_NAME_IN_USE,       /* .NameInUse */
  BERTH_ERROR_IN_USE,            /* .InUse */
  BERTH_ERROR_DIGEST_MISMATCH,   /* .DigestMismatch */
  BERTH_ERROR_NOT_PERMITTED,     /* .NotPermitted */
  BERTH_ERROR_INVALID_STATE,     /* .InvalidState */
  BERTH_ERROR_INVALID_ARCHIVE,   /* .InvalidArchive */
  BERTH_ERROR_LIMIT_EXCEEDED,    /* .LimitExceeded */
  BERTH_ERROR_NOT_SUPPORTED,     /* .NotSupported */
  BERTH_ERROR_CANCELLED,         /* .Cancelled */
  BERTH_ERROR_CONFIG,            /* .Config */
  BERTH_ERROR_BUSY,              /* .Busy */
  BERTH_ERROR_NETWORK,           /* .Network */
  BERTH_ERROR_AUTH,              /* .AuthenticationFailed */
} BerthError;

#define BERTH_ERROR_N_CODES (BERTH_ERROR_AUTH + 1)

GQuark berth_error_quark (void);

/* The D-Bus error name for @code, e.g. "org.berth.berth1.Error.NoSuchImage". */
const char *berth_error_dbus_name (BerthError code);

/* Sets @error from errno, prefixed with a printf-style message:
 * "<message>: <strerror>". Always returns FALSE. */
gboolean berth_error_set_errno (GError **error, int errsv, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

G_END_DECLS
