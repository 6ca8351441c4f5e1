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

/* Connects to the --console-socket at @path (create and exec -t send the
 * pty master there); -1 with @error set on failure. */
int rt_console_socket_connect (const char *path, GError **error);

/* A fork (with CLONE_NEW* @flags), started in the cgroup2 directory
 * @cgroup_fd with clone3 when it is >= 0; *@placed says whether that
 * worked. 0 in the child, as fork. */
pid_t rt_clone_into_cgroup (int flags, int cgroup_fd, gboolean *placed);

typedef struct
{
  const char *id;
  const char *process_file; /* an OCI process object; else the bundle's, with: */
  char **args;              /* the command (NULL: the bundle's) */
  char **env;               /* added KEY=VALUE */
  const char *cwd;
  const char *user;       /* UID[:GID] */
  char **additional_gids; /* numbers, replacing the bundle's */
  gboolean tty;
  const char *console_socket;
  const char *pid_file;
  gboolean detach;
  int preserve_fds;
} RtExecOptions;

/* runtime-exec.c: a new process in a running container. Returns its exit
 * status (or 0 with detach), -1 with @error. */
int rt_exec (const RtGlobal *global, const RtExecOptions *options, GError **error);

/* What `start` does, for run. */
gboolean rt_start_created (const RtGlobal *global, const char *id, GError **error);

/* Removes the cgroups and the state of a container whose process is gone. */
void rt_delete_stopped (const RtGlobal *global, const char *id);

G_END_DECLS
