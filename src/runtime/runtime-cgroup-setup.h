/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime-spec.h"
#include "runtime.h"

G_BEGIN_DECLS

typedef enum
{
  RT_CGROUP_V2,
  RT_CGROUP_HYBRID,
  RT_CGROUP_V1,
  RT_CGROUP_NONE,
} RtCgroupLayout;

RtCgroupLayout rt_cgroup_layout (void);

/* "machine.slice:berth:ID" -> slice "machine.slice", unit "berth-ID.scope". */
gboolean rt_cgroup_parse_systemd_path (const char *path, char **slice, char **unit);

/* Places @pid in the container's cgroup and applies linux.resources;
 * records what to remove on delete in @state. */
gboolean rt_cgroup_setup (const RtSpec *spec, const char *id, gboolean systemd_cgroup, pid_t pid,
                          RtState *state, GError **error);

/* runtime-systemd.c: a transient scope through org.freedesktop.systemd1. */
gboolean rt_systemd_start_scope (const RtSpec *spec, const char *id, const char *slice,
                                 const char *unit, pid_t pid, RtState *state, GError **error);

G_END_DECLS
