/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "runtime-spec.h"

#include <linux/filter.h>

G_BEGIN_DECLS

/* Everything the container's side needs, prepared by the parent before the
 * clone: the child only reads it. */
typedef struct
{
  const RtSpec *spec;
  int sync_fd;    /* SOCK_SEQPACKET to the parent: 'C' in, 'R' or 'E'+message out */
  int fifo_fd;    /* exec.fifo opened for reading; start writes a byte into it */
  int console_fd; /* connected --console-socket, or -1 */
  int *ns_fds;    /* namespaces to join, in spec->namespaces order (-1: none) */
  int last_cap;
  struct sock_fprog seccomp; /* len 0: no filter */
  unsigned int seccomp_flags;
  int preserve_fds;
  gboolean cgroup_ns;      /* unshare the cgroup namespace once placed in the cgroup */
  gboolean cgroup_v2_only; /* a "cgroup" mount becomes cgroup2 of the whole tree */
  gboolean has_unified;    /* a cgroup2 hierarchy exists (pure or hybrid) */
  int join_pidfd;          /* exec: the container's init, whose namespaces to join */
} RtContainer;

/* Runs in the cloned child: sets the container up, reports to the parent,
 * waits for start and executes the process. Never returns. */
G_GNUC_NORETURN void rt_container_main (const RtContainer *container);

/* Runs in the child of `exec`: joins the namespaces of the container's
 * init (join_pidfd; the pid namespace was joined by the parent), sets the
 * process up as create does and executes it. Before exec, failures go to
 * the parent as 'E'+message; sync_fd is close-on-exec, so the parent reads
 * EOF once the program runs. Never returns. */
G_GNUC_NORETURN void rt_container_exec_main (const RtContainer *container);

/* runtime-mount.c: the root file system and everything mounted in it. In
 * two steps: what can be done while the parent sets the cgroup up, then
 * the cgroup mounts (once in the cgroup namespace), pivot_root, masked and
 * read-only paths. */
gboolean rt_mount_prepare (const RtContainer *container, int *console_slave, char **message);
gboolean rt_mount_finish (const RtContainer *container, char **message);
/* The container's /dev/pts/ptmx, opened before pivot_root. */
int rt_mount_open_ptmx (const RtContainer *container);

/* runtime-process.c */
gboolean rt_process_set_rlimits (const RtSpec *spec, char **message);
char *rt_process_find_executable (const RtSpec *spec, int *exit_code, char **message);
gboolean rt_process_finalize (const RtContainer *container, char **message);

/* runtime-console.c: a pty whose master goes to the console socket; the
 * slave fd is returned. */
int rt_console_create (const RtContainer *container, char **message);
gboolean rt_console_attach (int slave, char **message);

G_END_DECLS
