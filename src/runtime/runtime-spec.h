/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* config.json, parsed once in the parent into plain C data so that the
 * container's side (between clone and exec) only reads memory. */

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct
{
  char *destination;
  char *type;
  char *source;
  unsigned long flags;       /* MS_* for the mount itself */
  unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC) or 0 */
  gboolean bind;
  char *data; /* the options that are no flags, comma-separated */
} RtMount;

typedef struct
{
  int resource;
  guint64 soft;
  guint64 hard;
} RtRlimit;

typedef struct
{
  char *path;
  char type; /* c, b, u or p */
  gint64 major;
  gint64 minor;
  guint32 mode;
  uid_t uid;
  gid_t gid;
} RtDevice;

typedef struct
{
  gboolean allow;
  char type;    /* a, c or b */
  gint64 major; /* -1 for any */
  gint64 minor;
  char access[4];
} RtDeviceRule;

enum
{
  RT_CAP_BOUNDING,
  RT_CAP_EFFECTIVE,
  RT_CAP_INHERITABLE,
  RT_CAP_PERMITTED,
  RT_CAP_AMBIENT,
  RT_CAP_N_SETS,
};

typedef struct
{
  int nstype; /* CLONE_NEW* */
  char *path; /* join this namespace instead of making one */
} RtNamespace;

typedef struct
{
  char *bundle; /* absolute */
  char *rootfs; /* absolute */
  gboolean rootfs_readonly;
  char *hostname;
  char **annotations; /* KEY=VALUE */

  /* process */
  gboolean terminal;
  guint console_rows, console_cols;
  char **args;
  char **env;
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  gsize n_additional_gids;
  gint64 umask; /* -1: leave alone */
  guint64 caps[RT_CAP_N_SETS];
  gboolean caps_given; /* process.capabilities present at all */
  gboolean no_new_privileges;
  RtRlimit *rlimits;
  gsize n_rlimits;
  gboolean has_oom_score_adj;
  int oom_score_adj;

  /* linux */
  RtNamespace *namespaces;
  gsize n_namespaces;
  int clone_flags; /* the new namespaces */
  RtMount *mounts;
  gsize n_mounts;
  RtDevice *devices;
  gsize n_devices;
  char **masked_paths;
  char **readonly_paths;
  unsigned long rootfs_propagation; /* 0: rslave */
  char **sysctl;                    /* KEY=VALUE */
  char *cgroups_path;
  JsonNode *seccomp; /* linux.seccomp, compiled in the parent */

  /* linux.resources */
  gint64 memory_limit; /* -1: unset */
  gint64 memory_reservation;
  gint64 memory_swap;
  guint64 cpu_shares; /* 0: unset */
  gint64 cpu_quota;   /* -1: unset */
  guint64 cpu_period; /* 0: unset */
  gint64 pids_limit;  /* 0: unset; -1: max */
  RtDeviceRule *device_rules;
  gsize n_device_rules;
} RtSpec;

RtSpec *rt_spec_load (const char *bundle, GError **error);
/* Replaces the process part of @spec with the OCI process object in @path
 * (exec --process). */
gboolean rt_spec_load_process (RtSpec *spec, const char *path, GError **error);
void rt_spec_free (RtSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RtSpec, rt_spec_free)

/* Capability names without the CAP_ prefix, indexed by number. */
int rt_capability_from_name (const char *name);
int rt_capability_last (void);

G_END_DECLS
