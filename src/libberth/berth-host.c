/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-host.h"

#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static gboolean
is_fs_type (const char *path, long magic)
{
  struct statfs st;

  return statfs (path, &st) == 0 && (long)st.f_type == magic;
}

BerthCgroupLayout
berth_host_cgroup_layout (const char *cgroup_root)
{
  g_autofree char *unified = g_build_filename (cgroup_root, "unified", NULL);
  g_autofree char *systemd = g_build_filename (cgroup_root, "systemd", NULL);
  struct statfs st;

  if (statfs (cgroup_root, &st) != 0)
    return BERTH_CGROUP_NONE;
  if ((long)st.f_type == CGROUP2_SUPER_MAGIC)
    return BERTH_CGROUP_V2;
  if ((long)st.f_type != TMPFS_MAGIC)
    return BERTH_CGROUP_NONE;
  if (is_fs_type (unified, CGROUP2_SUPER_MAGIC))
    return BERTH_CGROUP_HYBRID;
  if (is_fs_type (systemd, CGROUP_SUPER_MAGIC))
    return BERTH_CGROUP_V1;
  return BERTH_CGROUP_NONE;
}

const char *
berth_cgroup_layout_to_string (BerthCgroupLayout layout)
{
  switch (layout)
    {
    case BERTH_CGROUP_V2:
      return "v2";
    case BERTH_CGROUP_HYBRID:
      return "hybrid";
    case BERTH_CGROUP_V1:
      return "v1";
    case BERTH_CGROUP_NONE:
    default:
      return "none";
    }
}

BerthCgroupManager
berth_host_cgroup_manager (void)
{
  struct stat st;

  /* What sd_booted(3) checks, without making every program that asks for
   * the host's architecture (berth-registry) map libsystemd. */
  return lstat ("/run/systemd/system/", &st) == 0 && S_ISDIR (st.st_mode)
           ? BERTH_CGROUP_MANAGER_SYSTEMD
           : BERTH_CGROUP_MANAGER_CGROUPFS;
}

const char *
berth_cgroup_manager_to_string (BerthCgroupManager manager)
{
  return manager == BERTH_CGROUP_MANAGER_SYSTEMD ? "systemd" : "cgroupfs";
}

char *
berth_host_kernel_version (void)
{
  struct utsname u;

  if (uname (&u) != 0)
    return g_strdup ("unknown");
  return g_strdup (u.release);
}

char *
berth_host_os_name (void)
{
  g_autofree char *pretty = g_get_os_info (G_OS_INFO_KEY_PRETTY_NAME);

  return pretty ? g_steal_pointer (&pretty) : g_strdup ("Linux");
}

const char *
berth_host_oci_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}
