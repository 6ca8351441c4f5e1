/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image verbs: images, import, load, save, tag, rmi, history, image. Files
 * are opened here, by the user, and handed to berthd as file descriptors;
 * berthd never opens a path on a client's behalf. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-fd.h"
#include "berth-reference.h"
#include "ctl.h"

#define IMAGE_IFACE "org.berth.berth1.Image"

static char *
short_id (const char *id)
{
  const char *hex = g_str_has_prefix (id, "sha256:") ? id + 7 : id;

  return g_strndup (hex, 12);
}

static char *
format_ago (gint64 when)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 d = now - when;

  if (when <= 0)
    return g_strdup ("N/A");
  if (d < 60)
    return g_strdup ("Less than a minute ago");
  if (d < 3600)
    return d < 120 ? g_strdup ("About a minute ago")
                   : g_strdup_printf ("%" G_GINT64_FORMAT " minutes ago", d / 60);
  if (d < 86400)
    return d < 7200 ? g_strdup ("About an hour ago")
                    : g_strdup_printf ("%" G_GINT64_FORMAT " hours ago", d / 3600);
  if (d < 86400 * 14)
    return g_strdup_printf ("%" G_GINT64_FORMAT " days ago", d / 86400);
  if (d < 86400 * 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " weeks ago", d / (86400 * 7));
  if (d < 86400 * 730)
    return g_strdup_printf ("%" G_GINT64_FORMAT " months ago", d / (86400 * 30));
  return g_strdup_printf ("%" G_GINT64_FORMAT " years ago", d / (86400 * 365));
}

static char *
format_rfc3339 (guint64 when)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (when);

  return g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* Splits a familiar name into repository and tag for the table. */
static void
split_name (const char *name, char **out_repo, char **out_tag)
{
  g_autoptr (BerthReference) ref = berth_reference_parse (name, NULL);

  if (ref == NULL)
    {
      *out_repo = g_strdup (name);
      *out_tag = g_strdup ("<none>");
      return;
    }
  *out_tag = g_strdup (ref->tag ? ref->tag : "<none>");
  g_clear_pointer (&ref->tag, g_free);
  g_clear_pointer (&ref->digest, g_free);
  *out_repo = berth_reference_familiar (ref);
}

int
ctl_verb_images (BerthCtl *ctl, int argc, char **argv)
{
  gboolean quiet = FALSE, json = FALSE, all = FALSE, no_trunc = FALSE;
  const GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print image IDs only", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the list as JSON", NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Show intermediate images too (build steps)", NULL },
    { "no-trunc", 0, 0, G_OPTION_ARG_NONE, &no_trunc, "Show full image IDs", NULL },
    { NULL },
  };
  static const char *const headers[] = { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", NULL };
  g_auto (GVariantBuilder) filters = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (CtlTable) table = NULL;
  g_autoptr (JsonBuilder) jb = NULL;
  g_autoptr (GHashTable) seen = NULL;
  const char *id, *digest, *path;
  char **names;
  gint64 created;
  guint64 size;
  int r;

  r = ctl_parse_options ("images", "[REPOSITORY[:TAG]]", "List images, newest first.", entries,
                         &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 2)
    return ctl_usage_error ("images", "unexpected argument \"%s\"", argv[2]);
  if (argc == 2)
    g_variant_builder_add (&filters, "{sv}", "reference", g_variant_new_string (argv[1]));
  if (all)
    g_variant_builder_add (&filters, "{sv}", "all", g_variant_new_boolean (TRUE));

  reply = ctl_call_manager (ctl, "ListImages", g_variant_new ("(a{sv})", &filters),
                            G_VARIANT_TYPE ("(a(sassxto))"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;

  table = ctl_table_new (headers);
  jb = json_builder_new ();
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  json_builder_begin_array (jb);
  g_variant_get (reply, "(a(sassxto))", &iter);
  while (g_variant_iter_next (iter, "(&s^a&s&sxt&o)", &id, &names, &digest, &created, &size, &path))
    {
      g_autofree char *sid = no_trunc ? g_strdup (id) : short_id (id);
      g_autofree char *ago = format_ago (created);
      g_autofree char *human = ctl_format_size (size);

      if (json)
        {
          json_builder_begin_object (jb);
          json_builder_set_member_name (jb, "Id");
          json_builder_add_string_value (jb, id);
          json_builder_set_member_name (jb, "Names");
          json_builder_begin_array (jb);
          for (guint i = 0; names[i]; i++)
            json_builder_add_string_value (jb, names[i]);
          json_builder_end_array (jb);
          json_builder_set_member_name (jb, "Digest");
          json_builder_add_string_value (jb, digest);
          json_builder_set_member_name (jb, "Created");
          json_builder_add_int_value (jb, created);
          json_builder_set_member_name (jb, "Size");
          json_builder_add_int_value (jb, size);
          json_builder_set_member_name (jb, "Path");
          json_builder_add_string_value (jb, path);
          json_builder_end_object (jb);
        }
      else if (quiet)
        {
          if (!g_hash_table_contains (seen, sid))
            {
              g_print ("%s\n", sid);
              g_hash_table_add (seen, g_strdup (sid));
            }
        }
      else if (names[0] == NULL)
        {
          const char *row[] = { "<none>", "<none>", sid, ago, human, NULL };

          ctl_table_add_row (table, row);
        }
      else
        for (guint i = 0; names[i]; i++)
          {
            g_autofree char *repo = NULL, *tag = NULL;
            const char *row[6];

            split_name (names[i], &repo, &tag);
            row[0] = repo, row[1] = tag, row[2] = sid, row[3] = ago, row[4] = human, row[5] = NULL;
            ctl_table_add_row (table, row);
          }
      g_free (names);
    }
  json_builder_end_array (jb);

  if (json)
    {
      g_autoptr (JsonNode) node = json_builder_get_root (jb);

      ctl_print_json (node);
    }
  else if (!quiet)
    ctl_table_print (table);
  return CTL_EXIT_OK;
}

static int
open_input (const char *verb, const char *path, gboolean allow_stdin)
{
  int fd;

  if (path == NULL || g_str_equal (path, "-"))
    {
      if (!allow_stdin || isatty (STDIN_FILENO))
        {
          g_printerr ("berthctl %s: refusing to read an archive from a terminal; give a file or "
                      "redirect standard input\n",
                      verb);
          return -1;
        }
      return dup (STDIN_FILENO);
    }
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    g_printerr ("berthctl %s: cannot open %s: %s\n", verb, path, g_strerror (errno));
  return fd;
}

static GUnixFDList *
fd_list_for (int fd)
{
  GUnixFDList *list = g_unix_fd_list_new ();

  g_unix_fd_list_append (list, fd, NULL);
  return list;
}

/* The names of an image object, familiar; or its ID when it has none. */
static char **
image_names (BerthCtl *ctl, const char *path, char **out_id)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) names = NULL;
  g_autoptr (GVariant) id = NULL;
  g_autofree const char **strv = NULL;
  GPtrArray *out = g_ptr_array_new ();

  reply = g_dbus_connection_call_sync (
    ctl_bus (ctl), BERTH_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
    g_variant_new ("(s)", IMAGE_IFACE), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, NULL);
  if (reply)
    {
      g_autoptr (GVariant) props = g_variant_get_child_value (reply, 0);

      names = g_variant_lookup_value (props, "Names", G_VARIANT_TYPE_STRING_ARRAY);
      id = g_variant_lookup_value (props, "Id", G_VARIANT_TYPE_STRING);
    }
  if (names)
    {
      strv = g_variant_get_strv (names, NULL);
      for (guint i = 0; strv[i]; i++)
        g_ptr_array_add (out, berth_reference_familiarize (strv[i]));
    }
  if (out_id)
    *out_id = id ? g_variant_dup_string (id, NULL) : g_strdup (path);
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}

int
ctl_verb_import (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autofree char *id = NULL;
  g_auto (GStrv) names = NULL;
  berth_autofd int fd = -1;
  const char *path;
  int r;

  r = ctl_parse_options ("import", "FILE|- [REFERENCE]",
                         "Create a one-layer image from a root file system tarball (plain, gzip "
                         "or zstd), as docker import does. Prints the new image's ID.",
                         NULL, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("import", "missing FILE (or - for standard input)");
  if (argc > 3)
    return ctl_usage_error ("import", "unexpected argument \"%s\"", argv[3]);
  if (argc == 3)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthReference) ref = berth_reference_parse (argv[2], &error);

      if (ref == NULL)
        {
          g_printerr ("berthctl import: %s\n", error->message);
          return CTL_EXIT_USAGE;
        }
    }
  path = argv[1];
  fd = open_input ("import", path, TRUE);
  if (fd < 0)
    return CTL_EXIT_FAILURE;
  fds = fd_list_for (fd);
  reply = ctl_call_manager_with_fds (
    ctl, "ImportImage", g_variant_new ("(hsa{sv})", 0, argc == 3 ? argv[2] : "", &options), fds,
    G_VARIANT_TYPE ("(o)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  {
    const char *obj;

    g_variant_get (reply, "(&o)", &obj);
    names = image_names (ctl, obj, &id);
  }
  g_print ("%s\n", id);
  return CTL_EXIT_OK;
}

int
ctl_verb_load (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *input = NULL;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input,
      "Read the archive from FILE instead of standard input", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariantIter) iter = NULL;
  berth_autofd int fd = -1;
  const char *obj;
  int r;

  r = ctl_parse_options ("load", NULL,
                         "Load images from an archive written by docker save or berthctl save, "
                         "or from an OCI image layout in a tar.",
                         entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return ctl_usage_error ("load", "unexpected argument \"%s\"", argv[1]);
  fd = open_input ("load", input, TRUE);
  if (fd < 0)
    return CTL_EXIT_FAILURE;
  fds = fd_list_for (fd);
  reply = ctl_call_manager_with_fds (ctl, "LoadImages", g_variant_new ("(ha{sv})", 0, &options),
                                     fds, G_VARIANT_TYPE ("(ao)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(ao)", &iter);
  while (g_variant_iter_next (iter, "&o", &obj))
    {
      g_autofree char *id = NULL;
      g_auto (GStrv) names = image_names (ctl, obj, &id);

      if (quiet)
        continue;
      if (names[0] == NULL)
        g_print ("Loaded image ID: %s\n", id);
      for (guint i = 0; names[i]; i++)
        g_print ("Loaded image: %s\n", names[i]);
    }
  return CTL_EXIT_OK;
}

int
ctl_verb_save (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *format = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Write the archive to FILE (written under a temporary name, then renamed)", "FILE" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format,
      "oci (the default: keeps every digest) or docker (for docker load)", "FORMAT" },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autofree char *tmp = NULL;
  berth_autofd int fd = -1;
  int r;

  r = ctl_parse_options ("save", "IMAGE...", "Save images to an archive.", entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("save", "name at least one image");
  if (format && !g_str_equal (format, "oci") && !g_str_equal (format, "docker"))
    return ctl_usage_error ("save", "unknown format \"%s\": use oci or docker", format);
  if (format)
    g_variant_builder_add (&options, "{sv}", "format", g_variant_new_string (format));

  fd = ctl_output_file_open ("save", output, "an archive", &tmp);
  if (fd < 0)
    return CTL_EXIT_FAILURE;
  fds = fd_list_for (fd);
  reply = ctl_call_manager_with_fds (
    ctl, "SaveImages",
    g_variant_new ("(^ash@a{sv})", argv + 1, 0, g_variant_builder_end (&options)), fds,
    G_VARIANT_TYPE ("()"));
  return ctl_output_file_finish ("save", fd, tmp, output, reply != NULL);
}

int
ctl_verb_tag (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthReference) ref = NULL;
  int r;

  r = ctl_parse_options ("tag", "SOURCE TARGET", "Give the image SOURCE the name TARGET.", NULL,
                         &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 3)
    return ctl_usage_error ("tag", "expected SOURCE and TARGET");
  ref = berth_reference_parse (argv[2], &error);
  if (ref == NULL)
    {
      g_printerr ("berthctl tag: %s\n", error->message);
      return CTL_EXIT_USAGE;
    }
  reply = ctl_call_manager (ctl, "TagImage", g_variant_new ("(ss)", argv[1], argv[2]),
                            G_VARIANT_TYPE ("()"));
  return reply ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

int
ctl_verb_rmi (BerthCtl *ctl, int argc, char **argv)
{
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Remove an image by ID even when it has several names", NULL },
    { NULL },
  };
  int r, ret = CTL_EXIT_OK;

  r = ctl_parse_options ("rmi", "IMAGE...",
                         "Remove images. A name that is one of several only goes itself; the "
                         "layers and blobs no other image uses are removed with the image.",
                         entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("rmi", "name at least one image");
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GVariant) reply = NULL;
      const char *id;
      gboolean deleted;

      reply = ctl_call_manager (ctl, "RemoveImage", g_variant_new ("(sb)", argv[i], force),
                                G_VARIANT_TYPE ("(sb)"));
      if (reply == NULL)
        {
          ret = CTL_EXIT_FAILURE;
          continue;
        }
      g_variant_get (reply, "(&sb)", &id, &deleted);
      if (deleted)
        g_print ("Deleted: %s\n", id);
      else
        g_print ("Untagged: %s\n", argv[i]);
    }
  return ret;
}

static GVariant *
get_image_props (BerthCtl *ctl, const char *what)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  const char *path;
  GVariant *props;

  reply = ctl_call_manager (ctl, "GetImage", g_variant_new ("(s)", what), G_VARIANT_TYPE ("(o)"));
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(&o)", &path);
  props = g_dbus_connection_call_sync (
    ctl_bus (ctl), BERTH_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
    g_variant_new ("(s)", IMAGE_IFACE), G_VARIANT_TYPE ("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, -1,
    NULL, &error);
  if (props == NULL)
    {
      ctl_print_call_error (ctl, error);
      return NULL;
    }
  {
    GVariant *inner = g_variant_get_child_value (props, 0);

    g_variant_unref (props);
    return inner;
  }
}

static int
image_inspect (BerthCtl *ctl, int argc, char **argv)
{
  g_autoptr (JsonBuilder) jb = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  int r, ret = CTL_EXIT_OK;

  r = ctl_parse_options ("image inspect", "IMAGE...", "Show everything about images, as JSON.",
                         NULL, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2)
    return ctl_usage_error ("image inspect", "name at least one image");

  json_builder_begin_array (jb);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GVariant) props = get_image_props (ctl, argv[i]);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autofree const char **names = NULL;
      g_autofree const char **layers = NULL;
      g_autofree char *created = NULL;
      g_autoptr (GVariantIter) labels = NULL;
      g_autoptr (GVariantIter) history = NULL;
      const char *id = "", *digest = "", *config = "{}", *k, *v, *by, *comment;
      guint64 created_at = 0, size = 0, hcreated, hsize;
      gboolean empty;

      if (props == NULL)
        {
          ret = CTL_EXIT_FAILURE;
          continue;
        }
      g_variant_lookup (props, "Id", "&s", &id);
      g_variant_lookup (props, "Digest", "&s", &digest);
      g_variant_lookup (props, "Config", "&s", &config);
      g_variant_lookup (props, "Created", "t", &created_at);
      g_variant_lookup (props, "Size", "t", &size);
      g_variant_lookup (props, "Names", "^a&s", &names);
      g_variant_lookup (props, "Layers", "^a&s", &layers);
      g_variant_lookup (props, "Labels", "a{ss}", &labels);
      g_variant_lookup (props, "History", "a(tsstb)", &history);
      created = format_rfc3339 (created_at);

      json_builder_begin_object (jb);
      json_builder_set_member_name (jb, "Id");
      json_builder_add_string_value (jb, id);
      json_builder_set_member_name (jb, "RepoTags");
      json_builder_begin_array (jb);
      for (guint j = 0; names && names[j]; j++)
        {
          g_autofree char *fam = berth_reference_familiarize (names[j]);

          json_builder_add_string_value (jb, fam);
        }
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "Names");
      json_builder_begin_array (jb);
      for (guint j = 0; names && names[j]; j++)
        json_builder_add_string_value (jb, names[j]);
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "Digest");
      json_builder_add_string_value (jb, digest);
      json_builder_set_member_name (jb, "Created");
      json_builder_add_string_value (jb, created);
      json_builder_set_member_name (jb, "Size");
      json_builder_add_int_value (jb, size);
      json_builder_set_member_name (jb, "Layers");
      json_builder_begin_array (jb);
      for (guint j = 0; layers && layers[j]; j++)
        json_builder_add_string_value (jb, layers[j]);
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "Labels");
      json_builder_begin_object (jb);
      while (labels && g_variant_iter_next (labels, "{&s&s}", &k, &v))
        {
          json_builder_set_member_name (jb, k);
          json_builder_add_string_value (jb, v);
        }
      json_builder_end_object (jb);
      json_builder_set_member_name (jb, "History");
      json_builder_begin_array (jb);
      while (
        history
        && g_variant_iter_next (history, "(t&s&stb)", &hcreated, &by, &comment, &hsize, &empty))
        {
          g_autofree char *when = format_rfc3339 (hcreated);

          json_builder_begin_object (jb);
          json_builder_set_member_name (jb, "Created");
          json_builder_add_string_value (jb, when);
          json_builder_set_member_name (jb, "CreatedBy");
          json_builder_add_string_value (jb, by);
          json_builder_set_member_name (jb, "Comment");
          json_builder_add_string_value (jb, comment);
          json_builder_set_member_name (jb, "Size");
          json_builder_add_int_value (jb, hsize);
          json_builder_set_member_name (jb, "EmptyLayer");
          json_builder_add_boolean_value (jb, empty);
          json_builder_end_object (jb);
        }
      json_builder_end_array (jb);
      json_builder_set_member_name (jb, "Config");
      if (json_parser_load_from_data (parser, config, -1, NULL))
        json_builder_add_value (jb, json_node_copy (json_parser_get_root (parser)));
      else
        json_builder_add_null_value (jb);
      json_builder_end_object (jb);
    }
  json_builder_end_array (jb);
  root = json_builder_get_root (jb);
  if (ret == CTL_EXIT_OK)
    ctl_print_json (root);
  return ret;
}

int
ctl_verb_history (BerthCtl *ctl, int argc, char **argv)
{
  gboolean json = FALSE, no_trunc = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the history as JSON", NULL },
    { "no-trunc", 0, 0, G_OPTION_ARG_NONE, &no_trunc, "Do not shorten the output", NULL },
    { NULL },
  };
  static const char *const headers[]
    = { "IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT", NULL };
  g_autoptr (GVariant) props = NULL;
  g_autoptr (GVariant) history = NULL;
  g_autoptr (CtlTable) table = NULL;
  g_autoptr (JsonBuilder) jb = NULL;
  const char *id = "";
  gsize n;
  int r;

  r = ctl_parse_options ("history", "IMAGE", "Show the history of an image, newest first.", entries,
                         &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("history", "name one image");
  props = get_image_props (ctl, argv[1]);
  if (props == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_lookup (props, "Id", "&s", &id);
  history = g_variant_lookup_value (props, "History", G_VARIANT_TYPE ("a(tsstb)"));
  n = history ? g_variant_n_children (history) : 0;
  table = ctl_table_new (headers);
  jb = json_builder_new ();
  json_builder_begin_array (jb);
  for (gsize i = n; i > 0; i--)
    {
      const char *by, *comment;
      guint64 created, size;
      gboolean empty;
      g_autofree char *sid = NULL, *ago = NULL, *human = NULL, *shown_by = NULL;
      const char *row[6];

      g_variant_get_child (history, i - 1, "(t&s&stb)", &created, &by, &comment, &size, &empty);
      sid = i == n ? (no_trunc ? g_strdup (id) : g_strndup (id + 7, 12)) : g_strdup ("<missing>");
      if (json)
        {
          json_builder_begin_object (jb);
          json_builder_set_member_name (jb, "Id");
          json_builder_add_string_value (jb, i == n ? id : "<missing>");
          json_builder_set_member_name (jb, "Created");
          json_builder_add_int_value (jb, created);
          json_builder_set_member_name (jb, "CreatedBy");
          json_builder_add_string_value (jb, by);
          json_builder_set_member_name (jb, "Size");
          json_builder_add_int_value (jb, size);
          json_builder_set_member_name (jb, "Comment");
          json_builder_add_string_value (jb, comment);
          json_builder_end_object (jb);
          continue;
        }
      ago = format_ago (created);
      human = ctl_format_size (size);
      shown_by = !no_trunc && g_utf8_strlen (by, -1) > 45
                   ? g_strdup_printf ("%.*s…", (int)(g_utf8_offset_to_pointer (by, 44) - by), by)
                   : g_strdup (by);
      row[0] = sid, row[1] = ago, row[2] = shown_by, row[3] = human, row[4] = comment,
      row[5] = NULL;
      ctl_table_add_row (table, row);
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

int
ctl_verb_image (BerthCtl *ctl, int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (BerthCtl *, int, char **);
  } subs[] = {
    { "inspect", image_inspect },  { "ls", ctl_verb_images }, { "list", ctl_verb_images },
    { "rm", ctl_verb_rmi },        { "tag", ctl_verb_tag },   { "history", ctl_verb_history },
    { "import", ctl_verb_import }, { "load", ctl_verb_load }, { "save", ctl_verb_save },
  };

  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      FILE *out = argc < 2 ? stderr : stdout;

      fprintf (out, "Usage: berthctl image COMMAND [OPTIONS...]\n\nCommands:\n"
                    "  inspect IMAGE...   Show everything about images, as JSON\n"
                    "  ls                 List images (as berthctl images)\n"
                    "  rm IMAGE...        Remove images (as berthctl rmi)\n"
                    "  tag, history, import, load, save  As the top-level commands\n");
      return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subs); i++)
    if (g_str_equal (subs[i].name, argv[1]))
      return subs[i].run (ctl, argc - 1, argv + 1);
  return ctl_usage_error ("image", "unknown command \"%s\"", argv[1]);
}
