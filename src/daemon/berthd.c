/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthd: the berth manager on the system bus. */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "build.h"
#include "container.h"
#include "daemon.h"
#include "volume.h"

void
berth_daemon_cancel_and_wait (GHashTable *table, gsize cancellable_offset)
{
  GHashTableIter iter;
  gpointer job;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &job))
    g_cancellable_cancel (G_STRUCT_MEMBER (GCancellable *, job, cancellable_offset));
  while (g_hash_table_size (table) > 0)
    g_main_context_iteration (NULL, TRUE);
}

static void
daemon_clear (BerthDaemon *daemon)
{
  if (daemon->name_id)
    g_bus_unown_name (daemon->name_id);
  berth_daemon_builds_shutdown (daemon);
  berth_daemon_transfers_shutdown (daemon);
  berth_daemon_containers_clear (daemon);
  berth_daemon_log_times_free (daemon);
  berth_daemon_exec_watch_free (daemon);
  berth_daemon_volumes_clear (daemon);
  berth_daemon_images_clear (daemon);
  if (daemon->manager)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (daemon->manager));
  g_clear_pointer (&daemon->store, berth_store_free);
  g_clear_object (&daemon->manager);
  g_clear_object (&daemon->bus);
  g_clear_pointer (&daemon->loop, g_main_loop_unref);
  g_clear_pointer (&daemon->config, berth_config_free);
  g_clear_pointer (&daemon->config_path, g_free);
  g_clear_pointer (&daemon->auth_path, g_free);
  g_clear_pointer (&daemon->root, g_free);
  g_clear_pointer (&daemon->run_dir, g_free);
  g_clear_pointer (&daemon->bus_address, g_free);
  g_clear_pointer (&daemon->cgroup_root, g_free);
  berth_close_fdp (&daemon->lock_fd);
}

static gboolean
make_dir (const char *path, mode_t mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) < 0)
    return berth_error_set_errno (error, errno, "cannot create %s", path);
  return TRUE;
}

static GDBusConnection *
connect_bus (const char *address, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  GDBusConnection *bus;

  if (address == NULL)
    bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local_error);
  else
    bus
      = g_dbus_connection_new_for_address_sync (address,
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                                                  | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &local_error);
  if (bus == NULL)
    {
      g_dbus_error_strip_remote_error (local_error);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot connect to %s: %s",
                   address ? address : "the system bus", local_error->message);
      return NULL;
    }
  /* Losing the bus leaves berthd unreachable; exit so systemd can restart it. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  return bus;
}

static void
on_bus_closed (GDBusConnection *bus, gboolean remote_peer_vanished, GError *error,
               BerthDaemon *daemon)
{
  g_warning ("lost the connection to the bus%s%s", error ? ": " : "", error ? error->message : "");
  daemon->exit_code = 1;
  g_main_loop_quit (daemon->loop);
}

static void
update_status (BerthDaemon *daemon)
{
  sd_notifyf (0, "STATUS=Managing %s (cgroups: %s)", daemon->root,
              berth_cgroup_manager_to_string (daemon->cgroup_manager));
}

static void
on_name_acquired (GDBusConnection *bus, const char *name, BerthDaemon *daemon)
{
  g_message ("berthd %s ready on %s as %s (root %s, cgroups %s, %s)", PACKAGE_VERSION,
             daemon->bus_address ? daemon->bus_address : "the system bus", name, daemon->root,
             berth_cgroup_manager_to_string (daemon->cgroup_manager),
             berth_cgroup_layout_to_string (daemon->cgroup_layout));
  sd_notify (0, "READY=1");
  update_status (daemon);
  berth_daemon_execs_ready (daemon);
}

static void
on_name_lost (GDBusConnection *bus, const char *name, BerthDaemon *daemon)
{
  if (bus == NULL)
    g_printerr ("berthd: lost the connection to the bus before owning %s\n", name);
  else
    g_printerr ("berthd: cannot own %s on the bus: another berthd (or another program) owns "
                "it, or the bus policy forbids it\n",
                name);
  daemon->exit_code = 1;
  g_main_loop_quit (daemon->loop);
}

static gboolean
on_sigterm (gpointer user_data)
{
  BerthDaemon *daemon = user_data;

  g_message ("stopping on signal; containers keep running");
  sd_notify (0, "STOPPING=1");
  g_main_loop_quit (daemon->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sighup (gpointer user_data)
{
  BerthDaemon *daemon = user_data;
  g_autoptr (GError) error = NULL;

  sd_notify (0, "RELOADING=1");
  if (!berth_daemon_reload_config (daemon, &error))
    g_warning ("not reloaded: %s", error->message);
  sd_notify (0, "READY=1");
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigusr2 (gpointer user_data)
{
  berth_daemon_log_toggle_debug ();
  return G_SOURCE_CONTINUE;
}

/* Opening the store cleans up after interrupted writes and repairs or
 * drops images whose content went missing; each finding is logged. */
static gboolean
open_store (BerthDaemon *daemon, GError **error)
{
  g_auto (BerthStoreReport) report = { 0 };

  daemon->store = berth_store_open (daemon->root, daemon->config->max_layer_size, &report, error);
  if (daemon->store == NULL)
    return FALSE;
  if (report.removed_leftovers || report.repaired_layers || report.removed_images
      || report.removed_unused)
    g_message ("store checked: %u leftovers removed, %u layers repaired, %u broken images "
               "removed, %u unused blobs and layers removed",
               report.removed_leftovers, report.repaired_layers, report.removed_images,
               report.removed_unused);
  daemon->images = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  berth_daemon_commit_clean_leftovers (daemon);
  return TRUE;
}

static gboolean
start (BerthDaemon *daemon, GError **error)
{
  daemon->config = berth_config_load (daemon->config_path, daemon->config_explicit, error);
  if (daemon->config == NULL)
    return FALSE;

  /* The command line wins over the file. */
  if (daemon->root == NULL)
    daemon->root = g_strdup (daemon->config->root);
  if (daemon->run_dir == NULL)
    daemon->run_dir = g_strdup (daemon->config->run_dir);
  g_free (daemon->config->root);
  daemon->config->root = g_strdup (daemon->root);
  g_free (daemon->config->run_dir);
  daemon->config->run_dir = g_strdup (daemon->run_dir);

  if (!g_path_is_absolute (daemon->root) || !g_path_is_absolute (daemon->run_dir))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "--root and --run-dir must be absolute paths");
      return FALSE;
    }

  /* Containers' PID 1s become berthd's children once the runtime's create
   * has exited, so their exits are berthd's to reap. */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return berth_error_set_errno (error, errno, "cannot become a child subreaper");

  if (!make_dir (daemon->root, 0711, error) || !make_dir (daemon->run_dir, 0755, error))
    return FALSE;
  if (!berth_daemon_lock_root (daemon, error))
    return FALSE;
  if (!berth_daemon_setup_cgroups (daemon, error))
    return FALSE;
  if (!open_store (daemon, error))
    return FALSE;

  daemon->bus = connect_bus (daemon->bus_address, error);
  if (daemon->bus == NULL)
    return FALSE;
  g_signal_connect (daemon->bus, "closed", G_CALLBACK (on_bus_closed), daemon);

  if (!berth_manager_dbus_export (daemon, error))
    return FALSE;

  /* Objects are exported before the name is taken: a client that sees the
   * name can call every method at once. */
  daemon->name_id = g_bus_own_name_on_connection (
    daemon->bus, BERTH_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
    (GBusNameAcquiredCallback)on_name_acquired, (GBusNameLostCallback)on_name_lost, daemon, NULL);
  return TRUE;
}

int
main (int argc, char **argv)
{
  BerthDaemon daemon = { .lock_fd = -1 };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  gboolean debug = FALSE, version = FALSE;
  g_autofree char *root = NULL, *run_dir = NULL, *config = NULL, *bus_address = NULL;
  const GOptionEntry entries[] = {
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
      "Storage root for images, containers and volumes (default " BERTH_DEFAULT_ROOT ")", "DIR" },
    { "run-dir", 0, 0, G_OPTION_ARG_FILENAME, &run_dir,
      "Directory for runtime state (default " BERTH_DEFAULT_RUN_DIR ")", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config,
      "Configuration file (default " BERTH_DEFAULT_CONFIG ")", "FILE" },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &bus_address,
      "Own the name on this D-Bus address instead of the system bus", "ADDRESS" },
    { "debug", 'd', 0, G_OPTION_ARG_NONE, &debug, "Log debug messages (SIGUSR2 toggles)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- the berth container manager");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("berthd: %s (see berthd --help)\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("berthd: unexpected argument \"%s\" (see berthd --help)\n", argv[1]);
      return 2;
    }
  if (version)
    {
      g_print ("berthd %s\n", PACKAGE_VERSION);
      return 0;
    }

  berth_daemon_log_setup (debug);

  daemon.config_explicit = config != NULL;
  daemon.config_path = config ? g_steal_pointer (&config) : g_strdup (BERTH_DEFAULT_CONFIG);
  daemon.root = g_steal_pointer (&root);
  daemon.run_dir = g_steal_pointer (&run_dir);
  daemon.bus_address = g_steal_pointer (&bus_address);
  daemon.loop = g_main_loop_new (NULL, FALSE);

  g_unix_signal_add (SIGTERM, on_sigterm, &daemon);
  g_unix_signal_add (SIGINT, on_sigterm, &daemon);
  g_unix_signal_add (SIGHUP, on_sighup, &daemon);
  g_unix_signal_add (SIGUSR2, on_sigusr2, &daemon);

  if (!start (&daemon, &error))
    {
      g_dbus_error_strip_remote_error (error);
      g_printerr ("berthd: %s\n", error->message);
      sd_notifyf (0, "STATUS=Failed to start: %s", error->message);
      daemon_clear (&daemon);
      return 1;
    }

  g_main_loop_run (daemon.loop);
  daemon_clear (&daemon);
  return daemon.exit_code;
}
