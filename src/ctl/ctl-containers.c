/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Container verbs: run, create, start, stop, restart, kill, rm, ps, inspect,
 * logs, wait, top, status. An attached run hands berthd this process's own
 * standard streams (or takes a pseudo-terminal's master back), so output
 * goes straight to the terminal and never through berthd. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-time.h"
#include "ctl.h"

#define CONTAINER_IFACE "org.berth.berth1.Container"
#define EXIT_BERTH 125 /* run: berth itself failed, as docker's 125 */

static int
parse_opts (const char *verb, const char *params, const char *summary, const GOptionEntry *entries,
            int *argc, char ***argv)
{
  return ctl_parse_options (verb, params, summary, entries, argc, argv);
}

/* --- D-Bus helpers ------------------------------------------------------------- */

static GVariant *
call_container_full (BerthCtl *ctl, const char *path, const char *method, GVariant *args,
                     GUnixFDList *fds, GUnixFDList **out_fds, const GVariantType *reply_type,
                     int timeout_ms, GError **error)
{
  GDBusConnection *bus = ctl_bus (ctl);

  (void)BERTH_ERROR;
  if (bus == NULL)
    {
      if (args)
        g_variant_unref (g_variant_ref_sink (args));
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "no bus");
      return NULL;
    }
  return g_dbus_connection_call_with_unix_fd_list_sync (
    bus, BERTH_BUS_NAME, path, CONTAINER_IFACE, method, args, reply_type, G_DBUS_CALL_FLAGS_NONE,
    timeout_ms, fds, out_fds, NULL, error);
}

/* Prints the error; NULL on failure. */
static GVariant *
call_container (BerthCtl *ctl, const char *path, const char *method, GVariant *args,
                const GVariantType *reply_type)
{
  g_autoptr (GError) error = NULL;
  GVariant *reply
    = call_container_full (ctl, path, method, args, NULL, NULL, reply_type, G_MAXINT, &error);

  if (reply == NULL && ctl->bus)
    ctl_print_call_error (ctl, error);
  return reply;
}

static GVariant *
get_props (BerthCtl *ctl, const char *path)
{
  g_autoptr (GError) error = NULL;
  GVariant *props = NULL;
  g_autoptr (GVariant) reply = NULL;

  if (ctl_bus (ctl) == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (
    ctl->bus, BERTH_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
    g_variant_new ("(s)", CONTAINER_IFACE), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, &error);
  if (reply == NULL)
    {
      ctl_print_call_error (ctl, error);
      return NULL;
    }
  g_variant_get (reply, "(@a{sv})", &props);
  return props;
}

static const char *
prop_str (GVariant *props, const char *key)
{
  const char *s = NULL;

  if (!g_variant_lookup (props, key, "&s", &s))
    return "";
  return s;
}

static gint64
prop_i64 (GVariant *props, const char *key)
{
  g_autoptr (GVariant) v = g_variant_lookup_value (props, key, NULL);

  if (v == NULL)
    return 0;
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    return (gint64)g_variant_get_uint64 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (v);
  return 0;
}

/* --- create options --------------------------------------------------------------- */

typedef struct
{
  gboolean detach, interactive, tty, rm, read_only, no_init;
  char *name, *workdir, *user, *hostname, *entrypoint, *memory, *cpus, *pids_limit, *runtime,
    *network;
  char **env, **env_files, **labels, **volumes, **volumes_from;
} CreateArgs;

static void
create_args_clear (CreateArgs *a)
{
  g_free (a->name);
  g_free (a->workdir);
  g_free (a->user);
  g_free (a->hostname);
  g_free (a->entrypoint);
  g_free (a->memory);
  g_free (a->cpus);
  g_free (a->pids_limit);
  g_free (a->runtime);
  g_free (a->network);
  g_strfreev (a->env);
  g_strfreev (a->env_files);
  g_strfreev (a->labels);
  g_strfreev (a->volumes);
  g_strfreev (a->volumes_from);
}

static gboolean
parse_bytes (const char *text, guint64 *out)
{
  char *end = NULL;
  guint64 n;
  guint64 mult = 1;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  n = g_ascii_strtoull (text, &end, 10);
  switch (g_ascii_tolower (*end))
    {
    case '\0':
    case 'b':
      break;
    case 'k':
      mult = 1024;
      break;
    case 'm':
      mult = 1024 * 1024;
      break;
    case 'g':
      mult = 1024 * 1024 * 1024;
      break;
    default:
      return FALSE;
    }
  if (*end && end[1] && !(g_ascii_tolower (end[1]) == 'b' && end[2] == '\0'))
    return FALSE;
  *out = n * mult;
  return n > 0;
}

static void
add_env_entry (GPtrArray *env, const char *entry)
{
  /* KEY alone takes the value from berthctl's environment, as docker does. */
  if (strchr (entry, '=') == NULL)
    {
      const char *v = g_getenv (entry);
      if (v)
        g_ptr_array_add (env, g_strdup_printf ("%s=%s", entry, v));
      return;
    }
  g_ptr_array_add (env, g_strdup (entry));
}

/* The a{sv} of CreateContainer, or NULL after printing a usage error. */
static GVariant *
build_create_options (const char *verb, CreateArgs *a)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GPtrArray) env = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; a->env_files && a->env_files[i]; i++)
    {
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) lines = NULL;

      if (!g_file_get_contents (a->env_files[i], &text, NULL, &error))
        {
          ctl_usage_error (verb, "cannot read --env-file: %s", error->message);
          return NULL;
        }
      lines = g_strsplit (text, "\n", -1);
      for (guint j = 0; lines[j]; j++)
        {
          char *line = g_strstrip (lines[j]);
          if (*line && *line != '#')
            add_env_entry (env, line);
        }
    }
  for (guint i = 0; a->env && a->env[i]; i++)
    add_env_entry (env, a->env[i]);
  if (env->len > 0)
    g_variant_builder_add (&b, "{sv}", "env",
                           g_variant_new_strv ((const char *const *)env->pdata, env->len));
  if (a->name)
    g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (a->name));
  if (a->workdir)
    g_variant_builder_add (&b, "{sv}", "workdir", g_variant_new_string (a->workdir));
  if (a->user)
    g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string (a->user));
  if (a->hostname)
    g_variant_builder_add (&b, "{sv}", "hostname", g_variant_new_string (a->hostname));
  if (a->entrypoint)
    {
      const char *ep[] = { a->entrypoint, NULL };
      g_variant_builder_add (&b, "{sv}", "entrypoint", g_variant_new_strv (ep, 1));
    }
  if (a->tty)
    g_variant_builder_add (&b, "{sv}", "tty", g_variant_new_boolean (TRUE));
  if (a->interactive)
    g_variant_builder_add (&b, "{sv}", "stdin", g_variant_new_boolean (TRUE));
  if (a->memory)
    {
      guint64 bytes;
      if (!parse_bytes (a->memory, &bytes))
        {
          ctl_usage_error (verb, "invalid --memory \"%s\" (use e.g. 512m or 1g)", a->memory);
          return NULL;
        }
      g_variant_builder_add (&b, "{sv}", "memory", g_variant_new_uint64 (bytes));
    }
  if (a->cpus)
    {
      char *end = NULL;
      double cpus = g_ascii_strtod (a->cpus, &end);
      if (end == a->cpus || *end || cpus <= 0)
        {
          ctl_usage_error (verb, "invalid --cpus \"%s\" (use e.g. 0.5 or 2)", a->cpus);
          return NULL;
        }
      g_variant_builder_add (&b, "{sv}", "cpus", g_variant_new_double (cpus));
    }
  if (a->pids_limit)
    {
      gint64 n;
      if (!g_ascii_string_to_signed (a->pids_limit, 10, 1, G_MAXINT64, &n, NULL))
        {
          ctl_usage_error (verb, "invalid --pids-limit \"%s\" (a positive number)", a->pids_limit);
          return NULL;
        }
      g_variant_builder_add (&b, "{sv}", "pids-limit", g_variant_new_int64 (n));
    }
  if (a->read_only)
    g_variant_builder_add (&b, "{sv}", "read-only", g_variant_new_boolean (TRUE));
  if (a->no_init)
    g_variant_builder_add (&b, "{sv}", "init", g_variant_new_boolean (FALSE));
  if (a->runtime)
    {
      g_autofree char *path = g_path_is_absolute (a->runtime) ? g_strdup (a->runtime)
                                                              : g_find_program_in_path (a->runtime);
      if (path == NULL)
        {
          ctl_usage_error (verb, "--runtime %s: no such program", a->runtime);
          return NULL;
        }
      g_variant_builder_add (&b, "{sv}", "runtime", g_variant_new_string (path));
    }
  if (a->network)
    g_variant_builder_add (&b, "{sv}", "network", g_variant_new_string (a->network));
  if (a->labels)
    {
      g_auto (GVariantBuilder) lb = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
      for (guint i = 0; a->labels[i]; i++)
        {
          g_auto (GStrv) kv = g_strsplit (a->labels[i], "=", 2);
          g_variant_builder_add (&lb, "{ss}", kv[0], kv[1] ? kv[1] : "");
        }
      g_variant_builder_add (&b, "{sv}", "labels", g_variant_builder_end (&lb));
    }
  if (a->volumes)
    g_variant_builder_add (&b, "{sv}", "volumes",
                           g_variant_new_strv ((const char *const *)a->volumes, -1));
  if (a->volumes_from)
    g_variant_builder_add (&b, "{sv}", "volumes-from",
                           g_variant_new_strv ((const char *const *)a->volumes_from, -1));
  if (a->rm && a->detach)
    g_variant_builder_add (&b, "{sv}", "auto-remove", g_variant_new_boolean (TRUE));
  return g_variant_builder_end (&b);
}

#define CREATE_ENTRIES(a)                                                                               \
  { "name", 0, 0, G_OPTION_ARG_STRING, &(a).name, "Name the container", "NAME" },                       \
    { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &(a).env, "Set an environment variable", "KEY=VALUE" }, \
    { "env-file",                                                                                       \
      0,                                                                                                \
      0,                                                                                                \
      G_OPTION_ARG_FILENAME_ARRAY,                                                                      \
      &(a).env_files,                                                                                   \
      "Read environment variables from a file",                                                         \
      "FILE" },                                                                                         \
    { "workdir", 'w', 0, G_OPTION_ARG_STRING, &(a).workdir, "Working directory inside", "DIR" },        \
    { "user",                                                                                           \
      'u',                                                                                              \
      0,                                                                                                \
      G_OPTION_ARG_STRING,                                                                              \
      &(a).user,                                                                                        \
      "Run as a user of the container (name or number, optionally with a group)",                       \
      "USER[:GROUP]" },                                                                                 \
    { "hostname", 'h', 0, G_OPTION_ARG_STRING, &(a).hostname, "The container's host name", "NAME" },    \
    { "entrypoint",                                                                                     \
      0,                                                                                                \
      0,                                                                                                \
      G_OPTION_ARG_STRING,                                                                              \
      &(a).entrypoint,                                                                                  \
      "Override the image's entrypoint (\"\" clears it)",                                               \
      "CMD" },                                                                                          \
    { "interactive", 'i', 0, G_OPTION_ARG_NONE, &(a).interactive, "Keep stdin open", NULL },            \
    { "tty", 't', 0, G_OPTION_ARG_NONE, &(a).tty, "Allocate a pseudo-terminal", NULL },                 \
    { "memory", 'm', 0, G_OPTION_ARG_STRING, &(a).memory, "Memory limit (512m, 1g)", "BYTES" },         \
    { "cpus", 0, 0, G_OPTION_ARG_STRING, &(a).cpus, "CPU limit (1.5 = one and a half CPUs)", "N" },     \
    { "pids-limit", 0, 0, G_OPTION_ARG_STRING, &(a).pids_limit, "Limit the number of tasks", "N" },     \
    { "read-only",                                                                                      \
      0,                                                                                                \
      0,                                                                                                \
      G_OPTION_ARG_NONE,                                                                                \
      &(a).read_only,                                                                                   \
      "Mount the root file system "                                                                     \
      "read-only",                                                                                      \
      NULL },                                                                                           \
    { "runtime", 0, 0, G_OPTION_ARG_STRING, &(a).runtime, "The OCI runtime (runc, crun, a path)",       \
      "RUNTIME" },                                                                                      \
    { "network", 0, 0, G_OPTION_ARG_STRING, &(a).network, "none (default: loopback only) or host",      \
      "MODE" },                                                                                         \
    { "label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &(a).labels, "Set a label", "KEY=VALUE" },            \
    { "volume",                                                                                         \
      'v',                                                                                              \
      0,                                                                                                \
      G_OPTION_ARG_STRING_ARRAY,                                                                        \
      &(a).volumes,                                                                                     \
      "Mount a volume: /path (anonymous), NAME:/path[:ro] or /host/dir:/path[:ro] "                     \
      "(administrators)",                                                                               \
      "VOLUME" },                                                                                       \
    { "volumes-from",                                                                                   \
      0,                                                                                                \
      0,                                                                                                \
      G_OPTION_ARG_STRING_ARRAY,                                                                        \
      &(a).volumes_from,                                                                                \
      "Mount every volume of a container, at the same paths",                                           \
      "CONTAINER[:ro|:rw]" },                                                                           \
    { "no-init",                                                                                        \
      0,                                                                                                \
      0,                                                                                                \
      G_OPTION_ARG_NONE,                                                                                \
      &(a).no_init,                                                                                     \
      "Run the command as PID 1, without "                                                              \
      "berth-init",                                                                                     \
      NULL },                                                                                           \
  {                                                                                                     \
    "rm", 0, 0, G_OPTION_ARG_NONE, &(a).rm, "Remove the container when it exits", NULL                  \
  }

static char *
create_container (BerthCtl *ctl, const char *verb, CreateArgs *a, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  GVariant *options = build_create_options (verb, a);
  char *path = NULL;

  if (options == NULL)
    return NULL;
  reply = ctl_call_manager (
    ctl, "CreateContainer",
    g_variant_new ("(s^as@a{sv})", argv[1], argc > 2 ? argv + 2 : (char *[]){ NULL }, options),
    G_VARIANT_TYPE ("(o)"));
  if (reply)
    g_variant_get (reply, "(o)", &path);
  return path;
}

/* --- attached runs ------------------------------------------------------------------ */

typedef struct
{
  BerthCtl *ctl;
  char *path;
  GMainLoop *loop;
  gboolean waited;
  int exit_code;
  int terminal; /* the pty master, or -1 */
  gboolean stdin_open;
  gboolean terminal_done;
  struct termios saved;
  gboolean raw;
} Attach;

static void
on_wait_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attach *at = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  at->waited = TRUE;
  if (reply == NULL)
    {
      ctl_print_call_error (at->ctl, error);
      at->exit_code = EXIT_BERTH;
    }
  else
    g_variant_get (reply, "(i)", &at->exit_code);
  if (at->terminal < 0 || at->terminal_done)
    g_main_loop_quit (at->loop);
}

static void
forward_signal (Attach *at, const char *name)
{
  g_dbus_connection_call (at->ctl->bus, BERTH_BUS_NAME, at->path, CONTAINER_IFACE, "Kill",
                          g_variant_new ("(s)", name), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL,
                          NULL);
}

static gboolean
on_sigint (gpointer user_data)
{
  forward_signal (user_data, "INT");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  forward_signal (user_data, "TERM");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sighup (gpointer user_data)
{
  forward_signal (user_data, "HUP");
  return G_SOURCE_CONTINUE;
}

static void
copy_size (Attach *at)
{
  struct winsize ws;

  if (at->terminal >= 0 && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (at->terminal, TIOCSWINSZ, &ws);
}

static gboolean
on_sigwinch (gpointer user_data)
{
  copy_size (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
write_all (int fd, const char *buf, gssize n)
{
  while (n > 0)
    {
      gssize w = write (fd, buf, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        {
          struct pollfd p = { .fd = fd, .events = POLLOUT };
          poll (&p, 1, -1);
          continue;
        }
      if (w <= 0)
        return FALSE;
      buf += w;
      n -= w;
    }
  return TRUE;
}

static gboolean
on_terminal_output (gint fd, GIOCondition condition, gpointer user_data)
{
  Attach *at = user_data;
  char buf[8192];
  gssize n = read (fd, buf, sizeof buf);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n > 0)
    {
      write_all (STDOUT_FILENO, buf, n);
      return G_SOURCE_CONTINUE;
    }
  /* EIO: every process let go of the terminal. */
  at->terminal_done = TRUE;
  if (at->waited)
    g_main_loop_quit (at->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stdin (gint fd, GIOCondition condition, gpointer user_data)
{
  Attach *at = user_data;
  char buf[8192];
  gssize n = read (fd, buf, sizeof buf);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      /* End of input: the terminal's EOF character tells the program. */
      if (at->terminal >= 0)
        {
          struct termios t;
          char eof = 4;
          if (tcgetattr (at->terminal, &t) == 0)
            eof = t.c_cc[VEOF];
          write_all (at->terminal, &eof, 1);
        }
      return G_SOURCE_REMOVE;
    }
  write_all (at->terminal, buf, n);
  return G_SOURCE_CONTINUE;
}

/* Starts the container at @path attached to this process and returns its
 * exit status (125 when berth failed). */
static int
run_attached (BerthCtl *ctl, const char *path, gboolean interactive, gboolean tty)
{
  Attach at = { .ctl = ctl, .path = (char *)path, .terminal = -1 };
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GUnixFDList) out_fds = NULL;
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) result = NULL;
  guint sources[6] = { 0 };

  if (tty)
    {
      struct winsize ws;
      if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        g_variant_builder_add (&b, "{sv}", "terminal-size",
                               g_variant_new ("(qq)", ws.ws_row, ws.ws_col));
    }
  else
    {
      if (interactive)
        g_variant_builder_add (&b, "{sv}", "stdin",
                               g_variant_new_handle (g_unix_fd_list_append (fds, 0, NULL)));
      g_variant_builder_add (&b, "{sv}", "stdout",
                             g_variant_new_handle (g_unix_fd_list_append (fds, 1, NULL)));
      g_variant_builder_add (&b, "{sv}", "stderr",
                             g_variant_new_handle (g_unix_fd_list_append (fds, 2, NULL)));
    }
  /* Signals are forwarded from the start on: a Ctrl-C while the container
   * starts must not be lost. */
  at.loop = g_main_loop_new (NULL, FALSE);
  sources[3] = g_unix_signal_add (SIGINT, on_sigint, &at);
  sources[4] = g_unix_signal_add (SIGTERM, on_sigterm, &at);
  sources[5] = g_unix_signal_add (SIGHUP, on_sighup, &at);
  reply = call_container_full (ctl, path, "Start",
                               g_variant_new ("(@a{sv})", g_variant_builder_end (&b)), fds,
                               &out_fds, G_VARIANT_TYPE ("(a{sv})"), G_MAXINT, &error);
  if (reply == NULL)
    {
      if (ctl->bus)
        ctl_print_call_error (ctl, error);
      at.exit_code = EXIT_BERTH;
      goto out;
    }
  g_variant_get (reply, "(@a{sv})", &result);
  if (tty)
    {
      gint32 index = -1;

      if (!g_variant_lookup (result, "terminal", "h", &index) || out_fds == NULL
          || (at.terminal = g_unix_fd_list_get (out_fds, index, &error)) < 0)
        {
          g_printerr ("berthctl: berthd sent no terminal%s%s\n", error ? ": " : "",
                      error ? error->message : "");
          at.exit_code = EXIT_BERTH;
          goto out;
        }
      g_unix_set_fd_nonblocking (at.terminal, TRUE, NULL);
      copy_size (&at);
      if (isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &at.saved) == 0)
        {
          struct termios raw = at.saved;
          cfmakeraw (&raw);
          at.raw = tcsetattr (STDIN_FILENO, TCSANOW, &raw) == 0;
        }
    }

  g_dbus_connection_call (ctl->bus, BERTH_BUS_NAME, path, CONTAINER_IFACE, "Wait", NULL,
                          G_VARIANT_TYPE ("(i)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL,
                          on_wait_reply, &at);
  if (at.terminal >= 0)
    {
      sources[0]
        = g_unix_fd_add (at.terminal, G_IO_IN | G_IO_HUP | G_IO_ERR, on_terminal_output, &at);
      if (interactive)
        sources[1] = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP, on_stdin, &at);
      sources[2] = g_unix_signal_add (SIGWINCH, on_sigwinch, &at);
    }
  g_main_loop_run (at.loop);

out:
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    if (sources[i])
      {
        GSource *s = g_main_context_find_source_by_id (NULL, sources[i]);
        if (s)
          g_source_destroy (s);
      }
  if (at.raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &at.saved);
  berth_close_fdp (&at.terminal);
  g_main_loop_unref (at.loop);
  return at.exit_code;
}

/* run --rm: with its anonymous volumes, as docker does. */
static void
remove_quietly (BerthCtl *ctl, const char *path)
{
  g_autoptr (GVariant) r
    = call_container (ctl, path, "Remove", g_variant_new ("(bb)", FALSE, TRUE), NULL);
}

static void
print_id (BerthCtl *ctl, const char *path)
{
  g_autoptr (GVariant) props = get_props (ctl, path);

  if (props)
    g_print ("%s\n", prop_str (props, "Id"));
}

/* --- run, create, start ----------------------------------------------------------------- */

/* Nobody attaches: berthd keeps a terminal and logs its output. */
static GVariant *
detached_start_options (void)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&b, "{sv}", "log-terminal", g_variant_new_boolean (TRUE));
  return g_variant_new ("(a{sv})", &b);
}

int
ctl_verb_run (BerthCtl *ctl, int argc, char **argv)
{
  CreateArgs a = { 0 };
  const GOptionEntry entries[] = {
    { "detach", 'd', 0, G_OPTION_ARG_NONE, &a.detach, "Run in the background, print the ID", NULL },
    CREATE_ENTRIES (a),
    { NULL },
  };
  g_autofree char *path = NULL;
  int r;

  r = ctl_parse_options_posix ("run", "[OPTIONS...] IMAGE [COMMAND [ARG...]]",
                               "Create a container from IMAGE and run it.", entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    {
      create_args_clear (&a);
      return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : EXIT_BERTH;
    }
  if (argc < 2)
    {
      create_args_clear (&a);
      ctl_usage_error ("run", "no image given");
      return EXIT_BERTH;
    }
  path = create_container (ctl, "run", &a, argc, argv);
  if (path == NULL)
    {
      create_args_clear (&a);
      return EXIT_BERTH;
    }
  if (a.detach)
    {
      g_autoptr (GVariant) reply = call_container (ctl, path, "Start", detached_start_options (),
                                                   G_VARIANT_TYPE ("(a{sv})"));
      create_args_clear (&a);
      if (reply == NULL)
        return EXIT_BERTH;
      print_id (ctl, path);
      return CTL_EXIT_OK;
    }
  r = run_attached (ctl, path, a.interactive, a.tty);
  if (a.rm)
    remove_quietly (ctl, path);
  create_args_clear (&a);
  return r;
}

int
ctl_verb_create (BerthCtl *ctl, int argc, char **argv)
{
  CreateArgs a = { 0 };
  const GOptionEntry entries[] = {
    CREATE_ENTRIES (a),
    { NULL },
  };
  g_autofree char *path = NULL;
  int r;

  r = ctl_parse_options_posix ("create", "[OPTIONS...] IMAGE [COMMAND [ARG...]]",
                               "Create a container from IMAGE without starting it; prints its ID.",
                               entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    {
      create_args_clear (&a);
      return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
    }
  if (argc < 2)
    {
      create_args_clear (&a);
      return ctl_usage_error ("create", "no image given");
    }
  path = create_container (ctl, "create", &a, argc, argv);
  create_args_clear (&a);
  if (path == NULL)
    return CTL_EXIT_FAILURE;
  print_id (ctl, path);
  return CTL_EXIT_OK;
}

int
ctl_verb_start (BerthCtl *ctl, int argc, char **argv)
{
  gboolean attach = FALSE, interactive = FALSE;
  const GOptionEntry entries[] = {
    { "attach", 'a', 0, G_OPTION_ARG_NONE, &attach,
      "Attach to the output and exit with the container's status", NULL },
    { "interactive", 'i', 0, G_OPTION_ARG_NONE, &interactive, "Attach stdin too", NULL },
    { NULL },
  };
  int r = parse_opts ("start", "CONTAINER...", "Start created or exited containers.", entries,
                      &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("start", "no container given");
  if (attach && argc > 2)
    return ctl_usage_error ("start", "--attach takes one container");
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *path = ctl_container_path (ctl, argv[i]);
      g_autoptr (GVariant) reply = NULL;

      if (path == NULL)
        return CTL_EXIT_FAILURE;
      if (attach)
        {
          g_autoptr (GVariant) props = get_props (ctl, path);
          g_autoptr (GVariant) config = NULL;
          gboolean tty = FALSE;

          if (props == NULL)
            return CTL_EXIT_FAILURE;
          /* The terminal setting was chosen at creation. */
          tty = strstr (prop_str (props, "Config"), "\"Tty\":true") != NULL;
          return run_attached (ctl, path, interactive, tty);
        }
      reply = call_container (ctl, path, "Start", detached_start_options (),
                              G_VARIANT_TYPE ("(a{sv})"));
      if (reply == NULL)
        return CTL_EXIT_FAILURE;
      g_print ("%s\n", argv[i]);
    }
  return CTL_EXIT_OK;
}

/* --- stop, restart, kill, rm, wait ------------------------------------------------------ */

typedef GVariant *(*PerContainer) (BerthCtl *ctl, const char *path, gpointer data);

static int
for_each (BerthCtl *ctl, int argc, char **argv, const char *verb, PerContainer fn, gpointer data,
          gboolean print_name)
{
  int ret = CTL_EXIT_OK;

  if (argc < 2)
    return ctl_usage_error (verb, "no container given");
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *path = ctl_container_path (ctl, argv[i]);
      g_autoptr (GVariant) reply = NULL;

      if (path == NULL || (reply = fn (ctl, path, data)) == NULL)
        {
          ret = CTL_EXIT_FAILURE;
          if (ctl->bus == NULL)
            break;
          continue;
        }
      if (print_name)
        g_print ("%s\n", argv[i]);
    }
  return ret;
}

static GVariant *
do_stop (BerthCtl *ctl, const char *path, gpointer data)
{
  return call_container (ctl, path, "Stop", g_variant_new ("(u)", GPOINTER_TO_UINT (data)), NULL);
}

int
ctl_verb_stop (BerthCtl *ctl, int argc, char **argv)
{
  int timeout = 10;
  const GOptionEntry entries[] = {
    { "time", 't', 0, G_OPTION_ARG_INT, &timeout, "Seconds to wait before SIGKILL (default 10)",
      "SECONDS" },
    { NULL },
  };
  int r = parse_opts ("stop", "CONTAINER...",
                      "Stop running containers: SIGTERM, then SIGKILL after a timeout.", entries,
                      &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (timeout < 0)
    return ctl_usage_error ("stop", "--time must not be negative");
  return for_each (ctl, argc, argv, "stop", do_stop, GUINT_TO_POINTER (timeout), TRUE);
}

static GVariant *
do_restart (BerthCtl *ctl, const char *path, gpointer data)
{
  return call_container (ctl, path, "Restart", NULL, NULL);
}

int
ctl_verb_restart (BerthCtl *ctl, int argc, char **argv)
{
  int r = parse_opts ("restart", "CONTAINER...", "Stop and start containers again.", NULL, &argc,
                      &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  return for_each (ctl, argc, argv, "restart", do_restart, NULL, TRUE);
}

static GVariant *
do_kill (BerthCtl *ctl, const char *path, gpointer data)
{
  return call_container (ctl, path, "Kill", g_variant_new ("(s)", (const char *)data), NULL);
}

int
ctl_verb_kill (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *sig = NULL;
  const GOptionEntry entries[] = {
    { "signal", 's', 0, G_OPTION_ARG_STRING, &sig, "The signal (default KILL)", "SIGNAL" },
    { NULL },
  };
  int r = parse_opts ("kill", "CONTAINER...", "Send a signal to running containers.", entries,
                      &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  return for_each (ctl, argc, argv, "kill", do_kill, sig ? sig : "KILL", TRUE);
}

typedef struct
{
  gboolean force, volumes;
} RmArgs;

static GVariant *
do_rm (BerthCtl *ctl, const char *path, gpointer data)
{
  RmArgs *a = data;

  return call_container (ctl, path, "Remove", g_variant_new ("(bb)", a->force, a->volumes), NULL);
}

int
ctl_verb_rm (BerthCtl *ctl, int argc, char **argv)
{
  RmArgs a = { 0 };
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &a.force, "Kill and remove running containers", NULL },
    { "volumes", 'v', 0, G_OPTION_ARG_NONE, &a.volumes, "Remove their anonymous volumes too",
      NULL },
    { NULL },
  };
  int r = parse_opts ("rm", "CONTAINER...", "Remove containers.", entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  return for_each (ctl, argc, argv, "rm", do_rm, &a, TRUE);
}

static GVariant *
do_wait (BerthCtl *ctl, const char *path, gpointer data)
{
  GVariant *reply = call_container (ctl, path, "Wait", NULL, G_VARIANT_TYPE ("(i)"));
  int code;

  if (reply)
    {
      g_variant_get (reply, "(i)", &code);
      g_print ("%d\n", code);
    }
  return reply;
}

int
ctl_verb_wait (BerthCtl *ctl, int argc, char **argv)
{
  int r = parse_opts ("wait", "CONTAINER...",
                      "Wait until containers exit and print their exit codes.", NULL, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  return for_each (ctl, argc, argv, "wait", do_wait, NULL, FALSE);
}

/* --- ps, inspect ------------------------------------------------------------------------ */

static char *
format_ago (gint64 usec)
{
  gint64 d = (g_get_real_time () - usec) / G_USEC_PER_SEC;

  if (usec <= 0)
    return g_strdup ("N/A");
  if (d < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " seconds ago", d < 1 ? 1 : d);
  if (d < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " minutes ago", d / 60);
  if (d < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT " hours ago", d / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT " days ago", d / 86400);
}

static char *
format_duration (gint64 usec)
{
  gint64 d = usec / G_USEC_PER_SEC;

  if (d < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s", d);
  if (d < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "min %" G_GINT64_FORMAT "s", d / 60, d % 60);
  if (d < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h %" G_GINT64_FORMAT "min", d / 3600,
                            (d % 3600) / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT " days %" G_GINT64_FORMAT "h", d / 86400,
                          (d % 86400) / 3600);
}

int
ctl_verb_ps (BerthCtl *ctl, int argc, char **argv)
{
  gboolean all = FALSE, quiet = FALSE, json = FALSE;
  const GOptionEntry entries[] = {
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Show all containers, not only running ones", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only print IDs", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };
  const char *headers[]
    = { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES", NULL };
  g_autoptr (CtlTable) table = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const char *id, *name, *image, *command, *state;
  gint32 code;
  gint64 created;
  const char *path;
  int r = parse_opts (argv[0], NULL, "List containers.", entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return ctl_usage_error (argv[0], "unexpected argument \"%s\"", argv[1]);
  reply = ctl_call_manager (ctl, "ListContainers", NULL, G_VARIANT_TYPE ("(a(sssssixo))"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;

  table = ctl_table_new (headers);
  json_builder_begin_array (b);
  g_variant_get (reply, "(a(sssssixo))", &iter);
  while (g_variant_iter_next (iter, "(&s&s&s&s&six&o)", &id, &name, &image, &command, &state, &code,
                              &created, &path))
    {
      g_autofree char *short_id = g_strndup (id, 12);
      g_autofree char *ago = NULL;
      g_autofree char *status = NULL;
      g_autofree char *cmd = NULL;

      if (!all && !g_str_equal (state, "running"))
        continue;
      if (quiet)
        {
          g_print ("%s\n", short_id);
          continue;
        }
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "Id");
          json_builder_add_string_value (b, id);
          json_builder_set_member_name (b, "Name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "Image");
          json_builder_add_string_value (b, image);
          json_builder_set_member_name (b, "Command");
          json_builder_add_string_value (b, command);
          json_builder_set_member_name (b, "State");
          json_builder_add_string_value (b, state);
          json_builder_set_member_name (b, "ExitCode");
          json_builder_add_int_value (b, code);
          json_builder_set_member_name (b, "Created");
          json_builder_add_int_value (b, created / G_USEC_PER_SEC);
          json_builder_end_object (b);
          continue;
        }
      ago = format_ago (created);
      if (g_str_equal (state, "exited"))
        status = g_strdup_printf ("Exited (%d)", code);
      else if (g_str_equal (state, "running"))
        status = g_strdup ("Up");
      else
        status = g_strdup (state);
      cmd = strlen (command) > 20 ? g_strdup_printf ("\"%.19s…\"", command)
                                  : g_strdup_printf ("\"%s\"", command);
      {
        const char *row[] = { short_id, image, cmd, ago, status, name, NULL };
        ctl_table_add_row (table, row);
      }
    }
  json_builder_end_array (b);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      ctl_print_json (root);
    }
  else if (!quiet)
    ctl_table_print (table);
  return CTL_EXIT_OK;
}

static void
add_time (JsonBuilder *b, const char *key, gint64 usec)
{
  json_builder_set_member_name (b, key);
  if (usec <= 0)
    json_builder_add_string_value (b, "0001-01-01T00:00:00Z");
  else
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);
      g_autofree char *s = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
      json_builder_add_string_value (b, s);
    }
}

static void
add_inspect (JsonBuilder *b, GVariant *props)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree const char **command = NULL;
  const char *state = prop_str (props, "State");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Id");
  json_builder_add_string_value (b, prop_str (props, "Id"));
  json_builder_set_member_name (b, "Name");
  json_builder_add_string_value (b, prop_str (props, "Name"));
  add_time (b, "Created", prop_i64 (props, "Created"));
  json_builder_set_member_name (b, "Image");
  json_builder_add_string_value (b, prop_str (props, "ImageId"));
  json_builder_set_member_name (b, "ImageName");
  json_builder_add_string_value (b, prop_str (props, "Image"));
  json_builder_set_member_name (b, "Command");
  json_builder_begin_array (b);
  if (g_variant_lookup (props, "Command", "^a&s", &command))
    for (guint i = 0; command[i]; i++)
      json_builder_add_string_value (b, command[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "State");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "Status");
  json_builder_add_string_value (b, state);
  json_builder_set_member_name (b, "Running");
  json_builder_add_boolean_value (b, g_str_equal (state, "running"));
  json_builder_set_member_name (b, "Pid");
  json_builder_add_int_value (b, prop_i64 (props, "Pid"));
  json_builder_set_member_name (b, "ExitCode");
  json_builder_add_int_value (b, prop_i64 (props, "ExitCode"));
  add_time (b, "StartedAt", prop_i64 (props, "StartedAt"));
  add_time (b, "FinishedAt", prop_i64 (props, "FinishedAt"));
  json_builder_end_object (b);
  json_builder_set_member_name (b, "Unit");
  json_builder_add_string_value (b, prop_str (props, "Unit"));
  json_builder_set_member_name (b, "Config");
  if (json_parser_load_from_data (parser, prop_str (props, "Config"), -1, NULL))
    {
      JsonNode *config = json_parser_get_root (parser);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (config) ? json_node_get_object (config) : NULL;

      json_builder_add_value (b, json_node_copy (config));
      /* The mounts at the top too, where docker's inspect shows them. */
      if (o && json_object_has_member (o, "Mounts"))
        {
          json_builder_set_member_name (b, "Mounts");
          json_builder_add_value (b, json_node_copy (json_object_get_member (o, "Mounts")));
        }
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

int
ctl_verb_inspect (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  int ret = CTL_EXIT_OK;
  int r = parse_opts ("inspect", "CONTAINER...", "Show containers' details as JSON.", NULL, &argc,
                      &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("inspect", "no container given");
  json_builder_begin_array (b);
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *path = ctl_container_path (ctl, argv[i]);
      g_autoptr (GVariant) props = path ? get_props (ctl, path) : NULL;

      if (props == NULL)
        {
          ret = CTL_EXIT_FAILURE;
          continue;
        }
      add_inspect (b, props);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  ctl_print_json (root);
  return ret;
}

/* --- logs ------------------------------------------------------------------------------- */

static int
open_log_method (BerthCtl *ctl, const char *path, const char *method, gboolean quiet)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GVariant) reply
    = call_container_full (ctl, path, method, NULL, NULL, &fds, G_VARIANT_TYPE ("(h)"), -1, &error);
  gint32 index;

  if (reply == NULL)
    {
      if (ctl->bus && !quiet)
        ctl_print_call_error (ctl, error);
      return -1;
    }
  g_variant_get (reply, "(h)", &index);
  return fds ? g_unix_fd_list_get (fds, index, NULL) : -1;
}

static int
open_log (BerthCtl *ctl, const char *path)
{
  return open_log_method (ctl, path, "OpenLog", FALSE);
}

static void
print_tail (int fd, int lines)
{
  g_autoptr (GString) all = g_string_new (NULL);
  char buf[65536];
  gssize n;
  const char *start;
  int seen = 0;

  while ((n = read (fd, buf, sizeof buf)) > 0)
    g_string_append_len (all, buf, n);
  start = all->str + all->len;
  if (lines < 0)
    start = all->str;
  else
    {
      /* Back over @lines line ends, not counting a final one. */
      const char *p = all->str + all->len;
      if (p > all->str && p[-1] == '\n')
        p--;
      while (p > all->str && seen < lines)
        {
          p--;
          if (*p == '\n')
            seen++;
        }
      start = seen == lines && *p == '\n' ? p + 1 : p;
      if (lines == 0)
        start = all->str + all->len;
    }
  write_all (STDOUT_FILENO, start, all->str + all->len - start);
}

int
ctl_verb_logs (BerthCtl *ctl, int argc, char **argv)
{
  gboolean follow = FALSE, timestamps = FALSE;
  int tail = -1;
  g_autofree char *since = NULL, *until = NULL;
  g_autofree char *path = NULL;
  berth_autofd int fd = -1;
  berth_autofd int times_fd = -1;
  g_autoptr (CtlLogReader) reader = NULL;
  CtlLogFilter filter = { 0 };
  const GOptionEntry entries[] = {
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow, "Keep printing new output until it exits",
      NULL },
    { "tail", 'n', 0, G_OPTION_ARG_INT, &tail, "Only the last N lines", "N" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since,
      "Only lines written since then (2026-11-23T18:00:00Z, 2026-11-23, Unix seconds, or 10m "
      "ago)",
      "TIME" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, "Only lines written until then (same forms)",
      "TIME" },
    { "timestamps", 't', 0, G_OPTION_ARG_NONE, &timestamps,
      "Prefix each line with the time it was written", NULL },
    { NULL },
  };
  int r = parse_opts ("logs", "CONTAINER", "Print what a container wrote to stdout and stderr.",
                      entries, &argc, &argv);
  gint64 now = g_get_real_time ();

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("logs", argc < 2 ? "no container given" : "one container at a time");
  {
    g_autoptr (GError) error = NULL;

    if ((since && !berth_time_parse (since, now, &filter.since, &error))
        || (until && !berth_time_parse (until, now, &filter.until, &error)))
      return ctl_usage_error ("logs", "%s", error->message);
  }
  filter.timestamps = timestamps;
  filter.tail = tail;
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL)
    return CTL_EXIT_FAILURE;
  fd = open_log (ctl, path);
  if (fd < 0)
    return CTL_EXIT_FAILURE;
  /* An older berthd records no times: every line is as old as the log. */
  times_fd = open_log_method (ctl, path, "OpenLogTimes", TRUE);
  reader = ctl_log_reader_new (fd, times_fd, &filter);
  if (!follow)
    {
      ctl_log_reader_print (reader, TRUE);
      return CTL_EXIT_OK;
    }
  for (;;)
    {
      g_autoptr (GVariant) props = get_props (ctl, path);
      gboolean running = props && g_str_equal (prop_str (props, "State"), "running");

      if (!ctl_log_reader_print (reader, !running) || !running)
        break;
      g_usleep (200 * 1000);
    }
  return CTL_EXIT_OK;
}

/* --- top, status ------------------------------------------------------------------------- */

/* The pids in the cgroup of @pid, from its unified (or first) hierarchy. */
static GArray *
cgroup_pids (pid_t pid, char **out_cgroup)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", pid);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree char *procs = NULL;
  g_autofree char *list = NULL;
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (pid_t));
  const char *cg = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return pids;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "0::"))
      cg = lines[i] + 3;
  if (cg == NULL)
    return pids;
  *out_cgroup = g_strdup (cg);
  procs = g_strdup_printf ("/sys/fs/cgroup/unified%s/cgroup.procs", cg);
  if (!g_file_get_contents (procs, &list, NULL, NULL))
    {
      g_free (procs);
      procs = g_strdup_printf ("/sys/fs/cgroup%s/cgroup.procs", cg);
      if (!g_file_get_contents (procs, &list, NULL, NULL))
        return pids;
    }
  {
    g_auto (GStrv) ids = g_strsplit (list, "\n", -1);
    for (guint i = 0; ids[i]; i++)
      if (*ids[i])
        {
          pid_t p = (pid_t)g_ascii_strtoll (ids[i], NULL, 10);
          g_array_append_val (pids, p);
        }
  }
  return pids;
}

static char *
proc_cmdline (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", pid);
  char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    {
      g_free (text);
      return g_strdup ("?");
    }
  for (gsize i = 0; i + 1 < len; i++)
    if (text[i] == '\0')
      text[i] = ' ';
  return text;
}

static pid_t
proc_ppid (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL)
    return 0;
  return (pid_t)g_ascii_strtoll (p + 4, NULL, 10);
}

int
ctl_verb_top (BerthCtl *ctl, int argc, char **argv)
{
  const char *headers[] = { "PID", "PPID", "CMD", NULL };
  g_autoptr (CtlTable) table = ctl_table_new (headers);
  g_autofree char *path = NULL;
  g_autofree char *cgroup = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GArray) pids = NULL;
  int r = parse_opts ("top", "CONTAINER", "Show the processes of a running container.", NULL, &argc,
                      &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("top", argc < 2 ? "no container given" : "one container at a time");
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL || (props = get_props (ctl, path)) == NULL)
    return CTL_EXIT_FAILURE;
  if (prop_i64 (props, "Pid") <= 0)
    {
      g_printerr ("berthctl: container %s is not running\n", argv[1]);
      return CTL_EXIT_FAILURE;
    }
  pids = cgroup_pids ((pid_t)prop_i64 (props, "Pid"), &cgroup);
  for (guint i = 0; i < pids->len; i++)
    {
      pid_t p = g_array_index (pids, pid_t, i);
      g_autofree char *pid_s = g_strdup_printf ("%d", p);
      g_autofree char *ppid_s = g_strdup_printf ("%d", proc_ppid (p));
      g_autofree char *cmd = proc_cmdline (p);
      const char *row[] = { pid_s, ppid_s, cmd, NULL };

      ctl_table_add_row (table, row);
    }
  ctl_table_print (table);
  return CTL_EXIT_OK;
}

int
ctl_verb_status (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *path = NULL;
  g_autoptr (GVariant) props = NULL;
  const char *state;
  gint64 started, finished;
  pid_t pid;
  berth_autofd int log = -1;
  int r = parse_opts ("status", "CONTAINER",
                      "Show a container's state, processes and latest output.", NULL, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("status", argc < 2 ? "no container given" : "one container at a time");
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL || (props = get_props (ctl, path)) == NULL)
    return CTL_EXIT_FAILURE;
  state = prop_str (props, "State");
  started = prop_i64 (props, "StartedAt");
  finished = prop_i64 (props, "FinishedAt");
  pid = (pid_t)prop_i64 (props, "Pid");

  g_print ("%s %s - %s\n", g_str_equal (state, "running") ? "●" : "○", prop_str (props, "Name"),
           prop_str (props, "Image"));
  if (g_str_equal (state, "running"))
    {
      g_autofree char *up = format_duration (g_get_real_time () - started);
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (started / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (dt, "%a %Y-%m-%d %H:%M:%S %Z");
      g_print ("     State: running since %s; %s ago\n", when, up);
    }
  else if (g_str_equal (state, "exited"))
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (finished / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (dt, "%a %Y-%m-%d %H:%M:%S %Z");
      g_print ("     State: exited (code %d) at %s\n", (int)prop_i64 (props, "ExitCode"), when);
    }
  else
    g_print ("     State: %s\n", state);
  g_print ("        Id: %s\n", prop_str (props, "Id"));
  g_print ("     Image: %s (%s)\n", prop_str (props, "Image"), prop_str (props, "ImageId"));
  g_print ("      Unit: %s\n", prop_str (props, "Unit"));
  if (g_str_has_suffix (prop_str (props, "Unit"), ".scope"))
    g_print ("   Machine: %s\n", prop_str (props, "Name"));
  if (pid > 0)
    {
      g_autofree char *cgroup = NULL;
      g_autoptr (GArray) pids = cgroup_pids (pid, &cgroup);

      g_print ("  Main PID: %d\n", pid);
      g_print ("    CGroup: %s\n", cgroup ? cgroup : "?");
      for (guint i = 0; i < pids->len; i++)
        {
          pid_t p = g_array_index (pids, pid_t, i);
          g_autofree char *cmd = proc_cmdline (p);
          g_print ("            %s%d %s\n", i + 1 == pids->len ? "└─" : "├─", p, cmd);
        }
    }
  log = open_log (ctl, path);
  if (log >= 0)
    {
      g_print ("\n");
      fflush (stdout);
      print_tail (log, 10);
    }
  return CTL_EXIT_OK;
}

/* --- exec ----------------------------------------------------------------------------- */

typedef struct
{
  Attach *at;
  char *id;           /* NULL until Exec answered */
  GHashTable *exited; /* ExecExited seen before the answer: id → code */
} ExecWait;

static void
on_exec_exited (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                const char *signal, GVariant *params, gpointer user_data)
{
  ExecWait *w = user_data;
  const char *id;
  gint32 code;

  g_variant_get (params, "(&si)", &id, &code);
  if (w->id == NULL)
    {
      g_hash_table_insert (w->exited, g_strdup (id), GINT_TO_POINTER (code));
      return;
    }
  if (!g_str_equal (id, w->id))
    return;
  w->at->waited = TRUE;
  w->at->exit_code = code;
  if (w->at->terminal < 0 || w->at->terminal_done)
    g_main_loop_quit (w->at->loop);
}

int
ctl_verb_exec (BerthCtl *ctl, int argc, char **argv)
{
  gboolean interactive = FALSE, tty = FALSE;
  g_auto (GStrv) env = NULL;
  g_autofree char *workdir = NULL, *user = NULL, *path = NULL;
  const GOptionEntry entries[] = {
    { "interactive", 'i', 0, G_OPTION_ARG_NONE, &interactive, "Keep stdin open", NULL },
    { "tty", 't', 0, G_OPTION_ARG_NONE, &tty, "Allocate a pseudo-terminal", NULL },
    { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env, "Set an environment variable", "KEY=VALUE" },
    { "workdir", 'w', 0, G_OPTION_ARG_STRING, &workdir, "Working directory inside", "DIR" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user,
      "Run as a user of the container (name or number, optionally with a group)", "USER[:GROUP]" },
    { NULL },
  };
  Attach at = { .ctl = ctl, .terminal = -1, .exit_code = EXIT_BERTH };
  ExecWait w = { .at = &at };
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GUnixFDList) out_fds = NULL;
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) result = NULL;
  guint sub = 0, sources[3] = { 0 };
  int r;

  r = ctl_parse_options_posix ("exec", "[OPTIONS...] CONTAINER COMMAND [ARG...]",
                               "Run a command in a running container.", entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : EXIT_BERTH;
  if (argc < 3)
    {
      ctl_usage_error ("exec", argc < 2 ? "no container given" : "no command given");
      return EXIT_BERTH;
    }
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL)
    return EXIT_BERTH;
  at.path = path;
  w.exited = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  at.loop = g_main_loop_new (NULL, FALSE);
  sub = g_dbus_connection_signal_subscribe (ctl->bus, BERTH_BUS_NAME, CONTAINER_IFACE, "ExecExited",
                                            path, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_exec_exited,
                                            &w, NULL);
  if (tty)
    g_variant_builder_add (&b, "{sv}", "tty", g_variant_new_boolean (TRUE));
  else
    {
      if (interactive)
        g_variant_builder_add (&b, "{sv}", "stdin",
                               g_variant_new_handle (g_unix_fd_list_append (fds, 0, NULL)));
      g_variant_builder_add (&b, "{sv}", "stdout",
                             g_variant_new_handle (g_unix_fd_list_append (fds, 1, NULL)));
      g_variant_builder_add (&b, "{sv}", "stderr",
                             g_variant_new_handle (g_unix_fd_list_append (fds, 2, NULL)));
    }
  if (env)
    g_variant_builder_add (&b, "{sv}", "env", g_variant_new_strv ((const char *const *)env, -1));
  if (workdir)
    g_variant_builder_add (&b, "{sv}", "workdir", g_variant_new_string (workdir));
  if (user)
    g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string (user));
  reply = call_container_full (ctl, path, "Exec",
                               g_variant_new ("(^as@a{sv})", argv + 2, g_variant_builder_end (&b)),
                               fds, &out_fds, G_VARIANT_TYPE ("(a{sv})"), G_MAXINT, &error);
  if (reply == NULL)
    {
      ctl_print_call_error (ctl, error);
      goto out;
    }
  g_variant_get (reply, "(@a{sv})", &result);
  g_variant_lookup (result, "id", "s", &w.id);
  if (tty)
    {
      gint32 index = -1;

      if (!g_variant_lookup (result, "terminal", "h", &index) || out_fds == NULL
          || (at.terminal = g_unix_fd_list_get (out_fds, index, NULL)) < 0)
        {
          g_printerr ("berthctl: berthd sent no terminal\n");
          goto out;
        }
      g_unix_set_fd_nonblocking (at.terminal, TRUE, NULL);
      copy_size (&at);
      if (isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &at.saved) == 0)
        {
          struct termios raw = at.saved;
          cfmakeraw (&raw);
          at.raw = tcsetattr (STDIN_FILENO, TCSANOW, &raw) == 0;
        }
      sources[0]
        = g_unix_fd_add (at.terminal, G_IO_IN | G_IO_HUP | G_IO_ERR, on_terminal_output, &at);
      if (interactive)
        sources[1] = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP, on_stdin, &at);
      sources[2] = g_unix_signal_add (SIGWINCH, on_sigwinch, &at);
    }
  if (w.id && g_hash_table_contains (w.exited, w.id))
    {
      at.waited = TRUE;
      at.exit_code = GPOINTER_TO_INT (g_hash_table_lookup (w.exited, w.id));
    }
  if (!at.waited || (at.terminal >= 0 && !at.terminal_done))
    g_main_loop_run (at.loop);

out:
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    if (sources[i])
      {
        GSource *s = g_main_context_find_source_by_id (NULL, sources[i]);
        if (s)
          g_source_destroy (s);
      }
  if (sub)
    g_dbus_connection_signal_unsubscribe (ctl->bus, sub);
  if (at.raw)
    tcsetattr (STDIN_FILENO, TCSANOW, &at.saved);
  berth_close_fdp (&at.terminal);
  g_main_loop_unref (at.loop);
  g_hash_table_unref (w.exited);
  g_free (w.id);
  return at.exit_code;
}
