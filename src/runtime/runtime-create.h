/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime.h"

G_BEGIN_DECLS

typedef struct
{
  const char *id;
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
} RtCreateOptions;

/* Creates the container and leaves its process waiting for start; returns
 * its pid (a child of the caller), or -1 with @error set and nothing left
 * behind. */
pid_t rt_create (const RtGlobal *global, const RtCreateOptions *options, GError **error);

/* What `start` does, for run. */
gboolean rt_start_created (const RtGlobal *global, const char *id, GError **error);

/* Removes the cgroups and the state of a container whose process is gone. */
void rt_delete_stopped (const RtGlobal *global, const char *id);

G_END_DECLS
