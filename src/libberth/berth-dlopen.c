/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-dlopen.h"

#include <dlfcn.h>

#include "berth-error.h"

gboolean
berth_dlopen_symbols (const char *soname, const char *package, const BerthDlsym *symbols,
                      gsize n_symbols, GError **error)
{
  void *dl = dlopen (soname, RTLD_NOW | RTLD_NODELETE);

  if (dl == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot load %s (install %s): %s",
                   soname, package, dlerror ());
      return FALSE;
    }
  for (gsize i = 0; i < n_symbols; i++)
    if ((*symbols[i].slot = dlsym (dl, symbols[i].name)) == NULL)
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s has no %s (install %s)", soname,
                     symbols[i].name, package);
        return FALSE;
      }
  return TRUE;
}
