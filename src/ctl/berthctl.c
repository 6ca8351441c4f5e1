/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl: the command line client of berthd, in the style of machinectl. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const CtlVerb verbs[] = {
  { "build", ctl_verb_build, "Build an image from a Containerfile" },
  { "commit", ctl_verb_commit, "Make an image from a container's changes" },
  { "create", ctl_verb_create, "Create a container without starting it" },
  { "diff", ctl_verb_diff, "Show the files a container changed" },
  { "exec", ctl_verb_exec, "Run a command in a running container" },
  { "export", ctl_verb_export, "Write a container's file system as a tar" },
  { "history", ctl_verb_history, "Show how an image was built, layer by layer" },
  { "image", ctl_verb_image, "Manage images (inspect, ls, rm, tag, history, ...)" },
  { "images", ctl_verb_images, "List images" },
  { "import", ctl_verb_import, "Create an image from a root file system tarball" },
  { "info", ctl_verb_info, "Show how berthd is set up on this host" },
  { "inspect", ctl_verb_inspect, "Show containers' details as JSON" },
  { "kill", ctl_verb_kill, "Send a signal to running containers" },
  { "list", ctl_verb_ps, "List containers (as ps)" },
  { "load", ctl_verb_load, "Load images from a docker save or OCI archive" },
  { "login", ctl_verb_login, "Log in to a registry" },
  { "logout", ctl_verb_logout, "Log out of a registry" },
  { "logs", ctl_verb_logs, "Print a container's output" },
  { "ps", ctl_verb_ps, "List containers" },
  { "pull", ctl_verb_pull, "Pull an image from a registry" },
  { "push", ctl_verb_push, "Push an image to a registry" },
  { "restart", ctl_verb_restart, "Restart containers" },
  { "rm", ctl_verb_rm, "Remove containers" },
  { "rmi", ctl_verb_rmi, "Remove images" },
  { "run", ctl_verb_run, "Run a command in a new container" },
  { "save", ctl_verb_save, "Save images to an OCI or docker archive" },
  { "search", ctl_verb_search, "Search registries for images" },
  { "start", ctl_verb_start, "Start containers" },
  { "status", ctl_verb_status, "Show a container's state, processes and latest output" },
  { "stop", ctl_verb_stop, "Stop running containers" },
  { "tag", ctl_verb_tag, "Give an image another name" },
  { "top", ctl_verb_top, "Show a container's processes" },
  { "version", ctl_verb_version, "Show the berthctl and berthd versions" },
  { "volume", ctl_verb_volume, "Manage volumes (create, ls, inspect, rm, prune)" },
  { "wait", ctl_verb_wait, "Wait for containers to exit; print their exit codes" },
};

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: berthctl [--bus-address ADDRESS] COMMAND [OPTIONS...]\n\n"
                "Manage berth containers, images and volumes through berthd.\n\n"
                "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    fprintf (out, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
  fprintf (out, "\nOptions:\n"
                "  --bus-address ADDRESS  Talk to berthd on this D-Bus address (default: the\n"
                "                         system bus; also $BERTH_BUS_ADDRESS)\n"
                "  -h, --help             Show this help\n"
                "  --version              Show the berthctl version\n\n"
                "Run 'berthctl COMMAND --help' for a command's options.\n");
}

static const CtlVerb *
find_verb (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    if (g_str_equal (verbs[i].name, name))
      return &verbs[i];
  return NULL;
}

int
main (int argc, char **argv)
{
  BerthCtl ctl = { 0 };
  const CtlVerb *verb;
  int i = 1, r;

  setlocale (LC_ALL, "");
  ctl.bus_address = g_strdup (g_getenv ("BERTH_BUS_ADDRESS"));

  /* Global options come before the verb; everything after it is the verb's. */
  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h"))
        {
          print_usage (stdout);
          g_free (ctl.bus_address);
          return CTL_EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--version"))
        {
          g_print ("berthctl %s\n", PACKAGE_VERSION);
          g_free (ctl.bus_address);
          return CTL_EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--bus-address") && i + 1 < argc)
        {
          g_free (ctl.bus_address);
          ctl.bus_address = g_strdup (argv[++i]);
        }
      else if (g_str_has_prefix (argv[i], "--bus-address="))
        {
          g_free (ctl.bus_address);
          ctl.bus_address = g_strdup (argv[i] + strlen ("--bus-address="));
        }
      else
        {
          g_printerr ("berthctl: unknown option \"%s\" (see berthctl --help)\n", argv[i]);
          g_free (ctl.bus_address);
          return CTL_EXIT_USAGE;
        }
    }

  if (i >= argc)
    {
      print_usage (stderr);
      g_free (ctl.bus_address);
      return CTL_EXIT_USAGE;
    }

  verb = find_verb (argv[i]);
  if (verb == NULL)
    {
      g_printerr ("berthctl: unknown command \"%s\" (see berthctl --help)\n", argv[i]);
      g_free (ctl.bus_address);
      return CTL_EXIT_USAGE;
    }

  r = verb->run (&ctl, argc - i, argv + i);
  g_clear_object (&ctl.bus);
  g_free (ctl.bus_address);
  return r;
}
