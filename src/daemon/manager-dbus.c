/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-error.h"
#include "berth-host.h"
#include "build.h"
#include "container.h"
#include "daemon.h"
#include "volume.h"

#include <string.h>

/* What this berthd can do; grows as capabilities land. */
static const char *const berth_features[] = { "images", "containers", "volumes", NULL };

static char *
storage_driver (void)
{
  g_autofree char *filesystems = NULL;

  /* Containers' roots are overlay mounts; say plainly when the kernel lacks it. */
  if (g_file_get_contents ("/proc/filesystems", &filesystems, NULL, NULL)
      && strstr (filesystems, "\toverlay\n") != NULL)
    return g_strdup ("overlay");
  return g_strdup ("none (the kernel has no overlay file system)");
}

static gboolean
handle_get_info (BerthManager *manager, GDBusMethodInvocation *invocation, BerthDaemon *daemon)
{
  g_auto (GVariantBuilder) info = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autofree char *kernel = berth_host_kernel_version ();
  g_autofree char *os = berth_host_os_name ();
  g_autofree char *driver = storage_driver ();
  guint running = 0;
  guint containers = berth_daemon_containers_count (daemon, &running);

  g_variant_builder_add (&info, "{sv}", "Version", g_variant_new_string (PACKAGE_VERSION));
  g_variant_builder_add (&info, "{sv}", "StorageRoot", g_variant_new_string (daemon->root));
  g_variant_builder_add (&info, "{sv}", "RunDir", g_variant_new_string (daemon->run_dir));
  g_variant_builder_add (
    &info, "{sv}", "ConfigFile",
    g_variant_new_string (daemon->config->path ? daemon->config->path : "(none; defaults)"));
  g_variant_builder_add (&info, "{sv}", "StorageDriver", g_variant_new_string (driver));
  g_variant_builder_add (
    &info, "{sv}", "CgroupManager",
    g_variant_new_string (berth_cgroup_manager_to_string (daemon->cgroup_manager)));
  g_variant_builder_add (
    &info, "{sv}", "CgroupVersion",
    g_variant_new_string (berth_cgroup_layout_to_string (daemon->cgroup_layout)));
  g_variant_builder_add (&info, "{sv}", "CgroupRoot", g_variant_new_string (daemon->cgroup_root));
  g_variant_builder_add (&info, "{sv}", "KernelVersion", g_variant_new_string (kernel));
  g_variant_builder_add (&info, "{sv}", "OperatingSystem", g_variant_new_string (os));
  g_variant_builder_add (&info, "{sv}", "Architecture",
                         g_variant_new_string (berth_host_oci_arch ()));
  g_variant_builder_add (&info, "{sv}", "Containers", g_variant_new_uint32 (containers));
  g_variant_builder_add (&info, "{sv}", "ContainersRunning", g_variant_new_uint32 (running));
  g_variant_builder_add (&info, "{sv}", "Images",
                         g_variant_new_uint32 (g_hash_table_size (daemon->images)));
  g_variant_builder_add (&info, "{sv}", "Volumes",
                         g_variant_new_uint32 (berth_daemon_volumes_count (daemon)));
  g_variant_builder_add (&info, "{sv}", "DefaultRuntime",
                         g_variant_new_string (daemon->config->runtime));
  g_variant_builder_add (&info, "{sv}", "Features", g_variant_new_strv (berth_features, -1));

  berth_manager_complete_get_info (manager, invocation, g_variant_builder_end (&info));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

gboolean
berth_daemon_reload_config (BerthDaemon *daemon, GError **error)
{
  g_autoptr (BerthConfig) config = NULL;

  config = berth_config_load (daemon->config_path, daemon->config_explicit, error);
  if (config == NULL)
    return FALSE;

  /* The storage root and run directory were given at start (the command line
   * wins over the file); they cannot move under a running daemon. */
  if (g_strcmp0 (config->root, daemon->config->root) != 0)
    g_warning ("%s: [storage] root changed; restart berthd to use it", daemon->config_path);
  if (g_strcmp0 (config->run_dir, daemon->config->run_dir) != 0)
    g_warning ("%s: [storage] run-dir changed; restart berthd to use it", daemon->config_path);
  g_free (config->root);
  config->root = g_strdup (daemon->config->root);
  g_free (config->run_dir);
  config->run_dir = g_strdup (daemon->config->run_dir);

  berth_config_free (daemon->config);
  daemon->config = g_steal_pointer (&config);
  if (daemon->store)
    berth_store_set_max_layer_size (daemon->store, daemon->config->max_layer_size);
  g_message ("configuration reloaded from %s", daemon->config_path);
  return TRUE;
}

static gboolean
handle_reload (BerthManager *manager, GDBusMethodInvocation *invocation, BerthDaemon *daemon)
{
  g_autoptr (GError) error = NULL;

  if (!berth_daemon_reload_config (daemon, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  berth_manager_complete_reload (manager, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

gboolean
berth_manager_dbus_export (BerthDaemon *daemon, GError **error)
{
  g_autoptr (BerthManager) manager = berth_manager_skeleton_new ();

  berth_manager_set_version (manager, PACKAGE_VERSION);
  berth_manager_set_storage_root (manager, daemon->root);
  berth_manager_set_cgroup_manager (manager,
                                    berth_cgroup_manager_to_string (daemon->cgroup_manager));
  berth_manager_set_features (manager, berth_features);

  g_signal_connect (manager, "handle-get-info", G_CALLBACK (handle_get_info), daemon);
  g_signal_connect (manager, "handle-reload", G_CALLBACK (handle_reload), daemon);
  berth_manager_images_connect (daemon, manager);
  berth_manager_transfers_connect (daemon, manager);
  berth_manager_containers_connect (daemon, manager);
  berth_manager_volumes_connect (daemon, manager);
  berth_manager_builds_connect (daemon, manager);
  berth_daemon_authorize_skeleton (daemon, G_DBUS_INTERFACE_SKELETON (manager));

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (manager), daemon->bus,
                                         BERTH_MANAGER_PATH, error))
    return FALSE;
  daemon->manager = g_steal_pointer (&manager);

  {
    g_autoptr (GPtrArray) infos = berth_image_infos_collect (daemon->store);

    berth_daemon_images_apply (daemon, infos, FALSE);
  }
  /* Volumes first: the containers found next mount them. */
  if (!berth_daemon_volumes_open (daemon, error) || !berth_daemon_containers_load (daemon, error))
    return FALSE;
  berth_daemon_volumes_sync (daemon, FALSE);
  return TRUE;
}
