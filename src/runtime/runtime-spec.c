/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "runtime-spec.h"
#include "runtime.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

static const char *const capability_names[] = {
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
};

int
rt_capability_from_name (const char *name)
{
  if (g_ascii_strncasecmp (name, "CAP_", 4) == 0)
    name += 4;
  for (gsize i = 0; i < G_N_ELEMENTS (capability_names); i++)
    if (g_ascii_strcasecmp (name, capability_names[i]) == 0)
      return (int)i;
  return -1;
}

int
rt_capability_last (void)
{
  g_autofree char *text = NULL;
  guint64 last;

  if (g_file_get_contents ("/proc/sys/kernel/cap_last_cap", &text, NULL, NULL)
      && g_ascii_string_to_unsigned (g_strstrip (text), 10, 0, 63, &last, NULL))
    return (int)last;
  return (int)G_N_ELEMENTS (capability_names) - 1;
}

void
rt_spec_free (RtSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->bundle);
  g_free (spec->rootfs);
  g_free (spec->hostname);
  g_strfreev (spec->annotations);
  g_strfreev (spec->args);
  g_strfreev (spec->env);
  g_free (spec->cwd);
  g_free (spec->additional_gids);
  g_free (spec->rlimits);
  for (gsize i = 0; i < spec->n_namespaces; i++)
    g_free (spec->namespaces[i].path);
  g_free (spec->namespaces);
  for (gsize i = 0; i < spec->n_mounts; i++)
    {
      g_free (spec->mounts[i].destination);
      g_free (spec->mounts[i].type);
      g_free (spec->mounts[i].source);
      g_free (spec->mounts[i].data);
    }
  g_free (spec->mounts);
  for (gsize i = 0; i < spec->n_devices; i++)
    g_free (spec->devices[i].path);
  g_free (spec->devices);
  g_strfreev (spec->masked_paths);
  g_strfreev (spec->readonly_paths);
  g_strfreev (spec->sysctl);
  g_free (spec->cgroups_path);
  if (spec->seccomp)
    json_node_unref (spec->seccomp);
  g_free (spec->device_rules);
  g_free (spec);
}

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "config.json: %s", message);
  return FALSE;
}

static JsonObject *
get_object (JsonObject *parent, const char *name)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
get_array (JsonObject *parent, const char *name)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static const char *
get_string (JsonObject *parent, const char *name)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;

  return node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
           ? json_node_get_string (node)
           : NULL;
}

static gboolean
get_int (JsonObject *parent, const char *name, gint64 *out)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
get_bool (JsonObject *parent, const char *name)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;

  return node && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN
         && json_node_get_boolean (node);
}

/* An array of strings; NULL (and no error) when absent. */
static gboolean
get_strv (JsonObject *parent, const char *name, const char *where, char ***out, GError **error)
{
  JsonNode *node = parent ? json_object_get_member (parent, name) : NULL;
  JsonArray *array;
  guint n;
  g_auto (GStrv) strv = NULL;

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (error, "%s.%s must be an array of strings", where, name);
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  strv = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        return invalid (error, "%s.%s[%u] must be a string", where, name, i);
      strv[i] = g_strdup (json_node_get_string (e));
    }
  *out = g_steal_pointer (&strv);
  return TRUE;
}

static const struct
{
  const char *name;
  gboolean clear;
  unsigned long flag;
} mount_flags[] = {
  { "ro", FALSE, MS_RDONLY },
  { "rw", TRUE, MS_RDONLY },
  { "nosuid", FALSE, MS_NOSUID },
  { "suid", TRUE, MS_NOSUID },
  { "nodev", FALSE, MS_NODEV },
  { "dev", TRUE, MS_NODEV },
  { "noexec", FALSE, MS_NOEXEC },
  { "exec", TRUE, MS_NOEXEC },
  { "sync", FALSE, MS_SYNCHRONOUS },
  { "async", TRUE, MS_SYNCHRONOUS },
  { "dirsync", FALSE, MS_DIRSYNC },
  { "remount", FALSE, MS_REMOUNT },
  { "mand", FALSE, MS_MANDLOCK },
  { "nomand", TRUE, MS_MANDLOCK },
  { "atime", TRUE, MS_NOATIME },
  { "noatime", FALSE, MS_NOATIME },
  { "diratime", TRUE, MS_NODIRATIME },
  { "nodiratime", FALSE, MS_NODIRATIME },
  { "relatime", FALSE, MS_RELATIME },
  { "norelatime", TRUE, MS_RELATIME },
  { "strictatime", FALSE, MS_STRICTATIME },
  { "nostrictatime", TRUE, MS_STRICTATIME },
};

static const struct
{
  const char *name;
  unsigned long flag;
} propagation_flags[] = {
  { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static unsigned long
propagation_from_name (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (propagation_flags); i++)
    if (g_str_equal (name, propagation_flags[i].name))
      return propagation_flags[i].flag;
  return 0;
}

static gboolean
parse_mount (JsonObject *obj, guint index, RtMount *mount, GError **error)
{
  const char *destination = get_string (obj, "destination");
  g_auto (GStrv) options = NULL;
  g_autoptr (GString) data = g_string_new (NULL);
  g_autofree char *where = g_strdup_printf ("mounts[%u]", index);

  if (destination == NULL || destination[0] != '/')
    return invalid (error, "%s.destination must be an absolute path", where);
  if (!get_strv (obj, "options", where, &options, error))
    return FALSE;
  mount->destination = g_strdup (destination);
  mount->type = g_strdup (get_string (obj, "type") ? get_string (obj, "type") : "none");
  mount->source = g_strdup (get_string (obj, "source") ? get_string (obj, "source") : "none");
  mount->bind = g_str_equal (mount->type, "bind");

  for (guint i = 0; options && options[i]; i++)
    {
      const char *o = options[i];
      gboolean known = FALSE;

      if (g_str_equal (o, "bind") || g_str_equal (o, "rbind"))
        {
          mount->bind = TRUE;
          if (o[0] == 'r')
            mount->flags |= MS_REC;
          continue;
        }
      if (propagation_from_name (o) != 0)
        {
          mount->propagation = propagation_from_name (o);
          continue;
        }
      for (gsize f = 0; f < G_N_ELEMENTS (mount_flags); f++)
        if (g_str_equal (o, mount_flags[f].name))
          {
            if (mount_flags[f].clear)
              mount->flags &= ~mount_flags[f].flag;
            else
              mount->flags |= mount_flags[f].flag;
            known = TRUE;
            break;
          }
      if (known || g_str_equal (o, "tmpcopyup") || g_str_equal (o, "defaults"))
        continue;
      if (data->len)
        g_string_append_c (data, ',');
      g_string_append (data, o);
    }
  mount->data = data->len ? g_strdup (data->str) : NULL;
  return TRUE;
}

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

static gboolean
parse_process (JsonObject *process, RtSpec *spec, GError **error)
{
  JsonObject *user = get_object (process, "user");
  JsonObject *caps = get_object (process, "capabilities");
  JsonObject *console = get_object (process, "consoleSize");
  JsonArray *gids = get_array (user, "additionalGids");
  JsonArray *rlimits = get_array (process, "rlimits");
  gint64 v;
  static const char *const cap_sets[RT_CAP_N_SETS]
    = { "bounding", "effective", "inheritable", "permitted", "ambient" };

  if (process == NULL)
    return invalid (error, "process is missing");
  if (!get_strv (process, "args", "process", &spec->args, error))
    return FALSE;
  if (spec->args == NULL || spec->args[0] == NULL || spec->args[0][0] == '\0')
    return invalid (error, "process.args must name the program to run");
  if (!get_strv (process, "env", "process", &spec->env, error))
    return FALSE;
  if (spec->env == NULL)
    spec->env = g_new0 (char *, 1);
  spec->cwd = g_strdup (get_string (process, "cwd") ? get_string (process, "cwd") : "/");
  if (spec->cwd[0] != '/')
    return invalid (error, "process.cwd must be an absolute path, not \"%s\"", spec->cwd);
  spec->terminal = get_bool (process, "terminal");
  if (get_int (console, "height", &v))
    spec->console_rows = (guint)v;
  if (get_int (console, "width", &v))
    spec->console_cols = (guint)v;
  spec->no_new_privileges = get_bool (process, "noNewPrivileges");
  if (get_int (process, "oomScoreAdj", &v))
    {
      spec->has_oom_score_adj = TRUE;
      spec->oom_score_adj = (int)v;
    }

  if (get_int (user, "uid", &v))
    spec->uid = (uid_t)v;
  if (get_int (user, "gid", &v))
    spec->gid = (gid_t)v;
  spec->umask = get_int (user, "umask", &v) ? v : -1;
  if (gids)
    {
      spec->n_additional_gids = json_array_get_length (gids);
      spec->additional_gids = g_new0 (gid_t, spec->n_additional_gids + 1);
      for (guint i = 0; i < spec->n_additional_gids; i++)
        spec->additional_gids[i] = (gid_t)json_array_get_int_element (gids, i);
    }

  spec->caps_given = caps != NULL;
  for (int set = 0; caps && set < RT_CAP_N_SETS; set++)
    {
      g_auto (GStrv) names = NULL;

      if (!get_strv (caps, cap_sets[set], "process.capabilities", &names, error))
        return FALSE;
      for (guint i = 0; names && names[i]; i++)
        {
          int cap = rt_capability_from_name (names[i]);
          if (cap < 0)
            return invalid (error, "unknown capability \"%s\" in process.capabilities.%s", names[i],
                            cap_sets[set]);
          spec->caps[set] |= G_GUINT64_CONSTANT (1) << cap;
        }
    }

  if (rlimits)
    {
      spec->n_rlimits = json_array_get_length (rlimits);
      spec->rlimits = g_new0 (RtRlimit, spec->n_rlimits);
      for (guint i = 0; i < spec->n_rlimits; i++)
        {
          JsonNode *e = json_array_get_element (rlimits, i);
          JsonObject *r = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          const char *type = get_string (r, "type");
          gint64 soft = 0, hard = 0;
          gboolean found = FALSE;

          if (type == NULL || !get_int (r, "soft", &soft) || !get_int (r, "hard", &hard))
            return invalid (error, "process.rlimits[%u] needs type, soft and hard", i);
          for (gsize k = 0; k < G_N_ELEMENTS (rlimit_names); k++)
            if (g_str_equal (type, rlimit_names[k].name))
              {
                spec->rlimits[i].resource = rlimit_names[k].resource;
                found = TRUE;
              }
          if (!found)
            return invalid (error, "unknown rlimit \"%s\" in process.rlimits[%u]", type, i);
          /* JSON has no unsigned 64-bit integers: -1 and 2^64-1 alike mean unlimited. */
          spec->rlimits[i].soft = soft < 0 ? RLIM_INFINITY : (guint64)soft;
          spec->rlimits[i].hard = hard < 0 ? RLIM_INFINITY : (guint64)hard;
          if (spec->rlimits[i].soft > spec->rlimits[i].hard)
            return invalid (error, "process.rlimits %s: soft limit above the hard limit", type);
        }
    }
  return TRUE;
}

static const struct
{
  const char *name;
  int flag;
} namespace_types[] = {
  { "mount", CLONE_NEWNS },    { "pid", CLONE_NEWPID },
  { "uts", CLONE_NEWUTS },     { "ipc", CLONE_NEWIPC },
  { "network", CLONE_NEWNET }, { "cgroup", CLONE_NEWCGROUP },
  { "user", CLONE_NEWUSER },   { "time", 0x00000080 /* CLONE_NEWTIME */ },
};

static gboolean
parse_resources (JsonObject *resources, RtSpec *spec, GError **error)
{
  JsonObject *memory = get_object (resources, "memory");
  JsonObject *cpu = get_object (resources, "cpu");
  JsonObject *pids = get_object (resources, "pids");
  JsonArray *devices = get_array (resources, "devices");
  gint64 v;

  spec->memory_limit = get_int (memory, "limit", &v) ? v : -1;
  spec->memory_reservation = get_int (memory, "reservation", &v) ? v : -1;
  spec->memory_swap = get_int (memory, "swap", &v) ? v : -1;
  spec->cpu_shares = get_int (cpu, "shares", &v) && v > 0 ? (guint64)v : 0;
  spec->cpu_quota = get_int (cpu, "quota", &v) ? v : -1;
  spec->cpu_period = get_int (cpu, "period", &v) && v > 0 ? (guint64)v : 0;
  spec->pids_limit = get_int (pids, "limit", &v) ? (v <= 0 ? -1 : v) : 0;

  if (devices)
    {
      spec->n_device_rules = json_array_get_length (devices);
      spec->device_rules = g_new0 (RtDeviceRule, spec->n_device_rules);
      for (guint i = 0; i < spec->n_device_rules; i++)
        {
          JsonNode *e = json_array_get_element (devices, i);
          JsonObject *d = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          RtDeviceRule *rule = &spec->device_rules[i];
          const char *type = get_string (d, "type");
          const char *access = get_string (d, "access");

          if (d == NULL)
            return invalid (error, "linux.resources.devices[%u] must be an object", i);
          rule->allow = get_bool (d, "allow");
          rule->type = type && (type[0] == 'c' || type[0] == 'b') ? type[0] : 'a';
          rule->major = get_int (d, "major", &v) ? v : -1;
          rule->minor = get_int (d, "minor", &v) ? v : -1;
          if (access == NULL)
            access = "rwm";
          if (strlen (access) > 3 || strspn (access, "rwm") != strlen (access))
            return invalid (
              error, "linux.resources.devices[%u].access \"%s\" is not a subset of rwm", i, access);
          g_strlcpy (rule->access, *access ? access : "rwm", sizeof rule->access);
        }
    }
  return TRUE;
}

static gboolean
parse_linux (JsonObject *linux_obj, RtSpec *spec, GError **error)
{
  JsonArray *namespaces = get_array (linux_obj, "namespaces");
  JsonArray *devices = get_array (linux_obj, "devices");
  JsonObject *sysctl = get_object (linux_obj, "sysctl");
  JsonNode *seccomp = linux_obj ? json_object_get_member (linux_obj, "seccomp") : NULL;
  const char *propagation = get_string (linux_obj, "rootfsPropagation");

  if (linux_obj == NULL)
    return invalid (error, "linux is missing (berth-runtime runs Linux containers)");

  if (namespaces)
    {
      spec->n_namespaces = json_array_get_length (namespaces);
      spec->namespaces = g_new0 (RtNamespace, spec->n_namespaces);
      for (guint i = 0; i < spec->n_namespaces; i++)
        {
          JsonNode *e = json_array_get_element (namespaces, i);
          JsonObject *ns = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          const char *type = get_string (ns, "type");
          const char *path = get_string (ns, "path");
          gboolean found = FALSE;

          for (gsize k = 0; type && k < G_N_ELEMENTS (namespace_types); k++)
            if (g_str_equal (type, namespace_types[k].name))
              {
                spec->namespaces[i].nstype = namespace_types[k].flag;
                found = TRUE;
              }
          if (!found)
            return invalid (error, "unknown namespace type \"%s\" in linux.namespaces",
                            type ? type : "(none)");
          if (spec->namespaces[i].nstype == CLONE_NEWUSER)
            return invalid (error, "user namespaces are not supported by berth-runtime yet");
          if (spec->namespaces[i].nstype == 0x00000080)
            return invalid (error, "time namespaces are not supported by berth-runtime yet");
          if (path && *path)
            spec->namespaces[i].path = g_strdup (path);
          else
            spec->clone_flags |= spec->namespaces[i].nstype;
        }
    }
  if (!(spec->clone_flags & CLONE_NEWNS))
    return invalid (error, "linux.namespaces must include a new mount namespace");

  if (devices)
    {
      spec->n_devices = json_array_get_length (devices);
      spec->devices = g_new0 (RtDevice, spec->n_devices);
      for (guint i = 0; i < spec->n_devices; i++)
        {
          JsonNode *e = json_array_get_element (devices, i);
          JsonObject *d = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
          const char *path = get_string (d, "path");
          const char *type = get_string (d, "type");
          gint64 v;

          if (path == NULL || path[0] != '/' || type == NULL || strchr ("cbup", type[0]) == NULL)
            return invalid (error,
                            "linux.devices[%u] needs an absolute path and a type c, b, u or p", i);
          spec->devices[i].path = g_strdup (path);
          spec->devices[i].type = type[0];
          spec->devices[i].major = get_int (d, "major", &v) ? v : 0;
          spec->devices[i].minor = get_int (d, "minor", &v) ? v : 0;
          spec->devices[i].mode = get_int (d, "fileMode", &v) ? (guint32)v : 0666;
          spec->devices[i].uid = get_int (d, "uid", &v) ? (uid_t)v : 0;
          spec->devices[i].gid = get_int (d, "gid", &v) ? (gid_t)v : 0;
        }
    }

  if (!get_strv (linux_obj, "maskedPaths", "linux", &spec->masked_paths, error)
      || !get_strv (linux_obj, "readonlyPaths", "linux", &spec->readonly_paths, error))
    return FALSE;

  if (propagation && *propagation)
    {
      spec->rootfs_propagation = propagation_from_name (propagation);
      if (spec->rootfs_propagation == 0)
        return invalid (error, "unknown linux.rootfsPropagation \"%s\"", propagation);
    }

  if (sysctl)
    {
      g_autoptr (GList) members = json_object_get_members (sysctl);
      GPtrArray *kv = g_ptr_array_new ();

      for (GList *l = members; l; l = l->next)
        {
          const char *value = get_string (sysctl, l->data);
          if (value == NULL)
            {
              g_ptr_array_free (kv, TRUE);
              return invalid (error, "linux.sysctl.%s must be a string", (char *)l->data);
            }
          g_ptr_array_add (kv, g_strdup_printf ("%s=%s", (char *)l->data, value));
        }
      g_ptr_array_add (kv, NULL);
      spec->sysctl = (char **)g_ptr_array_free (kv, FALSE);
    }

  spec->cgroups_path = g_strdup (get_string (linux_obj, "cgroupsPath"));
  if (seccomp && JSON_NODE_HOLDS_OBJECT (seccomp))
    spec->seccomp = json_node_ref (seccomp);

  if (get_array (linux_obj, "uidMappings") || get_array (linux_obj, "gidMappings"))
    return invalid (error, "linux.uidMappings need a user namespace, which berth-runtime does "
                           "not support yet");
  return parse_resources (get_object (linux_obj, "resources"), spec, error);
}

RtSpec *
rt_spec_load (const char *bundle, GError **error)
{
  g_autoptr (RtSpec) spec = g_new0 (RtSpec, 1);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *path = NULL;
  JsonNode *root_node;
  JsonObject *root, *rootfs, *annotations;
  JsonArray *mounts;
  const char *rootfs_path;

  spec->bundle = g_canonicalize_filename (bundle, NULL);
  path = g_build_filename (spec->bundle, "config.json", NULL);
  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "cannot load %s: %s", path,
                   local_error->message);
      return NULL;
    }
  root_node = json_parser_get_root (parser);
  if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node))
    {
      invalid (error, "the document must be a JSON object");
      return NULL;
    }
  root = json_node_get_object (root_node);

  rootfs = get_object (root, "root");
  rootfs_path = get_string (rootfs, "path");
  if (rootfs_path == NULL || *rootfs_path == '\0')
    {
      invalid (error, "root.path is missing");
      return NULL;
    }
  spec->rootfs = g_canonicalize_filename (rootfs_path, spec->bundle);
  spec->rootfs_readonly = get_bool (rootfs, "readonly");
  if (!g_file_test (spec->rootfs, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "the root file system %s is no directory",
                   spec->rootfs);
      return NULL;
    }
  spec->hostname = g_strdup (get_string (root, "hostname"));

  annotations = get_object (root, "annotations");
  if (annotations)
    {
      g_autoptr (GList) members = json_object_get_members (annotations);
      GPtrArray *kv = g_ptr_array_new ();

      for (GList *l = members; l; l = l->next)
        {
          const char *value = get_string (annotations, l->data);
          g_ptr_array_add (kv, g_strdup_printf ("%s=%s", (char *)l->data, value ? value : ""));
        }
      g_ptr_array_add (kv, NULL);
      spec->annotations = (char **)g_ptr_array_free (kv, FALSE);
    }

  if (!parse_process (get_object (root, "process"), spec, error))
    return NULL;

  mounts = get_array (root, "mounts");
  if (mounts)
    {
      spec->n_mounts = json_array_get_length (mounts);
      spec->mounts = g_new0 (RtMount, spec->n_mounts);
      for (guint i = 0; i < spec->n_mounts; i++)
        {
          JsonNode *e = json_array_get_element (mounts, i);
          if (!JSON_NODE_HOLDS_OBJECT (e))
            {
              invalid (error, "mounts[%u] must be an object", i);
              return NULL;
            }
          if (!parse_mount (json_node_get_object (e), i, &spec->mounts[i], error))
            return NULL;
        }
    }

  if (!parse_linux (get_object (root, "linux"), spec, error))
    return NULL;
  if (spec->hostname && *spec->hostname && !(spec->clone_flags & CLONE_NEWUTS))
    {
      /* Setting it would rename the host. */
      invalid (error, "hostname needs a new uts namespace in linux.namespaces");
      return NULL;
    }
  return g_steal_pointer (&spec);
}

gboolean
rt_spec_load_process (RtSpec *spec, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_mapped_file (parser, path, &local_error))
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "cannot load %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, "%s must hold a JSON object (an OCI process)", path);

  /* Everything parse_process sets starts over from the file. */
  g_clear_pointer (&spec->args, g_strfreev);
  g_clear_pointer (&spec->env, g_strfreev);
  g_clear_pointer (&spec->cwd, g_free);
  g_clear_pointer (&spec->additional_gids, g_free);
  g_clear_pointer (&spec->rlimits, g_free);
  spec->n_additional_gids = spec->n_rlimits = 0;
  spec->uid = spec->gid = 0;
  spec->terminal = spec->no_new_privileges = spec->has_oom_score_adj = FALSE;
  spec->console_rows = spec->console_cols = 0;
  memset (spec->caps, 0, sizeof spec->caps);
  return parse_process (json_node_get_object (root), spec, error);
}
