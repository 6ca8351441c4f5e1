/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>

#include "berth-error.h"
#include "daemon.h"

#define CGROUP_MOUNT "/sys/fs/cgroup"

/* Under systemd, containers live in transient scopes below machine.slice and
 * systemd owns the tree. Without systemd berthd owns a subtree of its own,
 * named "berth", in the hierarchy that tracks processes (the unified one
 * where it exists). */
gboolean
berth_daemon_setup_cgroups (BerthDaemon *daemon, GError **error)
{
  daemon->cgroup_manager = berth_host_cgroup_manager ();
  daemon->cgroup_layout = berth_host_cgroup_layout (CGROUP_MOUNT);

  g_clear_pointer (&daemon->cgroup_root, g_free);
  if (daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    {
      daemon->cgroup_root = g_strdup ("machine.slice");
      return TRUE;
    }

  switch (daemon->cgroup_layout)
    {
    case BERTH_CGROUP_V2:
      daemon->cgroup_root = g_strdup (CGROUP_MOUNT "/berth");
      break;
    case BERTH_CGROUP_HYBRID:
      daemon->cgroup_root = g_strdup (CGROUP_MOUNT "/unified/berth");
      break;
    case BERTH_CGROUP_V1:
      daemon->cgroup_root = g_strdup (CGROUP_MOUNT "/pids/berth");
      break;
    case BERTH_CGROUP_NONE:
    default:
      g_warning ("no cgroup file system is mounted at %s: resource limits will not work",
                 CGROUP_MOUNT);
      daemon->cgroup_root = g_strdup ("");
      return TRUE;
    }

  if (mkdir (daemon->cgroup_root, 0755) < 0 && errno != EEXIST)
    {
      /* Containers can still run without limits; say so rather than refuse to start. */
      g_warning ("cannot create the cgroup %s: %s; resource limits will not work",
                 daemon->cgroup_root, g_strerror (errno));
    }
  return TRUE;
}
