/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Puts the container's process in its cgroup and applies linux.resources.
 *
 * With systemd as PID 1 and a cgroupsPath "slice:prefix:name", systemd
 * makes a transient scope (runtime-systemd.c). Otherwise berth-runtime
 * writes the tree itself: on a pure v2 host the one hierarchy; on a hybrid
 * host the cgroup2 mount at /sys/fs/cgroup/unified holds the membership
 * and the v1 memory, cpu, pids and devices controllers hold the limits. */
#include "config.h"

#include "runtime-cgroup-setup.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

static gboolean
fs_is (const char *path, long magic)
{
  struct statfs st;

  return statfs (path, &st) == 0 && (long)st.f_type == magic;
}

gboolean
rt_cgroup_parse_systemd_path (const char *path, char **slice, char **unit)
{
  g_auto (GStrv) parts = NULL;

  if (path == NULL || path[0] == '/')
    return FALSE;
  parts = g_strsplit (path, ":", -1);
  if (g_strv_length (parts) != 3 || *parts[2] == '\0')
    return FALSE;
  *slice = g_strdup (*parts[0] ? parts[0] : "system.slice");
  *unit = *parts[1] ? g_strdup_printf ("%s-%s.scope", parts[1], parts[2])
                    : g_strdup_printf ("%s.scope", parts[2]);
  return TRUE;
}

/* "a-b.slice" lives in "a.slice/a-b.slice", as systemd lays slices out. */
static char *
slice_path (const char *slice)
{
  g_autoptr (GString) path = g_string_new (NULL);
  const char *dash;
  g_autofree char *stem = NULL;

  if (g_str_equal (slice, "-.slice") || !g_str_has_suffix (slice, ".slice"))
    return g_strdup ("");
  stem = g_strndup (slice, strlen (slice) - strlen (".slice"));
  for (dash = strchr (stem, '-'); dash; dash = strchr (dash + 1, '-'))
    {
      g_autofree char *prefix = g_strndup (stem, dash - stem);
      g_string_append_printf (path, "%s.slice/", prefix);
    }
  g_string_append (path, slice);
  return g_string_free (g_steal_pointer (&path), FALSE);
}

static gboolean
write_value (const char *dir, const char *file, const char *value, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gssize len = strlen (value);

  if (fd < 0 || write (fd, value, len) != len)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot write \"%s\" to %s: %s", value, path,
                   g_strerror (errsv));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
make_dir (const char *dir, GPtrArray *made, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) < 0)
    {
      int errsv = errno;
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot create the cgroup %s: %s", dir,
                   g_strerror (errsv));
      return FALSE;
    }
  g_ptr_array_add (made, g_strdup (dir));
  return TRUE;
}

static gboolean
join (const char *dir, pid_t pid, GError **error)
{
  char value[32];

  g_snprintf (value, sizeof value, "%d", (int)pid);
  return write_value (dir, "cgroup.procs", value, error);
}

static char *
u64 (guint64 v)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT, v);
}

static char *
i64 (gint64 v)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, v);
}

/* v2 controllers must be enabled in every ancestor's subtree_control. */
static gboolean
enable_v2_controllers (const char *root, const char *relative, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (relative, "/", -1);
  g_autofree char *dir = g_strdup (root);

  for (guint i = 0; parts[i]; i++)
    {
      char *next;

      if (*parts[i] == '\0')
        continue;
      if (!write_value (dir, "cgroup.subtree_control", "+memory +pids +cpu", NULL))
        {
          /* Controllers the kernel lacks: enable what is there, one by one. */
          write_value (dir, "cgroup.subtree_control", "+memory", NULL);
          write_value (dir, "cgroup.subtree_control", "+pids", NULL);
          write_value (dir, "cgroup.subtree_control", "+cpu", NULL);
        }
      next = g_build_filename (dir, parts[i], NULL);
      g_free (dir);
      dir = next;
    }
  (void)error;
  return TRUE;
}

/* The cgroup2 directory with its limits and device program, made before
 * the clone so that clone3 can start the process in it. On a hybrid host
 * @root is the unified mount and the limits go to v1 (setup_v1). */
static gboolean
prepare_v2 (const RtSpec *spec, const char *root, const char *relative, gboolean limits,
            GPtrArray *made, RtState *state, int *cgroup_fd, GError **error)
{
  g_autofree char *dir = g_build_filename (root, relative, NULL);

  if (limits && !enable_v2_controllers (root, relative, error))
    return FALSE;
  if (!make_dir (dir, made, error))
    return FALSE;
  state->cgroup_unified = g_strdup (dir);
  *cgroup_fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*cgroup_fd < 0)
    return rt_set_errno (error, errno, "cannot open the cgroup %s", dir);
  if (spec->n_device_rules > 0 && !rt_devices_bpf_attach (spec, *cgroup_fd, error))
    return FALSE;
  if (!limits)
    return TRUE;
  if (spec->memory_limit >= 0)
    {
      g_autofree char *v = i64 (spec->memory_limit);
      if (!write_value (dir, "memory.max", v, error))
        return FALSE;
      if (spec->memory_swap >= 0)
        {
          g_autofree char *swap = i64 (MAX (spec->memory_swap - spec->memory_limit, 0));
          write_value (dir, "memory.swap.max", swap, NULL);
        }
    }
  if (spec->memory_reservation >= 0)
    {
      g_autofree char *v = i64 (spec->memory_reservation);
      if (!write_value (dir, "memory.low", v, error))
        return FALSE;
    }
  if (spec->cpu_quota >= 0 || spec->cpu_period > 0)
    {
      g_autofree char *v
        = spec->cpu_quota > 0
            ? g_strdup_printf ("%" G_GINT64_FORMAT " %" G_GUINT64_FORMAT, spec->cpu_quota,
                               spec->cpu_period ? spec->cpu_period : 100000)
            : g_strdup_printf ("max %" G_GUINT64_FORMAT,
                               spec->cpu_period ? spec->cpu_period : 100000);
      if (!write_value (dir, "cpu.max", v, error))
        return FALSE;
    }
  if (spec->cpu_shares > 0)
    {
      /* The conversion runc and crun use from shares [2, 262144] to weight [1, 10000]. */
      guint64 weight = 1 + ((MIN (MAX (spec->cpu_shares, 2), 262144) - 2) * 9999) / 262142;
      g_autofree char *v = u64 (weight);
      if (!write_value (dir, "cpu.weight", v, error))
        return FALSE;
    }
  if (spec->pids_limit != 0)
    {
      g_autofree char *v = spec->pids_limit < 0 ? g_strdup ("max") : i64 (spec->pids_limit);
      if (!write_value (dir, "pids.max", v, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
setup_devices_v1 (const RtSpec *spec, const char *dir, GError **error)
{
  for (gsize i = 0; i < spec->n_device_rules; i++)
    {
      const RtDeviceRule *r = &spec->device_rules[i];
      g_autofree char *major = r->major < 0 ? g_strdup ("*") : i64 (r->major);
      g_autofree char *minor = r->minor < 0 ? g_strdup ("*") : i64 (r->minor);
      g_autofree char *rule = r->type == 'a'
                                ? g_strdup ("a")
                                : g_strdup_printf ("%c %s:%s %s", r->type, major, minor, r->access);

      if (!write_value (dir, r->allow ? "devices.allow" : "devices.deny", rule, error))
        return FALSE;
    }
  return TRUE;
}

/* v1 controllers, after the clone (moving the process costs an RCU grace
 * period: only done for the limits asked for). On a hybrid host devices are
 * handled by the unified hierarchy's program (prepare_v2). */
static gboolean
setup_v1 (const RtSpec *spec, const char *relative, pid_t pid, gboolean hybrid, GPtrArray *made,
          RtState *state, GError **error)
{
  struct
  {
    const char *controller;
    gboolean wanted;
  } controllers[] = {
    { "devices", spec->n_device_rules > 0 && !hybrid },
    { "memory", spec->memory_limit >= 0 || spec->memory_reservation >= 0 },
    { "cpu", spec->cpu_quota >= 0 || spec->cpu_shares > 0 || spec->cpu_period > 0 },
    /* Without a unified hierarchy, pids tracks the membership. */
    { "pids", spec->pids_limit != 0 || !hybrid },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (controllers); i++)
    {
      g_autofree char *dir = NULL;
      g_autofree char *mount = g_build_filename (CGROUP_ROOT, controllers[i].controller, NULL);
      const char *c = controllers[i].controller;

      if (!controllers[i].wanted)
        continue;
      if (!fs_is (mount, CGROUP_SUPER_MAGIC))
        {
          if (g_str_equal (c, "devices"))
            {
              /* Device rules are what keeps CAP_MKNOD from reaching the host's disks. */
              g_set_error (error, RT_ERROR, RT_ERROR_FAILED,
                           "linux.resources.devices needs the v1 devices controller, which is "
                           "not mounted at %s",
                           mount);
              return FALSE;
            }
          rt_log_debug ("the %s controller is not mounted: its limits are not applied", c);
          continue;
        }
      dir = g_build_filename (mount, relative, NULL);
      if (!make_dir (dir, made, error))
        return FALSE;

      if (g_str_equal (c, "devices") && !setup_devices_v1 (spec, dir, error))
        return FALSE;
      if (g_str_equal (c, "memory"))
        {
          if (spec->memory_limit >= 0)
            {
              g_autofree char *v = i64 (spec->memory_limit);
              if (!write_value (dir, "memory.limit_in_bytes", v, error))
                return FALSE;
              if (spec->memory_swap >= 0)
                {
                  g_autofree char *s = i64 (spec->memory_swap);
                  /* Absent without swap accounting: then there is nothing to limit. */
                  write_value (dir, "memory.memsw.limit_in_bytes", s, NULL);
                }
            }
          if (spec->memory_reservation >= 0)
            {
              g_autofree char *v = i64 (spec->memory_reservation);
              if (!write_value (dir, "memory.soft_limit_in_bytes", v, error))
                return FALSE;
            }
        }
      if (g_str_equal (c, "cpu"))
        {
          if (spec->cpu_period > 0)
            {
              g_autofree char *v = u64 (spec->cpu_period);
              if (!write_value (dir, "cpu.cfs_period_us", v, error))
                return FALSE;
            }
          if (spec->cpu_quota >= 0)
            {
              g_autofree char *v = i64 (spec->cpu_quota > 0 ? spec->cpu_quota : -1);
              if (!write_value (dir, "cpu.cfs_quota_us", v, error))
                return FALSE;
            }
          if (spec->cpu_shares > 0)
            {
              g_autofree char *v = u64 (spec->cpu_shares);
              if (!write_value (dir, "cpu.shares", v, error))
                return FALSE;
            }
        }
      if (g_str_equal (c, "pids") && spec->pids_limit != 0)
        {
          g_autofree char *v = spec->pids_limit < 0 ? g_strdup ("max") : i64 (spec->pids_limit);
          if (!write_value (dir, "pids.max", v, error))
            return FALSE;
        }
      if (!join (dir, pid, error))
        return FALSE;
      if (!hybrid && g_str_equal (c, "pids"))
        state->cgroup_unified = g_strdup (dir);
    }
  return TRUE;
}

static gboolean
resolve_path (const RtSpec *spec, const char *id, gboolean systemd_cgroup, char **slice,
              char **unit, char **relative, GError **error)
{
  if (rt_cgroup_parse_systemd_path (spec->cgroups_path, slice, unit))
    {
      g_autofree char *sp = NULL;

      if (berth_host_cgroup_manager () == BERTH_CGROUP_MANAGER_SYSTEMD)
        return TRUE;
      /* No systemd: the same place in the tree systemd would have used. */
      sp = slice_path (*slice);
      *relative = g_build_filename (sp, *unit, NULL);
    }
  else if (systemd_cgroup && spec->cgroups_path && *spec->cgroups_path)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID,
                   "--systemd-cgroup needs linux.cgroupsPath as slice:prefix:name, not \"%s\"",
                   spec->cgroups_path);
      return FALSE;
    }
  else if (spec->cgroups_path && *spec->cgroups_path)
    *relative = g_strdup (spec->cgroups_path + (spec->cgroups_path[0] == '/'));
  else
    *relative = g_build_filename ("berth-runtime", id, NULL);

  if (strstr (*relative, "..") != NULL)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_INVALID, "linux.cgroupsPath \"%s\" may not contain ..",
                   spec->cgroups_path);
      return FALSE;
    }
  return TRUE;
}

static void
record_dirs (RtState *state, GPtrArray *made)
{
  GPtrArray *all = g_ptr_array_new ();

  for (guint i = 0; state->cgroup_dirs && state->cgroup_dirs[i]; i++)
    g_ptr_array_add (all, state->cgroup_dirs[i]);
  for (guint i = 0; i < made->len; i++)
    g_ptr_array_add (all, g_strdup (made->pdata[i]));
  g_ptr_array_add (all, NULL);
  g_free (state->cgroup_dirs);
  state->cgroup_dirs = (char **)g_ptr_array_free (all, FALSE);
}

static gboolean
wants_limits (const RtSpec *spec)
{
  return spec->memory_limit >= 0 || spec->pids_limit != 0 || spec->cpu_quota >= 0
         || spec->cpu_shares > 0 || spec->memory_reservation >= 0 || spec->cpu_period > 0;
}

gboolean
rt_cgroup_prepare (const RtSpec *spec, const char *id, gboolean systemd_cgroup, RtState *state,
                   int *cgroup_fd, GError **error)
{
  g_autofree char *slice = NULL;
  g_autofree char *unit = NULL;
  g_autofree char *relative = NULL;
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func (g_free);
  BerthCgroupLayout layout = rt_cgroup_layout ();
  gboolean ok = TRUE;

  *cgroup_fd = -1;
  if (!resolve_path (spec, id, systemd_cgroup, &slice, &unit, &relative, error))
    return FALSE;
  if (relative == NULL)
    return TRUE; /* systemd makes it, once there is a pid */
  if (layout == BERTH_CGROUP_V2)
    ok = prepare_v2 (spec, CGROUP_ROOT, relative, wants_limits (spec), made, state, cgroup_fd,
                     error);
  else if (layout == BERTH_CGROUP_HYBRID)
    ok = prepare_v2 (spec, CGROUP_ROOT "/unified", relative, FALSE, made, state, cgroup_fd, error);
  record_dirs (state, made);
  return ok;
}

gboolean
rt_cgroup_join (const RtSpec *spec, const char *id, gboolean systemd_cgroup, pid_t pid,
                gboolean placed, RtState *state, GError **error)
{
  g_autofree char *slice = NULL;
  g_autofree char *unit = NULL;
  g_autofree char *relative = NULL;
  g_autoptr (GPtrArray) made = g_ptr_array_new_with_free_func (g_free);
  BerthCgroupLayout layout = rt_cgroup_layout ();
  gboolean ok = TRUE;

  if (!resolve_path (spec, id, systemd_cgroup, &slice, &unit, &relative, error))
    return FALSE;
  if (relative == NULL)
    return rt_systemd_start_scope (spec, id, slice, unit, pid, state, error);

  /* clone3 could not start the process in its cgroup2 directory. */
  if (!placed && state->cgroup_unified && layout != BERTH_CGROUP_V1
      && !join (state->cgroup_unified, pid, error))
    return FALSE;
  if (layout == BERTH_CGROUP_V1 || (layout == BERTH_CGROUP_HYBRID && wants_limits (spec)))
    ok = setup_v1 (spec, relative, pid, layout == BERTH_CGROUP_HYBRID, made, state, error);
  else if (layout == BERTH_CGROUP_NONE)
    rt_log_debug ("no cgroup file system at " CGROUP_ROOT ": no limits");
  record_dirs (state, made);
  return ok;
}
