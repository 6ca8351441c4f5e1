/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Containerfiles (Dockerfiles): the parser, variable substitution with
 * Docker's rules, and the metadata instructions applied to an image config.
 * The builder in berthd and `berthctl commit -c` share this code. */

typedef enum
{
  BERTH_INSTRUCTION_FROM,
  BERTH_INSTRUCTION_RUN,
  BERTH_INSTRUCTION_COPY,
  BERTH_INSTRUCTION_ADD,
  BERTH_INSTRUCTION_ENV,
  BERTH_INSTRUCTION_ARG,
  BERTH_INSTRUCTION_WORKDIR,
  BERTH_INSTRUCTION_USER,
  BERTH_INSTRUCTION_CMD,
  BERTH_INSTRUCTION_ENTRYPOINT,
  BERTH_INSTRUCTION_EXPOSE,
  BERTH_INSTRUCTION_VOLUME,
  BERTH_INSTRUCTION_LABEL,
  BERTH_INSTRUCTION_STOPSIGNAL,
  BERTH_INSTRUCTION_SHELL,
  BERTH_INSTRUCTION_HEALTHCHECK,
  BERTH_INSTRUCTION_ONBUILD,
  BERTH_INSTRUCTION_MAINTAINER,
} BerthInstructionKind;

/* One instruction. Until berth_containerfile_expand() the words keep their
 * quotes and variables as written; after it (expanded is TRUE) they are the
 * values the build uses.
 *
 *   FROM         args = { image }, stage_name from "AS name", flag platform
 *   RUN, CMD,    exec_form: args are the JSON array's strings;
 *   ENTRYPOINT   shell form: args = { the command line as written }
 *   SHELL        exec form only
 *   COPY, ADD    args = sources..., destination (JSON or words); flags
 *                from, chown, chmod (COPY), chown, chmod, checksum (ADD)
 *   ENV, LABEL   args = keys, values = their values
 *   ARG          args = names, values = defaults (NULL where none)
 *   WORKDIR, USER, STOPSIGNAL, MAINTAINER   args = { the value }
 *   EXPOSE       args = port specs;   VOLUME  args = paths (JSON or words)
 *   HEALTHCHECK  NONE: no args; CMD: args and exec_form as for CMD, flags
 *                interval, timeout, start-period, start-interval, retries
 *   ONBUILD      args = { the trigger instruction as written } */
typedef struct
{
  BerthInstructionKind kind;
  guint line;     /* first line of the instruction in its file (1-based) */
  char *original; /* as written, continuation lines joined */
  char **flag_names;
  char **flag_values; /* NULL entries for flags given without "=" */
  char **args;
  char **values; /* ENV, LABEL, ARG only; same length as args */
  char *stage_name;
  gboolean exec_form;
  gboolean expanded;
  char escape; /* the escape character in effect ('\\' or '`') */
} BerthInstruction;

typedef struct
{
  guint index;
  char *name; /* "AS name", lower case; NULL when unnamed */
  BerthInstruction *from;
  GPtrArray *instructions; /* of BerthInstruction, after the FROM */
} BerthBuildStage;

typedef struct
{
  char escape;
  GPtrArray *global_args; /* ARG instructions before the first FROM */
  GPtrArray *stages;      /* of BerthBuildStage, in order */
} BerthContainerfile;

/* Largest Containerfile accepted. */
#define BERTH_CONTAINERFILE_MAX_SIZE (4 * 1024 * 1024)

/* Parses a whole Containerfile. Errors (BERTH_ERROR_INVALID_ARGUMENT) read
 * "line N: <problem>": unknown instructions or flags, a missing FROM, bad
 * JSON forms, unterminated quotes, a variable used before the ARG that
 * declares it, heredocs and RUN --mount (not supported). */
BerthContainerfile *berth_containerfile_parse (const char *text, gsize len, GError **error);
void berth_containerfile_free (BerthContainerfile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthContainerfile, berth_containerfile_free)

/* The stage called @name (case-insensitive) or with that index, or NULL. */
BerthBuildStage *berth_containerfile_find_stage (BerthContainerfile *file, const char *name);

/* Parses one instruction (e.g. a `commit --change` value such as
 * `CMD ["sh"]`); line numbers in errors are 1. */
BerthInstruction *berth_containerfile_parse_instruction (const char *line, GError **error);
void berth_instruction_free (BerthInstruction *instruction);
BerthInstruction *berth_instruction_copy (const BerthInstruction *instruction);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthInstruction, berth_instruction_free)

const char *berth_instruction_kind_name (BerthInstructionKind kind);
/* The value of flag --@name, "" for a flag without value, NULL if absent. */
const char *berth_instruction_get_flag (const BerthInstruction *instruction, const char *name);

/* Looks a variable up for substitution: its value or NULL when unset. */
typedef const char *(*BerthVariableLookup) (const char *name, gpointer user_data);

/* Substitutes $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word},
 * ${VAR+word}, ${VAR:?message} in @word and, when @remove_quotes, removes
 * quotes and escapes as Docker does (single quotes keep everything
 * literal). Unset variables become empty. */
char *berth_containerfile_substitute (const char *word, char escape, gboolean remove_quotes,
                                      BerthVariableLookup lookup, gpointer user_data,
                                      GError **error);

/* A copy of @instruction with variables substituted from @variables (name
 * to value) on the instructions where Docker substitutes: ADD, COPY, ENV,
 * EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG (defaults),
 * ONBUILD is kept as written. Other instructions are copied unchanged
 * (RUN, CMD, ENTRYPOINT are left to the shell). */
BerthInstruction *berth_containerfile_expand (const BerthInstruction *instruction,
                                              GHashTable *variables, GError **error);

/* Applies a metadata instruction (CMD, ENTRYPOINT, ENV, WORKDIR, USER,
 * LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, SHELL) to
 * @config, the OCI image config's "config" object. An instruction not yet
 * expanded is expanded against the config's own Env first. ENTRYPOINT
 * clears Cmd, as Docker does. Others are refused with
 * BERTH_ERROR_INVALID_ARGUMENT. */
gboolean berth_containerfile_apply (JsonObject *config, const BerthInstruction *instruction,
                                    GError **error);

/* A shell-form command as the config stores it: Shell (or /bin/sh -c) plus
 * the line; the exec form as it is. */
char **berth_instruction_command (const BerthInstruction *instruction, JsonObject *config);

/* Parses a Go duration ("30s", "1m30s", "250ms") to nanoseconds; -1 if bad. */
gint64 berth_containerfile_parse_duration (const char *text);

G_END_DECLS
