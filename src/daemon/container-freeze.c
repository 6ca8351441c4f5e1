/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Freezing a running container while its file system is read (commit):
 * systemd's FreezeUnit on its scope when systemd runs the machine, the
 * cgroup freezer otherwise (cgroup2's cgroup.freeze, else the v1 freezer
 * controller). Called from worker threads: everything here blocks. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "berth-error.h"
#include "container-freeze.h"

#define FREEZE_TIMEOUT_US (10 * G_USEC_PER_SEC)

struct _BerthFreezer
{
  char *unit;        /* systemd mode: the scope */
  char *cgroup2_dir; /* cgroupfs: the container's cgroup in the unified hierarchy */
  char *freezer_dir; /* cgroupfs, v1 only: its cgroup in the freezer hierarchy */
  gboolean frozen;
  gboolean by_systemd; /* FreezeUnit worked; else cgroup2_dir was written */
};

/* The cgroup2 directory of @pid, from /proc/PID/cgroup's "0::" line. */
static char *
unified_cgroup_of (BerthDaemon *daemon, pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cgroup", (int)pid);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  const char *mount;

  if (daemon->cgroup_layout == BERTH_CGROUP_V2)
    mount = "/sys/fs/cgroup";
  else if (daemon->cgroup_layout == BERTH_CGROUP_HYBRID)
    mount = "/sys/fs/cgroup/unified";
  else
    return NULL;
  if (pid <= 0 || !g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "0::/"))
      return g_build_filename (mount, lines[i] + 3, NULL);
  return NULL;
}

BerthFreezer *
berth_freezer_new (BerthContainerRec *rec)
{
  BerthDaemon *daemon = rec->daemon;
  BerthFreezer *f = g_new0 (BerthFreezer, 1);

  if (daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    {
      f->unit = berth_container_rec_unit (rec);
      f->cgroup2_dir = unified_cgroup_of (daemon, rec->pid);
    }
  else if (daemon->cgroup_layout == BERTH_CGROUP_V2 || daemon->cgroup_layout == BERTH_CGROUP_HYBRID)
    f->cgroup2_dir = g_build_filename (daemon->cgroup_root, rec->id, NULL);
  else
    f->freezer_dir = g_build_filename ("/sys/fs/cgroup/freezer/berth", rec->id, NULL);
  return f;
}

void
berth_freezer_free (BerthFreezer *f)
{
  if (f == NULL)
    return;
  g_free (f->unit);
  g_free (f->cgroup2_dir);
  g_free (f->freezer_dir);
  g_free (f);
}

static gboolean
call_systemd (const char *method, const char *unit, GError **error)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  g_autoptr (GVariant) reply = NULL;

  if (bus == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", method,
                                       g_variant_new ("(s)", unit), NULL, G_DBUS_CALL_FLAGS_NONE,
                                       FREEZE_TIMEOUT_US / 1000, NULL, error);
  if (reply == NULL)
    {
      g_prefix_error (error, "systemd could not %s %s: ",
                      g_str_equal (method, "FreezeUnit") ? "freeze" : "thaw", unit);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_file (const char *dir, const char *name, const char *value, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) local_error = NULL;

  if (!g_file_set_contents_full (path, value, -1, G_FILE_SET_CONTENTS_NONE, 0644, &local_error))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot write %s: %s", path,
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

/* Waits until @name under @dir has a line (or content) equal to @want. */
static gboolean
wait_for (const char *dir, const char *name, const char *want, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gint64 deadline = g_get_monotonic_time () + FREEZE_TIMEOUT_US;
  gulong delay = 200;

  for (;;)
    {
      g_autofree char *text = NULL;
      g_auto (GStrv) lines = NULL;

      if (!g_file_get_contents (path, &text, NULL, error))
        return FALSE;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        if (g_str_equal (g_strstrip (lines[i]), want))
          return TRUE;
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                       "the container's cgroup did not reach \"%s\" in %s within %d s", want, path,
                       (int)(FREEZE_TIMEOUT_US / G_USEC_PER_SEC));
          return FALSE;
        }
      g_usleep (delay);
      delay = MIN (delay * 2, 20000);
    }
}

gboolean
berth_freezer_freeze (BerthFreezer *f, GError **error)
{
  gboolean ok;

  if (f->unit)
    {
      g_autoptr (GError) local_error = NULL;

      ok = call_systemd ("FreezeUnit", f->unit, &local_error);
      f->by_systemd = ok;
      /* systemd freezes units only on a pure cgroup2 host; on a hybrid one
       * the unified hierarchy's freezer still works on the scope. */
      if (!ok && f->cgroup2_dir)
        {
          g_debug ("%s; using %s/cgroup.freeze", local_error->message, f->cgroup2_dir);
          ok = write_file (f->cgroup2_dir, "cgroup.freeze", "1", error)
               && wait_for (f->cgroup2_dir, "cgroup.events", "frozen 1", error);
        }
      else if (!ok)
        g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else if (f->cgroup2_dir)
    ok = write_file (f->cgroup2_dir, "cgroup.freeze", "1", error)
         && wait_for (f->cgroup2_dir, "cgroup.events", "frozen 1", error);
  else
    ok = write_file (f->freezer_dir, "freezer.state", "FROZEN", error)
         && wait_for (f->freezer_dir, "freezer.state", "FROZEN", error);
  /* Half-frozen is possible: thaw always undoes whatever happened. */
  f->frozen = TRUE;
  if (!ok)
    {
      berth_freezer_thaw (f, NULL);
      return FALSE;
    }
  return TRUE;
}

const char *
berth_freezer_method (BerthFreezer *f)
{
  if (f->by_systemd)
    return "systemd FreezeUnit";
  if (f->cgroup2_dir)
    return "cgroup.freeze";
  return "the v1 freezer";
}

gboolean
berth_freezer_thaw (BerthFreezer *f, GError **error)
{
  if (!f->frozen)
    return TRUE;
  f->frozen = FALSE;
  if (f->by_systemd)
    return call_systemd ("ThawUnit", f->unit, error);
  if (f->cgroup2_dir)
    return write_file (f->cgroup2_dir, "cgroup.freeze", "0", error);
  if (f->unit)
    return TRUE; /* FreezeUnit failed and nothing else was tried */
  return write_file (f->freezer_dir, "freezer.state", "THAWED", error);
}
