/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The config.json berthd writes into every bundle: an OCI runtime spec with
 * Docker's defaults (14 capabilities, a seccomp allowlist equivalent to
 * Docker's default profile, masked and read-only /proc and /sys paths,
 * noNewPrivileges), rlimits capped at the caller's hard limits, and
 * berth-init as PID 1 when asked for. berth-runtime, runc and crun all run
 * it. */

/* Where berth-init and its status directory appear inside the container:
 * under /dev, a tmpfs of the runtime's making, so that nothing is created in
 * the image's root file system (which may be read-only). */
#define BERTH_OCI_INIT_PATH "/dev/init"
#define BERTH_OCI_STATUS_DIR "/dev/.berth"
/* The file berth-init writes (atomically) in the status directory. */
#define BERTH_OCI_EXIT_STATUS_FILE "exit-status"

/* Docker's default capability set as a mask: CapEff 00000000a80425fb. */
#define BERTH_OCI_DEFAULT_CAPABILITY_MASK G_GUINT64_CONSTANT (0xa80425fb)

typedef struct
{
  const char *const *args; /* the command; required */
  const char *const *env;  /* KEY=VALUE; PATH (and TERM with a terminal) added when absent */
  const char *cwd;         /* NULL: "/" */
  guint32 uid;
  guint32 gid;
  const guint32 *additional_gids;
  guint n_additional_gids;
  gboolean terminal;
  const char *hostname; /* NULL: the runtime's default */
  const char *rootfs;   /* NULL: "rootfs", relative to the bundle */
  gboolean readonly_rootfs;
  gboolean host_network;    /* share the host's network namespace; default: a private one */
  const char *cgroups_path; /* "machine.slice:berth:ID" or "/berth/ID"; NULL: runtime default */
  gint64 memory_limit;      /* bytes; 0: none */
  double cpus;              /* 1.5 = one and a half CPUs; 0: none */
  gint64 pids_limit;        /* 0: none */
  const char *init_path;    /* host path of berth-init; NULL: run the command as PID 1 */
  const char *status_dir;   /* host directory berth-init writes into; needs init_path */
} BerthOciSpecOptions;

/* The runtime spec as a JSON object node; NULL with @error on bad options
 * (no command, cpus or limits out of range, a status dir without init). */
JsonNode *berth_oci_spec_new (const BerthOciSpecOptions *options, GError **error);

/* Writes @spec to BUNDLE/config.json: temporary file, fsync, rename. */
gboolean berth_oci_spec_write (JsonNode *spec, const char *bundle_dir, GError **error);

/* The seccomp part alone (linux.seccomp): default action EPERM, and an
 * allowlist with the argument filters of Docker's default profile. */
JsonNode *berth_oci_spec_default_seccomp (void);

/* The 14 capability names ("CAP_CHOWN", ...), NULL-terminated. */
const char *const *berth_oci_spec_default_capabilities (void);

/* Reads what berth-init left in @status_dir: the exit code as a shell
 * reports it (128+N for a signal N) and when it exited (microseconds since
 * the epoch). G_IO_ERROR_NOT_FOUND while the process has not exited. */
gboolean berth_oci_spec_read_exit_status (const char *status_dir, int *exit_code,
                                          gint64 *finished_at, GError **error);

G_END_DECLS
