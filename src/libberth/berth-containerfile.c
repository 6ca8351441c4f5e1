/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-containerfile.h"
#include "berth-error.h"
#include "berth-signal.h"

#include <string.h>

/* Instructions, the flags each accepts, and whether Docker substitutes
 * variables in them at build time. */
typedef struct
{
  const char *name;
  const char *const *flags;
  gboolean substitutes;
} KindInfo;

static const char *const from_flags[] = { "platform", NULL };
static const char *const run_flags[] = { "mount", "network", "security", NULL };
static const char *const copy_flags[] = { "from", "chown", "chmod", "link", NULL };
static const char *const add_flags[] = { "chown", "chmod", "checksum", "link", NULL };
static const char *const healthcheck_flags[]
  = { "interval", "timeout", "start-period", "start-interval", "retries", NULL };
static const char *const no_flags[] = { NULL };

static const KindInfo kinds[] = {
  [BERTH_INSTRUCTION_FROM] = { "FROM", from_flags, TRUE },
  [BERTH_INSTRUCTION_RUN] = { "RUN", run_flags, FALSE },
  [BERTH_INSTRUCTION_COPY] = { "COPY", copy_flags, TRUE },
  [BERTH_INSTRUCTION_ADD] = { "ADD", add_flags, TRUE },
  [BERTH_INSTRUCTION_ENV] = { "ENV", no_flags, TRUE },
  [BERTH_INSTRUCTION_ARG] = { "ARG", no_flags, TRUE },
  [BERTH_INSTRUCTION_WORKDIR] = { "WORKDIR", no_flags, TRUE },
  [BERTH_INSTRUCTION_USER] = { "USER", no_flags, TRUE },
  [BERTH_INSTRUCTION_CMD] = { "CMD", no_flags, FALSE },
  [BERTH_INSTRUCTION_ENTRYPOINT] = { "ENTRYPOINT", no_flags, FALSE },
  [BERTH_INSTRUCTION_EXPOSE] = { "EXPOSE", no_flags, TRUE },
  [BERTH_INSTRUCTION_VOLUME] = { "VOLUME", no_flags, TRUE },
  [BERTH_INSTRUCTION_LABEL] = { "LABEL", no_flags, TRUE },
  [BERTH_INSTRUCTION_STOPSIGNAL] = { "STOPSIGNAL", no_flags, TRUE },
  [BERTH_INSTRUCTION_SHELL] = { "SHELL", no_flags, FALSE },
  [BERTH_INSTRUCTION_HEALTHCHECK] = { "HEALTHCHECK", healthcheck_flags, FALSE },
  [BERTH_INSTRUCTION_ONBUILD] = { "ONBUILD", no_flags, FALSE },
  [BERTH_INSTRUCTION_MAINTAINER] = { "MAINTAINER", no_flags, FALSE },
};

/* Build arguments every stage may use in FROM without declaring them. */
static const char *const predefined_args[] = {
  "TARGETPLATFORM", "TARGETOS",     "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS",
  "BUILDARCH",      "BUILDVARIANT", NULL,
};

static gboolean fail (GError **error, guint line, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, guint line, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "line %u: %s", line, why);
  return FALSE;
}

const char *
berth_instruction_kind_name (BerthInstructionKind kind)
{
  return kind < G_N_ELEMENTS (kinds) ? kinds[kind].name : "?";
}

/* g_strdupv keeps NULL entries out; values may hold NULLs (ARG without a
 * default, flags without "="), so copy by count. */
static char **
copy_sparse (char **v, guint n)
{
  char **out;

  if (v == NULL)
    return NULL;
  out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    out[i] = g_strdup (v[i]);
  return out;
}

/* Like g_strfreev but for arrays with NULL holes, of known length. */
static void
free_sparse (char **v, guint n)
{
  if (v == NULL)
    return;
  for (guint i = 0; i < n; i++)
    g_free (v[i]);
  g_free (v);
}

void
berth_instruction_free (BerthInstruction *instruction)
{
  if (instruction == NULL)
    return;
  g_free (instruction->original);
  free_sparse (instruction->flag_values,
               instruction->flag_names ? g_strv_length (instruction->flag_names) : 0);
  free_sparse (instruction->values, instruction->args ? g_strv_length (instruction->args) : 0);
  g_strfreev (instruction->flag_names);
  g_strfreev (instruction->args);
  g_free (instruction->stage_name);
  g_free (instruction);
}

BerthInstruction *
berth_instruction_copy (const BerthInstruction *instruction)
{
  BerthInstruction *copy = g_new0 (BerthInstruction, 1);
  guint n_flags = instruction->flag_names ? g_strv_length (instruction->flag_names) : 0;
  guint n_args = instruction->args ? g_strv_length (instruction->args) : 0;

  *copy = *instruction;
  copy->original = g_strdup (instruction->original);
  copy->flag_names = g_strdupv (instruction->flag_names);
  copy->flag_values = copy_sparse (instruction->flag_values, n_flags);
  copy->args = g_strdupv (instruction->args);
  copy->values = copy_sparse (instruction->values, n_args);
  copy->stage_name = g_strdup (instruction->stage_name);
  return copy;
}

const char *
berth_instruction_get_flag (const BerthInstruction *instruction, const char *name)
{
  for (guint i = 0; instruction->flag_names && instruction->flag_names[i]; i++)
    if (strcmp (instruction->flag_names[i], name) == 0)
      return instruction->flag_values[i] ? instruction->flag_values[i] : "";
  return NULL;
}

/* ---- Words, quotes and variables -------------------------------------- */

typedef struct
{
  const char *p;
  char escape;
  gboolean remove_quotes;
  BerthVariableLookup lookup;
  gpointer user_data;
  GPtrArray *plain_refs; /* names used without a default, or NULL */
} Lexer;

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

static gboolean lex (Lexer *lx, GString *out, gboolean in_braces, GError **error);

static gboolean
lex_variable (Lexer *lx, GString *out, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr (GString) word = NULL;
  const char *value, *start;
  gboolean colon = FALSE, set, empty;
  char modifier = 0;

  lx->p++; /* '$' */
  if (*lx->p != '{')
    {
      if (!g_ascii_isalpha (*lx->p) && *lx->p != '_')
        {
          g_string_append_c (out, '$');
          return TRUE;
        }
      for (start = lx->p; is_name_char (*lx->p); lx->p++)
        ;
      name = g_strndup (start, lx->p - start);
      if (lx->plain_refs)
        g_ptr_array_add (lx->plain_refs, g_strdup (name));
      value = lx->lookup ? lx->lookup (name, lx->user_data) : NULL;
      g_string_append (out, value ? value : "");
      return TRUE;
    }

  lx->p++; /* '{' */
  for (start = lx->p; is_name_char (*lx->p); lx->p++)
    ;
  if (lx->p == start)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "bad substitution: ${ must be followed by a variable name"),
           FALSE;
  name = g_strndup (start, lx->p - start);
  if (*lx->p == ':' && lx->p[1] && strchr ("-+?", lx->p[1]))
    {
      colon = TRUE;
      modifier = lx->p[1];
      lx->p += 2;
    }
  else if (*lx->p && strchr ("-+?", *lx->p))
    modifier = *lx->p++;
  else if (*lx->p != '}')
    {
      if (*lx->p == '\0')
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "missing '}' after ${%s", name),
               FALSE;
      return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                          "unsupported substitution ${%s%c...}: berth knows ${%s}, ${%s:-default} "
                          "and ${%s:+alternative}",
                          name, *lx->p, name, name, name),
             FALSE;
    }

  if (modifier)
    {
      word = g_string_new (NULL);
      if (!lex (lx, word, TRUE, error))
        return FALSE;
    }
  if (*lx->p != '}')
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "missing '}' after ${%s",
                        name),
           FALSE;
  lx->p++;

  if (lx->plain_refs && (modifier == 0 || modifier == '?'))
    g_ptr_array_add (lx->plain_refs, g_strdup (name));
  value = lx->lookup ? lx->lookup (name, lx->user_data) : NULL;
  set = value != NULL;
  empty = value == NULL || *value == '\0';
  switch (modifier)
    {
    case '-':
      g_string_append (out, (colon ? !empty : set) ? value : word->str);
      break;
    case '+':
      g_string_append (out, (colon ? !empty : set) ? word->str : "");
      break;
    case '?':
      if (colon ? empty : !set)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "%s: %s", name,
                            word->len ? word->str : "is not set"),
               FALSE;
      g_string_append (out, value);
      break;
    default:
      g_string_append (out, value ? value : "");
      break;
    }
  return TRUE;
}

static gboolean
unterminated (GError **error, char quote)
{
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
               "unterminated quote: no closing %c", quote);
  return FALSE;
}

/* Copies the text at lx->p to @out, substituting variables and (when
 * asked) removing quotes and escapes, up to the end or, in braces, to the
 * '}' that closes a ${VAR:-word}. */
static gboolean
lex (Lexer *lx, GString *out, gboolean in_braces, GError **error)
{
  while (*lx->p)
    {
      char c = *lx->p;

      if (in_braces && c == '}')
        return TRUE;
      if (c == '$')
        {
          if (!lex_variable (lx, out, error))
            return FALSE;
          continue;
        }
      if (!lx->remove_quotes)
        {
          g_string_append_c (out, c);
          lx->p++;
          continue;
        }
      if (c == lx->escape)
        {
          lx->p++;
          if (*lx->p == '\0')
            g_string_append_c (out, c);
          else
            g_string_append_c (out, *lx->p++);
        }
      else if (c == '\'')
        {
          const char *end = strchr (lx->p + 1, '\'');

          if (end == NULL)
            return unterminated (error, '\'');
          g_string_append_len (out, lx->p + 1, end - lx->p - 1);
          lx->p = end + 1;
        }
      else if (c == '"')
        {
          lx->p++;
          for (;;)
            {
              c = *lx->p;
              if (c == '\0')
                return unterminated (error, '"');
              if (c == '"')
                {
                  lx->p++;
                  break;
                }
              if (c == '$')
                {
                  if (!lex_variable (lx, out, error))
                    return FALSE;
                  continue;
                }
              if (c == lx->escape && lx->p[1]
                  && (lx->p[1] == '"' || lx->p[1] == '$' || lx->p[1] == lx->escape))
                {
                  g_string_append_c (out, lx->p[1]);
                  lx->p += 2;
                  continue;
                }
              g_string_append_c (out, c);
              lx->p++;
            }
        }
      else
        {
          g_string_append_c (out, c);
          lx->p++;
        }
    }
  if (in_braces)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "missing '}' in a ${...} substitution"),
           FALSE;
  return TRUE;
}

static char *
substitute_full (const char *word, char escape, gboolean remove_quotes, BerthVariableLookup lookup,
                 gpointer user_data, GPtrArray *plain_refs, GError **error)
{
  Lexer lx = { word, escape, remove_quotes, lookup, user_data, plain_refs };
  g_autoptr (GString) out = g_string_new (NULL);

  if (!lex (&lx, out, FALSE, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
berth_containerfile_substitute (const char *word, char escape, gboolean remove_quotes,
                                BerthVariableLookup lookup, gpointer user_data, GError **error)
{
  return substitute_full (word, escape, remove_quotes, lookup, user_data, NULL, error);
}

/* Splits @text at unquoted white space, keeping quotes and escapes in the
 * words (substitution removes them later). */
static char **
split_words (const char *text, char escape, GError **error)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) cur = g_string_new (NULL);
  gboolean in_word = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (g_ascii_isspace (*p))
        {
          if (in_word)
            g_ptr_array_add (words, g_strdup (cur->str));
          g_string_truncate (cur, 0);
          in_word = FALSE;
          continue;
        }
      in_word = TRUE;
      if (*p == escape)
        {
          g_string_append_c (cur, *p);
          if (p[1])
            g_string_append_c (cur, *++p);
        }
      else if (*p == '\'')
        {
          const char *end = strchr (p + 1, '\'');

          if (end == NULL)
            return unterminated (error, '\''), NULL;
          g_string_append_len (cur, p, end - p + 1);
          p = end;
        }
      else if (*p == '"')
        {
          g_string_append_c (cur, *p++);
          for (; *p != '"'; p++)
            {
              if (*p == '\0')
                return unterminated (error, '"'), NULL;
              if (*p == escape && p[1])
                g_string_append_c (cur, *p++);
              g_string_append_c (cur, *p);
            }
          g_string_append_c (cur, '"');
        }
      else
        g_string_append_c (cur, *p);
    }
  if (in_word)
    g_ptr_array_add (words, g_strdup (cur->str));
  g_ptr_array_add (words, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&words), FALSE);
}

/* The first '=' outside quotes and escapes, or NULL. */
static const char *
find_unquoted_equals (const char *word, char escape)
{
  char quote = 0;

  for (const char *p = word; *p; p++)
    {
      if (quote)
        {
          if (*p == escape && quote == '"' && p[1])
            p++;
          else if (*p == quote)
            quote = 0;
        }
      else if (*p == escape && p[1])
        p++;
      else if (*p == '"' || *p == '\'')
        quote = *p;
      else if (*p == '=')
        return p;
    }
  return NULL;
}

/* ---- Instructions ------------------------------------------------------ */

/* The JSON form is meant when the arguments open with '[' followed by a
 * string or ']'; "[ -f x ] && …" stays a shell command, as in Docker. */
static gboolean
looks_like_json (const char *rest)
{
  const char *p = rest;

  if (*p != '[')
    return FALSE;
  for (p++; g_ascii_isspace (*p); p++)
    ;
  return *p == '"' || *p == '\'' || *p == ']';
}

/* json-glib takes 'single-quoted' strings; JSON (and Docker) do not. */
static gboolean
strict_json_quotes (const char *text)
{
  gboolean in_string = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (in_string && *p == '\\' && p[1])
        p++;
      else if (*p == '"')
        in_string = !in_string;
      else if (!in_string && *p == '\'')
        return FALSE;
    }
  return TRUE;
}

static char **
parse_json_array (const char *rest, const char *what, guint line, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  JsonNode *root;
  JsonArray *array;

  if (!strict_json_quotes (rest) || !json_parser_load_from_data (parser, rest, -1, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return fail (error, line,
                 "%s: bad JSON form %s: write a JSON array of double-quoted strings, as in "
                 "[\"/bin/sh\", \"-c\", \"echo hi\"], or use the shell form",
                 what, rest),
           NULL;
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return fail (error, line, "%s: bad JSON form %s: element %u is not a string", what, rest,
                     i + 1),
               NULL;
      g_ptr_array_add (out, g_strdup (json_node_get_string (node)));
    }
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static gboolean
words_or_json (BerthInstruction *ins, const char *rest, GError **error)
{
  const char *what = berth_instruction_kind_name (ins->kind);
  g_autoptr (GError) local_error = NULL;

  if (looks_like_json (rest))
    {
      ins->args = parse_json_array (rest, what, ins->line, error);
      ins->exec_form = TRUE;
      return ins->args != NULL;
    }
  ins->args = split_words (rest, ins->escape, &local_error);
  if (ins->args == NULL)
    return fail (error, ins->line, "%s: %s", what, local_error->message);
  return TRUE;
}

/* RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: the exec or the shell form. */
static gboolean
command_form (BerthInstruction *ins, const char *rest, GError **error)
{
  const char *what = berth_instruction_kind_name (ins->kind);

  if (looks_like_json (rest))
    {
      ins->args = parse_json_array (rest, what, ins->line, error);
      ins->exec_form = TRUE;
      if (ins->args == NULL)
        return FALSE;
      if (ins->args[0] == NULL && ins->kind != BERTH_INSTRUCTION_CMD
          && ins->kind != BERTH_INSTRUCTION_ENTRYPOINT)
        return fail (error, ins->line, "%s needs a command", what);
      return TRUE;
    }
  ins->args = g_new0 (char *, 2);
  ins->args[0] = g_strdup (rest);
  return TRUE;
}

/* Heredocs ("RUN <<EOF") need the lines after the instruction: refused. */
static gboolean
check_no_heredoc (BerthInstruction *ins, const char *rest, GError **error)
{
  g_auto (GStrv) words = split_words (rest, ins->escape, NULL);

  for (guint i = 0; words && words[i]; i++)
    {
      const char *w = words[i];

      if (g_str_has_prefix (w, "<<"))
        {
          w += 2;
          if (*w == '-')
            w++;
          if (g_ascii_isalpha (*w) || *w == '_' || *w == '"' || *w == '\'')
            return fail (error, ins->line,
                         "%s: heredocs (%s) are not supported; put the text in a file of the "
                         "build context and COPY it",
                         berth_instruction_kind_name (ins->kind), words[i]);
        }
    }
  return TRUE;
}

/* ENV, LABEL (NAME=VALUE ... or the legacy NAME VALUE) and ARG. */
static gboolean
name_values (BerthInstruction *ins, const char *rest, GError **error)
{
  const char *what = berth_instruction_kind_name (ins->kind);
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) words = split_words (rest, ins->escape, &local_error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  guint n;

  if (words == NULL)
    return fail (error, ins->line, "%s: %s", what, local_error->message);
  n = g_strv_length (words);
  if (n == 0)
    return fail (error, ins->line, "%s needs %s", what,
                 ins->kind == BERTH_INSTRUCTION_ARG ? "a NAME or NAME=DEFAULT" : "NAME=VALUE");
  if (ins->kind != BERTH_INSTRUCTION_ARG && find_unquoted_equals (words[0], ins->escape) == NULL)
    {
      /* Legacy form: the first word is the name, the rest of the line the
       * value. */
      const char *value = rest + strcspn (rest, " \t");

      while (g_ascii_isspace (*value))
        value++;
      if (*value == '\0')
        {
          return fail (error, ins->line, "%s %s needs a value: write %s %s=VALUE", what, words[0],
                       what, words[0]);
        }
      g_ptr_array_add (names, g_strdup (words[0]));
      g_ptr_array_add (values, g_strdup (value));
    }
  else
    for (guint i = 0; i < n; i++)
      {
        const char *eq = find_unquoted_equals (words[i], ins->escape);

        if (eq == NULL && ins->kind != BERTH_INSTRUCTION_ARG)
          {
            return fail (error, ins->line, "%s: \"%s\" is not NAME=VALUE", what, words[i]);
          }
        g_ptr_array_add (names, eq ? g_strndup (words[i], eq - words[i]) : g_strdup (words[i]));
        g_ptr_array_add (values, eq ? g_strdup (eq + 1) : NULL);
        if (*(char *)g_ptr_array_index (names, names->len - 1) == '\0')
          {
            return fail (error, ins->line, "%s: \"%s\" has an empty name", what, words[i]);
          }
      }
  g_ptr_array_add (names, NULL);
  g_ptr_array_add (values, NULL);
  ins->args = (char **)g_ptr_array_free (g_steal_pointer (&names), FALSE);
  ins->values = (char **)g_ptr_array_free (g_steal_pointer (&values), FALSE);
  if (ins->kind == BERTH_INSTRUCTION_ARG)
    for (guint i = 0; ins->args[i]; i++)
      for (const char *p = ins->args[i]; *p; p++)
        if (!is_name_char (*p))
          return fail (error, ins->line, "ARG: \"%s\" is not a valid name (letters, digits, _)",
                       ins->args[i]);
  return TRUE;
}

static gboolean
valid_stage_name (const char *name)
{
  if (!g_ascii_isalpha (*name))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && !strchr ("-_.", *p))
      return FALSE;
  return TRUE;
}

static gboolean
check_duration_flag (BerthInstruction *ins, const char *name, GError **error)
{
  const char *value = berth_instruction_get_flag (ins, name);
  gint64 ns;

  if (value == NULL)
    return TRUE;
  ns = berth_containerfile_parse_duration (value);
  if (ns < 0 || (ns > 0 && ns < 1000000))
    return fail (error, ins->line,
                 "HEALTHCHECK: --%s=%s is not a duration of at least 1ms (e.g. 30s, 1m30s)", name,
                 value);
  return TRUE;
}

static gboolean
healthcheck (BerthInstruction *ins, const char *rest, GError **error)
{
  const char *retries = berth_instruction_get_flag (ins, "retries");
  size_t n = strcspn (rest, " \t");

  if (n == 4 && g_ascii_strncasecmp (rest, "NONE", 4) == 0 && rest[4] == '\0')
    {
      if (ins->flag_names && ins->flag_names[0])
        return fail (error, ins->line, "HEALTHCHECK NONE takes no options");
      ins->args = g_new0 (char *, 1);
      return TRUE;
    }
  if (n != 3 || g_ascii_strncasecmp (rest, "CMD", 3) != 0)
    return fail (error, ins->line, "HEALTHCHECK: expected CMD <command> or NONE");
  rest += 3;
  while (g_ascii_isspace (*rest))
    rest++;
  if (*rest == '\0')
    return fail (error, ins->line, "HEALTHCHECK CMD needs a command");
  if (!check_duration_flag (ins, "interval", error) || !check_duration_flag (ins, "timeout", error)
      || !check_duration_flag (ins, "start-period", error)
      || !check_duration_flag (ins, "start-interval", error))
    return FALSE;
  if (retries)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (retries, 10, 0, G_MAXINT32, &v, NULL))
        return fail (error, ins->line, "HEALTHCHECK: --retries=%s is not a number", retries);
    }
  return command_form (ins, rest, error);
}

static gboolean parse_arguments (BerthInstruction *ins, const char *rest, gboolean nested,
                                 GError **error);

static BerthInstruction *
parse_line (const char *text, guint line, char escape, gboolean nested, GError **error)
{
  g_autoptr (BerthInstruction) ins = g_new0 (BerthInstruction, 1);
  g_autoptr (GPtrArray) flag_names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) flag_values = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *keyword = NULL;
  const char *rest;
  size_t n;
  guint kind;

  ins->line = line;
  ins->escape = escape;
  while (g_ascii_isspace (*text))
    text++;
  ins->original = g_strchomp (g_strdup (text));
  n = strcspn (ins->original, " \t");
  keyword = g_strndup (ins->original, n);
  for (kind = 0; kind < G_N_ELEMENTS (kinds); kind++)
    if (g_ascii_strcasecmp (keyword, kinds[kind].name) == 0)
      break;
  if (kind == G_N_ELEMENTS (kinds))
    return fail (error, line, "unknown instruction \"%s\"", keyword), NULL;
  ins->kind = kind;
  rest = ins->original + n;
  while (g_ascii_isspace (*rest))
    rest++;

  while (g_str_has_prefix (rest, "--"))
    {
      g_autofree char *flag = NULL;
      const char *eq;
      gboolean known = FALSE;

      n = strcspn (rest, " \t");
      flag = g_strndup (rest + 2, n - 2);
      rest += n;
      while (g_ascii_isspace (*rest))
        rest++;
      eq = strchr (flag, '=');
      if (eq)
        flag[eq - flag] = '\0';
      for (const char *const *f = kinds[kind].flags; *f; f++)
        known |= strcmp (*f, flag) == 0;
      if (!known)
        return fail (error, line, "unknown option --%s for %s", flag, kinds[kind].name), NULL;
      for (guint i = 0; i < flag_names->len; i++)
        if (strcmp (g_ptr_array_index (flag_names, i), flag) == 0)
          return fail (error, line, "%s: --%s given twice", kinds[kind].name, flag), NULL;
      if (kind == BERTH_INSTRUCTION_RUN)
        return fail (error, line, "RUN --%s is not supported by berth", flag), NULL;
      if (kind == BERTH_INSTRUCTION_ADD && strcmp (flag, "checksum") == 0)
        return fail (error, line,
                     "ADD --checksum is not supported by berth; fetch the file with a RUN step "
                     "that checks it"),
               NULL;
      if (strcmp (flag, "link") != 0 && (eq == NULL || eq[1] == '\0'))
        return fail (error, line, "%s: --%s needs a value (--%s=VALUE)", kinds[kind].name, flag,
                     flag),
               NULL;
      g_ptr_array_add (flag_values, eq ? g_strdup (eq + 1) : NULL);
      g_ptr_array_add (flag_names, g_strdup (flag));
    }
  g_ptr_array_add (flag_names, NULL);
  g_ptr_array_add (flag_values, NULL);
  ins->flag_names = (char **)g_ptr_array_free (g_steal_pointer (&flag_names), FALSE);
  ins->flag_values = (char **)g_ptr_array_free (g_steal_pointer (&flag_values), FALSE);

  if (*rest == '\0')
    return fail (error, line, "%s needs arguments", kinds[kind].name), NULL;
  if (!parse_arguments (ins, rest, nested, error))
    return NULL;
  return g_steal_pointer (&ins);
}

static gboolean
parse_arguments (BerthInstruction *ins, const char *rest, gboolean nested, GError **error)
{
  const char *what = berth_instruction_kind_name (ins->kind);
  g_autoptr (GError) local_error = NULL;
  guint n;

  switch (ins->kind)
    {
    case BERTH_INSTRUCTION_FROM:
      ins->args = split_words (rest, ins->escape, &local_error);
      if (ins->args == NULL)
        return fail (error, ins->line, "FROM: %s", local_error->message);
      n = g_strv_length (ins->args);
      if (n == 3 && g_ascii_strcasecmp (ins->args[1], "AS") == 0)
        {
          ins->stage_name = g_ascii_strdown (ins->args[2], -1);
          if (!valid_stage_name (ins->stage_name))
            return fail (error, ins->line,
                         "FROM: \"%s\" is not a valid stage name (a letter, then letters, "
                         "digits, '-', '_' or '.')",
                         ins->args[2]);
          g_clear_pointer (&ins->args[1], g_free);
          g_clear_pointer (&ins->args[2], g_free);
        }
      else if (n != 1)
        return fail (error, ins->line, "FROM takes IMAGE [AS NAME], not \"%s\"", rest);
      return TRUE;

    case BERTH_INSTRUCTION_RUN:
      if (!looks_like_json (rest) && !check_no_heredoc (ins, rest, error))
        return FALSE;
      return command_form (ins, rest, error);

    case BERTH_INSTRUCTION_CMD:
    case BERTH_INSTRUCTION_ENTRYPOINT:
      return command_form (ins, rest, error);

    case BERTH_INSTRUCTION_SHELL:
      if (!looks_like_json (rest))
        return fail (error, ins->line, "SHELL takes a JSON array, as in [\"/bin/bash\", \"-c\"]");
      ins->args = parse_json_array (rest, what, ins->line, error);
      ins->exec_form = TRUE;
      if (ins->args && ins->args[0] == NULL)
        return fail (error, ins->line, "SHELL needs at least one element");
      return ins->args != NULL;

    case BERTH_INSTRUCTION_COPY:
    case BERTH_INSTRUCTION_ADD:
      if (!looks_like_json (rest) && !check_no_heredoc (ins, rest, error))
        return FALSE;
      if (!words_or_json (ins, rest, error))
        return FALSE;
      if (g_strv_length (ins->args) < 2)
        return fail (error, ins->line, "%s needs at least one source and a destination", what);
      return TRUE;

    case BERTH_INSTRUCTION_ENV:
    case BERTH_INSTRUCTION_LABEL:
    case BERTH_INSTRUCTION_ARG:
      return name_values (ins, rest, error);

    case BERTH_INSTRUCTION_EXPOSE:
      ins->args = split_words (rest, ins->escape, &local_error);
      if (ins->args == NULL)
        return fail (error, ins->line, "EXPOSE: %s", local_error->message);
      return TRUE;

    case BERTH_INSTRUCTION_VOLUME:
      if (!words_or_json (ins, rest, error))
        return FALSE;
      if (ins->args[0] == NULL)
        return fail (error, ins->line, "VOLUME needs at least one path");
      return TRUE;

    case BERTH_INSTRUCTION_WORKDIR:
    case BERTH_INSTRUCTION_USER:
    case BERTH_INSTRUCTION_STOPSIGNAL:
    case BERTH_INSTRUCTION_MAINTAINER:
      /* Checked now for quotes so that a typo fails at parse time. */
      if (ins->kind != BERTH_INSTRUCTION_MAINTAINER)
        {
          g_auto (GStrv) words = split_words (rest, ins->escape, &local_error);

          if (words == NULL)
            return fail (error, ins->line, "%s: %s", what, local_error->message);
        }
      ins->args = g_new0 (char *, 2);
      ins->args[0] = g_strdup (rest);
      return TRUE;

    case BERTH_INSTRUCTION_HEALTHCHECK:
      return healthcheck (ins, rest, error);

    case BERTH_INSTRUCTION_ONBUILD:
      {
        g_autoptr (BerthInstruction) trigger = NULL;

        if (nested)
          return fail (error, ins->line, "ONBUILD cannot hold another ONBUILD");
        trigger = parse_line (rest, ins->line, ins->escape, TRUE, error);
        if (trigger == NULL)
          return FALSE;
        if (trigger->kind == BERTH_INSTRUCTION_ONBUILD || trigger->kind == BERTH_INSTRUCTION_FROM
            || trigger->kind == BERTH_INSTRUCTION_MAINTAINER)
          return fail (error, ins->line, "ONBUILD cannot hold %s",
                       berth_instruction_kind_name (trigger->kind));
        ins->args = g_new0 (char *, 2);
        ins->args[0] = g_strdup (trigger->original);
        return TRUE;
      }
    }
  g_assert_not_reached ();
}

BerthInstruction *
berth_containerfile_parse_instruction (const char *line, GError **error)
{
  if (line == NULL || strchr (line, '\n') != NULL)
    return fail (error, 1, "one instruction on one line expected"), NULL;
  return parse_line (line, 1, '\\', FALSE, error);
}

/* ---- Files ------------------------------------------------------------- */

static void
stage_free (BerthBuildStage *stage)
{
  g_free (stage->name);
  berth_instruction_free (stage->from);
  g_ptr_array_unref (stage->instructions);
  g_free (stage);
}

void
berth_containerfile_free (BerthContainerfile *file)
{
  if (file == NULL)
    return;
  g_ptr_array_unref (file->global_args);
  g_ptr_array_unref (file->stages);
  g_free (file);
}

BerthBuildStage *
berth_containerfile_find_stage (BerthContainerfile *file, const char *name)
{
  guint64 index;

  for (guint i = 0; i < file->stages->len; i++)
    {
      BerthBuildStage *stage = g_ptr_array_index (file->stages, i);

      if (stage->name && g_ascii_strcasecmp (stage->name, name) == 0)
        return stage;
    }
  if (g_ascii_string_to_unsigned (name, 10, 0, G_MAXUINT, &index, NULL)
      && index < file->stages->len)
    return g_ptr_array_index (file->stages, index);
  return NULL;
}

/* A "# name=value" parser directive: lower-case name and value, or FALSE. */
static gboolean
parse_directive (const char *line, char **name, char **value)
{
  const char *p = line, *start;

  if (*p++ != '#')
    return FALSE;
  while (*p == ' ' || *p == '\t')
    p++;
  for (start = p; g_ascii_isalnum (*p) || *p == '_'; p++)
    ;
  if (p == start)
    return FALSE;
  *name = g_ascii_strdown (start, p - start);
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != '=')
    {
      g_clear_pointer (name, g_free);
      return FALSE;
    }
  *value = g_strstrip (g_strdup (p));
  return TRUE;
}

/* Names that an instruction substitutes without a default: its words,
 * values and flag values. */
static gboolean
collect_references (const BerthInstruction *ins, GPtrArray *refs, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  guint n = ins->args ? g_strv_length (ins->args) : 0;

  if (!kinds[ins->kind].substitutes)
    return TRUE;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *a = NULL, *v = NULL;

      a = substitute_full (ins->args[i], ins->escape, !ins->exec_form, NULL, NULL, refs,
                           &local_error);
      if (a && ins->values && ins->values[i])
        v = substitute_full (ins->values[i], ins->escape, TRUE, NULL, NULL, refs, &local_error);
      if (local_error)
        return fail (error, ins->line, "%s: %s", kinds[ins->kind].name, local_error->message);
    }
  for (guint i = 0; ins->flag_names[i]; i++)
    {
      g_autofree char *f = NULL;

      if (ins->flag_values[i] == NULL)
        continue;
      f = substitute_full (ins->flag_values[i], ins->escape, TRUE, NULL, NULL, refs, &local_error);
      if (f == NULL)
        return fail (error, ins->line, "%s: %s", kinds[ins->kind].name, local_error->message);
    }
  return TRUE;
}

/* Docker expands a variable whose ARG comes later (or a global ARG not
 * declared again in the stage) to nothing, which is nearly always a
 * mistake; berth says so. Names nothing declares may come from the base
 * image's environment and are left alone. */
static gboolean
check_arguments (BerthContainerfile *file, GError **error)
{
  g_autoptr (GHashTable) global = g_hash_table_new (g_str_hash, g_str_equal);

  for (const char *const *p = predefined_args; *p; p++)
    g_hash_table_insert (global, (gpointer)*p, GUINT_TO_POINTER (0));
  for (guint i = 0; i < file->global_args->len; i++)
    {
      BerthInstruction *ins = g_ptr_array_index (file->global_args, i);
      g_autoptr (GPtrArray) refs = g_ptr_array_new_with_free_func (g_free);

      if (!collect_references (ins, refs, error))
        return FALSE;
      for (guint r = 0; r < refs->len; r++)
        if (!g_hash_table_contains (global, g_ptr_array_index (refs, r)))
          return fail (error, ins->line, "$%s is used before an ARG declares it",
                       (char *)g_ptr_array_index (refs, r));
      for (guint a = 0; ins->args[a]; a++)
        g_hash_table_insert (global, ins->args[a], GUINT_TO_POINTER (ins->line));
    }

  for (guint s = 0; s < file->stages->len; s++)
    {
      BerthBuildStage *stage = g_ptr_array_index (file->stages, s);
      g_autoptr (GHashTable) scope = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr (GHashTable) later = g_hash_table_new (g_str_hash, g_str_equal);
      g_autoptr (GPtrArray) refs = g_ptr_array_new_with_free_func (g_free);

      if (!collect_references (stage->from, refs, error))
        return FALSE;
      for (guint r = 0; r < refs->len; r++)
        if (!g_hash_table_contains (global, g_ptr_array_index (refs, r)))
          return fail (error, stage->from->line,
                       "$%s is not declared: FROM can use only ARGs declared before the first "
                       "FROM",
                       (char *)g_ptr_array_index (refs, r));

      for (guint i = 0; i < stage->instructions->len; i++)
        {
          BerthInstruction *ins = g_ptr_array_index (stage->instructions, i);

          if (ins->kind == BERTH_INSTRUCTION_ARG)
            for (guint a = 0; ins->args[a]; a++)
              if (!g_hash_table_contains (later, ins->args[a]))
                g_hash_table_insert (later, ins->args[a], GUINT_TO_POINTER (ins->line));
        }

      for (guint i = 0; i < stage->instructions->len; i++)
        {
          BerthInstruction *ins = g_ptr_array_index (stage->instructions, i);

          g_ptr_array_set_size (refs, 0);
          if (!collect_references (ins, refs, error))
            return FALSE;
          for (guint r = 0; r < refs->len; r++)
            {
              const char *name = g_ptr_array_index (refs, r);
              gpointer where;

              if (g_hash_table_contains (scope, name))
                continue;
              if (g_hash_table_lookup_extended (later, name, NULL, &where))
                return fail (error, ins->line, "$%s is used before its ARG on line %u", name,
                             GPOINTER_TO_UINT (where));
              if (g_hash_table_lookup_extended (global, name, NULL, &where)
                  && GPOINTER_TO_UINT (where) > 0)
                return fail (error, ins->line,
                             "$%s is an ARG of the first FROM (line %u): declare it again with "
                             "\"ARG %s\" in this stage to use it here",
                             name, GPOINTER_TO_UINT (where), name);
            }
          if (ins->kind == BERTH_INSTRUCTION_ARG || ins->kind == BERTH_INSTRUCTION_ENV)
            for (guint a = 0; ins->args[a]; a++)
              g_hash_table_add (scope, ins->args[a]);
        }
    }
  return TRUE;
}

static gboolean
add_instruction (BerthContainerfile *file, BerthInstruction *ins, GError **error)
{
  BerthBuildStage *stage;

  if (ins->kind == BERTH_INSTRUCTION_FROM)
    {
      stage = g_new0 (BerthBuildStage, 1);
      stage->index = file->stages->len;
      stage->name = g_strdup (ins->stage_name);
      stage->from = ins;
      stage->instructions = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_instruction_free);
      for (guint i = 0; stage->name && i < file->stages->len; i++)
        {
          BerthBuildStage *other = g_ptr_array_index (file->stages, i);

          if (other->name && strcmp (other->name, stage->name) == 0)
            {
              guint line = ins->line;

              stage_free (stage);
              return fail (error, line, "stage name \"%s\" is already used on line %u", other->name,
                           other->from->line);
            }
        }
      g_ptr_array_add (file->stages, stage);
      return TRUE;
    }
  if (file->stages->len == 0)
    {
      if (ins->kind == BERTH_INSTRUCTION_ARG)
        {
          g_ptr_array_add (file->global_args, ins);
          return TRUE;
        }
      fail (error, ins->line,
            "missing FROM: %s comes before the first FROM (only ARG may come before it)",
            berth_instruction_kind_name (ins->kind));
      berth_instruction_free (ins);
      return FALSE;
    }
  stage = g_ptr_array_index (file->stages, file->stages->len - 1);
  g_ptr_array_add (stage->instructions, ins);
  return TRUE;
}

BerthContainerfile *
berth_containerfile_parse (const char *text, gsize len, GError **error)
{
  g_autoptr (BerthContainerfile) file = g_new0 (BerthContainerfile, 1);
  g_autoptr (GString) logical = g_string_new (NULL);
  g_autofree char *copy = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean directives = TRUE, continuing = FALSE, saw_escape = FALSE;
  guint start_line = 0, last_line = 0;

  file->escape = '\\';
  file->global_args = g_ptr_array_new_with_free_func ((GDestroyNotify)berth_instruction_free);
  file->stages = g_ptr_array_new_with_free_func ((GDestroyNotify)stage_free);

  if (len > BERTH_CONTAINERFILE_MAX_SIZE)
    return fail (error, 1, "the Containerfile is larger than %d bytes",
                 BERTH_CONTAINERFILE_MAX_SIZE),
           NULL;
  if (memchr (text, '\0', len) != NULL)
    {
      guint line = 1;

      for (const char *p = text; *p; p++)
        line += *p == '\n';
      return fail (error, line, "a NUL byte: this is not a text file"), NULL;
    }
  copy = g_strndup (text, len);
  lines = g_strsplit (g_str_has_prefix (copy, "\xef\xbb\xbf") ? copy + 3 : copy, "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      char *line = lines[i];
      const char *trimmed = line;
      gsize n = strlen (line);
      g_autofree char *name = NULL, *value = NULL;

      if (n && line[n - 1] == '\r')
        line[--n] = '\0';
      while (g_ascii_isspace (*trimmed))
        trimmed++;

      if (directives && parse_directive (trimmed, &name, &value))
        {
          if (strcmp (name, "escape") == 0)
            {
              if (saw_escape)
                return fail (error, i + 1, "the escape directive is given twice"), NULL;
              if (strcmp (value, "\\") != 0 && strcmp (value, "`") != 0)
                return fail (error, i + 1, "escape=%s: the escape character must be \\ or `",
                             value),
                       NULL;
              file->escape = value[0];
              saw_escape = TRUE;
            }
          /* syntax= and check= name frontends berth does not have: ignored. */
          continue;
        }
      directives = FALSE;

      if (*trimmed == '#' || (*trimmed == '\0' && continuing))
        continue; /* comments, also between continuation lines */
      if (*trimmed == '\0')
        continue;
      if (!continuing)
        {
          start_line = i + 1;
          g_string_truncate (logical, 0);
        }
      last_line = i + 1;
      g_strchomp (line);
      n = strlen (line);
      if (n && line[n - 1] == file->escape)
        {
          g_string_append_len (logical, line, n - 1);
          continuing = TRUE;
          continue;
        }
      g_string_append (logical, line);
      continuing = FALSE;
      {
        BerthInstruction *ins = parse_line (logical->str, start_line, file->escape, FALSE, error);

        if (ins == NULL || !add_instruction (file, ins, error))
          return NULL;
      }
    }
  if (continuing)
    {
      BerthInstruction *ins = parse_line (logical->str, start_line, file->escape, FALSE, error);

      if (ins == NULL || !add_instruction (file, ins, error))
        return NULL;
    }
  if (file->stages->len == 0)
    return fail (error, MAX (last_line, 1),
                 "missing FROM: a Containerfile needs a FROM instruction (FROM IMAGE or FROM "
                 "scratch)"),
           NULL;
  if (!check_arguments (file, error))
    return NULL;
  return g_steal_pointer (&file);
}

/* ---- Substitution of whole instructions -------------------------------- */

static const char *
lookup_table (const char *name, gpointer user_data)
{
  return user_data ? g_hash_table_lookup (user_data, name) : NULL;
}

BerthInstruction *
berth_containerfile_expand (const BerthInstruction *instruction, GHashTable *variables,
                            GError **error)
{
  g_autoptr (BerthInstruction) out = berth_instruction_copy (instruction);
  g_autoptr (GError) local_error = NULL;
  guint n = out->args ? g_strv_length (out->args) : 0;
  const char *what = berth_instruction_kind_name (out->kind);

  out->expanded = TRUE;
  if (instruction->expanded || !kinds[out->kind].substitutes)
    return g_steal_pointer (&out);

  for (guint i = 0; i < n; i++)
    {
      char *a = substitute_full (instruction->args[i], out->escape, !out->exec_form, lookup_table,
                                 variables, NULL, &local_error);

      if (a == NULL)
        return fail (error, out->line, "%s: %s", what, local_error->message), NULL;
      g_free (out->args[i]);
      out->args[i] = a;
      if (out->values && instruction->values[i])
        {
          char *v = substitute_full (instruction->values[i], out->escape, TRUE, lookup_table,
                                     variables, NULL, &local_error);

          if (v == NULL)
            return fail (error, out->line, "%s: %s", what, local_error->message), NULL;
          g_free (out->values[i]);
          out->values[i] = v;
        }
    }
  for (guint i = 0; out->flag_names[i]; i++)
    if (instruction->flag_values[i])
      {
        char *f = substitute_full (instruction->flag_values[i], out->escape, TRUE, lookup_table,
                                   variables, NULL, &local_error);

        if (f == NULL)
          return fail (error, out->line, "%s: %s", what, local_error->message), NULL;
        g_free (out->flag_values[i]);
        out->flag_values[i] = f;
      }

  /* EXPOSE $PORTS with PORTS="80 443" exposes both. */
  if (out->kind == BERTH_INSTRUCTION_EXPOSE)
    {
      g_autoptr (GPtrArray) words = g_ptr_array_new ();
      g_autofree char *joined = g_strjoinv (" ", out->args);
      g_auto (GStrv) split = g_strsplit_set (joined, " \t\n", -1);

      for (guint i = 0; split[i]; i++)
        if (*split[i])
          g_ptr_array_add (words, g_strdup (split[i]));
      g_ptr_array_add (words, NULL);
      g_strfreev (out->args);
      out->args = (char **)g_ptr_array_free (g_steal_pointer (&words), FALSE);
    }
  if (out->kind == BERTH_INSTRUCTION_FROM && *out->args[0] == '\0')
    return fail (error, out->line, "FROM: the image name is empty after substitution (%s)",
                 instruction->args[0]),
           NULL;
  return g_steal_pointer (&out);
}

/* ---- Image config ------------------------------------------------------ */

gint64
berth_containerfile_parse_duration (const char *text)
{
  static const struct
  {
    const char *unit;
    gint64 ns;
  } units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "µs", 1000 },
    { "ms", 1000000 },
    { "s", G_GINT64_CONSTANT (1000000000) },
    { "m", G_GINT64_CONSTANT (60000000000) },
    { "h", G_GINT64_CONSTANT (3600000000000) },
  };
  const char *p = text;
  double total = 0;

  if (p == NULL || *p == '\0')
    return -1;
  if (strcmp (p, "0") == 0)
    return 0;
  while (*p)
    {
      char *end;
      double v;
      gsize best = 0;
      gint64 scale = 0;

      if (!g_ascii_isdigit (*p) && *p != '.')
        return -1;
      v = g_ascii_strtod (p, &end);
      if (end == p)
        return -1;
      p = end;
      for (gsize u = 0; u < G_N_ELEMENTS (units); u++)
        {
          gsize l = strlen (units[u].unit);

          if (strncmp (p, units[u].unit, l) == 0 && l > best)
            {
              best = l;
              scale = units[u].ns;
            }
        }
      if (best == 0)
        return -1;
      p += best;
      total += v * scale;
      if (total > (double)G_MAXINT64 / 2)
        return -1;
    }
  return (gint64)total;
}

static JsonArray *
strv_to_array (char **v)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; v && v[i]; i++)
    json_array_add_string_element (array, v[i]);
  return array;
}

char **
berth_instruction_command (const BerthInstruction *instruction, JsonObject *config)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  JsonNode *shell = config ? json_object_get_member (config, "Shell") : NULL;

  if (instruction->exec_form)
    return g_strdupv (instruction->args);
  if (shell && JSON_NODE_HOLDS_ARRAY (shell) && json_array_get_length (json_node_get_array (shell)))
    {
      JsonArray *array = json_node_get_array (shell);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          const char *s = json_array_get_string_element (array, i);

          g_ptr_array_add (argv, g_strdup (s ? s : ""));
        }
    }
  else
    {
      g_ptr_array_add (argv, g_strdup ("/bin/sh"));
      g_ptr_array_add (argv, g_strdup ("-c"));
    }
  g_ptr_array_add (argv, g_strdup (instruction->args[0]));
  g_ptr_array_add (argv, NULL);
  return (char **)g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

static JsonObject *
object_member (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      json_object_set_object_member (config, name, json_object_new ());
      node = json_object_get_member (config, name);
    }
  return json_node_get_object (node);
}

static void
env_set (JsonObject *config, const char *name, const char *value)
{
  JsonNode *node = json_object_get_member (config, "Env");
  g_autofree char *entry = g_strdup_printf ("%s=%s", name, value);
  gsize len = strlen (name);
  JsonArray *env;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      json_object_set_array_member (config, "Env", json_array_new ());
      node = json_object_get_member (config, "Env");
    }
  env = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (env); i++)
    {
      const char *e = json_array_get_string_element (env, i);

      if (e && strncmp (e, name, len) == 0 && e[len] == '=')
        {
          JsonNode *element = json_array_get_element (env, i);

          json_node_set_string (element, entry);
          return;
        }
    }
  json_array_add_string_element (env, entry);
}

static GHashTable *
config_environment (JsonObject *config)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonNode *node = json_object_get_member (config, "Env");

  if (node && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *env = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (env); i++)
        {
          const char *e = json_array_get_string_element (env, i);
          const char *eq = e ? strchr (e, '=') : NULL;

          if (eq)
            g_hash_table_insert (table, g_strndup (e, eq - e), g_strdup (eq + 1));
        }
    }
  return table;
}

/* "80", "80/udp", "8000-8010/tcp" into each port/protocol. */
static gboolean
apply_expose (JsonObject *config, const BerthInstruction *ins, GError **error)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  JsonObject *ports;

  for (guint i = 0; ins->args[i]; i++)
    {
      g_autofree char *spec = g_ascii_strdown (ins->args[i], -1);
      char *slash = strchr (spec, '/');
      const char *proto = "tcp";
      char *dash;
      guint64 first, last;

      if (slash)
        {
          *slash = '\0';
          proto = slash + 1;
          if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0
              && strcmp (proto, "sctp") != 0)
            return fail (error, ins->line,
                         "EXPOSE: \"%s\" has an unknown protocol (tcp, udp or sctp)", ins->args[i]);
        }
      dash = strchr (spec, '-');
      if (dash)
        *dash = '\0';
      if (!g_ascii_string_to_unsigned (spec, 10, 1, 65535, &first, NULL)
          || !g_ascii_string_to_unsigned (dash ? dash + 1 : spec, 10, 1, 65535, &last, NULL)
          || last < first)
        return fail (error, ins->line,
                     "EXPOSE: \"%s\" is not a port (1-65535), a range or PORT/PROTOCOL",
                     ins->args[i]);
      if (last - first >= 1024)
        return fail (error, ins->line, "EXPOSE: the range \"%s\" has more than 1024 ports",
                     ins->args[i]);
      for (guint64 port = first; port <= last; port++)
        g_ptr_array_add (keys, g_strdup_printf ("%u/%s", (guint)port, proto));
    }
  /* Only once every spec is valid: a refused instruction changes nothing. */
  ports = object_member (config, "ExposedPorts");
  for (guint i = 0; i < keys->len; i++)
    json_object_set_object_member (ports, g_ptr_array_index (keys, i), json_object_new ());
  return TRUE;
}

static gboolean
apply_healthcheck (JsonObject *config, const BerthInstruction *ins, GError **error)
{
  JsonObject *check = json_object_new ();
  JsonArray *test = json_array_new ();
  static const struct
  {
    const char *flag, *member;
  } durations[] = {
    { "interval", "Interval" },
    { "timeout", "Timeout" },
    { "start-period", "StartPeriod" },
    { "start-interval", "StartInterval" },
  };
  const char *retries = berth_instruction_get_flag (ins, "retries");

  if (ins->args[0] == NULL)
    json_array_add_string_element (test, "NONE");
  else if (ins->exec_form)
    {
      json_array_add_string_element (test, "CMD");
      for (guint i = 0; ins->args[i]; i++)
        json_array_add_string_element (test, ins->args[i]);
    }
  else
    {
      json_array_add_string_element (test, "CMD-SHELL");
      json_array_add_string_element (test, ins->args[0]);
    }
  json_object_set_array_member (check, "Test", test);
  for (gsize i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      const char *value = berth_instruction_get_flag (ins, durations[i].flag);

      if (value)
        json_object_set_int_member (check, durations[i].member,
                                    berth_containerfile_parse_duration (value));
    }
  if (retries)
    json_object_set_int_member (check, "Retries", g_ascii_strtoll (retries, NULL, 10));
  json_object_set_object_member (config, "Healthcheck", check);
  return TRUE;
}

gboolean
berth_containerfile_apply (JsonObject *config, const BerthInstruction *instruction, GError **error)
{
  g_autoptr (BerthInstruction) expanded = NULL;
  const BerthInstruction *ins = instruction;

  if (!instruction->expanded)
    {
      g_autoptr (GHashTable) env = config_environment (config);

      expanded = berth_containerfile_expand (instruction, env, error);
      if (expanded == NULL)
        return FALSE;
      ins = expanded;
    }

  switch (ins->kind)
    {
    case BERTH_INSTRUCTION_CMD:
    case BERTH_INSTRUCTION_ENTRYPOINT:
      {
        g_auto (GStrv) argv = berth_instruction_command (ins, config);
        gboolean entrypoint = ins->kind == BERTH_INSTRUCTION_ENTRYPOINT;

        json_object_set_array_member (config, entrypoint ? "Entrypoint" : "Cmd",
                                      strv_to_array (argv));
        if (entrypoint)
          json_object_set_null_member (config, "Cmd");
        return TRUE;
      }

    case BERTH_INSTRUCTION_ENV:
      for (guint i = 0; ins->args[i]; i++)
        env_set (config, ins->args[i], ins->values[i]);
      return TRUE;

    case BERTH_INSTRUCTION_LABEL:
      {
        JsonObject *labels = object_member (config, "Labels");

        for (guint i = 0; ins->args[i]; i++)
          json_object_set_string_member (labels, ins->args[i], ins->values[i]);
        return TRUE;
      }

    case BERTH_INSTRUCTION_WORKDIR:
      {
        const char *current = json_object_get_string_member_with_default (config, "WorkingDir", "");
        g_autofree char *path = NULL;

        if (ins->args[0][0] == '\0')
          return fail (error, ins->line, "WORKDIR: the path is empty");
        path = g_canonicalize_filename (ins->args[0], *current == '/' ? current : "/");
        json_object_set_string_member (config, "WorkingDir", path);
        return TRUE;
      }

    case BERTH_INSTRUCTION_USER:
      if (ins->args[0][0] == '\0' || strchr (ins->args[0], ' '))
        return fail (error, ins->line, "USER: \"%s\" is not USER[:GROUP]", ins->args[0]);
      json_object_set_string_member (config, "User", ins->args[0]);
      return TRUE;

    case BERTH_INSTRUCTION_EXPOSE:
      return apply_expose (config, ins, error);

    case BERTH_INSTRUCTION_VOLUME:
      {
        JsonObject *volumes;

        for (guint i = 0; ins->args[i]; i++)
          if (ins->args[i][strspn (ins->args[i], " \t")] == '\0')
            return fail (error, ins->line, "VOLUME: a path is empty");
        volumes = object_member (config, "Volumes");
        for (guint i = 0; ins->args[i]; i++)
          json_object_set_object_member (volumes, ins->args[i], json_object_new ());
        return TRUE;
      }

    case BERTH_INSTRUCTION_STOPSIGNAL:
      if (berth_signal_parse (ins->args[0]) < 0)
        return fail (error, ins->line, "STOPSIGNAL: \"%s\" is not a signal (e.g. SIGTERM or 15)",
                     ins->args[0]);
      json_object_set_string_member (config, "StopSignal", ins->args[0]);
      return TRUE;

    case BERTH_INSTRUCTION_HEALTHCHECK:
      return apply_healthcheck (config, ins, error);

    case BERTH_INSTRUCTION_ONBUILD:
      {
        JsonNode *node = json_object_get_member (config, "OnBuild");

        if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
          {
            json_object_set_array_member (config, "OnBuild", json_array_new ());
            node = json_object_get_member (config, "OnBuild");
          }
        json_array_add_string_element (json_node_get_array (node), ins->args[0]);
        return TRUE;
      }

    case BERTH_INSTRUCTION_SHELL:
      json_object_set_array_member (config, "Shell", strv_to_array (ins->args));
      return TRUE;

    default:
      return fail (error, ins->line,
                   "%s does not change an image config; only CMD, ENTRYPOINT, ENV, WORKDIR, USER, "
                   "LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD and SHELL do",
                   berth_instruction_kind_name (ins->kind));
    }
}
