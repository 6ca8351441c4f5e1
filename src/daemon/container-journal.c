/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* systemd mode: a detached container's stdout and stderr are pipes that
 * berthd reads and sends to the journal line by line, with the fields
 * Docker's journald driver uses (journalctl CONTAINER_NAME=web), and
 * appends to the container's log file for `berthctl logs`. The read ends
 * are kept in systemd's fd store, so a restart of berthd loses no line and
 * never leaves a container writing into a closed pipe.
 *
 * And the registration of running containers with systemd-machined. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "berth-fd.h"
#include "berth-fsutil.h"
#include "container.h"

#define MAX_LINE 16384

static char *
fd_name (BerthContainerRec *rec, int n)
{
  return g_strdup_printf ("log-%s-%d", rec->id, n + 1);
}

static void
send_line (BerthContainerRec *rec, int n, const char *line, gsize len)
{
  /* cgroupfs mode (a detached terminal): the log file alone. */
  if (rec->daemon->cgroup_manager != BERTH_CGROUP_MANAGER_SYSTEMD)
    return;
  /* A terminal ends its lines with \r\n. */
  if (len > 0 && line[len - 1] == '\r')
    len--;
  sd_journal_send ("MESSAGE=%.*s", (int)len, line, "PRIORITY=%d", n == 0 ? LOG_INFO : LOG_ERR,
                   "CONTAINER_ID=%.12s", rec->id, "CONTAINER_ID_FULL=%s", rec->id,
                   "CONTAINER_NAME=%s", rec->name, "CONTAINER_TAG=%s", rec->name, "IMAGE_NAME=%s",
                   rec->image ? rec->image : rec->image_id, "SYSLOG_IDENTIFIER=%s", rec->name,
                   NULL);
}

static void
append_to_file (BerthContainerRec *rec, const char *data, gsize len)
{
  g_autofree char *path = g_build_filename (rec->dir, "container.log", NULL);
  berth_autofd int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

  if (fd >= 0)
    berth_fs_write_all (fd, data, len, NULL);
}

static void
flush_lines (BerthContainerRec *rec, int n, gboolean all)
{
  GString *buf = rec->log_partial[n];
  gsize start = 0;

  for (gsize i = 0; i < buf->len; i++)
    if (buf->str[i] == '\n' || i - start >= MAX_LINE)
      {
        send_line (rec, n, buf->str + start, i - start);
        start = i + 1;
      }
  if (all && start < buf->len)
    {
      send_line (rec, n, buf->str + start, buf->len - start);
      start = buf->len;
    }
  g_string_erase (buf, 0, start);
}

static void
close_one (BerthContainerRec *rec, int n, gboolean forget)
{
  g_autofree char *name = fd_name (rec, n);
  g_autofree char *msg = g_strdup_printf ("FDSTOREREMOVE=1\nFDNAME=%s", name);

  if (rec->log_fds[n] < 0)
    return;
  if (rec->log_partial[n])
    flush_lines (rec, n, TRUE);
  g_clear_handle_id (&rec->log_watches[n], g_source_remove);
  berth_close_fdp (&rec->log_fds[n]);
  if (forget)
    sd_notify (0, msg);
}

static gboolean
on_readable (gint fd, GIOCondition condition, gpointer user_data)
{
  BerthContainerRec *rec = user_data;
  int n = fd == rec->log_fds[0] ? 0 : 1;
  char buf[65536];
  gssize r = read (fd, buf, sizeof buf);

  if (r < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (r <= 0)
    {
      /* Every writer closed it (EIO from a terminal): the container has
       * exited. */
      rec->log_watches[n] = 0;
      close_one (rec, n, TRUE);
      return G_SOURCE_REMOVE;
    }
  append_to_file (rec, buf, r);
  g_string_append_len (rec->log_partial[n], buf, r);
  flush_lines (rec, n, FALSE);
  return G_SOURCE_CONTINUE;
}

void
berth_container_log_attach (BerthContainerRec *rec, int n, int fd, gboolean restored)
{
  close_one (rec, n, FALSE);
  rec->log_fds[n] = fd;
  if (rec->log_partial[n] == NULL)
    rec->log_partial[n] = g_string_new (NULL);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  if (!restored)
    {
      g_autofree char *name = fd_name (rec, n);
      g_autofree char *msg = g_strdup_printf ("FDSTORE=1\nFDNAME=%s", name);

      if (sd_pid_notify_with_fds (0, 0, msg, &fd, 1) <= 0)
        g_debug ("container %s: the log pipe is not in systemd's fd store", rec->name);
    }
  rec->log_watches[n] = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, rec);
}

void
berth_container_log_detach (BerthContainerRec *rec)
{
  close_one (rec, 0, TRUE);
  close_one (rec, 1, TRUE);
}

void
berth_daemon_containers_restore_logs (BerthDaemon *daemon)
{
  g_auto (GStrv) names = NULL;
  int n = sd_listen_fds_with_names (1, &names);

  for (int i = 0; i < n; i++)
    {
      int fd = SD_LISTEN_FDS_START + i;
      const char *name = names ? names[i] : NULL;
      g_autofree char *id = NULL;
      BerthContainerRec *rec = NULL;
      int which = 0;

      if (name && g_str_has_prefix (name, "log-") && strlen (name) == 4 + 64 + 2)
        {
          id = g_strndup (name + 4, 64);
          which = name[4 + 64 + 1] == '2' ? 1 : 0;
          rec = g_hash_table_lookup (daemon->containers, id);
        }
      if (rec == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("FDSTOREREMOVE=1\nFDNAME=%s", name ? name : "");
          close (fd);
          if (name)
            sd_notify (0, msg);
          continue;
        }
      fcntl (fd, F_SETFD, FD_CLOEXEC);
      berth_container_log_attach (rec, which, fd, TRUE);
    }
}

/* --- machined ------------------------------------------------------------------ */

static void
on_registered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *name = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
    = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    g_warning ("cannot register container %s with systemd-machined: %s", name, error->message);
}

typedef struct
{
  char *name;
  char *id;
  char *root;
  guint32 leader;
} MachineInfo;

static void
on_system_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MachineInfo *m = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (result, &error);
  guint8 id[16];

  if (bus == NULL)
    g_warning ("cannot register container %s with systemd-machined: %s", m->name, error->message);
  else
    {
      for (int i = 0; i < 16; i++)
        id[i] = (guint8)((g_ascii_xdigit_value (m->id[2 * i]) << 4)
                         | g_ascii_xdigit_value (m->id[2 * i + 1]));
      g_dbus_connection_call (
        bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
        "org.freedesktop.machine1.Manager", "RegisterMachine",
        g_variant_new ("(s@ayssus)", m->name,
                       g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, id, 16, 1), "berth",
                       "container", m->leader, m->root),
        NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_registered, g_strdup (m->name));
    }
  g_free (m->name);
  g_free (m->id);
  g_free (m->root);
  g_free (m);
}

void
berth_container_register_machine (BerthContainerRec *rec)
{
  MachineInfo *m = g_new0 (MachineInfo, 1);

  /* Machine names are host names: no "_". */
  m->name = g_strdelimit (g_strdup (rec->name), "_", '-');
  m->id = g_strdup (rec->id);
  m->root = g_build_filename (rec->bundle, "rootfs", NULL);
  m->leader = (guint32)rec->pid;
  /* berthd itself may be on a private bus (tests); machined is on the
   * system bus. */
  g_bus_get (G_BUS_TYPE_SYSTEM, NULL, on_system_bus, m);
}
