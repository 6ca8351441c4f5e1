/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's cgroup as a transient scope: StartTransientUnit on
 * org.freedesktop.systemd1, then wait for the job to finish so that the
 * process is in the scope before create returns. sd-bus rather than GDBus:
 * a synchronous call in a short-lived process, without GDBus' threads. */
#include "config.h"

#include "runtime-cgroup-setup.h"

#include <errno.h>
#include <string.h>
#include <systemd/sd-bus.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_slot, sd_bus_slot_unref)

typedef struct
{
  const char *job;
  char *result;
} JobWait;

static int
on_job_removed (sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
  JobWait *wait = userdata;
  const char *path = NULL, *unit = NULL, *result = NULL;
  guint32 id;

  if (sd_bus_message_read (m, "uoss", &id, &path, &unit, &result) < 0)
    return 0;
  if (wait->job && g_strcmp0 (path, wait->job) == 0)
    wait->result = g_strdup (result);
  return 0;
}

static gboolean
bus_fail (GError **error, int r, const char *what, const sd_bus_error *bus_error)
{
  g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot create the systemd scope: %s: %s", what,
               bus_error && bus_error->message ? bus_error->message : g_strerror (-r));
  return FALSE;
}

static char *
unified_cgroup_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", (int)pid);
  g_autofree char *data = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &data, NULL, NULL))
    return NULL;
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "0::"))
      {
        const char *rel = lines[i] + 3;
        gboolean hybrid = rt_cgroup_layout () == BERTH_CGROUP_HYBRID;
        return g_build_filename ("/sys/fs/cgroup", hybrid ? "unified" : "", rel, NULL);
      }
  return NULL;
}

/* The name /proc/devices gives a major number of that type. */
static char *
device_group (char type, gint64 major)
{
  g_autofree char *data = NULL;
  g_auto (GStrv) lines = NULL;
  gboolean in_section = FALSE;

  if (!g_file_get_contents ("/proc/devices", &data, NULL, NULL))
    return NULL;
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *end = NULL;
      gint64 number;

      if (g_str_has_suffix (lines[i], "devices:"))
        {
          in_section = (type == 'c') == g_str_has_prefix (lines[i], "Character");
          continue;
        }
      if (!in_section)
        continue;
      number = g_ascii_strtoll (lines[i], &end, 10);
      if (end != lines[i] && number == major)
        return g_strdup (g_strstrip (end));
    }
  return NULL;
}

gboolean
rt_systemd_start_scope (const RtSpec *spec, const char *id, const char *slice, const char *unit,
                        pid_t pid, RtState *state, GError **error)
{
  g_autoptr (sd_bus) bus = NULL;
  g_autoptr (sd_bus_message) m = NULL;
  g_autoptr (sd_bus_message) reply = NULL;
  g_autoptr (sd_bus_slot) slot = NULL;
  sd_bus_error bus_error = SD_BUS_ERROR_NULL;
  g_autofree char *description = g_strdup_printf ("berth container %s", id);
  JobWait wait = { NULL, NULL };
  const char *job;
  gint64 deadline;
  int r;

  r = sd_bus_open_system (&bus);
  if (r < 0)
    return bus_fail (error, r, "cannot connect to the system bus", NULL);
  r = sd_bus_match_signal (bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                           "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &wait);
  if (r < 0)
    return bus_fail (error, r, "cannot watch jobs", NULL);

  r = sd_bus_message_new_method_call (bus, &m, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1",
                                      "org.freedesktop.systemd1.Manager", "StartTransientUnit");
  if (r >= 0)
    r = sd_bus_message_append (m, "ss", unit, "fail");
  if (r >= 0)
    r = sd_bus_message_open_container (m, 'a', "(sv)");
  if (r >= 0)
    r = sd_bus_message_append (m, "(sv)(sv)(sv)(sv)", "Description", "s", description, "Slice", "s",
                               slice, "PIDs", "au", 1, (guint32)pid, "Delegate", "b", 1);
  if (r >= 0)
    r = sd_bus_message_append (m, "(sv)", "CollectMode", "s", "inactive-or-failed");
  if (r >= 0 && spec->memory_limit >= 0)
    r = sd_bus_message_append (m, "(sv)", "MemoryMax", "t", (guint64)spec->memory_limit);
  if (r >= 0 && spec->cpu_quota > 0)
    {
      guint64 period = spec->cpu_period ? spec->cpu_period : 100000;
      /* systemd wants CPU time per second of wall-clock time. */
      guint64 per_sec = (guint64)spec->cpu_quota * G_USEC_PER_SEC / period;
      r = sd_bus_message_append (m, "(sv)", "CPUQuotaPerSecUSec", "t", per_sec);
    }
  if (r >= 0 && spec->pids_limit != 0)
    r = sd_bus_message_append (m, "(sv)", "TasksMax", "t",
                               spec->pids_limit < 0 ? G_MAXUINT64 : (guint64)spec->pids_limit);
  if (r >= 0 && spec->n_device_rules > 0)
    {
      /* The same default-deny the device rules express: systemd compiles
       * DevicePolicy and DeviceAllow into the controller of its layout. */
      r = sd_bus_message_append (m, "(sv)", "DevicePolicy", "s", "strict");
      if (r >= 0)
        r = sd_bus_message_open_container (m, 'r', "sv");
      if (r >= 0)
        r = sd_bus_message_append (m, "s", "DeviceAllow");
      if (r >= 0)
        r = sd_bus_message_open_container (m, 'v', "a(ss)");
      if (r >= 0)
        r = sd_bus_message_open_container (m, 'a', "(ss)");
      for (gsize i = 0; r >= 0 && i < spec->n_device_rules; i++)
        {
          const RtDeviceRule *d = &spec->device_rules[i];
          g_autofree char *node = NULL;

          if (!d->allow || d->type == 'a')
            continue;
          if (d->major < 0)
            node = g_strdup (d->type == 'c' ? "char-*" : "block-*");
          else if (d->minor < 0)
            {
              /* A whole major goes by its group name: 136 is "char-pts". */
              g_autofree char *group = device_group (d->type, d->major);
              if (group == NULL)
                continue;
              node = g_strdup_printf ("%s-%s", d->type == 'c' ? "char" : "block", group);
            }
          else
            node = g_strdup_printf ("/dev/%s/%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                                    d->type == 'c' ? "char" : "block", d->major, d->minor);
          r = sd_bus_message_append (m, "(ss)", node, d->access);
        }
      if (r >= 0)
        r = sd_bus_message_close_container (m);
      if (r >= 0)
        r = sd_bus_message_close_container (m);
      if (r >= 0)
        r = sd_bus_message_close_container (m);
    }
  if (r >= 0)
    r = sd_bus_message_close_container (m);
  if (r >= 0)
    r = sd_bus_message_append (m, "a(sa(sv))", 0);
  if (r < 0)
    return bus_fail (error, r, "cannot build the request", NULL);

  r = sd_bus_call (bus, m, 0, &bus_error, &reply);
  if (r < 0)
    {
      gboolean ok = bus_fail (error, r, "StartTransientUnit", &bus_error);
      sd_bus_error_free (&bus_error);
      return ok;
    }
  r = sd_bus_message_read (reply, "o", &job);
  if (r < 0)
    return bus_fail (error, r, "cannot read the job", NULL);
  wait.job = job;

  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (wait.result == NULL && g_get_monotonic_time () < deadline)
    {
      r = sd_bus_process (bus, NULL);
      if (r < 0)
        return bus_fail (error, r, "lost the bus", NULL);
      if (r == 0)
        sd_bus_wait (bus, 100 * 1000);
    }
  if (g_strcmp0 (wait.result, "done") != 0)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "systemd could not start %s: job %s", unit,
                   wait.result ? wait.result : "timed out");
      g_free (wait.result);
      return FALSE;
    }
  g_free (wait.result);
  state->systemd_scope = g_strdup (unit);
  state->cgroup_unified = unified_cgroup_of (pid);
  return TRUE;
}
