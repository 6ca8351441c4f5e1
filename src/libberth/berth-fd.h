/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <glib.h>
#include <unistd.h>

G_BEGIN_DECLS

/* GLib 2.74 (Debian 12) lacks g_autofd and g_clear_fd; these are the same
 * idea: a file descriptor closed when it goes out of scope. */
static inline void
berth_close_fdp (int *fdp)
{
  int errsv = errno;

  if (*fdp >= 0)
    close (*fdp);
  *fdp = -1;
  errno = errsv;
}

#define berth_autofd __attribute__ ((cleanup (berth_close_fdp)))

G_END_DECLS
