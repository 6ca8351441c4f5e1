/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where save and export write their archive: a file that appears only once
 * it is complete (a temporary name beside it, fsynced, renamed), or standard
 * output when it is not a terminal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "ctl.h"

int
ctl_output_file_open (const char *verb, const char *output, const char *what, char **out_tmp)
{
  *out_tmp = NULL;
  if (output && !g_str_equal (output, "-"))
    {
      g_autofree char *dir = g_path_get_dirname (output);
      g_autofree char *base = g_path_get_basename (output);
      g_autofree char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
      int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0644);

      if (fd < 0)
        {
          g_printerr ("berthctl %s: cannot create %s: %s\n", verb, output, g_strerror (errno));
          return -1;
        }
      *out_tmp = g_steal_pointer (&tmp);
      return fd;
    }
  if (isatty (STDOUT_FILENO))
    {
      g_printerr ("berthctl %s: refusing to write %s to a terminal; use -o FILE or "
                  "redirect standard output\n",
                  verb, what);
      return -1;
    }
  return dup (STDOUT_FILENO);
}

int
ctl_output_file_finish (const char *verb, int fd, const char *tmp, const char *output,
                        gboolean written)
{
  if (!written || (tmp && fsync (fd) < 0))
    {
      if (tmp)
        g_unlink (tmp);
      return CTL_EXIT_FAILURE;
    }
  if (tmp && g_rename (tmp, output) < 0)
    {
      g_printerr ("berthctl %s: cannot rename %s to %s: %s\n", verb, tmp, output,
                  g_strerror (errno));
      g_unlink (tmp);
      return CTL_EXIT_FAILURE;
    }
  return CTL_EXIT_OK;
}
