/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl commit, diff and export: a container's changes as an image,
 * as a list, or its whole file system as a tar. */
#include "config.h"

#include "berth-fd.h"
#include "ctl.h"

#define CONTAINER_IFACE "org.berth.berth1.Container"
#define IMAGE_IFACE "org.berth.berth1.Image"

int
ctl_verb_commit (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *message = NULL;
  g_autofree char *author = NULL;
  g_autofree char *pause = NULL;
  g_auto (GStrv) changes = NULL;
  const GOptionEntry entries[] = {
    { "message", 'm', 0, G_OPTION_ARG_STRING, &message, "Record MESSAGE in the image's history",
      "MESSAGE" },
    { "author", 'a', 0, G_OPTION_ARG_STRING, &author, "The image's author", "AUTHOR" },
    { "change", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &changes,
      "Apply a Containerfile instruction to the image's config (CMD, ENTRYPOINT, ENV, WORKDIR, "
      "USER, LABEL, EXPOSE, VOLUME); repeatable",
      "INSTRUCTION" },
    { "pause", 'p', 0, G_OPTION_ARG_STRING, &pause,
      "Freeze a running container while its changes are read (default true)", "true|false" },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *image_path = NULL;
  int r;

  r = ctl_parse_options ("commit", "CONTAINER [REPOSITORY[:TAG]]",
                         "Make a new image from a container's changes; prints its ID.", entries,
                         &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc < 2 || argc > 3)
    return ctl_usage_error ("commit", argc < 2 ? "no container given" : "too many arguments");
  if (pause)
    {
      gboolean value;

      if (g_str_equal (pause, "true") || g_str_equal (pause, "1"))
        value = TRUE;
      else if (g_str_equal (pause, "false") || g_str_equal (pause, "0"))
        value = FALSE;
      else
        return ctl_usage_error ("commit", "--pause takes true or false, not \"%s\"", pause);
      g_variant_builder_add (&options, "{sv}", "pause", g_variant_new_boolean (value));
    }
  if (message)
    g_variant_builder_add (&options, "{sv}", "message", g_variant_new_string (message));
  if (author)
    g_variant_builder_add (&options, "{sv}", "author", g_variant_new_string (author));
  if (changes)
    g_variant_builder_add (&options, "{sv}", "changes",
                           g_variant_new_strv ((const char *const *)changes, -1));

  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL)
    return CTL_EXIT_FAILURE;
  reply = ctl_call_object (
    ctl, path, CONTAINER_IFACE, "Commit",
    g_variant_new ("(s@a{sv})", argc == 3 ? argv[2] : "", g_variant_builder_end (&options)), NULL,
    G_VARIANT_TYPE ("(o)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(o)", &image_path);
  g_clear_pointer (&reply, g_variant_unref);
  reply = ctl_call_object (ctl, image_path, "org.freedesktop.DBus.Properties", "Get",
                           g_variant_new ("(ss)", IMAGE_IFACE, "Id"), NULL, G_VARIANT_TYPE ("(v)"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(v)", &id);
  g_print ("%s\n", g_variant_get_string (id, NULL));
  return CTL_EXIT_OK;
}

int
ctl_verb_diff (BerthCtl *ctl, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON array of {Kind, Path}", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *path = NULL;
  const char *kind, *file;
  int r;

  r = ctl_parse_options ("diff", "CONTAINER",
                         "Show the files a container added (A), changed (C) and deleted (D).",
                         entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("diff", argc < 2 ? "no container given" : "too many arguments");
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL)
    return CTL_EXIT_FAILURE;
  reply = ctl_call_object (ctl, path, CONTAINER_IFACE, "GetChanges", NULL, NULL,
                           G_VARIANT_TYPE ("(a(ss))"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  g_variant_get (reply, "(a(ss))", &iter);
  json_builder_begin_array (b);
  while (g_variant_iter_next (iter, "(&s&s)", &kind, &file))
    {
      if (!json)
        {
          g_print ("%s %s\n", kind, file);
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "Kind");
      json_builder_add_string_value (b, kind);
      json_builder_set_member_name (b, "Path");
      json_builder_add_string_value (b, file);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);

      ctl_print_json (root);
    }
  return CTL_EXIT_OK;
}

int
ctl_verb_export (BerthCtl *ctl, int argc, char **argv)
{
  g_autofree char *output = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Write the tar to FILE (under a temporary name, renamed when complete)", "FILE" },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autofree char *path = NULL;
  g_autofree char *tmp = NULL;
  berth_autofd int fd = -1;
  int r;

  r = ctl_parse_options ("export", "CONTAINER",
                         "Write a container's file system (its image with its changes, "
                         "without volumes) as a tar.",
                         entries, &argc, &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    return ctl_usage_error ("export", argc < 2 ? "no container given" : "too many arguments");
  path = ctl_container_path (ctl, argv[1]);
  if (path == NULL)
    return CTL_EXIT_FAILURE;

  fd = ctl_output_file_open ("export", output, "a tar", &tmp);
  if (fd < 0)
    return CTL_EXIT_FAILURE;
  g_unix_fd_list_append (fds, fd, NULL);
  reply = ctl_call_object (ctl, path, CONTAINER_IFACE, "Export",
                           g_variant_new ("(ha{sv})", 0, NULL), fds, G_VARIANT_TYPE ("()"));
  return ctl_output_file_finish ("export", fd, tmp, output, reply != NULL);
}
