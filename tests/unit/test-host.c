/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/utsname.h>
#include <systemd/sd-daemon.h>

#include "berth-host.h"

static void
test_cgroup_layout (void)
{
  /* A directory that is no cgroup mount has no layout. */
  g_assert_cmpint (berth_host_cgroup_layout ("/proc/self"), ==, BERTH_CGROUP_NONE);
  g_assert_cmpint (berth_host_cgroup_layout ("/nonexistent"), ==, BERTH_CGROUP_NONE);

  /* The host's own mount agrees with what /proc/mounts says of it. */
  {
    g_autofree char *mounts = NULL;
    BerthCgroupLayout layout = berth_host_cgroup_layout ("/sys/fs/cgroup");

    g_assert_true (g_file_get_contents ("/proc/self/mounts", &mounts, NULL, NULL));
    if (strstr (mounts, " /sys/fs/cgroup cgroup2 ") != NULL)
      g_assert_cmpint (layout, ==, BERTH_CGROUP_V2);
    else if (strstr (mounts, " /sys/fs/cgroup/unified cgroup2 ") != NULL)
      g_assert_cmpint (layout, ==, BERTH_CGROUP_HYBRID);
    else if (strstr (mounts, " /sys/fs/cgroup/systemd cgroup ") != NULL)
      g_assert_cmpint (layout, ==, BERTH_CGROUP_V1);
  }

  g_assert_cmpstr (berth_cgroup_layout_to_string (BERTH_CGROUP_HYBRID), ==, "hybrid");
  g_assert_cmpstr (berth_cgroup_layout_to_string (BERTH_CGROUP_V2), ==, "v2");
}

static void
test_cgroup_manager (void)
{
  BerthCgroupManager manager = berth_host_cgroup_manager ();

  g_assert_cmpint (manager, ==,
                   sd_booted () > 0 ? BERTH_CGROUP_MANAGER_SYSTEMD : BERTH_CGROUP_MANAGER_CGROUPFS);
  g_assert_cmpstr (berth_cgroup_manager_to_string (BERTH_CGROUP_MANAGER_SYSTEMD), ==, "systemd");
  g_assert_cmpstr (berth_cgroup_manager_to_string (BERTH_CGROUP_MANAGER_CGROUPFS), ==, "cgroupfs");
}

static void
test_facts (void)
{
  struct utsname u;
  g_autofree char *kernel = berth_host_kernel_version ();
  g_autofree char *os = berth_host_os_name ();

  g_assert_cmpint (uname (&u), ==, 0);
  g_assert_cmpstr (kernel, ==, u.release);
  g_assert_true (os != NULL && *os != '\0');
#if defined(__x86_64__)
  g_assert_cmpstr (berth_host_oci_arch (), ==, "amd64");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/host/cgroup-layout", test_cgroup_layout);
  g_test_add_func ("/host/cgroup-manager", test_cgroup_manager);
  g_test_add_func ("/host/facts", test_facts);
  return g_test_run ();
}
