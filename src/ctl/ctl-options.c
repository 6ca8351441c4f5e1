/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "ctl.h"

static int
parse_options (const char *verb, const char *params, const char *summary,
               const GOptionEntry *entries, gboolean posix, int *argc, char ***argv)
{
  g_autofree char *title
    = g_strdup_printf ("%s%s%s", verb, params ? " " : "", params ? params : "");
  g_autoptr (GOptionContext) context = g_option_context_new (title);
  g_autoptr (GError) error = NULL;
  gboolean help = FALSE;
  const GOptionEntry help_entry[] = {
    /* No -h where options end at the command: run -h is docker's --hostname. */
    { "help", posix ? 0 : 'h', 0, G_OPTION_ARG_NONE, &help, "Show help for this command", NULL },
    { NULL },
  };

  /* GOption's own --help exits the process; ours prints and returns so that
   * cleanups run and the exit code stays 0. */
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_set_strict_posix (context, posix);
  g_option_context_set_summary (context, summary);
  if (entries)
    g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_main_entries (context, help_entry, NULL);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("berthctl %s: %s (see berthctl %s --help)\n", verb, error->message, verb);
      return CTL_EXIT_USAGE;
    }
  if (help)
    {
      g_autofree char *text = g_option_context_get_help (context, TRUE, NULL);

      /* GOption titles the usage line with the program name alone. */
      g_print ("%s", text);
      return CTL_HELP_SHOWN;
    }
  return CTL_EXIT_OK;
}

int
ctl_parse_options (const char *verb, const char *params, const char *summary,
                   const GOptionEntry *entries, int *argc, char ***argv)
{
  return parse_options (verb, params, summary, entries, FALSE, argc, argv);
}

int
ctl_parse_options_posix (const char *verb, const char *params, const char *summary,
                         const GOptionEntry *entries, int *argc, char ***argv)
{
  return parse_options (verb, params, summary, entries, TRUE, argc, argv);
}

int
ctl_usage_error (const char *verb, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("berthctl %s: %s (see berthctl %s --help)\n", verb, message, verb);
  return CTL_EXIT_USAGE;
}
