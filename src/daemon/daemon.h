/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "berth-config.h"
#include "berth-host.h"
#include "berth-image-gen.h"
#include "berth-manager-gen.h"
#include "berth-transfer-gen.h"
#include "berth-store.h"

G_BEGIN_DECLS

typedef struct _BerthDaemonVolumes BerthDaemonVolumes; /* volume.h */

/* The daemon's one context: everything berthd holds lives here and is
 * handed to the code that needs it; there are no other globals. */
typedef struct
{
  char *config_path;
  gboolean config_explicit; /* --config given: the file must exist */
  BerthConfig *config;
  char *root;
  char *run_dir;
  char *bus_address; /* NULL: the system bus */

  int lock_fd;
  GDBusConnection *bus;
  guint name_id;
  BerthManager *manager;

  BerthStore *store;  /* images, layers and blobs under <root>/images */
  GHashTable *images; /* image ID → exported BerthImage skeleton */

  char *auth_path;                    /* registry credentials: auth.json beside the config file */
  GHashTable *transfers;              /* object path → Transfer (manager-transfers.c) */
  struct _BerthPullSpare *pull_spare; /* a berth-pull started ahead (manager-transfers.c) */
  guint next_transfer_id;
  GHashTable *builds; /* object path → Build (build.h) */
  guint next_build_id;
  GHashTable *containers;             /* container ID → BerthContainerRec (container.h) */
  struct _BerthLogTimes *log_times;   /* container-logtimes.c */
  struct _BerthExecWatch *exec_watch; /* container-execs.c */
  GThreadPool *save_pool;             /* one thread: container records are saved in order */
  BerthDaemonVolumes *volumes;        /* <root>/volumes and their objects (volume.h) */

  BerthCgroupManager cgroup_manager;
  BerthCgroupLayout cgroup_layout;
  char *cgroup_root;

  GMainLoop *loop;
  int exit_code;
} BerthDaemon;

/* daemon-lock.c: one berthd per storage root. */
gboolean berth_daemon_lock_root (BerthDaemon *daemon, GError **error);

/* daemon-cgroup.c: where this berthd's containers' cgroups live. */
gboolean berth_daemon_setup_cgroups (BerthDaemon *daemon, GError **error);

/* daemon-fd.c: a dup of the fd that HANDLE names in a call's FD_LIST, or -1
 * with an InvalidArgument error naming WHAT ("the tar") when none came. */
int berth_daemon_take_fd (GUnixFDList *fd_list, GVariant *handle, const char *what, GError **error);

/* daemon-log.c */
void berth_daemon_log_setup (gboolean debug);
void berth_daemon_log_toggle_debug (void);

/* authorize.c: one place that decides who may call what. */
void berth_daemon_authorize_skeleton (BerthDaemon *daemon, GDBusInterfaceSkeleton *skeleton);
/* Whether the caller was found to be an administrator (root, or the
 * polkit action manage-daemon) while its call was authorized. */
gboolean berth_daemon_invocation_is_administrator (GDBusMethodInvocation *invocation);

/* manager-dbus.c */
gboolean berth_manager_dbus_export (BerthDaemon *daemon, GError **error);
gboolean berth_daemon_reload_config (BerthDaemon *daemon, GError **error);

/* image-dbus.c: the org.berth.berth1.Image objects, one per stored image.
 * What they show is collected from the store in a worker thread (it reads
 * configs from disk) and applied in the main thread. */
typedef struct _BerthImageInfo BerthImageInfo;
GPtrArray *berth_image_infos_collect (BerthStore *store);
void berth_daemon_images_apply (BerthDaemon *daemon, GPtrArray *infos, gboolean emit);
char *berth_image_object_path (const char *id);
void berth_daemon_images_clear (BerthDaemon *daemon);

/* berthd.c: at exit, cancels every job in @table (object path → a struct
 * holding its GCancellable * at @cancellable_offset) and runs the main loop
 * until all of them ended and left the table. */
void berth_daemon_cancel_and_wait (GHashTable *table, gsize cancellable_offset);

/* manager-transfers.c: pulls, pushes, logins and searches. */
void berth_manager_transfers_connect (BerthDaemon *daemon, BerthManager *manager);
/* Cancels every transfer and waits for them to end (at exit). */
void berth_daemon_transfers_shutdown (BerthDaemon *daemon);

/* manager-images.c: the Manager's image methods. */
void berth_manager_images_connect (BerthDaemon *daemon, BerthManager *manager);

G_END_DECLS
