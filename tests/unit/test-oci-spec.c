/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>

#include "berth-error.h"
#include "berth-oci-spec.h"

static const char *const test_args[] = { "/bin/sh", "-c", "echo hi", NULL };

static JsonObject *
object_at (JsonObject *obj, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);

  for (guint i = 0; parts[i] && obj; i++)
    {
      JsonNode *node = json_object_get_member (obj, parts[i]);
      obj = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return obj;
}

static gboolean
array_has_string (JsonArray *array, const char *value)
{
  for (guint i = 0; array && i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static JsonNode *
new_spec (const BerthOciSpecOptions *o)
{
  g_autoptr (GError) error = NULL;
  JsonNode *spec = berth_oci_spec_new (o, &error);

  g_assert_no_error (error);
  g_assert_nonnull (spec);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (spec));
  return spec;
}

/* The kernel's capability numbers of Docker's 14. */
static int
capability_number (const char *name)
{
  static const struct
  {
    const char *name;
    int number;
  } caps[] = {
    { "CAP_CHOWN", 0 },        { "CAP_DAC_OVERRIDE", 1 }, { "CAP_FOWNER", 3 },
    { "CAP_FSETID", 4 },       { "CAP_KILL", 5 },         { "CAP_SETGID", 6 },
    { "CAP_SETUID", 7 },       { "CAP_SETPCAP", 8 },      { "CAP_NET_BIND_SERVICE", 10 },
    { "CAP_NET_RAW", 13 },     { "CAP_SYS_CHROOT", 18 },  { "CAP_MKNOD", 27 },
    { "CAP_AUDIT_WRITE", 29 }, { "CAP_SETFCAP", 31 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (caps); i++)
    if (g_str_equal (name, caps[i].name))
      return caps[i].number;
  return -1;
}

static void
test_defaults (void)
{
  BerthOciSpecOptions o = { 0 };
  g_autoptr (JsonNode) spec = NULL;
  JsonObject *root, *process, *caps, *user;
  JsonArray *args, *env;
  const char *const *names = berth_oci_spec_default_capabilities ();
  const char *sets[] = { "bounding", "effective", "permitted" };
  guint64 mask = 0;

  o.args = test_args;
  spec = new_spec (&o);
  root = json_node_get_object (spec);
  g_assert_cmpstr (json_object_get_string_member (root, "ociVersion"), ==, "1.0.2");
  g_assert_cmpstr (json_object_get_string_member (object_at (root, "root"), "path"), ==, "rootfs");
  g_assert_false (json_object_get_boolean_member (object_at (root, "root"), "readonly"));
  g_assert_false (json_object_has_member (root, "hostname"));

  process = object_at (root, "process");
  g_assert_true (json_object_get_boolean_member (process, "noNewPrivileges"));
  g_assert_false (json_object_get_boolean_member (process, "terminal"));
  g_assert_cmpstr (json_object_get_string_member (process, "cwd"), ==, "/");
  args = json_object_get_array_member (process, "args");
  g_assert_cmpuint (json_array_get_length (args), ==, 3);
  g_assert_cmpstr (json_array_get_string_element (args, 2), ==, "echo hi");
  env = json_object_get_array_member (process, "env");
  g_assert_cmpstr (json_array_get_string_element (env, 0), ==,
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  user = object_at (process, "user");
  g_assert_cmpint (json_object_get_int_member (user, "uid"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (user, "gid"), ==, 0);

  /* Docker's 14, which make CapEff 00000000a80425fb */
  for (guint i = 0; names[i]; i++)
    {
      g_assert_cmpint (capability_number (names[i]), >=, 0);
      mask |= G_GUINT64_CONSTANT (1) << capability_number (names[i]);
    }
  g_assert_cmpuint (g_strv_length ((char **)names), ==, 14);
  g_assert_cmphex (mask, ==, BERTH_OCI_DEFAULT_CAPABILITY_MASK);
  g_assert_cmphex (mask, ==, 0xa80425fb);
  caps = object_at (process, "capabilities");
  for (gsize s = 0; s < G_N_ELEMENTS (sets); s++)
    {
      JsonArray *set = json_object_get_array_member (caps, sets[s]);
      g_assert_cmpuint (json_array_get_length (set), ==, 14);
      for (guint i = 0; names[i]; i++)
        g_assert_true (array_has_string (set, names[i]));
    }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (caps, "inheritable")), ==,
                    0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (caps, "ambient")), ==, 0);
}

static void
test_rlimits_capped (void)
{
  BerthOciSpecOptions o = { 0 };
  g_autoptr (JsonNode) spec = NULL;
  JsonArray *rlimits;
  struct rlimit nofile;
  gboolean found = FALSE;

  o.args = test_args;
  spec = new_spec (&o);
  rlimits
    = json_object_get_array_member (object_at (json_node_get_object (spec), "process"), "rlimits");
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &nofile), ==, 0);
  for (guint i = 0; i < json_array_get_length (rlimits); i++)
    {
      JsonObject *r = json_array_get_object_element (rlimits, i);
      gint64 hard = json_object_get_int_member (r, "hard");
      gint64 soft = json_object_get_int_member (r, "soft");

      g_assert_cmpint (soft, <=, hard);
      if (g_str_equal (json_object_get_string_member (r, "type"), "RLIMIT_NOFILE"))
        {
          found = TRUE;
          /* never above what the caller may have: no CAP_SYS_RESOURCE needed */
          if (nofile.rlim_max != RLIM_INFINITY)
            g_assert_cmpint (hard, <=, (gint64)nofile.rlim_max);
          g_assert_cmpint (hard, <=, 1048576);
          g_assert_cmpint (hard, >, 0);
        }
    }
  g_assert_true (found);
}

static void
test_linux (void)
{
  BerthOciSpecOptions o = { 0 };
  g_autoptr (JsonNode) spec = NULL;
  JsonObject *linux_obj;
  JsonArray *namespaces, *masked, *readonly, *mounts, *devices;
  const char *want_ns[] = { "pid", "ipc", "uts", "mount", "cgroup", "network" };
  const char *want_mounts[] = { "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys" };

  o.args = test_args;
  spec = new_spec (&o);
  linux_obj = object_at (json_node_get_object (spec), "linux");
  namespaces = json_object_get_array_member (linux_obj, "namespaces");
  g_assert_cmpuint (json_array_get_length (namespaces), ==, G_N_ELEMENTS (want_ns));
  for (gsize i = 0; i < G_N_ELEMENTS (want_ns); i++)
    {
      JsonObject *ns = json_array_get_object_element (namespaces, i);
      g_assert_cmpstr (json_object_get_string_member (ns, "type"), ==, want_ns[i]);
      g_assert_false (json_object_has_member (ns, "path"));
    }

  masked = json_object_get_array_member (linux_obj, "maskedPaths");
  g_assert_true (array_has_string (masked, "/proc/kcore"));
  g_assert_true (array_has_string (masked, "/proc/keys"));
  g_assert_true (array_has_string (masked, "/proc/timer_list"));
  g_assert_true (array_has_string (masked, "/sys/firmware"));
  readonly = json_object_get_array_member (linux_obj, "readonlyPaths");
  g_assert_true (array_has_string (readonly, "/proc/sys"));
  g_assert_true (array_has_string (readonly, "/proc/sysrq-trigger"));
  g_assert_true (array_has_string (readonly, "/proc/irq"));

  mounts = json_object_get_array_member (json_node_get_object (spec), "mounts");
  for (gsize i = 0; i < G_N_ELEMENTS (want_mounts); i++)
    {
      JsonObject *m = json_array_get_object_element (mounts, i);
      g_assert_cmpstr (json_object_get_string_member (m, "destination"), ==, want_mounts[i]);
    }
  /* sysfs read-only */
  g_assert_true (array_has_string (
    json_object_get_array_member (json_array_get_object_element (mounts, 5), "options"), "ro"));

  /* devices: deny everything first */
  devices = json_object_get_array_member (object_at (linux_obj, "resources"), "devices");
  g_assert_false (
    json_object_get_boolean_member (json_array_get_object_element (devices, 0), "allow"));
  g_assert_cmpstr (
    json_object_get_string_member (json_array_get_object_element (devices, 0), "access"), ==,
    "rwm");
  g_assert_false (json_object_has_member (object_at (linux_obj, "resources"), "memory"));
  g_assert_false (json_object_has_member (linux_obj, "cgroupsPath"));
}

static void
test_seccomp (void)
{
  g_autoptr (JsonNode) seccomp = berth_oci_spec_default_seccomp ();
  JsonObject *obj = json_node_get_object (seccomp);
  JsonArray *syscalls = json_object_get_array_member (obj, "syscalls");
  const char *denied[] = { "keyctl",
                           "add_key",
                           "request_key",
                           "kexec_load",
                           "kexec_file_load",
                           "init_module",
                           "finit_module",
                           "delete_module",
                           "mount",
                           "umount2",
                           "pivot_root",
                           "unshare",
                           "setns",
                           "bpf",
                           "perf_event_open",
                           "userfaultfd",
                           "open_by_handle_at",
                           "reboot",
                           "swapon",
                           "swapoff",
                           "acct",
                           "settimeofday",
                           "clock_settime",
                           "ptrace_nonexistent" };
  const char *allowed[] = { "read",  "write",        "execve", "exit_group", "openat",
                            "futex", "rt_sigaction", "wait4",  "socket",     "chroot" };
  gboolean clone_filtered = FALSE;

  g_assert_cmpstr (json_object_get_string_member (obj, "defaultAction"), ==, "SCMP_ACT_ERRNO");
  g_assert_cmpint (json_object_get_int_member (obj, "defaultErrnoRet"), ==, EPERM);
#if defined(__x86_64__)
  g_assert_true (
    array_has_string (json_object_get_array_member (obj, "architectures"), "SCMP_ARCH_X86_64"));
#endif

  for (gsize d = 0; d < G_N_ELEMENTS (denied); d++)
    for (guint i = 0; i < json_array_get_length (syscalls); i++)
      {
        JsonObject *rule = json_array_get_object_element (syscalls, i);
        if (array_has_string (json_object_get_array_member (rule, "names"), denied[d]))
          g_error ("%s must fall to the default action (EPERM), but a rule lists it", denied[d]);
      }

  for (gsize a = 0; a < G_N_ELEMENTS (allowed); a++)
    {
      gboolean found = FALSE;
      for (guint i = 0; i < json_array_get_length (syscalls); i++)
        {
          JsonObject *rule = json_array_get_object_element (syscalls, i);
          if (array_has_string (json_object_get_array_member (rule, "names"), allowed[a])
              && g_str_equal (json_object_get_string_member (rule, "action"), "SCMP_ACT_ALLOW")
              && !json_object_has_member (rule, "args"))
            found = TRUE;
        }
      g_assert_true (found);
    }

  /* clone only without namespace flags; clone3 gets ENOSYS */
  for (guint i = 0; i < json_array_get_length (syscalls); i++)
    {
      JsonObject *rule = json_array_get_object_element (syscalls, i);
      JsonArray *names = json_object_get_array_member (rule, "names");

      if (array_has_string (names, "clone"))
        {
          JsonObject *arg
            = json_array_get_object_element (json_object_get_array_member (rule, "args"), 0);
          g_assert_cmpstr (json_object_get_string_member (arg, "op"), ==, "SCMP_CMP_MASKED_EQ");
          g_assert_cmpint (json_object_get_int_member (arg, "value"), ==, 0x7E020000);
          g_assert_cmpint (json_object_get_int_member (arg, "valueTwo"), ==, 0);
          clone_filtered = TRUE;
        }
      if (array_has_string (names, "clone3"))
        {
          g_assert_cmpstr (json_object_get_string_member (rule, "action"), ==, "SCMP_ACT_ERRNO");
          g_assert_cmpint (json_object_get_int_member (rule, "errnoRet"), ==, ENOSYS);
        }
    }
  g_assert_true (clone_filtered);
}

static void
test_options (void)
{
  BerthOciSpecOptions o = { 0 };
  g_autoptr (JsonNode) spec = NULL;
  static const char *const env[] = { "FOO=bar", "PATH=/bin", NULL };
  static const guint32 gids[] = { 10, 20 };
  JsonObject *root, *process, *resources;
  JsonArray *args, *mounts, *namespaces;
  gboolean init_mount = FALSE, status_mount = FALSE;

  o.args = test_args;
  o.env = env;
  o.cwd = "/srv";
  o.uid = 1000;
  o.gid = 1001;
  o.additional_gids = gids;
  o.n_additional_gids = 2;
  o.terminal = TRUE;
  o.hostname = "web";
  o.rootfs = "/var/lib/berth/overlay/x/merged";
  o.readonly_rootfs = TRUE;
  o.host_network = TRUE;
  o.cgroups_path = "machine.slice:berth:abc";
  o.memory_limit = 64 * 1024 * 1024;
  o.cpus = 1.5;
  o.pids_limit = 100;
  o.init_path = "/usr/libexec/berth-init";
  o.status_dir = "/run/berth/containers/abc/status";
  spec = new_spec (&o);
  root = json_node_get_object (spec);

  g_assert_cmpstr (json_object_get_string_member (root, "hostname"), ==, "web");
  g_assert_cmpstr (json_object_get_string_member (object_at (root, "root"), "path"), ==, o.rootfs);
  g_assert_true (json_object_get_boolean_member (object_at (root, "root"), "readonly"));
  process = object_at (root, "process");
  g_assert_true (json_object_get_boolean_member (process, "terminal"));
  g_assert_cmpstr (json_object_get_string_member (process, "cwd"), ==, "/srv");
  g_assert_cmpint (json_object_get_int_member (object_at (process, "user"), "uid"), ==, 1000);
  g_assert_cmpint (json_object_get_int_member (object_at (process, "user"), "gid"), ==, 1001);
  g_assert_cmpuint (json_array_get_length (
                      json_object_get_array_member (object_at (process, "user"), "additionalGids")),
                    ==, 2);
  /* the caller's PATH wins; TERM and HOSTNAME are added */
  g_assert_true (array_has_string (json_object_get_array_member (process, "env"), "PATH=/bin"));
  g_assert_false (
    array_has_string (json_object_get_array_member (process, "env"),
                      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  g_assert_true (array_has_string (json_object_get_array_member (process, "env"), "TERM=xterm"));
  g_assert_true (array_has_string (json_object_get_array_member (process, "env"), "HOSTNAME=web"));
  g_assert_true (array_has_string (json_object_get_array_member (process, "env"), "FOO=bar"));

  /* berth-init runs the command */
  args = json_object_get_array_member (process, "args");
  g_assert_cmpstr (json_array_get_string_element (args, 0), ==, BERTH_OCI_INIT_PATH);
  g_assert_cmpstr (json_array_get_string_element (args, 1), ==, "--status-dir");
  g_assert_cmpstr (json_array_get_string_element (args, 2), ==, BERTH_OCI_STATUS_DIR);
  g_assert_cmpstr (json_array_get_string_element (args, 3), ==, "--");
  g_assert_cmpstr (json_array_get_string_element (args, 4), ==, "/bin/sh");
  mounts = json_object_get_array_member (root, "mounts");
  for (guint i = 0; i < json_array_get_length (mounts); i++)
    {
      JsonObject *m = json_array_get_object_element (mounts, i);
      const char *dest = json_object_get_string_member (m, "destination");
      JsonArray *opts = json_object_get_array_member (m, "options");

      if (g_str_equal (dest, BERTH_OCI_INIT_PATH))
        {
          init_mount = TRUE;
          g_assert_cmpstr (json_object_get_string_member (m, "source"), ==, o.init_path);
          g_assert_true (array_has_string (opts, "ro"));
        }
      if (g_str_equal (dest, BERTH_OCI_STATUS_DIR))
        {
          status_mount = TRUE;
          g_assert_cmpstr (json_object_get_string_member (m, "source"), ==, o.status_dir);
          g_assert_true (array_has_string (opts, "rw"));
        }
    }
  g_assert_true (init_mount);
  g_assert_true (status_mount);

  namespaces = json_object_get_array_member (object_at (root, "linux"), "namespaces");
  for (guint i = 0; i < json_array_get_length (namespaces); i++)
    g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (namespaces, i), "type"), !=,
      "network");
  g_assert_cmpstr (json_object_get_string_member (object_at (root, "linux"), "cgroupsPath"), ==,
                   "machine.slice:berth:abc");
  resources = object_at (root, "linux.resources");
  g_assert_cmpint (json_object_get_int_member (object_at (resources, "memory"), "limit"), ==,
                   64 * 1024 * 1024);
  g_assert_cmpint (json_object_get_int_member (object_at (resources, "cpu"), "quota"), ==, 150000);
  g_assert_cmpint (json_object_get_int_member (object_at (resources, "cpu"), "period"), ==, 100000);
  g_assert_cmpint (json_object_get_int_member (object_at (resources, "pids"), "limit"), ==, 100);
}

static void
expect_invalid (const BerthOciSpecOptions *o, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) spec = berth_oci_spec_new (o, &error);

  g_assert_null (spec);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_invalid (void)
{
  static const char *const empty[] = { NULL };
  BerthOciSpecOptions o = { 0 };

  expect_invalid (&o, "no command");
  o.args = empty;
  expect_invalid (&o, "no command");
  o.args = test_args;
  o.cwd = "srv";
  expect_invalid (&o, "absolute path");
  o.cwd = NULL;
  o.memory_limit = -1;
  expect_invalid (&o, "must be positive");
  o.memory_limit = 1024;
  expect_invalid (&o, "too small");
  o.memory_limit = 0;
  o.cpus = -0.5;
  expect_invalid (&o, "must be positive");
  o.cpus = 0;
  o.status_dir = "/run/x";
  expect_invalid (&o, "needs berth-init");
  o.init_path = "berth-init";
  expect_invalid (&o, "must be absolute");
}

static void
test_write (void)
{
  g_autofree char *dir = g_dir_make_tmp ("berth-test-oci-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonNode) spec = NULL;
  g_autoptr (GDir) d = NULL;
  BerthOciSpecOptions o = { 0 };
  guint n = 0;

  o.args = test_args;
  spec = new_spec (&o);
  g_assert_true (berth_oci_spec_write (spec, dir, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (
                     json_node_get_object (json_parser_get_root (parser)), "ociVersion"),
                   ==, "1.0.2");
  /* nothing but config.json: the temporary file was renamed */
  d = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (d))
    n++;
  g_assert_cmpuint (n, ==, 1);

  g_assert_false (berth_oci_spec_write (spec, "/nonexistent/berth", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent/berth"));

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_exit_status (void)
{
  g_autofree char *dir = g_dir_make_tmp ("berth-test-exit-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, BERTH_OCI_EXIT_STATUS_FILE, NULL);
  g_autoptr (GError) error = NULL;
  int code = -1;
  gint64 finished = 0;

  g_assert_false (berth_oci_spec_read_exit_status (dir, &code, &finished, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* what berth-init writes */
  g_assert_true (g_file_set_contents (
    path, "{\"exitCode\":137,\"signal\":9,\"finishedAt\":1700000000123456}\n", -1, NULL));
  g_assert_true (berth_oci_spec_read_exit_status (dir, &code, &finished, &error));
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 137);
  g_assert_cmpint (finished, ==, G_GINT64_CONSTANT (1700000000123456));

  g_assert_true (g_file_set_contents (path, "garbage", -1, NULL));
  g_assert_false (berth_oci_spec_read_exit_status (dir, &code, NULL, &error));
  g_assert_nonnull (strstr (error->message, "not the JSON berth-init writes"));

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oci-spec/defaults", test_defaults);
  g_test_add_func ("/oci-spec/rlimits-capped", test_rlimits_capped);
  g_test_add_func ("/oci-spec/linux", test_linux);
  g_test_add_func ("/oci-spec/seccomp", test_seccomp);
  g_test_add_func ("/oci-spec/options", test_options);
  g_test_add_func ("/oci-spec/invalid", test_invalid);
  g_test_add_func ("/oci-spec/write", test_write);
  g_test_add_func ("/oci-spec/exit-status", test_exit_status);
  return g_test_run ();
}
