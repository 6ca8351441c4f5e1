/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exec'd processes that outlive a berthd restart.
 *
 * berthd learns an exec's exit from the runtime process it waits for; when
 * berthd stops or crashes meanwhile, that process ends unseen. So, as for
 * the container's own command, berth-init writes the exit status into the
 * host: each exec runs as `/dev/init --status-dir /dev/.berth/exec-ID --
 * COMMAND`, the directory being <bundle>/status/exec-ID. A berthd that
 * starts again finds these directories: a status there is reported at once
 * (ExecExited), the others are watched (inotify) until berth-init renames
 * its file into place. When the container ends first, what is left gets
 * 137, as the kernel killed it. Containers without berth-init (init
 * false) are not tracked across restarts. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-oci-spec.h"
#include "container.h"

#define EXEC_PREFIX "exec-"

static char *
exec_dir (BerthContainerRec *rec, const char *id)
{
  return g_strdup_printf ("%s/status/" EXEC_PREFIX "%s", rec->bundle, id);
}

char **
berth_container_exec_wrap (BerthContainerRec *rec, const char *id, guint32 uid, guint32 gid,
                           char **command, GError **error)
{
  g_autofree char *dir = exec_dir (rec, id);
  GPtrArray *argv;

  if (!rec->init)
    return g_strdupv (command);
  /* Its own directory, writable by the user it runs as alone. */
  if (mkdir (dir, 0700) < 0 || chown (dir, uid, gid) < 0)
    {
      berth_error_set_errno (error, errno, "cannot create %s", dir);
      return NULL;
    }
  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, g_strdup (BERTH_OCI_INIT_PATH));
  g_ptr_array_add (argv, g_strdup ("--status-dir"));
  g_ptr_array_add (argv, g_strdup_printf (BERTH_OCI_STATUS_DIR "/" EXEC_PREFIX "%s", id));
  g_ptr_array_add (argv, g_strdup ("--"));
  for (guint i = 0; command[i]; i++)
    g_ptr_array_add (argv, g_strdup (command[i]));
  g_ptr_array_add (argv, NULL);
  return (char **)g_ptr_array_free (argv, FALSE);
}

/* --- after a restart ------------------------------------------------------- */

struct _BerthExecWatch
{
  BerthDaemon *daemon;
  int inotify_fd;
  guint source;
  GHashTable *watches; /* wd → "CONTAINER-ID/EXEC-ID" */
  GHashTable *waiting; /* exec IDs whose runtime process this berthd waits for */
  gboolean ready;      /* berthd owns its bus name: signals reach clients */
  GPtrArray *pending;  /* PendingReport: learnt before that */
};

typedef struct
{
  char *container_id, *id;
  int code;
} PendingReport;

static void
pending_report_free (PendingReport *p)
{
  g_free (p->container_id);
  g_free (p->id);
  g_free (p);
}

static BerthExecWatch *exec_watch (BerthDaemon *daemon);

void
berth_container_exec_started (BerthDaemon *daemon, const char *id)
{
  g_hash_table_add (exec_watch (daemon)->waiting, g_strdup (id));
}

void
berth_container_exec_forget (BerthDaemon *daemon, const char *container_id, const char *id)
{
  BerthContainerRec *rec = g_hash_table_lookup (daemon->containers, container_id);

  if (daemon->exec_watch)
    g_hash_table_remove (daemon->exec_watch->waiting, id);
  if (rec)
    {
      g_autofree char *dir = exec_dir (rec, id);
      berth_fs_rm_rf_at (AT_FDCWD, dir, NULL);
    }
}

static void
report (BerthContainerRec *rec, const char *id, int code)
{
  BerthExecWatch *w = exec_watch (rec->daemon);

  /* A signal sent before berthd owns its name reaches nobody. */
  if (!w->ready)
    {
      PendingReport *p = g_new0 (PendingReport, 1);

      p->container_id = g_strdup (rec->id);
      p->id = g_strdup (id);
      p->code = code;
      g_ptr_array_add (w->pending, p);
      return;
    }
  g_debug ("container %.12s: exec %s exited with %d (learnt after a restart)", rec->id, id, code);
  if (rec->skeleton)
    berth_container_emit_exec_exited (rec->skeleton, id, code);
  berth_container_exec_forget (rec->daemon, rec->id, id);
}

/* TRUE when the exec's status was there (and is reported now). */
static gboolean
report_if_done (BerthContainerRec *rec, const char *id)
{
  g_autofree char *dir = exec_dir (rec, id);
  int code;
  gint64 finished;

  if (!berth_oci_spec_read_exit_status (dir, &code, &finished, NULL))
    return FALSE;
  report (rec, id, code);
  return TRUE;
}

static gboolean
on_inotify (gint fd, GIOCondition condition, gpointer user_data)
{
  BerthExecWatch *w = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  ssize_t n = read (fd, buf, sizeof buf);

  for (char *p = buf; n > 0 && p < buf + n;)
    {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      const char *key = g_hash_table_lookup (w->watches, GINT_TO_POINTER (ev->wd));

      p += sizeof *ev + ev->len;
      if (key == NULL || ev->len == 0 || strcmp (ev->name, BERTH_OCI_EXIT_STATUS_FILE) != 0)
        continue;
      {
        g_auto (GStrv) parts = g_strsplit (key, "/", 2);
        BerthContainerRec *rec = g_hash_table_lookup (w->daemon->containers, parts[0]);

        if (rec && report_if_done (rec, parts[1]))
          {
            inotify_rm_watch (w->inotify_fd, ev->wd);
            g_hash_table_remove (w->watches, GINT_TO_POINTER (ev->wd));
          }
      }
    }
  return G_SOURCE_CONTINUE;
}

static BerthExecWatch *
exec_watch (BerthDaemon *daemon)
{
  BerthExecWatch *w = daemon->exec_watch;

  if (w)
    return w;
  w = g_new0 (BerthExecWatch, 1);
  w->daemon = daemon;
  w->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  w->watches = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  w->waiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  w->pending = g_ptr_array_new_with_free_func ((GDestroyNotify)pending_report_free);
  if (w->inotify_fd >= 0)
    w->source = g_unix_fd_add (w->inotify_fd, G_IO_IN, on_inotify, w);
  daemon->exec_watch = w;
  return w;
}

/* The exec IDs that have a directory under the container's status dir. */
static GPtrArray *
list_execs (BerthContainerRec *rec)
{
  g_autofree char *status = g_build_filename (rec->bundle, "status", NULL);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);
  DIR *d = opendir (status);
  struct dirent *de;

  while (d && (de = readdir (d)) != NULL)
    if (g_str_has_prefix (de->d_name, EXEC_PREFIX))
      g_ptr_array_add (ids, g_strdup (de->d_name + strlen (EXEC_PREFIX)));
  if (d)
    closedir (d);
  return ids;
}

void
berth_container_execs_recover (BerthContainerRec *rec)
{
  g_autoptr (GPtrArray) ids = list_execs (rec);
  BerthExecWatch *w;

  if (ids->len == 0)
    return;
  w = exec_watch (rec->daemon);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autofree char *dir = exec_dir (rec, id);
      int wd = w->inotify_fd >= 0 ? inotify_add_watch (w->inotify_fd, dir, IN_MOVED_TO) : -1;

      /* Watching first, then looking: a rename in between is not missed. */
      if (report_if_done (rec, id))
        {
          if (wd >= 0)
            inotify_rm_watch (w->inotify_fd, wd);
          continue;
        }
      if (wd >= 0)
        g_hash_table_replace (w->watches, GINT_TO_POINTER (wd),
                              g_strdup_printf ("%s/%s", rec->id, id));
      g_debug ("container %.12s: exec %s still runs", rec->id, id);
    }
}

void
berth_container_execs_exited (BerthContainerRec *rec)
{
  g_autoptr (GPtrArray) ids = list_execs (rec);
  BerthExecWatch *w = rec->daemon->exec_watch;

  /* Watches of this container's execs go (their directories go below). */
  if (w)
    {
      GHashTableIter iter;
      gpointer wd, key;
      g_autofree char *prefix = g_strconcat (rec->id, "/", NULL);

      g_hash_table_iter_init (&iter, w->watches);
      while (g_hash_table_iter_next (&iter, &wd, &key))
        if (g_str_has_prefix (key, prefix))
          {
            inotify_rm_watch (w->inotify_fd, GPOINTER_TO_INT (wd));
            g_hash_table_iter_remove (&iter);
          }
    }
  /* Those berthd still waits for report themselves when their runtime
   * process ends; the others were started by an earlier berthd. */
  for (guint i = 0; i < ids->len; i++)
    if (!(w && g_hash_table_contains (w->waiting, ids->pdata[i]))
        && !report_if_done (rec, ids->pdata[i]))
      report (rec, ids->pdata[i], 128 + 9);
}

void
berth_daemon_execs_ready (BerthDaemon *daemon)
{
  BerthExecWatch *w = exec_watch (daemon);
  g_autoptr (GPtrArray) pending = g_steal_pointer (&w->pending);

  w->ready = TRUE;
  w->pending = g_ptr_array_new_with_free_func ((GDestroyNotify)pending_report_free);
  for (guint i = 0; i < pending->len; i++)
    {
      PendingReport *p = pending->pdata[i];
      BerthContainerRec *rec = g_hash_table_lookup (daemon->containers, p->container_id);

      if (rec)
        report (rec, p->id, p->code);
    }
}

void
berth_daemon_exec_watch_free (BerthDaemon *daemon)
{
  BerthExecWatch *w = daemon->exec_watch;

  if (w == NULL)
    return;
  g_clear_handle_id (&w->source, g_source_remove);
  berth_close_fdp (&w->inotify_fd);
  g_hash_table_unref (w->watches);
  g_hash_table_unref (w->waiting);
  g_ptr_array_unref (w->pending);
  g_free (w);
  daemon->exec_watch = NULL;
}
