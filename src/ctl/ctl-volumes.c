/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* volume create, ls, inspect, rm, prune. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define VOLUME_IFACE "org.berth.berth1.Volume"

static int
usage_error (const char *verb, const char *message)
{
  g_autofree char *name = g_strdup_printf ("volume %s", verb);

  return ctl_usage_error (name, "%s", message);
}

static int
parse (const char *verb, const char *params, const char *summary, const GOptionEntry *entries,
       int *argc, char ***argv)
{
  g_autofree char *name = g_strdup_printf ("volume %s", verb);

  return ctl_parse_options (name, params, summary, entries, argc, argv);
}

static void
add_time (JsonBuilder *b, const char *key, gint64 usec)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (MAX (usec, 0) / G_USEC_PER_SEC);
  g_autofree char *s = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");

  json_builder_set_member_name (b, key);
  json_builder_add_string_value (b, s);
}

static void
add_strv (JsonBuilder *b, const char *key, const char *const *v)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  for (guint i = 0; v && v[i]; i++)
    json_builder_add_string_value (b, v[i]);
  json_builder_end_array (b);
}

/* --- create -------------------------------------------------------------------------- */

static int
volume_create (BerthCtl *ctl, int argc, char **argv)
{
  g_auto (GStrv) labels = NULL;
  const GOptionEntry entries[] = {
    { "label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &labels, "Set a label", "KEY=VALUE" },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_auto (GVariantBuilder) lb = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GError) error = NULL;
  const char *path, *name = "";
  int r = parse ("create", "[NAME]",
                 "Create a volume (without NAME: an anonymous one with a random name).", entries,
                 &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 2)
    return usage_error ("create", "give at most one name");
  for (guint i = 0; labels && labels[i]; i++)
    {
      g_auto (GStrv) kv = g_strsplit (labels[i], "=", 2);

      if (*kv[0] == '\0')
        return usage_error ("create", "a label needs a key: --label KEY=VALUE");
      g_variant_builder_add (&lb, "{ss}", kv[0], kv[1] ? kv[1] : "");
    }
  if (labels)
    g_variant_builder_add (&options, "{sv}", "labels", g_variant_builder_end (&lb));
  reply = ctl_call_manager (
    ctl, "CreateVolume",
    g_variant_new ("(s@a{sv})", argc > 1 ? argv[1] : "", g_variant_builder_end (&options)),
    G_VARIANT_TYPE ("(o)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(&o)", &path);
  /* The name berthd gave an anonymous volume. */
  props = g_dbus_connection_call_sync (
    ctl->bus, BERTH_BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
    g_variant_new ("(ss)", VOLUME_IFACE, "Name"), G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
    -1, NULL, &error);
  if (props == NULL)
    {
      ctl_print_call_error (ctl, error);
      return CTL_EXIT_FAILURE;
    }
  {
    g_autoptr (GVariant) v = NULL;

    g_variant_get (props, "(v)", &v);
    name = g_variant_get_string (v, NULL);
    g_print ("%s\n", name);
  }
  return CTL_EXIT_OK;
}

/* --- ls ----------------------------------------------------------------------------------- */

static int
volume_ls (BerthCtl *ctl, int argc, char **argv)
{
  gboolean quiet = FALSE, json = FALSE;
  g_autofree char *filter = NULL;
  int dangling = -1; /* -1: no filter */
  const GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only print volume names", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter,
      "dangling=true: only volumes no container uses (false: only used ones)", "FILTER" },
    { NULL },
  };
  static const char *const headers[] = { "VOLUME NAME", "CONTAINERS", "MOUNTPOINT", NULL };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) list = NULL;
  g_autoptr (CtlTable) table = ctl_table_new (headers);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int r = parse ("ls", NULL, "List volumes.", entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return usage_error ("ls", "no arguments expected");
  if (filter && (g_str_equal (filter, "dangling=true") || g_str_equal (filter, "dangling=1")))
    dangling = 1;
  else if (filter && (g_str_equal (filter, "dangling=false") || g_str_equal (filter, "dangling=0")))
    dangling = 0;
  else if (filter)
    return usage_error ("ls", "unknown filter (use dangling=true or dangling=false)");
  reply = ctl_call_manager (ctl, "ListVolumes", NULL, G_VARIANT_TYPE ("(a(sstbaso))"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  list = g_variant_get_child_value (reply, 0);
  json_builder_begin_array (b);
  for (gsize i = 0; i < g_variant_n_children (list); i++)
    {
      const char *name, *mountpoint, *path;
      guint64 created;
      gboolean anonymous;
      g_autofree const char **users = NULL;
      g_autofree char *count = NULL;

      g_variant_get_child (list, i, "(&s&stb^a&s&o)", &name, &mountpoint, &created, &anonymous,
                           &users, &path);
      if (dangling >= 0 && (users[0] == NULL) != (dangling == 1))
        continue;
      if (quiet)
        {
          g_print ("%s\n", name);
          continue;
        }
      if (json)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "Name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "Mountpoint");
          json_builder_add_string_value (b, mountpoint);
          add_time (b, "CreatedAt", (gint64)created);
          json_builder_set_member_name (b, "Anonymous");
          json_builder_add_boolean_value (b, anonymous);
          add_strv (b, "UsedBy", users);
          json_builder_end_object (b);
          continue;
        }
      count = g_strdup_printf ("%u", g_strv_length ((char **)users));
      ctl_table_add_row (table, (const char *const[]){ name, count, mountpoint, NULL });
    }
  json_builder_end_array (b);
  if (json && !quiet)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      ctl_print_json (root);
    }
  else if (!quiet)
    ctl_table_print (table);
  return CTL_EXIT_OK;
}

/* --- inspect ----------------------------------------------------------------------------- */

static GVariant *
volume_props (BerthCtl *ctl, const char *name)
{
  g_autoptr (GVariant) reply
    = ctl_call_manager (ctl, "GetVolume", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(o)"));
  g_autoptr (GError) error = NULL;
  GVariant *props;
  const char *path;

  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&o)", &path);
  props = g_dbus_connection_call_sync (
    ctl->bus, BERTH_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
    g_variant_new ("(s)", VOLUME_IFACE), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, &error);
  if (props == NULL)
    ctl_print_call_error (ctl, error);
  return props;
}

static int
volume_inspect (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  int ret = CTL_EXIT_OK;
  int r = parse ("inspect", "VOLUME...", "Show volumes' details as JSON.", NULL, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return usage_error ("inspect", "no volume given");
  json_builder_begin_array (b);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GVariant) reply = volume_props (ctl, argv[i]);
      g_autoptr (GVariant) props = NULL;
      g_autoptr (GVariant) labels = NULL;
      g_autofree const char **users = NULL;
      const char *name = "", *mountpoint = "";
      guint64 created = 0;
      gboolean anonymous = FALSE;
      GVariantIter iter;
      const char *k, *v;

      if (reply == NULL)
        {
          ret = CTL_EXIT_FAILURE;
          continue;
        }
      props = g_variant_get_child_value (reply, 0);
      g_variant_lookup (props, "Name", "&s", &name);
      g_variant_lookup (props, "Mountpoint", "&s", &mountpoint);
      g_variant_lookup (props, "Created", "t", &created);
      g_variant_lookup (props, "Anonymous", "b", &anonymous);
      g_variant_lookup (props, "UsedBy", "^a&s", &users);
      labels = g_variant_lookup_value (props, "Labels", G_VARIANT_TYPE ("a{ss}"));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Name");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "Driver");
      json_builder_add_string_value (b, "local");
      json_builder_set_member_name (b, "Mountpoint");
      json_builder_add_string_value (b, mountpoint);
      add_time (b, "CreatedAt", (gint64)created);
      json_builder_set_member_name (b, "Labels");
      json_builder_begin_object (b);
      if (labels)
        {
          g_variant_iter_init (&iter, labels);
          while (g_variant_iter_next (&iter, "{&s&s}", &k, &v))
            {
              json_builder_set_member_name (b, k);
              json_builder_add_string_value (b, v);
            }
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "Anonymous");
      json_builder_add_boolean_value (b, anonymous);
      add_strv (b, "UsedBy", users);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  ctl_print_json (root);
  return ret;
}

/* --- rm, prune ------------------------------------------------------------------------------ */

static int
volume_rm (BerthCtl *ctl, int argc, char **argv)
{
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "No error for volumes that do not exist", NULL },
    { NULL },
  };
  int ret = CTL_EXIT_OK;
  int r = parse ("rm", "VOLUME...",
                 "Remove volumes and their data. Volumes that containers use are refused.", entries,
                 &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return usage_error ("rm", "no volume given");
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GVariant) reply = ctl_call_manager (
        ctl, "RemoveVolume", g_variant_new ("(sb)", argv[i], force), G_VARIANT_TYPE ("()"));

      if (reply == NULL)
        ret = CTL_EXIT_FAILURE;
      else
        g_print ("%s\n", argv[i]);
    }
  return ret;
}

static int
volume_prune (BerthCtl *ctl, int argc, char **argv)
{
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Do not ask for confirmation", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autofree const char **removed = NULL;
  int r = parse (
    "prune", NULL,
    "Remove every anonymous volume that no container uses (named ones go only by volume rm).",
    entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return usage_error ("prune", "no arguments expected");
  if (!force && isatty (STDIN_FILENO))
    {
      char answer[16] = "";

      g_print ("This removes every anonymous volume that no container uses, with its data.\n"
               "Continue? [y/N] ");
      fflush (stdout);
      if (fgets (answer, sizeof answer, stdin) == NULL || (g_ascii_tolower (answer[0]) != 'y'))
        return CTL_EXIT_OK;
    }
  reply = ctl_call_manager (ctl, "PruneVolumes", NULL, G_VARIANT_TYPE ("(as)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(^a&s)", &removed);
  if (removed[0])
    g_print ("Deleted Volumes:\n");
  for (guint i = 0; removed[i]; i++)
    g_print ("%s\n", removed[i]);
  return CTL_EXIT_OK;
}

int
ctl_verb_volume (BerthCtl *ctl, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (BerthCtl *, int, char **);
  } subs[] = {
    { "create", volume_create },   { "ls", volume_ls }, { "list", volume_ls },
    { "inspect", volume_inspect }, { "rm", volume_rm }, { "remove", volume_rm },
    { "prune", volume_prune },
  };

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      FILE *out = argc < 2 ? stderr : stdout;

      fprintf (out, "Usage: berthctl volume COMMAND [OPTIONS...]\n\nCommands:\n"
                    "  create [--label KEY=VALUE]... [NAME]  Create a volume\n"
                    "  ls [-q] [--json]                      List volumes\n"
                    "  inspect VOLUME...                     Show volumes' details as JSON\n"
                    "  rm [-f] VOLUME...                     Remove volumes no container uses\n"
                    "  prune [-f]                            Remove unused anonymous volumes\n");
      return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    if (g_str_equal (subs[i].name, argv[1]))
      return subs[i].run (ctl, argc - 1, argv + 1);
  return ctl_usage_error ("volume", "unknown command \"%s\"", argv[1]);
}
