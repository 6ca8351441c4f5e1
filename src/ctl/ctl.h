/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Exit codes, as systemctl and docker use them. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

typedef struct
{
  char *bus_address; /* --bus-address or $BERTH_BUS_ADDRESS; NULL: system bus */
  GDBusConnection *bus;
} BerthCtl;

typedef struct
{
  const char *name;
  int (*run) (BerthCtl *ctl, int argc, char **argv);
  const char *summary;
} CtlVerb;

/* ctl-bus.c: connects on first use. On failure prints the one-line
 * "cannot reach berthd" message and returns NULL. */
GDBusConnection *ctl_bus (BerthCtl *ctl);
/* Calls a Manager method; prints a clean error line and returns NULL on failure. */
GVariant *ctl_call_manager (BerthCtl *ctl, const char *method, GVariant *args,
                            const GVariantType *reply_type);
/* Like ctl_call_manager, passing file descriptors along (GUnixFDList). */
GVariant *ctl_call_manager_with_fds (BerthCtl *ctl, const char *method, GVariant *args,
                                     GUnixFDList *fd_list, const GVariantType *reply_type);
/* Calls Cancel() on the object @path (a Transfer or a Build) without
 * waiting for the reply: Ctrl-C in the verbs that follow one. */
void ctl_cancel (BerthCtl *ctl, const char *path, const char *interface);
/* Calls METHOD of IFACE on the object at PATH, passing FD_LIST along (may be
 * NULL); prints a clean error line and returns NULL on failure. */
GVariant *ctl_call_object (BerthCtl *ctl, const char *path, const char *iface, const char *method,
                           GVariant *args, GUnixFDList *fd_list, const GVariantType *reply_type);
/* The object path of the container NAME (a name or an ID); prints the error
 * line and returns NULL when there is none. */
char *ctl_container_path (BerthCtl *ctl, const char *name);
/* Prints "berthctl: <message>" for a failed call, with the unreachable hint
 * when berthd is not there. */
void ctl_print_call_error (BerthCtl *ctl, GError *error);

/* ctl-options.c: parses a verb's options; handles --help. Returns
 * CTL_EXIT_OK to go on, or an exit code to return (usage, or -1 after --help). */
int ctl_parse_options (const char *verb, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv);
#define CTL_HELP_SHOWN (-1)
/* The same, with options ending at the first argument that is not one, so
 * that a command's own options (run IMAGE ls -l) stay the command's. */
int ctl_parse_options_posix (const char *verb, const char *params, const char *summary,
                             const GOptionEntry *entries, int *argc, char ***argv);
/* Prints "berthctl VERB: <message> (see berthctl VERB --help)"; returns CTL_EXIT_USAGE. */
int ctl_usage_error (const char *verb, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* ctl-output-file.c: where a verb writes an archive (save, export). With
 * OUTPUT a file other than "-", a temporary file beside it (its name in
 * *OUT_TMP), renamed into place by ctl_output_file_finish; otherwise standard
 * output, refused when it is a terminal. WHAT names the archive in that
 * error ("a tar"). Returns the fd, or -1 after printing the error line. */
int ctl_output_file_open (const char *verb, const char *output, const char *what, char **out_tmp);
/* After the archive was written to FD (WRITTEN) or not: fsyncs and renames
 * the temporary file into place, or removes it. Returns an exit code. */
int ctl_output_file_finish (const char *verb, int fd, const char *tmp, const char *output,
                            gboolean written);

/* ctl-output.c */
typedef struct _CtlTable CtlTable;
CtlTable *ctl_table_new (const char *const *headers);
void ctl_table_add_row (CtlTable *table, const char *const *cells);
void ctl_table_print (CtlTable *table);
void ctl_table_free (CtlTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlTable, ctl_table_free)

/* Prints @node as indented JSON followed by a newline. */
void ctl_print_json (JsonNode *node);
/* "1.5 kB", "230 MB": the decimal units docker prints. */
char *ctl_format_size (guint64 bytes);

/* ctl-logs.c: a container's log, with the times berthd recorded. */
typedef struct
{
  gint64 since, until; /* microseconds since the epoch; 0: no bound */
  gboolean timestamps; /* prefix each line with its time (RFC 3339) */
  int tail;            /* the first print shows only the last N lines; -1: all */
} CtlLogFilter;
typedef struct _CtlLogReader CtlLogReader;
/* Borrows both fds; @times_fd may be -1. */
CtlLogReader *ctl_log_reader_new (int log_fd, int times_fd, const CtlLogFilter *filter);
/* Prints the lines there now (a last line without its newline only when
 * @final). FALSE once a line is past --until: nothing more to follow. */
gboolean ctl_log_reader_print (CtlLogReader *r, gboolean final);
void ctl_log_reader_free (CtlLogReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CtlLogReader, ctl_log_reader_free)

/* The verbs, one file each. */
int ctl_verb_version (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_info (BerthCtl *ctl, int argc, char **argv);
/* ctl-images.c */
int ctl_verb_images (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_import (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_load (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_save (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_tag (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_rmi (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_history (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_image (BerthCtl *ctl, int argc, char **argv);
/* ctl-transfers.c */
int ctl_verb_pull (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_push (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_login (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_logout (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_search (BerthCtl *ctl, int argc, char **argv);

/* ctl-volumes.c */
int ctl_verb_volume (BerthCtl *ctl, int argc, char **argv);

/* ctl-build.c */
int ctl_verb_build (BerthCtl *ctl, int argc, char **argv);

/* ctl-containers.c */
int ctl_verb_run (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_create (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_start (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_stop (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_restart (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_kill (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_rm (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_wait (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_ps (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_inspect (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_logs (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_top (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_status (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_exec (BerthCtl *ctl, int argc, char **argv);

/* ctl-commit.c */
int ctl_verb_commit (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_diff (BerthCtl *ctl, int argc, char **argv);
int ctl_verb_export (BerthCtl *ctl, int argc, char **argv);

G_END_DECLS
