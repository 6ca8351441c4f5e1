/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "runtime.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void
rt_cgroup_remove (const RtState *state)
{
  for (guint i = 0; state->cgroup_dirs && state->cgroup_dirs[i]; i++)
    {
      const char *dir = state->cgroup_dirs[i];

      /* The kernel releases a cgroup a moment after its last process is
       * reaped; rmdir fails with EBUSY until then. */
      for (int attempt = 0; attempt < 200; attempt++)
        {
          if (rmdir (dir) == 0 || errno == ENOENT)
            break;
          if (errno != EBUSY)
            {
              rt_log_debug ("cannot remove the cgroup %s: %s", dir, g_strerror (errno));
              break;
            }
          g_usleep (1000);
        }
    }
}

GArray *
rt_cgroup_pids (const RtState *state)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  g_auto (GStrv) lines = NULL;

  if (state->cgroup_unified == NULL)
    return pids;
  path = g_build_filename (state->cgroup_unified, "cgroup.procs", NULL);
  if (!g_file_get_contents (path, &data, NULL, NULL))
    return pids;
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 pid;

      if (g_ascii_string_to_unsigned (lines[i], 10, 1, G_MAXINT32, &pid, NULL))
        {
          pid_t p = (pid_t)pid;
          g_array_append_val (pids, p);
        }
    }
  return pids;
}
