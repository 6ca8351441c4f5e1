/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-oci-spec.h"

#include "berth-error.h"
#include "berth-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const default_capabilities[] = {
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
  NULL,
};

/* Docker's lists: kernel interfaces that leak host information or let the
 * host be changed, hidden or made read-only. */
static const char *const masked_paths[] = {
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *const *
berth_oci_spec_default_capabilities (void)
{
  return default_capabilities;
}

static void
add_string_array (JsonBuilder *b, const char *member, const char *const *values, gssize n)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (gssize i = 0; n < 0 ? values[i] != NULL : i < n; i++)
    json_builder_add_string_value (b, values[i]);
  json_builder_end_array (b);
}

static void
add_mount (JsonBuilder *b, const char *destination, const char *type, const char *source,
           const char *options)
{
  g_auto (GStrv) opts = g_strsplit (options, ",", -1);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "destination");
  json_builder_add_string_value (b, destination);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, source);
  add_string_array (b, "options", (const char *const *)opts, -1);
  json_builder_end_object (b);
}

static void
add_rlimit (JsonBuilder *b, const char *type, int resource, guint64 wanted)
{
  struct rlimit current;
  guint64 value = wanted;

  /* Raising a hard limit needs CAP_SYS_RESOURCE, which berthd may lack (the
   * development machines' hard nofile is 20000): never ask for more. */
  if (getrlimit (resource, &current) == 0 && current.rlim_max != RLIM_INFINITY)
    value = MIN (wanted, (guint64)current.rlim_max);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, type);
  json_builder_set_member_name (b, "hard");
  json_builder_add_int_value (b, (gint64)value);
  json_builder_set_member_name (b, "soft");
  json_builder_add_int_value (b, (gint64)value);
  json_builder_end_object (b);
}

static void
add_device_rule (JsonBuilder *b, gboolean allow, const char *type, gint64 major, gint64 minor,
                 const char *access)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "allow");
  json_builder_add_boolean_value (b, allow);
  if (type)
    {
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, type);
    }
  if (major >= 0)
    {
      json_builder_set_member_name (b, "major");
      json_builder_add_int_value (b, major);
    }
  if (minor >= 0)
    {
      json_builder_set_member_name (b, "minor");
      json_builder_add_int_value (b, minor);
    }
  json_builder_set_member_name (b, "access");
  json_builder_add_string_value (b, access);
  json_builder_end_object (b);
}

static gboolean
env_has (const char *const *env, const char *name)
{
  gsize len = strlen (name);

  for (guint i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
      return TRUE;
  return FALSE;
}

static void
add_process (JsonBuilder *b, const BerthOciSpecOptions *o)
{
  json_builder_set_member_name (b, "process");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "terminal");
  json_builder_add_boolean_value (b, o->terminal);

  json_builder_set_member_name (b, "user");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "uid");
  json_builder_add_int_value (b, o->uid);
  json_builder_set_member_name (b, "gid");
  json_builder_add_int_value (b, o->gid);
  if (o->n_additional_gids > 0)
    {
      json_builder_set_member_name (b, "additionalGids");
      json_builder_begin_array (b);
      for (guint i = 0; i < o->n_additional_gids; i++)
        json_builder_add_int_value (b, o->additional_gids[i]);
      json_builder_end_array (b);
    }
  json_builder_end_object (b);

  json_builder_set_member_name (b, "args");
  json_builder_begin_array (b);
  if (o->init_path)
    {
      json_builder_add_string_value (b, BERTH_OCI_INIT_PATH);
      if (o->status_dir)
        {
          json_builder_add_string_value (b, "--status-dir");
          json_builder_add_string_value (b, BERTH_OCI_STATUS_DIR);
        }
      json_builder_add_string_value (b, "--");
    }
  for (guint i = 0; o->args[i]; i++)
    json_builder_add_string_value (b, o->args[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "env");
  json_builder_begin_array (b);
  if (!env_has (o->env, "PATH"))
    json_builder_add_string_value (b, "PATH=" DEFAULT_PATH);
  if (o->terminal && !env_has (o->env, "TERM"))
    json_builder_add_string_value (b, "TERM=xterm");
  if (o->hostname && !env_has (o->env, "HOSTNAME"))
    {
      g_autofree char *h = g_strconcat ("HOSTNAME=", o->hostname, NULL);
      json_builder_add_string_value (b, h);
    }
  for (guint i = 0; o->env && o->env[i]; i++)
    json_builder_add_string_value (b, o->env[i]);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "cwd");
  json_builder_add_string_value (b, o->cwd ? o->cwd : "/");

  json_builder_set_member_name (b, "capabilities");
  json_builder_begin_object (b);
  add_string_array (b, "bounding", default_capabilities, -1);
  add_string_array (b, "effective", default_capabilities, -1);
  add_string_array (b, "permitted", default_capabilities, -1);
  /* Empty inheritable and ambient sets, as Docker has them since the
   * inheritable-capabilities advisory (CVE-2022-24769). */
  add_string_array (b, "inheritable", default_capabilities, 0);
  add_string_array (b, "ambient", default_capabilities, 0);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "rlimits");
  json_builder_begin_array (b);
  add_rlimit (b, "RLIMIT_NOFILE", RLIMIT_NOFILE, 1048576);
  add_rlimit (b, "RLIMIT_NPROC", RLIMIT_NPROC, 4194304);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "noNewPrivileges");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
}

static void
add_mounts (JsonBuilder *b, const BerthOciSpecOptions *o)
{
  json_builder_set_member_name (b, "mounts");
  json_builder_begin_array (b);
  add_mount (b, "/proc", "proc", "proc", "nosuid,noexec,nodev");
  add_mount (b, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
  add_mount (b, "/dev/pts", "devpts", "devpts",
             "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5");
  add_mount (b, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
  add_mount (b, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
  add_mount (b, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
  add_mount (b, "/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro");
  if (o->init_path)
    add_mount (b, BERTH_OCI_INIT_PATH, "bind", o->init_path, "bind,ro,nosuid,nodev");
  if (o->init_path && o->status_dir)
    add_mount (b, BERTH_OCI_STATUS_DIR, "bind", o->status_dir, "bind,rw,nosuid,nodev,noexec");
  json_builder_end_array (b);
}

static void
add_linux (JsonBuilder *b, const BerthOciSpecOptions *o)
{
  static const char *const namespaces[] = { "pid", "ipc", "uts", "mount", "cgroup", "network" };

  json_builder_set_member_name (b, "linux");
  json_builder_begin_object (b);

  json_builder_set_member_name (b, "namespaces");
  json_builder_begin_array (b);
  for (gsize i = 0; i < G_N_ELEMENTS (namespaces); i++)
    {
      if (o->host_network && g_str_equal (namespaces[i], "network"))
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, namespaces[i]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (o->cgroups_path)
    {
      json_builder_set_member_name (b, "cgroupsPath");
      json_builder_add_string_value (b, o->cgroups_path);
    }

  json_builder_set_member_name (b, "resources");
  json_builder_begin_object (b);
  /* Deny every device, then allow the standard nodes: with CAP_MKNOD in
   * the default set, this is what keeps the host's disks out of reach. */
  json_builder_set_member_name (b, "devices");
  json_builder_begin_array (b);
  add_device_rule (b, FALSE, NULL, -1, -1, "rwm");
  add_device_rule (b, TRUE, "c", -1, -1, "m");
  add_device_rule (b, TRUE, "b", -1, -1, "m");
  add_device_rule (b, TRUE, "c", 1, 3, "rwm");    /* null */
  add_device_rule (b, TRUE, "c", 1, 5, "rwm");    /* zero */
  add_device_rule (b, TRUE, "c", 1, 7, "rwm");    /* full */
  add_device_rule (b, TRUE, "c", 1, 8, "rwm");    /* random */
  add_device_rule (b, TRUE, "c", 1, 9, "rwm");    /* urandom */
  add_device_rule (b, TRUE, "c", 5, 0, "rwm");    /* tty */
  add_device_rule (b, TRUE, "c", 5, 1, "rwm");    /* console */
  add_device_rule (b, TRUE, "c", 5, 2, "rwm");    /* ptmx */
  add_device_rule (b, TRUE, "c", 136, -1, "rwm"); /* pts */
  add_device_rule (b, TRUE, "c", 10, 200, "rwm"); /* tun */
  json_builder_end_array (b);
  if (o->memory_limit > 0)
    {
      json_builder_set_member_name (b, "memory");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "limit");
      json_builder_add_int_value (b, o->memory_limit);
      json_builder_end_object (b);
    }
  if (o->cpus > 0)
    {
      json_builder_set_member_name (b, "cpu");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "quota");
      json_builder_add_int_value (b, (gint64)llround (o->cpus * 100000));
      json_builder_set_member_name (b, "period");
      json_builder_add_int_value (b, 100000);
      json_builder_end_object (b);
    }
  if (o->pids_limit > 0)
    {
      json_builder_set_member_name (b, "pids");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "limit");
      json_builder_add_int_value (b, o->pids_limit);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  add_string_array (b, "maskedPaths", masked_paths, G_N_ELEMENTS (masked_paths));
  add_string_array (b, "readonlyPaths", readonly_paths, G_N_ELEMENTS (readonly_paths));

  json_builder_set_member_name (b, "seccomp");
  json_builder_add_value (b, berth_oci_spec_default_seccomp ());
  json_builder_end_object (b);
}

JsonNode *
berth_oci_spec_new (const BerthOciSpecOptions *o, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (o->args == NULL || o->args[0] == NULL || o->args[0][0] == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "no command to run: the image has no Cmd or Entrypoint, and none was given");
      return NULL;
    }
  if (o->cwd && o->cwd[0] != '/')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "the working directory must be an absolute path, not \"%s\"", o->cwd);
      return NULL;
    }
  if (o->memory_limit < 0 || o->pids_limit < 0 || o->cpus < 0 || isnan (o->cpus) || o->cpus > 1024)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "resource limits must be positive (memory in bytes, cpus up to 1024, pids)");
      return NULL;
    }
  if (o->memory_limit > 0 && o->memory_limit < 6 * 1024 * 1024)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "a memory limit of %" G_GINT64_FORMAT
                   " bytes is too small: the minimum is 6 MiB",
                   o->memory_limit);
      return NULL;
    }
  if (o->status_dir && o->init_path == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "a status directory needs berth-init (init_path)");
      return NULL;
    }
  if ((o->init_path && o->init_path[0] != '/') || (o->status_dir && o->status_dir[0] != '/'))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "the paths of berth-init and of its status directory must be absolute");
      return NULL;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ociVersion");
  json_builder_add_string_value (b, "1.0.2");

  add_process (b, o);

  json_builder_set_member_name (b, "root");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, o->rootfs ? o->rootfs : "rootfs");
  json_builder_set_member_name (b, "readonly");
  json_builder_add_boolean_value (b, o->readonly_rootfs);
  json_builder_end_object (b);

  if (o->hostname)
    {
      json_builder_set_member_name (b, "hostname");
      json_builder_add_string_value (b, o->hostname);
    }
  add_mounts (b, o);
  add_linux (b, o);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
berth_oci_spec_write (JsonNode *spec, const char *bundle_dir, GError **error)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree char *path = g_build_filename (bundle_dir, "config.json", NULL);
  g_autofree char *tmp = g_build_filename (bundle_dir, ".config.json.tmp", NULL);
  g_autofree char *data = NULL;
  berth_autofd int fd = -1;
  gsize len, done = 0;

  json_generator_set_root (gen, spec);
  json_generator_set_pretty (gen, TRUE);
  data = json_generator_to_data (gen, &len);

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot write %s", tmp);
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          unlink (tmp);
          return berth_error_set_errno (error, errsv, "cannot write %s", tmp);
        }
      done += n;
    }
  if (fsync (fd) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return berth_error_set_errno (error, errsv, "cannot write %s", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int errsv = errno;
      unlink (tmp);
      return berth_error_set_errno (error, errsv, "cannot rename %s to %s", tmp, path);
    }
  return TRUE;
}

gboolean
berth_oci_spec_read_exit_status (const char *status_dir, int *exit_code, gint64 *finished_at,
                                 GError **error)
{
  g_autofree char *path = g_build_filename (status_dir, BERTH_OCI_EXIT_STATUS_FILE, NULL);
  g_autofree char *data = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  if (!g_file_get_contents (path, &data, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s does not exist yet", path);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", local_error->message);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, data, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s is not the JSON berth-init writes",
                   path);
      return FALSE;
    }
  obj = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (obj, "exitCode"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "%s has no exitCode", path);
      return FALSE;
    }
  *exit_code = (int)json_object_get_int_member (obj, "exitCode");
  if (finished_at)
    *finished_at = json_object_get_int_member_with_default (obj, "finishedAt", 0);
  return TRUE;
}
