/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registry verbs: pull, push (following the Transfer object berthd
 * returns, with per-layer progress bars on a terminal), login, logout and
 * search. */
#include "config.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"

#define TRANSFER_IFACE "org.berth.berth1.Transfer"
#define MANAGER_IFACE "org.berth.berth1.Manager"

typedef struct
{
  BerthCtl *ctl;
  GMainLoop *loop;
  char *path;
  char *result;
  GHashTable *props; /* name → GVariant, from PropertiesChanged and GetAll */
  gboolean quiet;
  gboolean tty;
  guint drawn_lines;
  GHashTable *printed_states; /* digest → state last printed (plain output) */
  gboolean cancel_sent;
} Follow;

static void
follow_clear (Follow *f)
{
  g_clear_pointer (&f->loop, g_main_loop_unref);
  g_free (f->path);
  g_free (f->result);
  g_clear_pointer (&f->props, g_hash_table_unref);
  g_clear_pointer (&f->printed_states, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Follow, follow_clear)

static void
merge_props (Follow *f, GVariant *dict)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    g_hash_table_replace (f->props, g_strdup (key), value);
}

static const char *
prop_string (Follow *f, const char *name)
{
  GVariant *v = g_hash_table_lookup (f->props, name);

  return v && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING) ? g_variant_get_string (v, NULL) : "";
}

static void
on_properties_changed (GDBusConnection *bus, const char *sender, const char *path,
                       const char *iface, const char *signal, GVariant *params, gpointer user_data)
{
  Follow *f = user_data;
  const char *changed_iface;
  g_autoptr (GVariant) changed = NULL;

  if (f->path == NULL || !g_str_equal (path, f->path))
    return;
  g_variant_get (params, "(&s@a{sv}@as)", &changed_iface, &changed, NULL);
  if (g_str_equal (changed_iface, TRANSFER_IFACE))
    merge_props (f, changed);
}

static void
on_transfer_removed (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                     const char *signal, GVariant *params, gpointer user_data)
{
  Follow *f = user_data;
  const char *transfer, *result;

  g_variant_get (params, "(&o&s)", &transfer, &result);
  if (f->path == NULL || !g_str_equal (transfer, f->path))
    return;
  f->result = g_strdup (result);
  g_main_loop_quit (f->loop);
}

/* berthd went away (stopped, crashed): no TransferRemoved will come. */
static void
on_owner_changed (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                  const char *signal, GVariant *params, gpointer user_data)
{
  Follow *f = user_data;
  const char *name, *old_owner, *new_owner;

  g_variant_get (params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner != '\0' || f->result)
    return;
  f->result = g_strdup ("vanished");
  g_main_loop_quit (f->loop);
}

static char *
short_digest (const char *digest)
{
  const char *hex = strchr (digest, ':');

  return g_strndup (hex ? hex + 1 : digest, 12);
}

static void
draw (Follow *f, gboolean final)
{
  GVariant *layers = g_hash_table_lookup (f->props, "Layers");
  GVariantIter iter;
  const char *digest, *state;
  guint64 done, size;
  g_autoptr (GString) out = g_string_new (NULL);
  guint lines = 0;

  if (f->quiet || layers == NULL)
    return;
  if (f->tty)
    {
      if (f->drawn_lines)
        g_string_append_printf (out, "\033[%uA", f->drawn_lines);
    }
  g_variant_iter_init (&iter, layers);
  while (g_variant_iter_next (&iter, "(&s&stt)", &digest, &state, &done, &size))
    {
      g_autofree char *id = short_digest (digest);

      if (f->tty)
        {
          g_autofree char *d = ctl_format_size (done);
          g_autofree char *s = ctl_format_size (size);
          int width = 30, filled = size ? (int)(width * (double)MIN (done, size) / size) : 0;
          g_autofree char *bar = g_strnfill (filled, '=');
          g_autofree char *rest = g_strnfill (width - filled, ' ');

          g_string_append_printf (out, "\033[2K%s: %-11s [%s%s] %s/%s\n", id, state, bar, rest, d,
                                  s);
          lines++;
        }
      else
        {
          const char *last = g_hash_table_lookup (f->printed_states, digest);
          if (last == NULL || !g_str_equal (last, state))
            {
              g_string_append_printf (out, "%s: %s\n", id, state);
              g_hash_table_replace (f->printed_states, g_strdup (digest), g_strdup (state));
            }
        }
    }
  f->drawn_lines = lines;
  /* Bars on the terminal; plain lines are output, as docker prints them. */
  fputs (out->str, f->tty ? stderr : stdout);
  fflush (f->tty ? stderr : stdout);
}

static gboolean
on_tick (gpointer user_data)
{
  draw (user_data, FALSE);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_interrupt (gpointer user_data)
{
  Follow *f = user_data;

  if (f->path && !f->cancel_sent)
    {
      f->cancel_sent = TRUE;
      ctl_cancel (f->ctl, f->path, TRANSFER_IFACE);
      if (!f->quiet)
        g_printerr ("canceling...\n");
    }
  return G_SOURCE_CONTINUE;
}

/* Starts PullImage or PushImage and follows the transfer to its end. */
static int
run_transfer (BerthCtl *ctl, const char *method, const char *reference, GVariant *options,
              gboolean quiet)
{
  GDBusConnection *bus = ctl_bus (ctl);
  g_auto (Follow) f = { 0 };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;
  guint sub_props, sub_removed, sub_owner, tick, sigint, sigterm;

  if (bus == NULL)
    return CTL_EXIT_FAILURE;
  f.ctl = ctl;
  f.quiet = quiet;
  f.tty = isatty (STDERR_FILENO);
  f.loop = g_main_loop_new (NULL, FALSE);
  f.props
    = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_variant_unref);
  f.printed_states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  /* Subscribed before the call: a fast transfer can end before it returns. */
  sub_props = g_dbus_connection_signal_subscribe (
    bus, BERTH_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", NULL,
    TRANSFER_IFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, &f, NULL);
  sub_removed = g_dbus_connection_signal_subscribe (
    bus, BERTH_BUS_NAME, MANAGER_IFACE, "TransferRemoved", BERTH_MANAGER_PATH, NULL,
    G_DBUS_SIGNAL_FLAGS_NONE, on_transfer_removed, &f, NULL);
  sub_owner = g_dbus_connection_signal_subscribe (
    bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
    "/org/freedesktop/DBus", BERTH_BUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, &f, NULL);
  reply = ctl_call_manager (ctl, method, g_variant_new ("(s@a{sv})", reference, options),
                            G_VARIANT_TYPE ("(o)"));
  if (reply == NULL)
    {
      g_dbus_connection_signal_unsubscribe (bus, sub_props);
      g_dbus_connection_signal_unsubscribe (bus, sub_removed);
      g_dbus_connection_signal_unsubscribe (bus, sub_owner);
      return CTL_EXIT_FAILURE;
    }
  g_variant_get (reply, "(o)", &f.path);
  all = g_dbus_connection_call_sync (bus, BERTH_BUS_NAME, f.path, "org.freedesktop.DBus.Properties",
                                     "GetAll", g_variant_new ("(s)", TRANSFER_IFACE),
                                     G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                     NULL);
  if (all)
    {
      g_autoptr (GVariant) dict = g_variant_get_child_value (all, 0);
      /* Signals that came first are newer than nothing, older than this. */
      merge_props (&f, dict);
    }

  tick = g_timeout_add (f.tty ? 200 : 500, on_tick, &f);
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &f);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &f);
  if (f.result == NULL)
    g_main_loop_run (f.loop);
  g_source_remove (tick);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  /* The last PropertiesChanged arrived before TransferRemoved. */
  g_main_context_iteration (NULL, FALSE);
  g_dbus_connection_signal_unsubscribe (bus, sub_props);
  g_dbus_connection_signal_unsubscribe (bus, sub_removed);
  g_dbus_connection_signal_unsubscribe (bus, sub_owner);
  draw (&f, TRUE);

  if (g_str_equal (f.result, "done"))
    {
      const char *name = prop_string (&f, g_str_equal (method, "PullImage") ? "Local" : "Remote");
      if (!quiet)
        g_print ("%s %s\n", g_str_equal (method, "PullImage") ? "Pulled" : "Pushed", name);
      else
        g_print ("%s\n", name);
      return CTL_EXIT_OK;
    }
  if (g_str_equal (f.result, "vanished"))
    g_printerr ("berthctl: berthd stopped before the %s ended; run it again (a pull reuses the "
                "blobs it verified)\n",
                g_str_equal (method, "PullImage") ? "pull" : "push");
  else if (g_str_equal (f.result, "canceled"))
    g_printerr ("berthctl: %s %s canceled\n",
                g_str_equal (method, "PullImage") ? "pull of" : "push of", reference);
  else
    g_printerr ("berthctl: %s\n", *prop_string (&f, "ErrorMessage")
                                    ? prop_string (&f, "ErrorMessage")
                                    : "the transfer failed (see berthd's log)");
  return CTL_EXIT_FAILURE;
}

int
ctl_verb_pull (BerthCtl *ctl, int argc, char **argv)
{
  gboolean quiet = FALSE;
  gint jobs = 0;
  GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the image name", NULL },
    { "jobs", 0, 0, G_OPTION_ARG_INT, &jobs, "Parallel downloads (default 3)", "N" },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  int r = ctl_parse_options ("pull", "REFERENCE", "Pull an image from a registry.", entries, &argc,
                             &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("pull", "give one image reference");
  if (jobs > 0)
    g_variant_builder_add (&options, "{sv}", "jobs", g_variant_new_uint32 (jobs));
  return run_transfer (ctl, "PullImage", argv[1], g_variant_builder_end (&options), quiet);
}

int
ctl_verb_push (BerthCtl *ctl, int argc, char **argv)
{
  gboolean quiet = FALSE;
  g_autofree char *compression = NULL;
  GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the pushed name", NULL },
    { "compression", 0, 0, G_OPTION_ARG_STRING, &compression,
      "gzip (default) or zstd, for layers stored uncompressed", "NAME" },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  int r = ctl_parse_options ("push", "REFERENCE", "Push an image to a registry.", entries, &argc,
                             &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("push", "give one image name");
  if (compression)
    g_variant_builder_add (&options, "{sv}", "compression", g_variant_new_string (compression));
  return run_transfer (ctl, "PushImage", argv[1], g_variant_builder_end (&options), quiet);
}

static char *
read_line (FILE *in, gboolean echo)
{
  struct termios old, quiet;
  gboolean restore = FALSE;
  char buffer[4096];
  char *line = NULL;

  if (!echo && isatty (fileno (in)) && tcgetattr (fileno (in), &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~ECHO;
      restore = tcsetattr (fileno (in), TCSAFLUSH, &quiet) == 0;
    }
  if (fgets (buffer, sizeof buffer, in))
    {
      buffer[strcspn (buffer, "\r\n")] = '\0';
      line = g_strdup (buffer);
    }
  explicit_bzero (buffer, sizeof buffer);
  if (restore)
    {
      tcsetattr (fileno (in), TCSAFLUSH, &old);
      g_printerr ("\n");
    }
  return line;
}

int
ctl_verb_login (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  gboolean password_stdin = FALSE;
  GOptionEntry entries[] = {
    { "username", 'u', 0, G_OPTION_ARG_STRING, &user, "User name", "USER" },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      "Read the password from standard input", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  int r = ctl_parse_options ("login", "REGISTRY", "Log in to a registry.", entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("login", "give the registry, HOST[:PORT]");
  if (user == NULL)
    {
      if (password_stdin || !isatty (STDIN_FILENO))
        {
          g_printerr ("berthctl login: give the user name with -u USER\n");
          return CTL_EXIT_USAGE;
        }
      g_printerr ("Username: ");
      user = read_line (stdin, TRUE);
    }
  if (password_stdin)
    password = read_line (stdin, TRUE);
  else if (isatty (STDIN_FILENO))
    {
      g_printerr ("Password: ");
      password = read_line (stdin, FALSE);
    }
  else
    {
      g_printerr ("berthctl login: no terminal to ask for the password; use --password-stdin\n");
      return CTL_EXIT_USAGE;
    }
  if (user == NULL || password == NULL || *password == '\0')
    {
      g_printerr ("berthctl login: no password given\n");
      return CTL_EXIT_USAGE;
    }
  reply = ctl_call_manager (ctl, "Login", g_variant_new ("(sss)", argv[1], user, password),
                            G_VARIANT_TYPE ("()"));
  explicit_bzero (password, strlen (password));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_print ("Login Succeeded\n");
  return CTL_EXIT_OK;
}

int
ctl_verb_logout (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  int r = ctl_parse_options ("logout", "REGISTRY", "Forget the credentials for a registry.", NULL,
                             &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    {
      g_printerr ("berthctl logout: give the registry, HOST[:PORT]\n");
      return CTL_EXIT_USAGE;
    }
  reply = ctl_call_manager (ctl, "Logout", g_variant_new ("(s)", argv[1]), G_VARIANT_TYPE ("()"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_print ("Removed login credentials for %s\n", argv[1]);
  return CTL_EXIT_OK;
}

int
ctl_verb_search (BerthCtl *ctl, int argc, char **argv)
{
  gint limit = 25;
  g_auto (GStrv) filters = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N results (default 25)", "N" },
    { "filter", 'f', 0, G_OPTION_ARG_STRING_ARRAY, &filters,
      "stars=N or is-official=true|false (repeatable)", "FILTER" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) results = NULL;
  g_autoptr (JsonBuilder) jb = json_builder_new ();
  g_autoptr (CtlTable) table = NULL;
  static const char *const headers[] = { "NAME", "DESCRIPTION", "STARS", "OFFICIAL", NULL };
  guint min_stars = 0;
  int official = -1;
  GVariantIter iter;
  GVariant *entry;
  int r
    = ctl_parse_options ("search", "TERM", "Search registries for images.", entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("search", "give one search term");
  if (limit < 1 || limit > 100)
    {
      g_printerr ("berthctl search: --limit must be between 1 and 100\n");
      return CTL_EXIT_USAGE;
    }
  for (guint i = 0; filters && filters[i]; i++)
    {
      char *end = NULL;

      if (g_str_has_prefix (filters[i], "stars="))
        {
          guint64 v = g_ascii_strtoull (filters[i] + 6, &end, 10);
          if (end == filters[i] + 6 || *end)
            {
              g_printerr ("berthctl search: stars= needs a number, not \"%s\"\n", filters[i] + 6);
              return CTL_EXIT_USAGE;
            }
          min_stars = v;
        }
      else if (g_str_equal (filters[i], "is-official=true"))
        official = 1;
      else if (g_str_equal (filters[i], "is-official=false"))
        official = 0;
      else
        {
          g_printerr ("berthctl search: unknown filter \"%s\" (stars=N, "
                      "is-official=true|false)\n",
                      filters[i]);
          return CTL_EXIT_USAGE;
        }
    }
  g_variant_builder_add (&options, "{sv}", "limit", g_variant_new_uint32 (limit));
  reply = ctl_call_manager (ctl, "SearchImages",
                            g_variant_new ("(s@a{sv})", argv[1], g_variant_builder_end (&options)),
                            G_VARIANT_TYPE ("(aa{sv})"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  results = g_variant_get_child_value (reply, 0);
  table = ctl_table_new (headers);
  json_builder_begin_array (jb);
  g_variant_iter_init (&iter, results);
  while ((entry = g_variant_iter_next_value (&iter)))
    {
      g_autoptr (GVariant) owned = entry;
      const char *name = "", *description = "";
      guint32 stars = 0;
      gboolean is_official = FALSE, automated = FALSE;
      g_autofree char *stars_text = NULL;
      g_autofree char *short_description = NULL;

      g_variant_lookup (entry, "name", "&s", &name);
      g_variant_lookup (entry, "description", "&s", &description);
      g_variant_lookup (entry, "stars", "u", &stars);
      g_variant_lookup (entry, "official", "b", &is_official);
      g_variant_lookup (entry, "automated", "b", &automated);
      if (stars < min_stars || (official >= 0 && is_official != official))
        continue;
      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "Name");
      json_builder_add_string_value (jb, name);
      json_builder_set_member_name (jb, "Description");
      json_builder_add_string_value (jb, description);
      json_builder_set_member_name (jb, "StarCount");
      json_builder_add_int_value (jb, stars);
      json_builder_set_member_name (jb, "IsOfficial");
      json_builder_add_boolean_value (jb, is_official);
      json_builder_set_member_name (jb, "IsAutomated");
      json_builder_add_boolean_value (jb, automated);
      json_builder_end_object (jb);

      stars_text = g_strdup_printf ("%u", stars);
      if (g_utf8_strlen (description, -1) > 45)
        {
          g_autofree char *head = g_utf8_substring (description, 0, 44);
          short_description = g_strconcat (head, "…", NULL);
        }
      else
        short_description = g_strdup (description);
      {
        const char *cells[]
          = { name, short_description, stars_text, is_official ? "[OK]" : "", NULL };
        ctl_table_add_row (table, cells);
      }
    }
  json_builder_end_array (jb);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (jb);
      ctl_print_json (root);
    }
  else
    ctl_table_print (table);
  return CTL_EXIT_OK;
}
