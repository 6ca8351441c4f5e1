/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File descriptors that come with a method call (import, load, save,
 * export): the handle argument names one in the call's GUnixFDList. */
#include "config.h"

#include <gio/gunixfdlist.h>

#include "berth-error.h"
#include "daemon.h"

int
berth_daemon_take_fd (GUnixFDList *fd_list, GVariant *handle, const char *what, GError **error)
{
  int index = g_variant_get_handle (handle);

  if (fd_list == NULL || index < 0 || index >= g_unix_fd_list_get_length (fd_list))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "no file descriptor was passed for %s", what);
      return -1;
    }
  return g_unix_fd_list_get (fd_list, index, error);
}
