/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The logging target is per process and set once from the command line:
 * the one piece of file-level state this program keeps. */
static struct
{
  int fd;
  RtLogFormat format;
  gboolean debug;
  gint64 started;
} rt_log = { -1, RT_LOG_TEXT, FALSE, 0 };

G_DEFINE_QUARK (berth - runtime - error - quark, rt_error)

static void
set_str (char **slot, const char *value)
{
  g_free (*slot);
  *slot = g_strdup (value);
}

static void
usage_error (const char *message)
{
  fprintf (stderr, "berth-runtime: %s (see berth-runtime --help)\n", message);
  exit (2);
}

static const char global_help[]
  = "Usage: berth-runtime [GLOBAL OPTION...] COMMAND [OPTION...] [ARG...]\n"
    "\n"
    "An OCI runtime with the command line of runc.\n"
    "\n"
    "Commands:\n"
    "  create [--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] ID\n"
    "  start ID                 let a created container run its process\n"
    "  run [--bundle DIR] [--pid-file F] [--console-socket S] [--detach] ID\n"
    "  exec [--process F] [--tty --console-socket S] [--detach] [-e K=V] [-u UID[:GID]]\n"
    "       [--cwd DIR] [--pid-file F] ID [COMMAND...]  a new process in a running container\n"
    "  state ID                 print the OCI state as JSON\n"
    "  kill [--all] ID [SIGNAL] send SIGNAL (default TERM; a name or a number)\n"
    "  delete [--force] ID      remove a stopped container (--force: kill it first)\n"
    "  list [--quiet]           the containers under the root\n"
    "  spec [OPTION...] [-- COMMAND...]  write berth's default config.json\n"
    "\n"
    "Global options:\n"
    "  --root DIR               state directory (default " RT_DEFAULT_ROOT ")\n"
    "  --log FILE               also write errors to FILE\n"
    "  --log-format text|json   format of the --log file\n"
    "  --systemd-cgroup         cgroupsPath is slice:prefix:name\n"
    "  --debug                  log what is done\n";

void
rt_global_parse (RtGlobal *global, int *argc, char ***argv)
{
  char **args = *argv;
  int n = *argc;
  int i = 1;

  memset (global, 0, sizeof *global);
  for (; i < n && args[i][0] == '-'; i++)
    {
      const char *arg = args[i];
      const char *value = NULL;
      const char *eq = strchr (arg, '=');
      g_autofree char *name = eq ? g_strndup (arg, eq - arg) : g_strdup (arg);
      gboolean takes_value = g_str_equal (name, "--root") || g_str_equal (name, "--log")
                             || g_str_equal (name, "--log-format") || g_str_equal (name, "--criu");

      if (g_str_equal (arg, "--"))
        {
          i++;
          break;
        }
      if (g_str_equal (arg, "-h") || g_str_equal (arg, "--help"))
        {
          fputs (global_help, stdout);
          exit (0);
        }
      if (g_str_equal (arg, "-v") || g_str_equal (arg, "--version"))
        {
          printf ("berth-runtime version %s\nspec: %s\n", PACKAGE_VERSION, RT_OCI_VERSION);
          exit (0);
        }
      if (takes_value)
        {
          if (eq)
            value = eq + 1;
          else if (i + 1 < n)
            value = args[++i];
          else
            {
              g_autofree char *m = g_strdup_printf ("option %s needs a value", name);
              usage_error (m);
            }
        }

      if (g_str_equal (name, "--root"))
        set_str (&global->root, value);
      else if (g_str_equal (name, "--log"))
        set_str (&global->log_path, value);
      else if (g_str_equal (name, "--log-format"))
        {
          if (!g_str_equal (value, "text") && !g_str_equal (value, "json"))
            {
              g_autofree char *m
                = g_strdup_printf ("unknown --log-format \"%s\": use text or json", value);
              usage_error (m);
            }
          set_str (&global->log_format, value);
        }
      else if (g_str_equal (name, "--criu"))
        ; /* accepted for runc compatibility; berth-runtime does not checkpoint */
      else if (g_str_equal (arg, "--systemd-cgroup"))
        global->systemd_cgroup = TRUE;
      else if (g_str_equal (arg, "--debug"))
        global->debug = TRUE;
      else if (g_str_equal (arg, "--rootless=false") || g_str_equal (arg, "--rootless=auto"))
        ;
      else
        {
          g_autofree char *m = g_strdup_printf ("unknown global option \"%s\"", arg);
          usage_error (m);
        }
    }
  if (i >= n)
    usage_error ("no command given");
  if (global->root == NULL)
    global->root = g_strdup (RT_DEFAULT_ROOT);

  /* Leave argv[0] in place and the command at argv[1]. */
  args[i - 1] = args[0];
  *argv = args + i - 1;
  *argc = n - i + 1;
}

void
rt_global_clear (RtGlobal *global)
{
  g_clear_pointer (&global->root, g_free);
  g_clear_pointer (&global->log_path, g_free);
  g_clear_pointer (&global->log_format, g_free);
}

void
rt_log_init (const RtGlobal *global)
{
  rt_log.debug = global->debug;
  rt_log.started = g_get_monotonic_time ();
  rt_log.format = g_strcmp0 (global->log_format, "json") == 0 ? RT_LOG_JSON : RT_LOG_TEXT;
  if (global->log_path != NULL)
    rt_log.fd = open (global->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void
log_line (const char *level, const char *message, gboolean to_stderr)
{
  if (to_stderr)
    {
      g_autofree char *line = g_strdup_printf ("berth-runtime: %s\n", message);
      (void)!write (STDERR_FILENO, line, strlen (line));
    }
  if (rt_log.fd >= 0)
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *stamp = g_date_time_format_iso8601 (now);
      g_autofree char *line = NULL;

      if (rt_log.format == RT_LOG_JSON)
        {
          g_autofree char *escaped = g_strescape (message, NULL);
          line = g_strdup_printf ("{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n", level,
                                  escaped, stamp);
        }
      else
        line = g_strdup_printf ("%s level=%s msg=\"%s\"\n", stamp, level, message);
      (void)!write (rt_log.fd, line, strlen (line));
    }
}

void
rt_log_error (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  log_line ("error", message, TRUE);
}

void
rt_log_debug (const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  g_autofree char *text = NULL;

  if (!rt_log.debug)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  /* Time since the process started: where create spends its time. */
  message
    = g_strdup_printf ("[%.3f ms] %s", (g_get_monotonic_time () - rt_log.started) / 1000.0, text);
  log_line ("debug", message, rt_log.fd < 0);
}

gboolean
rt_id_valid (const char *id, GError **error)
{
  gsize len = strlen (id);

  if (len == 0 || len > 1024 || !g_ascii_isalnum (id[0])
      || strspn (id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") != len)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "invalid container id \"%s\": use letters, digits and _.+- (starting with a "
                   "letter or digit)",
                   id);
      return FALSE;
    }
  return TRUE;
}

const char *
rt_status_to_string (RtStatus status)
{
  switch (status)
    {
    case RT_STATUS_CREATING:
      return "creating";
    case RT_STATUS_CREATED:
      return "created";
    case RT_STATUS_RUNNING:
      return "running";
    case RT_STATUS_STOPPED:
    default:
      return "stopped";
    }
}

gboolean
rt_write_file_atomic (const char *path, const char *contents, gssize len, GError **error)
{
  /* State lives on /run (tmpfs): a rename gives atomicity, and there is no
   * crash of the disk to survive, so no fsync on this path. */
  g_autofree char *tmp = g_strdup_printf ("%s.tmp", path);
  int fd;
  gsize size = len < 0 ? strlen (contents) : (gsize)len;
  gsize done = 0;

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot write %s: %s", tmp,
                   g_strerror (errsv));
      return FALSE;
    }
  while (done < size)
    {
      ssize_t n = write (fd, contents + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = n < 0 ? errno : ENOSPC;
          close (fd);
          unlink (tmp);
          g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot write %s: %s", tmp,
                       g_strerror (errsv));
          return FALSE;
        }
      done += n;
    }
  close (fd);
  if (rename (tmp, path) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot rename %s: %s", tmp,
                   g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

gboolean
rt_set_errno (GError **error, int errsv, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "%s: %s", message, g_strerror (errsv));
  return FALSE;
}
