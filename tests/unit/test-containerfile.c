/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-containerfile.h"
#include "berth-error.h"

static BerthContainerfile *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  BerthContainerfile *file = berth_containerfile_parse (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static void
assert_parse_error (const char *text, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthContainerfile) file = berth_containerfile_parse (text, strlen (text), &error);

  if (file != NULL)
    g_error ("parsed but should fail with \"%s\": %s", message, text);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, message) == NULL)
    g_error ("error \"%s\" does not contain \"%s\"", error->message, message);
}

static BerthInstruction *
nth (BerthContainerfile *file, guint stage, guint index)
{
  BerthBuildStage *s = g_ptr_array_index (file->stages, stage);

  g_assert_cmpuint (index, <, s->instructions->len);
  return g_ptr_array_index (s->instructions, index);
}

static void
assert_strv (char **got, const char *const *want)
{
  guint n = g_strv_length ((char **)want);

  g_assert_nonnull (got);
  g_assert_cmpuint (g_strv_length (got), ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (got[i], ==, want[i]);
}

static GHashTable *
vars (const char *first, ...)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  va_list ap;

  va_start (ap, first);
  for (const char *k = first; k; k = va_arg (ap, const char *))
    g_hash_table_insert (table, g_strdup (k), g_strdup (va_arg (ap, const char *)));
  va_end (ap);
  return table;
}

static BerthInstruction *
expand (BerthInstruction *ins, GHashTable *table)
{
  g_autoptr (GError) error = NULL;
  BerthInstruction *out = berth_containerfile_expand (ins, table, &error);

  g_assert_no_error (error);
  return out;
}

static void
test_from (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("FROM busybox\n"
                                                  "from docker.io/library/alpine:3.19 as Build\n"
                                                  "FROM --platform=linux/amd64 scratch AS out\n"
                                                  "FROM busybox@sha256:"
                                                  "0000000000000000000000000000000000000000000000"
                                                  "000000000000000000\n");
  BerthBuildStage *s;

  g_assert_cmpuint (file->stages->len, ==, 4);
  s = g_ptr_array_index (file->stages, 0);
  g_assert_cmpstr (s->from->args[0], ==, "busybox");
  g_assert_null (s->name);
  s = g_ptr_array_index (file->stages, 1);
  g_assert_cmpstr (s->from->args[0], ==, "docker.io/library/alpine:3.19");
  g_assert_cmpstr (s->name, ==, "build");
  g_assert_cmpuint (s->from->line, ==, 2);
  s = g_ptr_array_index (file->stages, 2);
  g_assert_cmpstr (s->from->args[0], ==, "scratch");
  g_assert_cmpstr (berth_instruction_get_flag (s->from, "platform"), ==, "linux/amd64");
  g_assert_true (berth_containerfile_find_stage (file, "BUILD")
                 == g_ptr_array_index (file->stages, 1));
  g_assert_true (berth_containerfile_find_stage (file, "2") == g_ptr_array_index (file->stages, 2));
  g_assert_null (berth_containerfile_find_stage (file, "nope"));
  g_assert_null (berth_containerfile_find_stage (file, "9"));
}

static void
test_run_forms (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("FROM busybox\n"
                                                  "RUN echo \"hello $HOME\" && ls 'a b'\n"
                                                  "RUN [\"/bin/echo\", \"a b\", \"$HOME\"]\n"
                                                  "RUN [ -f /etc/passwd ] && echo yes\n"
                                                  "run   echo lower case and spaces   \n");
  BerthInstruction *ins;

  ins = nth (file, 0, 0);
  g_assert_cmpint (ins->kind, ==, BERTH_INSTRUCTION_RUN);
  g_assert_false (ins->exec_form);
  assert_strv (ins->args, (const char *[]){ "echo \"hello $HOME\" && ls 'a b'", NULL });
  ins = nth (file, 0, 1);
  g_assert_true (ins->exec_form);
  assert_strv (ins->args, (const char *[]){ "/bin/echo", "a b", "$HOME", NULL });
  ins = nth (file, 0, 2);
  g_assert_false (ins->exec_form);
  assert_strv (ins->args, (const char *[]){ "[ -f /etc/passwd ] && echo yes", NULL });
  ins = nth (file, 0, 3);
  assert_strv (ins->args, (const char *[]){ "echo lower case and spaces", NULL });
  g_assert_cmpstr (ins->original, ==, "run   echo lower case and spaces");
}

static void
test_copy_add (void)
{
  g_autoptr (BerthContainerfile) file
    = parse_ok ("FROM busybox AS a\n"
                "FROM busybox\n"
                "COPY --from=a --chown=1:2 --chmod=0755 /bin/sh /out/\n"
                "COPY [\"with space.txt\", \"*.c\", \"/dst dir/\"]\n"
                "ADD --chown=nobody files.tar /opt\n"
                "COPY \"quoted name\" 'single' /x/\n"
                "ADD --link https://example.com/f /f\n");
  BerthInstruction *ins = nth (file, 1, 0);

  g_assert_cmpint (ins->kind, ==, BERTH_INSTRUCTION_COPY);
  g_assert_cmpstr (berth_instruction_get_flag (ins, "from"), ==, "a");
  g_assert_cmpstr (berth_instruction_get_flag (ins, "chown"), ==, "1:2");
  g_assert_cmpstr (berth_instruction_get_flag (ins, "chmod"), ==, "0755");
  g_assert_null (berth_instruction_get_flag (ins, "link"));
  assert_strv (ins->args, (const char *[]){ "/bin/sh", "/out/", NULL });
  ins = nth (file, 1, 1);
  g_assert_true (ins->exec_form);
  assert_strv (ins->args, (const char *[]){ "with space.txt", "*.c", "/dst dir/", NULL });
  ins = nth (file, 1, 2);
  g_assert_cmpint (ins->kind, ==, BERTH_INSTRUCTION_ADD);
  g_assert_cmpstr (berth_instruction_get_flag (ins, "chown"), ==, "nobody");
  {
    g_autoptr (BerthInstruction) e = expand (nth (file, 1, 3), NULL);

    assert_strv (e->args, (const char *[]){ "quoted name", "single", "/x/", NULL });
  }
  g_assert_cmpstr (berth_instruction_get_flag (nth (file, 1, 4), "link"), ==, "");
}

static void
test_env_label_arg (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("ARG BASE=busybox\n"
                                                  "ARG NODEFAULT\n"
                                                  "FROM $BASE\n"
                                                  "ENV A=1 B=\"two words\" C=three\\ words\n"
                                                  "ENV LEGACY value with   spaces\n"
                                                  "LABEL \"com.example.x\"=\"y z\" version=1.0\n"
                                                  "LABEL legacy some label\n"
                                                  "ARG X Y=2\n");
  BerthInstruction *ins;

  g_assert_cmpuint (file->global_args->len, ==, 2);
  ins = g_ptr_array_index (file->global_args, 0);
  assert_strv (ins->args, (const char *[]){ "BASE", NULL });
  g_assert_cmpstr (ins->values[0], ==, "busybox");
  ins = g_ptr_array_index (file->global_args, 1);
  g_assert_null (ins->values[0]);

  {
    g_autoptr (BerthInstruction) e = expand (nth (file, 0, 0), NULL);

    assert_strv (e->args, (const char *[]){ "A", "B", "C", NULL });
    g_assert_cmpstr (e->values[0], ==, "1");
    g_assert_cmpstr (e->values[1], ==, "two words");
    g_assert_cmpstr (e->values[2], ==, "three words");
  }
  {
    g_autoptr (BerthInstruction) e = expand (nth (file, 0, 1), NULL);

    assert_strv (e->args, (const char *[]){ "LEGACY", NULL });
    g_assert_cmpstr (e->values[0], ==, "value with   spaces");
  }
  {
    g_autoptr (BerthInstruction) e = expand (nth (file, 0, 2), NULL);

    assert_strv (e->args, (const char *[]){ "com.example.x", "version", NULL });
    g_assert_cmpstr (e->values[0], ==, "y z");
    g_assert_cmpstr (e->values[1], ==, "1.0");
  }
  {
    g_autoptr (BerthInstruction) e = expand (nth (file, 0, 3), NULL);

    g_assert_cmpstr (e->values[0], ==, "some label");
  }
  ins = nth (file, 0, 4);
  assert_strv (ins->args, (const char *[]){ "X", "Y", NULL });
  g_assert_null (ins->values[0]);
  g_assert_cmpstr (ins->values[1], ==, "2");
  {
    /* Copies keep the NULL holes. */
    g_autoptr (BerthInstruction) copy = berth_instruction_copy (ins);

    g_assert_null (copy->values[0]);
    g_assert_cmpstr (copy->values[1], ==, "2");
  }
}

static void
test_all_kinds (void)
{
  g_autoptr (BerthContainerfile) file
    = parse_ok ("FROM busybox\n"
                "WORKDIR /app\n"
                "USER 1000:1000\n"
                "CMD [\"sh\"]\n"
                "ENTRYPOINT exec top -b\n"
                "EXPOSE 80 53/udp\n"
                "VOLUME [\"/data\", \"/logs\"]\n"
                "VOLUME /a /b\n"
                "STOPSIGNAL SIGINT\n"
                "SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]\n"
                "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1\n"
                "HEALTHCHECK NONE\n"
                "ONBUILD RUN echo triggered\n"
                "MAINTAINER Jane <jane@example.com>\n");
  static const BerthInstructionKind want[] = {
    BERTH_INSTRUCTION_WORKDIR,     BERTH_INSTRUCTION_USER,        BERTH_INSTRUCTION_CMD,
    BERTH_INSTRUCTION_ENTRYPOINT,  BERTH_INSTRUCTION_EXPOSE,      BERTH_INSTRUCTION_VOLUME,
    BERTH_INSTRUCTION_VOLUME,      BERTH_INSTRUCTION_STOPSIGNAL,  BERTH_INSTRUCTION_SHELL,
    BERTH_INSTRUCTION_HEALTHCHECK, BERTH_INSTRUCTION_HEALTHCHECK, BERTH_INSTRUCTION_ONBUILD,
    BERTH_INSTRUCTION_MAINTAINER,
  };

  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      BerthInstruction *ins = nth (file, 0, i);

      g_assert_cmpint (ins->kind, ==, want[i]);
      g_assert_cmpuint (ins->line, ==, i + 2);
    }
  assert_strv (nth (file, 0, 2)->args, (const char *[]){ "sh", NULL });
  assert_strv (nth (file, 0, 4)->args, (const char *[]){ "80", "53/udp", NULL });
  assert_strv (nth (file, 0, 5)->args, (const char *[]){ "/data", "/logs", NULL });
  assert_strv (nth (file, 0, 6)->args, (const char *[]){ "/a", "/b", NULL });
  assert_strv (nth (file, 0, 9)->args, (const char *[]){ "wget -q localhost || exit 1", NULL });
  g_assert_cmpstr (berth_instruction_get_flag (nth (file, 0, 9), "interval"), ==, "5s");
  g_assert_null (nth (file, 0, 10)->args[0]);
  assert_strv (nth (file, 0, 11)->args, (const char *[]){ "RUN echo triggered", NULL });
  assert_strv (nth (file, 0, 12)->args, (const char *[]){ "Jane <jane@example.com>", NULL });
  g_assert_cmpstr (berth_instruction_kind_name (BERTH_INSTRUCTION_HEALTHCHECK), ==, "HEALTHCHECK");
}

static void
test_continuations_comments (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("# a comment\n"
                                                  "\n"
                                                  "FROM busybox\r\n"
                                                  "RUN echo one \\\n"
                                                  "# a comment inside\n"
                                                  "\n"
                                                  "    two \\   \n"
                                                  "    three\n"
                                                  "  # indented comment\n"
                                                  "ENV A=1 \\\n"
                                                  "    B=2\n"
                                                  "RUN echo # not a comment\n"
                                                  "RUN echo last \\");
  BerthInstruction *ins = nth (file, 0, 0);

  g_assert_cmpuint (ins->line, ==, 4);
  assert_strv (ins->args, (const char *[]){ "echo one     two     three", NULL });
  ins = nth (file, 0, 1);
  g_assert_cmpuint (ins->line, ==, 10);
  assert_strv (ins->args, (const char *[]){ "A", "B", NULL });
  assert_strv (nth (file, 0, 2)->args, (const char *[]){ "echo # not a comment", NULL });
  assert_strv (nth (file, 0, 3)->args, (const char *[]){ "echo last", NULL });
}

static void
test_directives (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("# syntax=docker/dockerfile:1\n"
                                                  "# escape=`\n"
                                                  "FROM busybox\n"
                                                  "RUN echo C:\\path `\n"
                                                  "    more\n"
                                                  "COPY a` b /dst/\n");
  g_autoptr (BerthInstruction) copy = NULL;

  g_assert_cmpint (file->escape, ==, '`');
  assert_strv (nth (file, 0, 0)->args, (const char *[]){ "echo C:\\path     more", NULL });
  copy = expand (nth (file, 0, 1), NULL);
  assert_strv (copy->args, (const char *[]){ "a b", "/dst/", NULL });

  /* A directive after the first instruction or comment is a comment. */
  {
    g_autoptr (BerthContainerfile) late = parse_ok ("# hello\n# escape=`\nFROM busybox\n");

    g_assert_cmpint (late->escape, ==, '\\');
  }
  assert_parse_error ("# escape=x\nFROM busybox\n", "line 1: escape=x");
  assert_parse_error ("# escape=`\n# escape=\\\nFROM busybox\n", "line 2: the escape directive");
}

static const char *
lookup (const char *name, gpointer data)
{
  return g_hash_table_lookup (data, name);
}

static void
check_sub (GHashTable *table, const char *word, const char *want)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *got = berth_containerfile_substitute (word, '\\', TRUE, lookup, table, &error);

  g_assert_no_error (error);
  if (g_strcmp0 (got, want) != 0)
    g_error ("substitute(%s) = \"%s\", want \"%s\"", word, got, want);
}

static void
test_substitution (void)
{
  g_autoptr (GHashTable) t = vars ("A", "alpha", "E", "", "PATH", "/bin", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *raw = NULL;

  check_sub (t, "$A", "alpha");
  check_sub (t, "${A}", "alpha");
  check_sub (t, "x${A}y$A.z", "xalphayalpha.z");
  check_sub (t, "$UNSET-", "-");
  check_sub (t, "${UNSET:-def}", "def");
  check_sub (t, "${E:-def}", "def");
  check_sub (t, "${E-def}", "");
  check_sub (t, "${UNSET-def}", "def");
  check_sub (t, "${A:-def}", "alpha");
  check_sub (t, "${A:+alt}", "alt");
  check_sub (t, "${E:+alt}", "");
  check_sub (t, "${E+alt}", "alt");
  check_sub (t, "${UNSET:+alt}", "");
  check_sub (t, "${UNSET:-${A}-x}", "alpha-x");
  check_sub (t, "\\$A", "$A");
  check_sub (t, "'$A'", "$A");
  check_sub (t, "\"$A b\"", "alpha b");
  check_sub (t, "\"\\$A \\\" \\n\"", "$A \" \\n");
  check_sub (t, "$", "$");
  check_sub (t, "$5", "$5");
  check_sub (t, "a\\ b", "a b");
  check_sub (t, "${PATH}:/usr/bin", "/bin:/usr/bin");

  raw = berth_containerfile_substitute ("'$A' \"x\" $A", '\\', FALSE, lookup, t, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (raw, ==, "'alpha' \"x\" alpha");

  g_assert_null (berth_containerfile_substitute ("${A", '\\', TRUE, lookup, t, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (berth_containerfile_substitute ("${A%.c}", '\\', TRUE, lookup, t, &error));
  g_assert_nonnull (strstr (error->message, "unsupported substitution"));
  g_clear_error (&error);
  g_assert_null (berth_containerfile_substitute ("${}", '\\', TRUE, lookup, t, &error));
  g_clear_error (&error);
  g_assert_null (
    berth_containerfile_substitute ("${UNSET:?must be set}", '\\', TRUE, lookup, t, &error));
  g_assert_nonnull (strstr (error->message, "UNSET: must be set"));
  g_clear_error (&error);
  g_assert_null (berth_containerfile_substitute ("\"open", '\\', TRUE, lookup, t, &error));
  g_assert_nonnull (strstr (error->message, "unterminated quote"));
}

static void
test_expand_rules (void)
{
  g_autoptr (BerthContainerfile) file = parse_ok ("FROM busybox\n"
                                                  "ARG V=1\n"
                                                  "ENV HOME_DIR=/home/$V OLD=$OTHER\n"
                                                  "RUN echo $V\n"
                                                  "CMD echo $V\n"
                                                  "COPY --chown=${OWNER:-0} $V.txt /dst/$V/\n"
                                                  "WORKDIR /w/${V}\n"
                                                  "USER ${V}\n"
                                                  "EXPOSE $PORTS\n"
                                                  "VOLUME [\"/v/$V\"]\n"
                                                  "LABEL v=$V\n"
                                                  "STOPSIGNAL $SIG\n"
                                                  "ONBUILD RUN echo $V\n");
  g_autoptr (GHashTable) t
    = vars ("V", "9", "OTHER", "o", "PORTS", "80 443/udp", "SIG", "SIGKILL", NULL);
  g_autoptr (BerthInstruction) env = expand (nth (file, 0, 1), t);
  g_autoptr (BerthInstruction) run = expand (nth (file, 0, 2), t);
  g_autoptr (BerthInstruction) cmd = expand (nth (file, 0, 3), t);
  g_autoptr (BerthInstruction) copy = expand (nth (file, 0, 4), t);
  g_autoptr (BerthInstruction) workdir = expand (nth (file, 0, 5), t);
  g_autoptr (BerthInstruction) user = expand (nth (file, 0, 6), t);
  g_autoptr (BerthInstruction) expose = expand (nth (file, 0, 7), t);
  g_autoptr (BerthInstruction) volume = expand (nth (file, 0, 8), t);
  g_autoptr (BerthInstruction) label = expand (nth (file, 0, 9), t);
  g_autoptr (BerthInstruction) sig = expand (nth (file, 0, 10), t);
  g_autoptr (BerthInstruction) onbuild = expand (nth (file, 0, 11), t);
  g_autoptr (BerthInstruction) again = expand (env, NULL);

  g_assert_true (env->expanded);
  g_assert_cmpstr (env->values[0], ==, "/home/9");
  g_assert_cmpstr (env->values[1], ==, "o");
  /* Expanding again changes nothing. */
  g_assert_cmpstr (again->values[0], ==, "/home/9");
  /* The shell substitutes in RUN and CMD, not the builder. */
  assert_strv (run->args, (const char *[]){ "echo $V", NULL });
  assert_strv (cmd->args, (const char *[]){ "echo $V", NULL });
  assert_strv (copy->args, (const char *[]){ "9.txt", "/dst/9/", NULL });
  g_assert_cmpstr (berth_instruction_get_flag (copy, "chown"), ==, "0");
  assert_strv (workdir->args, (const char *[]){ "/w/9", NULL });
  assert_strv (user->args, (const char *[]){ "9", NULL });
  assert_strv (expose->args, (const char *[]){ "80", "443/udp", NULL });
  assert_strv (volume->args, (const char *[]){ "/v/9", NULL });
  g_assert_cmpstr (label->values[0], ==, "9");
  assert_strv (sig->args, (const char *[]){ "SIGKILL", NULL });
  assert_strv (onbuild->args, (const char *[]){ "RUN echo $V", NULL });
}

static void
test_arg_scope (void)
{
  /* Global ARGs feed FROM; a stage must declare them again to use them. */
  g_autoptr (BerthContainerfile) ok = parse_ok ("ARG TAG=1\n"
                                                "FROM busybox:$TAG AS one\n"
                                                "ARG TAG\n"
                                                "RUN echo $TAG\n"
                                                "ENV X=$TAG Y=${LATER:-fallback}\n"
                                                "ENV Z=$PATH\n"
                                                "ARG LATER\n"
                                                "FROM --platform=$BUILDPLATFORM busybox\n"
                                                "RUN echo $LATER $TAG\n"
                                                "COPY --from=one /x /x\n");

  (void)ok;
  assert_parse_error ("FROM busybox\nENV A=$V\nARG V=1\n",
                      "line 2: $V is used before its ARG on line 3");
  assert_parse_error ("FROM busybox\nCOPY ${V} /x\nARG V\n", "line 2: $V is used before its ARG");
  assert_parse_error ("ARG V=1\nFROM busybox\nLABEL v=$V\n",
                      "line 3: $V is an ARG of the first FROM (line 1)");
  assert_parse_error ("FROM busybox:$TAG\n", "line 1: $TAG is not declared");
  assert_parse_error ("FROM busybox\nARG T\nFROM busybox:$T\n", "line 3: $T is not declared");
  assert_parse_error ("ARG A=$B\nARG B\nFROM busybox\n", "line 1: $B is used before an ARG");
}

static void
test_malformed (void)
{
  assert_parse_error ("FROM busybox\nFROB x\n", "line 2: unknown instruction \"FROB\"");
  assert_parse_error ("RUN echo hi\nFROM busybox\n", "line 1: missing FROM");
  assert_parse_error ("# only a comment\n", "line 1: missing FROM");
  assert_parse_error ("", "line 1: missing FROM");
  assert_parse_error ("ARG A=1\n\nARG B=2\n", "line 3: missing FROM");
  assert_parse_error ("FROM busybox\n\nCMD [\"sh\", 'x']\n", "line 3: CMD: bad JSON form");
  assert_parse_error ("FROM busybox\nENTRYPOINT [\"sh\"\n", "line 2: ENTRYPOINT: bad JSON form");
  assert_parse_error ("FROM busybox\nRUN [\"sh\", 1]\n", "element 2 is not a string");
  assert_parse_error ("FROM busybox\nRUN []\n", "RUN needs a command");
  assert_parse_error ("FROM busybox\nSHELL /bin/sh -c\n", "SHELL takes a JSON array");
  assert_parse_error ("FROM busybox\nENV A=\"open\n", "line 2: ENV: unterminated quote");
  assert_parse_error ("FROM busybox\nLABEL a='b\n", "line 2: LABEL: unterminated quote");
  assert_parse_error ("FROM busybox\nCOPY \"a /b\n", "line 2: COPY: unterminated quote");
  assert_parse_error ("FROM busybox\nWORKDIR \"/x\n", "line 2: WORKDIR: unterminated quote");
  assert_parse_error ("FROM busybox\nRUN --mount=type=cache,target=/c true\n",
                      "line 2: RUN --mount is not supported");
  assert_parse_error ("FROM busybox\nRUN <<EOF\necho\nEOF\n", "line 2: RUN: heredocs");
  assert_parse_error ("FROM busybox\nADD --checksum=sha256:00 http://x/y /y\n",
                      "line 2: ADD --checksum is not supported");
  assert_parse_error ("FROM busybox\nCOPY <<-\"EOF\" /x\n", "heredocs");
  assert_parse_error ("FROM busybox\nCOPY --frm=a b c\n", "line 2: unknown option --frm for COPY");
  assert_parse_error ("FROM busybox\nCOPY --from a b\n", "--from needs a value");
  assert_parse_error ("FROM busybox\nCOPY --from=a --from=b c d\n", "--from given twice");
  assert_parse_error ("FROM busybox\nCOPY onlyone\n", "at least one source and a destination");
  assert_parse_error ("FROM busybox\nENV\n", "line 2: ENV needs arguments");
  assert_parse_error ("FROM busybox\nENV A\n", "ENV A needs a value");
  assert_parse_error ("FROM busybox\nENV A=1 B\n", "\"B\" is not NAME=VALUE");
  assert_parse_error ("FROM busybox\nENV =1\n", "empty name");
  assert_parse_error ("FROM busybox\nARG a-b\n", "not a valid name");
  assert_parse_error ("FROM busybox AS\n", "FROM takes IMAGE [AS NAME]");
  assert_parse_error ("FROM busybox AS 1x\n", "not a valid stage name");
  assert_parse_error ("FROM busybox AS a\nFROM busybox AS A\n",
                      "line 2: stage name \"a\" is already used on line 1");
  assert_parse_error ("FROM busybox\nHEALTHCHECK --interval=5 CMD true\n", "--interval=5");
  assert_parse_error ("FROM busybox\nHEALTHCHECK --retries=x CMD true\n", "--retries=x");
  assert_parse_error ("FROM busybox\nHEALTHCHECK --retries=1 NONE\n", "NONE takes no options");
  assert_parse_error ("FROM busybox\nHEALTHCHECK true\n", "expected CMD");
  assert_parse_error ("FROM busybox\nONBUILD ONBUILD RUN x\n", "ONBUILD cannot hold another");
  assert_parse_error ("FROM busybox\nONBUILD FROM x\n", "ONBUILD cannot hold FROM");
  assert_parse_error ("FROM busybox\nONBUILD FROB\n", "unknown instruction");
  assert_parse_error ("FROM busybox\nCMD\n", "line 2: CMD needs arguments");
  {
    static const char nul[] = "FROM busybox\nRUN a\0b\n";
    g_autoptr (GError) error = NULL;

    g_assert_null (berth_containerfile_parse (nul, sizeof nul - 1, &error));
    g_assert_nonnull (strstr (error->message, "line 2: a NUL byte"));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *big = g_malloc0 (BERTH_CONTAINERFILE_MAX_SIZE + 2);

    memset (big, '#', BERTH_CONTAINERFILE_MAX_SIZE + 1);
    g_assert_null (berth_containerfile_parse (big, BERTH_CONTAINERFILE_MAX_SIZE + 1, &error));
    g_assert_nonnull (strstr (error->message, "larger than"));
  }
}

static JsonObject *
apply_all (const char *const *lines)
{
  JsonObject *config = json_object_new ();

  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthInstruction) ins = berth_containerfile_parse_instruction (lines[i], &error);

      g_assert_no_error (error);
      if (!berth_containerfile_apply (config, ins, &error))
        g_error ("%s: %s", lines[i], error->message);
    }
  return config;
}

static char *
to_json (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_set_object (node, object);
  return json_to_string (node, FALSE);
}

static void
test_apply (void)
{
  static const char *const lines[] = {
    "ENV PATH=/usr/bin:/bin HOME=/root",
    "ENV PATH=/opt/bin:$PATH",
    "LABEL a=b \"c d\"=e",
    "WORKDIR /app",
    "WORKDIR sub/../src",
    "USER nobody:nogroup",
    "EXPOSE 80 53/udp 8000-8002/TCP",
    "VOLUME /data /cache",
    "VOLUME [\"/logs\"]",
    "STOPSIGNAL SIGINT",
    "SHELL [\"/bin/ash\", \"-c\"]",
    "CMD echo $HOME",
    "HEALTHCHECK --interval=1m30s --timeout=500ms --retries=2 CMD [\"true\"]",
    "ONBUILD COPY . /app",
    NULL,
  };
  g_autoptr (JsonObject) config = apply_all (lines);
  g_autofree char *json = to_json (config);

  g_assert_cmpstr (json, ==,
                   "{\"Env\":[\"PATH=/opt/bin:/usr/bin:/bin\",\"HOME=/root\"],"
                   "\"Labels\":{\"a\":\"b\",\"c d\":\"e\"},"
                   "\"WorkingDir\":\"/app/src\","
                   "\"User\":\"nobody:nogroup\","
                   "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},"
                   "\"8001/tcp\":{},\"8002/tcp\":{}},"
                   "\"Volumes\":{\"/data\":{},\"/cache\":{},\"/logs\":{}},"
                   "\"StopSignal\":\"SIGINT\","
                   "\"Shell\":[\"/bin/ash\",\"-c\"],"
                   "\"Cmd\":[\"/bin/ash\",\"-c\",\"echo $HOME\"],"
                   "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":90000000000,"
                   "\"Timeout\":500000000,\"Retries\":2},"
                   "\"OnBuild\":[\"COPY . /app\"]}");
}

static void
test_apply_entrypoint (void)
{
  static const char *const lines[] = {
    "CMD [\"sh\"]",
    "ENTRYPOINT [\"/bin/busybox\"]",
    "HEALTHCHECK NONE",
    NULL,
  };
  static const char *const lines2[] = {
    "ENTRYPOINT top -b",
    "CMD",
    NULL,
  };
  g_autoptr (JsonObject) config = apply_all (lines);
  g_autofree char *json = to_json (config);
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthInstruction) cmd = NULL;
  g_autoptr (BerthInstruction) ep = berth_containerfile_parse_instruction (lines2[0], &error);
  g_auto (GStrv) argv = NULL;

  g_assert_cmpstr (json, ==,
                   "{\"Cmd\":null,\"Entrypoint\":[\"/bin/busybox\"],"
                   "\"Healthcheck\":{\"Test\":[\"NONE\"]}}");
  argv = berth_instruction_command (ep, NULL);
  assert_strv (argv, (const char *[]){ "/bin/sh", "-c", "top -b", NULL });
  cmd = berth_containerfile_parse_instruction (lines2[1], &error);
  g_assert_null (cmd);
  g_assert_nonnull (strstr (error->message, "line 1: CMD needs arguments"));
}

static void
test_apply_errors (void)
{
  static const struct
  {
    const char *line, *message;
  } cases[] = {
    { "RUN echo", "RUN does not change an image config" },
    { "COPY a b", "COPY does not change an image config" },
    { "FROM x", "FROM does not change" },
    { "EXPOSE 0", "EXPOSE: \"0\" is not a port" },
    { "EXPOSE 70000", "is not a port" },
    { "EXPOSE 80/icmp", "unknown protocol" },
    { "EXPOSE 90-80", "is not a port" },
    { "EXPOSE 1-5000", "more than 1024 ports" },
    { "STOPSIGNAL FROB", "STOPSIGNAL: \"FROB\" is not a signal" },
    { "USER \"a b\"", "is not USER[:GROUP]" },
    { "VOLUME [\"\"]", "VOLUME: a path is empty" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthInstruction) ins
        = berth_containerfile_parse_instruction (cases[i].line, &error);
      g_autoptr (JsonObject) config = json_object_new ();

      g_assert_no_error (error);
      g_assert_false (berth_containerfile_apply (config, ins, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("%s: \"%s\" lacks \"%s\"", cases[i].line, error->message, cases[i].message);
      g_assert_cmpuint (json_object_get_size (config), ==, 0);
    }
  {
    g_autoptr (GError) error = NULL;

    g_assert_null (berth_containerfile_parse_instruction ("CMD a\nRUN b", &error));
    g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_duration (void)
{
  g_assert_cmpint (berth_containerfile_parse_duration ("30s"), ==, G_GINT64_CONSTANT (30000000000));
  g_assert_cmpint (berth_containerfile_parse_duration ("1m30s"), ==,
                   G_GINT64_CONSTANT (90000000000));
  g_assert_cmpint (berth_containerfile_parse_duration ("250ms"), ==, 250000000);
  g_assert_cmpint (berth_containerfile_parse_duration ("1.5h"), ==,
                   G_GINT64_CONSTANT (5400000000000));
  g_assert_cmpint (berth_containerfile_parse_duration ("0"), ==, 0);
  g_assert_cmpint (berth_containerfile_parse_duration ("10"), ==, -1);
  g_assert_cmpint (berth_containerfile_parse_duration ("s"), ==, -1);
  g_assert_cmpint (berth_containerfile_parse_duration ("-1s"), ==, -1);
  g_assert_cmpint (berth_containerfile_parse_duration (""), ==, -1);
  g_assert_cmpint (berth_containerfile_parse_duration ("5x"), ==, -1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/containerfile/from", test_from);
  g_test_add_func ("/containerfile/run-forms", test_run_forms);
  g_test_add_func ("/containerfile/copy-add", test_copy_add);
  g_test_add_func ("/containerfile/env-label-arg", test_env_label_arg);
  g_test_add_func ("/containerfile/all-kinds", test_all_kinds);
  g_test_add_func ("/containerfile/continuations-comments", test_continuations_comments);
  g_test_add_func ("/containerfile/directives", test_directives);
  g_test_add_func ("/containerfile/substitution", test_substitution);
  g_test_add_func ("/containerfile/expand-rules", test_expand_rules);
  g_test_add_func ("/containerfile/arg-scope", test_arg_scope);
  g_test_add_func ("/containerfile/malformed", test_malformed);
  g_test_add_func ("/containerfile/apply", test_apply);
  g_test_add_func ("/containerfile/apply-entrypoint", test_apply_entrypoint);
  g_test_add_func ("/containerfile/apply-errors", test_apply_errors);
  g_test_add_func ("/containerfile/duration", test_duration);
  return g_test_run ();
}
