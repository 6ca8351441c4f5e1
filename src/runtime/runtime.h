/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the two halves of berth-runtime share: the global options, logging,
 * the per-container state directory and the cgroup paths recorded there.
 *
 * berth-runtime itself (start, state, kill, delete, list) links GLib alone so
 * that the calls on the start-to-exit path cost as little as an exec can;
 * create, run and spec, which parse config.json with json-glib and need
 * libseccomp and sd-bus, live in the sibling berth-runtime-create. */

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* GLib's own error domains would pull in GIO: berth-runtime has one. */
#define RT_ERROR (rt_error_quark ())
typedef enum
{
  RT_ERROR_FAILED,
  RT_ERROR_NOT_FOUND,        /* no such container */
  RT_ERROR_INVALID,          /* bad input: id, signal, config */
  RT_ERROR_STATE,            /* the container is in the wrong state for this */
  RT_ERROR_EXEC_NOT_FOUND,   /* the command does not exist: exit 127, as a shell */
  RT_ERROR_EXEC_NOT_ALLOWED, /* it cannot be executed: exit 126 */
} RtErrorCode;
GQuark rt_error_quark (void);

#define RT_DEFAULT_ROOT "/run/berth-runtime"
#define RT_OCI_VERSION "1.0.2"

typedef enum
{
  RT_LOG_TEXT,
  RT_LOG_JSON,
} RtLogFormat;

/* Options that come before the command, as runc takes them. */
typedef struct
{
  char *root;
  char *log_path;
  char *log_format;
  gboolean systemd_cgroup;
  gboolean debug;
} RtGlobal;

/* Parses the options before the command; on return argv[1] is the command.
 * Exits with status 2 and one line on stderr on a usage error. */
void rt_global_parse (RtGlobal *global, int *argc, char ***argv);
void rt_global_clear (RtGlobal *global);

/* Errors go to stderr as one line "berth-runtime: MESSAGE", and to the --log
 * file (text or JSON lines) when one was given. */
void rt_log_init (const RtGlobal *global);
void rt_log_error (const char *format, ...) G_GNUC_PRINTF (1, 2);
void rt_log_debug (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Container ids: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes. */
gboolean rt_id_valid (const char *id, GError **error);

typedef enum
{
  RT_STATUS_CREATING,
  RT_STATUS_CREATED,
  RT_STATUS_RUNNING,
  RT_STATUS_STOPPED,
} RtStatus;

const char *rt_status_to_string (RtStatus status);

/* What ROOT/ID/state holds (a key file, written atomically). */
typedef struct
{
  char *id;
  char *dir; /* ROOT/ID */
  char *bundle;
  char *rootfs;
  pid_t pid;
  guint64 start_time; /* field 22 of /proc/PID/stat, against pid reuse */
  gint64 created;     /* microseconds since the epoch */
  char *owner;
  char **cgroup_dirs;   /* cgroupfs directories to remove on delete */
  char *cgroup_unified; /* the directory whose cgroup.procs lists every process */
  char *systemd_scope;  /* transient unit, when systemd made the cgroup */
  char **annotations;   /* KEY=VALUE */
} RtState;

void rt_state_free (RtState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtState, rt_state_free)

char *rt_state_dir (const char *root, const char *id);
char *rt_state_fifo_path (const char *state_dir);
gboolean rt_state_save (const RtState *state, GError **error);
/* Fails with RT_ERROR_NOT_FOUND and "container ID does not exist". */
RtState *rt_state_load (const char *root, const char *id, GError **error);
/* created, running or stopped, from the process and the exec fifo. */
RtStatus rt_state_status (const RtState *state);
/* The OCI state document, as `state` prints it. */
char *rt_state_to_json (const RtState *state, RtStatus status);
/* A pidfd for the container's init, or -1 with errno ESRCH when it is gone
 * (or the pid now belongs to another process). */
int rt_state_open_pidfd (const RtState *state);

/* Field 22 of /proc/PID/stat, 0 when the process does not exist; sets
 * *zombie when it exited but was not reaped yet. */
guint64 rt_proc_start_time (pid_t pid, gboolean *zombie);

/* Sets @error (RT_ERROR_FAILED) to "MESSAGE: strerror(errsv)"; returns FALSE. */
gboolean rt_set_errno (GError **error, int errsv, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Writes @contents to @path through a temporary file and a rename. */
gboolean rt_write_file_atomic (const char *path, const char *contents, gssize len, GError **error);

/* cgroupfs: removes the directories listed in the state (leaf first),
 * waiting briefly for the kernel to let go of exited processes. */
void rt_cgroup_remove (const RtState *state);
/* The pids in the container's cgroup (for kill --all). */
GArray *rt_cgroup_pids (const RtState *state);

G_END_DECLS
