/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

#include "berth-container-gen.h"
#include "berth-passwd.h"
#include "daemon.h"

G_BEGIN_DECLS

/* One container as berthd keeps it: the settings given at creation, the
 * state of its current or last run, and the exported
 * org.berth.berth1.Container object that shows both.
 *
 * The record lives in <root>/containers/<id>/container.json (with the
 * overlay's upper and work directories and, without journald, the log
 * beside it); the OCI bundle of a run lives in <run-dir>/containers/<id>. */
typedef enum
{
  BERTH_CONTAINER_CREATED,
  BERTH_CONTAINER_RUNNING,
  BERTH_CONTAINER_EXITED,
  BERTH_CONTAINER_REMOVING,
} BerthContainerState;

typedef struct _BerthContainerRec BerthContainerRec;
typedef struct _BerthLogTimes BerthLogTimes;
typedef struct _BerthContainerLogTimes BerthContainerLogTimes;
typedef struct _BerthExecWatch BerthExecWatch;

/* A volume or host directory mounted into the container: bind mounts
 * outside the overlay, so never part of its diff or of a commit. */
typedef struct
{
  char *type;        /* "volume" or "bind" */
  char *name;        /* the volume's name; NULL for a host bind mount */
  char *source;      /* the host directory mounted */
  char *destination; /* absolute path inside the container */
  gboolean read_only;
} BerthContainerMount;

BerthContainerMount *berth_container_mount_new (const char *type, const char *name,
                                                const char *source, const char *destination,
                                                gboolean read_only);
void berth_container_mount_free (BerthContainerMount *mount);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthContainerMount, berth_container_mount_free)

struct _BerthContainerRec
{
  BerthDaemon *daemon;
  char *id;
  char *name;
  char *image;    /* as the user named it */
  char *image_id; /* sha256:... */
  char **command; /* entrypoint + cmd */
  char **env;
  char *workdir;
  char *user;       /* as given (-u) or the image's User; NULL: root */
  guint32 uid, gid; /* numeric, or what @user resolved to at the last start */
  char *hostname;
  gboolean tty, open_stdin, read_only, init, host_network, auto_remove;
  guint64 memory;
  double cpus;
  gint64 pids_limit;
  char *runtime;
  GHashTable *labels;
  GPtrArray *mounts;        /* BerthContainerMount, in mount order */
  gboolean remove_volumes;  /* Remove(volumes) or auto-remove: its anonymous volumes go too */
  char **volumes_to_remove; /* those no other container uses, picked when the removal began */

  BerthContainerState state;
  gboolean busy; /* a start or a removal is under way */
  pid_t pid;
  guint64 pid_start_time; /* /proc/PID/stat field 22, against pid reuse */
  int exit_code;
  gint64 created, started_at, finished_at; /* microseconds since the epoch */

  char *dir;    /* <root>/containers/<id> */
  char *bundle; /* <run-dir>/containers/<id> */
  gboolean mounted;
  gboolean image_held;

  guint child_watch;
  guint pidfd_watch;
  int pidfd;
  guint stop_timer;
  GPtrArray *waiters;        /* GDBusMethodInvocation: Wait */
  GPtrArray *stop_waiters;   /* Stop */
  GPtrArray *remove_waiters; /* Remove (force) of a running container */
  GDBusMethodInvocation *restart_invocation;

  /* systemd mode: the read ends of the container's stdout and stderr
   * pipes, copied to the journal (and kept in systemd's fd store). */
  int log_fds[2];
  guint log_watches[2];
  GString *log_partial[2];

  BerthContainerLogTimes *log_times; /* container-logtimes.c, while watched */

  BerthContainer *skeleton;
  char *object_path;

  /* Containers berthd runs for itself (a build's RUN steps): called when
   * it exited, instead of what an exit does to users' containers. */
  void (*exited_hook) (BerthContainerRec *rec, gpointer data);
  gpointer exited_hook_data;
};

const char *berth_container_state_to_string (BerthContainerState state);

/* container.c: records and their persistence. */
BerthContainerRec *berth_container_rec_new (BerthDaemon *daemon);
void berth_container_rec_free (BerthContainerRec *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthContainerRec, berth_container_rec_free)
JsonNode *berth_container_rec_to_json (BerthContainerRec *rec);
BerthContainerRec *berth_container_rec_from_json (BerthDaemon *daemon, JsonNode *node,
                                                  GError **error);
/* The settings alone, as the Config property shows them. */
char *berth_container_rec_config_json (BerthContainerRec *rec);
/* Writes container.json (temporary file, fsync, rename) in the daemon's
 * save thread: saves of one container land in the order they were asked. */
void berth_container_rec_save (BerthContainerRec *rec);
/* The cgroup in the form the runtime takes, and the unit or path shown. */
char *berth_container_rec_cgroups_path (BerthContainerRec *rec);
char *berth_container_rec_unit (BerthContainerRec *rec);
/* Copies the record into the exported object's properties. */
void berth_container_rec_sync (BerthContainerRec *rec);

/* container-run.c: running containers through the OCI runtime. */
typedef struct
{
  int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null or the log */
  guint16 rows, cols;
  gboolean log_terminal; /* container-dbus.c: with tty, berthd logs the terminal's output */
} BerthContainerStartOptions;
void berth_container_start (BerthContainerRec *rec, const BerthContainerStartOptions *options,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
/* On success *out_terminal is the pseudo-terminal master (tty) or -1. */
gboolean berth_container_start_finish (BerthContainerRec *rec, GAsyncResult *result,
                                       int *out_terminal, GError **error);
typedef struct
{
  int stdin_fd, stdout_fd, stderr_fd; /* -1: /dev/null or the log */
  gboolean tty;
  char **env;
  const char *workdir;
  const char *user;    /* NAME[:GROUP] or UID[:GID] */
  BerthUser *resolved; /* @user looked up (berth_container_exec does it) */
} BerthContainerExecOptions;
/* Runs @command in the running container through the runtime's exec; the
 * callback comes once it runs (with its terminal). ExecExited tells the
 * exit. Takes the fds of @options. */
void berth_container_exec (BerthContainerRec *rec, char **command,
                           const BerthContainerExecOptions *options, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean berth_container_exec_finish (BerthContainerRec *rec, GAsyncResult *result,
                                      int *out_terminal, char **out_id, GError **error);
/* Sends @signo through the runtime; the reply comes when it was sent. */
void berth_container_kill (BerthContainerRec *rec, int signo, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean berth_container_kill_finish (BerthContainerRec *rec, GAsyncResult *result, GError **error);
/* Watches the container's PID 1: a child watch when berthd started it
 * (it is berthd's child, berthd being a subreaper), a pidfd when it was
 * found again after a restart. Exits when the process is gone. */
void berth_container_watch (BerthContainerRec *rec);
/* The process exited: records the exit code (berth-init's status file
 * first, then @wait_status when known, else 137), cleans the run up. */
void berth_container_exited (BerthContainerRec *rec, int wait_status, gboolean have_status);
/* Whether the recorded PID 1 still runs (and is the same process). */
gboolean berth_container_pid_alive (BerthContainerRec *rec);
/* Blocking: the runtime deletes the container (killing what still runs),
 * its root is unmounted and its bundle removed. For containers berthd
 * made for itself and lost track of in a crash (a build's RUN steps). */
void berth_container_destroy_sync (BerthContainerRec *rec);
/* Unmounts, removes the record and the bundle (in a thread). */
void berth_container_remove_files (BerthContainerRec *rec, GAsyncReadyCallback callback,
                                   gpointer user_data);
gboolean berth_container_remove_files_finish (GAsyncResult *result, GError **error);

/* container-journal.c: @n is 0 for stdout, 1 for stderr. Takes @fd;
 * unless @restored, also puts it into systemd's fd store (systemd mode).
 * What it reads goes to the log file, and to the journal in systemd mode.
 * Used for the pipes of systemd mode and for a detached terminal. */
void berth_container_log_attach (BerthContainerRec *rec, int n, int fd, gboolean restored);
void berth_container_log_detach (BerthContainerRec *rec);
/* Takes back the pipes kept in systemd's fd store across a restart. */
void berth_daemon_containers_restore_logs (BerthDaemon *daemon);
/* Registers a running container with systemd-machined. */
void berth_container_register_machine (BerthContainerRec *rec);

/* container-logtimes.c: when each part of the log was written (the
 * container.log.times file beside it). Watch from start to exit. */
void berth_container_log_times_watch (BerthContainerRec *rec);
/* Records what the log holds that no record covers yet, and stops. */
void berth_container_log_times_stop (BerthContainerRec *rec);
void berth_daemon_log_times_free (BerthDaemon *daemon);

/* container-execs.c: exec'd processes whose exit outlives berthd (with
 * berth-init). The command to give the runtime for exec @id as @uid:@gid
 * (wrapped in berth-init when the container has it). */
char **berth_container_exec_wrap (BerthContainerRec *rec, const char *id, guint32 uid, guint32 gid,
                                  char **command, GError **error);
/* This berthd waits for exec @id's runtime process. */
void berth_container_exec_started (BerthDaemon *daemon, const char *id);
/* It ended and was reported: its directory goes. */
void berth_container_exec_forget (BerthDaemon *daemon, const char *container_id, const char *id);
/* At start: reports execs that ended while berthd was down, watches the rest. */
void berth_container_execs_recover (BerthContainerRec *rec);
/* The container exited: every exec still known ends (137 unless it said). */
void berth_container_execs_exited (BerthContainerRec *rec);
/* berthd owns its name: what was learnt before is reported now. */
void berth_daemon_execs_ready (BerthDaemon *daemon);
void berth_daemon_exec_watch_free (BerthDaemon *daemon);

/* container-user.c: -u NAME[:GROUP] from the container's /etc/passwd and
 * /etc/group, in its mounted root (call it in a worker thread). */
BerthUser *berth_container_resolve_user (BerthContainerRec *rec, const char *user, GError **error);
BerthUser *berth_container_resolve_user_at (const char *bundle, const char *name, const char *user,
                                            GError **error);
gboolean berth_container_env_has (char *const *env, const char *name);
/* A copy of @env with HOME=@home added unless it has HOME. */
char **berth_container_env_with_home (char *const *env, const char *home);

/* container-dbus.c: the org.berth.berth1.Container objects. */
gboolean berth_container_export (BerthContainerRec *rec, GError **error);
void berth_container_unexport (BerthContainerRec *rec);
/* Called by container-run.c when the container's state changed. */
void berth_container_state_changed (BerthContainerRec *rec);

/* container-commit.c: Commit, GetChanges and Export. */
void berth_container_commit_connect (BerthContainerRec *rec, BerthContainer *skeleton);
/* At start: unmounts and removes what an interrupted GetChanges or Export
 * left under the run directory. */
void berth_daemon_commit_clean_leftovers (BerthDaemon *daemon);

/* manager-containers.c */
void berth_manager_containers_connect (BerthDaemon *daemon, BerthManager *manager);
/* Reads the records under <root>/containers and finds running
 * containers again; learns the exits that happened meanwhile. */
gboolean berth_daemon_containers_load (BerthDaemon *daemon, GError **error);
void berth_daemon_containers_clear (BerthDaemon *daemon);
guint berth_daemon_containers_count (BerthDaemon *daemon, guint *out_running);
/* A container by name, ID or unique ID prefix (NoSuchContainer). */
BerthContainerRec *berth_daemon_container_lookup (BerthDaemon *daemon, const char *what,
                                                  GError **error);
/* Forgets a removed container: unexported, signal sent. */
void berth_daemon_containers_forget (BerthDaemon *daemon, BerthContainerRec *rec);

G_END_DECLS
