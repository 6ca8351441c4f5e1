/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-signal.h"

#include <signal.h>

static const struct
{
  const char *name;
  int number;
} signal_names[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

int
berth_signal_parse (const char *name)
{
  const char *p = name;
  guint64 number;

  if (name == NULL || *name == '\0')
    return -1;
  if (g_ascii_string_to_unsigned (name, 10, 1, SIGRTMAX, &number, NULL))
    return (int)number;
  if (g_ascii_strncasecmp (p, "SIG", 3) == 0)
    p += 3;
  for (gsize i = 0; i < G_N_ELEMENTS (signal_names); i++)
    if (g_ascii_strcasecmp (p, signal_names[i].name) == 0)
      return signal_names[i].number;
  if (g_ascii_strncasecmp (p, "RTMIN", 5) == 0 || g_ascii_strncasecmp (p, "RTMAX", 5) == 0)
    {
      gboolean max = g_ascii_toupper (p[3]) == 'A';
      gint64 offset = 0;

      if (p[5] != '\0' && !g_ascii_string_to_signed (p + 5, 10, -32, 32, &offset, NULL))
        return -1;
      number = (max ? SIGRTMAX : SIGRTMIN) + offset;
      return (int)number >= SIGRTMIN && (int)number <= SIGRTMAX ? (int)number : -1;
    }
  return -1;
}
