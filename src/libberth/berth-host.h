/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the host offers berth, found out once at start. */

typedef enum
{
  BERTH_CGROUP_V2,     /* /sys/fs/cgroup is the unified hierarchy */
  BERTH_CGROUP_HYBRID, /* v1 controllers plus a cgroup2 mount at .../unified */
  BERTH_CGROUP_V1,     /* v1 controllers only */
  BERTH_CGROUP_NONE,   /* no cgroup file system mounted */
} BerthCgroupLayout;

typedef enum
{
  BERTH_CGROUP_MANAGER_SYSTEMD,  /* transient scopes through org.freedesktop.systemd1 */
  BERTH_CGROUP_MANAGER_CGROUPFS, /* berthd writes the cgroup tree itself */
} BerthCgroupManager;

/* Looks at the file system types under @cgroup_root (normally /sys/fs/cgroup). */
BerthCgroupLayout berth_host_cgroup_layout (const char *cgroup_root);
const char *berth_cgroup_layout_to_string (BerthCgroupLayout layout);

/* systemd when systemd is PID 1 (sd_booted), cgroupfs otherwise. */
BerthCgroupManager berth_host_cgroup_manager (void);
const char *berth_cgroup_manager_to_string (BerthCgroupManager manager);

/* "6.1.0-18-amd64" */
char *berth_host_kernel_version (void);
/* PRETTY_NAME from os-release, or "Linux". */
char *berth_host_os_name (void);
/* The OCI name of the machine's architecture: "amd64", "arm64", ... */
const char *berth_host_oci_arch (void);

G_END_DECLS
