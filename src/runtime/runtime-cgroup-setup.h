/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "berth-host.h"
#include "runtime-spec.h"
#include "runtime.h"

G_BEGIN_DECLS

/* The host's layout, as libberth sees it (berth-host.h). */
#define rt_cgroup_layout() berth_host_cgroup_layout ("/sys/fs/cgroup")

/* "machine.slice:berth:ID" -> slice "machine.slice", unit "berth-ID.scope". */
gboolean rt_cgroup_parse_systemd_path (const char *path, char **slice, char **unit);

/* Before the clone: the cgroup2 directory (pure v2, or the unified mount of
 * a hybrid host) with the v2 limits and the device program, opened into
 * *@cgroup_fd for clone3's CLONE_INTO_CGROUP; -1 when there is none (a
 * systemd scope or a v1-only host). Records what to remove in @state. */
gboolean rt_cgroup_prepare (const RtSpec *spec, const char *id, gboolean systemd_cgroup,
                            RtState *state, int *cgroup_fd, GError **error);

/* After the clone: the systemd scope, or the v1 controllers the limits need;
 * and cgroup.procs when clone3 did not place the process (@placed). */
gboolean rt_cgroup_join (const RtSpec *spec, const char *id, gboolean systemd_cgroup, pid_t pid,
                         gboolean placed, RtState *state, GError **error);

/* runtime-devices-bpf.c: linux.resources.devices on a cgroup2 directory. */
gboolean rt_devices_bpf_attach (const RtSpec *spec, int cgroup_fd, GError **error);

/* runtime-systemd.c: a transient scope through org.freedesktop.systemd1. */
gboolean rt_systemd_start_scope (const RtSpec *spec, const char *id, const char *slice,
                                 const char *unit, pid_t pid, RtState *state, GError **error);

G_END_DECLS
