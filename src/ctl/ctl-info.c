/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "ctl.h"

/* Info keys in the order they are shown, with their labels. */
static const struct
{
  const char *key;
  const char *label;
} info_rows[] = {
  { "Version", "Server version" },
  { "OperatingSystem", "Operating system" },
  { "KernelVersion", "Kernel version" },
  { "Architecture", "Architecture" },
  { "CgroupManager", "Cgroup manager" },
  { "CgroupVersion", "Cgroup version" },
  { "CgroupRoot", "Cgroup root" },
  { "StorageDriver", "Storage driver" },
  { "StorageRoot", "Storage root" },
  { "RunDir", "Run directory" },
  { "ConfigFile", "Config file" },
  { "DefaultRuntime", "Default runtime" },
  { "Containers", "Containers" },
  { "ContainersRunning", " Running" },
  { "Images", "Images" },
  { "Volumes", "Volumes" },
  { "Features", "Features" },
};

static char *
format_value (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **strv = g_variant_get_strv (value, NULL);

      return strv[0] ? g_strjoinv (", ", (char **)strv) : g_strdup ("(none)");
    }
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_strdup_printf ("%u", g_variant_get_uint32 (value));
  return g_variant_print (value, FALSE);
}

int
ctl_verb_info (BerthCtl *ctl, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the information as JSON", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) info = NULL;
  int r;

  r = ctl_parse_options ("info", NULL, "Show how berthd is set up on this host.", entries, &argc,
                         &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return ctl_usage_error ("info", "unexpected argument \"%s\"", argv[1]);

  reply = ctl_call_manager (ctl, "GetInfo", NULL, G_VARIANT_TYPE ("(a{sv})"));
  if (reply == NULL)
    return CTL_EXIT_FAILURE;
  info = g_variant_get_child_value (reply, 0);

  if (json)
    {
      g_autoptr (JsonNode) node = json_gvariant_serialize (info);

      ctl_print_json (node);
      return CTL_EXIT_OK;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (info_rows); i++)
    {
      g_autoptr (GVariant) value = g_variant_lookup_value (info, info_rows[i].key, NULL);
      g_autofree char *text = NULL;
      g_autofree char *label = NULL;

      if (value == NULL)
        continue;
      text = format_value (value);
      label = g_strconcat (info_rows[i].label, ":", NULL);
      g_print ("%-20s%s\n", label, text);
    }
  return CTL_EXIT_OK;
}

int
ctl_verb_version (BerthCtl *ctl, int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the versions as JSON", NULL },
    { NULL },
  };
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *server = NULL;
  int r;

  r = ctl_parse_options ("version", NULL, "Show the berthctl and berthd versions.", entries, &argc,
                         &argv);
  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc > 1)
    return ctl_usage_error ("version", "unexpected argument \"%s\"", argv[1]);

  if (!json)
    g_print ("Client: %s\n", PACKAGE_VERSION);

  reply = ctl_call_manager (ctl, "GetInfo", NULL, G_VARIANT_TYPE ("(a{sv})"));
  if (reply != NULL)
    {
      g_autoptr (GVariant) info = g_variant_get_child_value (reply, 0);

      g_variant_lookup (info, "Version", "s", &server);
    }

  if (json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonNode) node = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "Client");
      json_builder_add_string_value (builder, PACKAGE_VERSION);
      json_builder_set_member_name (builder, "Server");
      if (server)
        json_builder_add_string_value (builder, server);
      else
        json_builder_add_null_value (builder);
      json_builder_end_object (builder);
      node = json_builder_get_root (builder);
      ctl_print_json (node);
    }
  else if (server)
    g_print ("Server: %s\n", server);

  return server ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
