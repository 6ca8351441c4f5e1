/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ROOT/ID/state is a GLib key file rather than JSON so that the commands
 * on the start-to-exit path need GLib alone (see runtime.h). */
#define GROUP "container"

void
rt_state_free (RtState *state)
{
  if (state == NULL)
    return;
  g_free (state->id);
  g_free (state->dir);
  g_free (state->bundle);
  g_free (state->rootfs);
  g_free (state->owner);
  g_strfreev (state->cgroup_dirs);
  g_free (state->cgroup_unified);
  g_free (state->systemd_scope);
  g_strfreev (state->annotations);
  g_free (state);
}

char *
rt_state_dir (const char *root, const char *id)
{
  return g_build_filename (root, id, NULL);
}

char *
rt_state_fifo_path (const char *state_dir)
{
  return g_build_filename (state_dir, "exec.fifo", NULL);
}

gboolean
rt_state_save (const RtState *state, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = g_build_filename (state->dir, "state", NULL);
  g_autofree char *data = NULL;
  gsize len;

  g_key_file_set_string (kf, GROUP, "Id", state->id);
  g_key_file_set_string (kf, GROUP, "Bundle", state->bundle);
  g_key_file_set_string (kf, GROUP, "Rootfs", state->rootfs ? state->rootfs : "");
  g_key_file_set_int64 (kf, GROUP, "Pid", state->pid);
  g_key_file_set_uint64 (kf, GROUP, "StartTime", state->start_time);
  g_key_file_set_int64 (kf, GROUP, "Created", state->created);
  g_key_file_set_string (kf, GROUP, "Owner", state->owner ? state->owner : "");
  if (state->cgroup_dirs)
    g_key_file_set_string_list (kf, GROUP, "CgroupDirs", (const char *const *)state->cgroup_dirs,
                                g_strv_length (state->cgroup_dirs));
  g_key_file_set_string (kf, GROUP, "CgroupUnified",
                         state->cgroup_unified ? state->cgroup_unified : "");
  g_key_file_set_string (kf, GROUP, "SystemdScope",
                         state->systemd_scope ? state->systemd_scope : "");
  if (state->annotations)
    g_key_file_set_string_list (kf, GROUP, "Annotations", (const char *const *)state->annotations,
                                g_strv_length (state->annotations));
  data = g_key_file_to_data (kf, &len, NULL);
  return rt_write_file_atomic (path, data, len, error);
}

static char *
nonempty (char *s)
{
  if (s != NULL && *s == '\0')
    g_clear_pointer (&s, g_free);
  return s;
}

RtState *
rt_state_load (const char *root, const char *id, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (RtState) state = g_new0 (RtState, 1);
  g_autofree char *path = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!rt_id_valid (id, error))
    return NULL;
  state->dir = rt_state_dir (root, id);
  path = g_build_filename (state->dir, "state", NULL);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, RT_ERROR, RT_ERROR_NOT_FOUND, "container %s does not exist", id);
      else
        g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot read the state of %s: %s", id,
                     local_error->message);
      return NULL;
    }
  state->id = g_key_file_get_string (kf, GROUP, "Id", NULL);
  state->bundle = g_key_file_get_string (kf, GROUP, "Bundle", NULL);
  state->rootfs = nonempty (g_key_file_get_string (kf, GROUP, "Rootfs", NULL));
  state->pid = (pid_t)g_key_file_get_int64 (kf, GROUP, "Pid", NULL);
  state->start_time = g_key_file_get_uint64 (kf, GROUP, "StartTime", NULL);
  state->created = g_key_file_get_int64 (kf, GROUP, "Created", NULL);
  state->owner = nonempty (g_key_file_get_string (kf, GROUP, "Owner", NULL));
  state->cgroup_dirs = g_key_file_get_string_list (kf, GROUP, "CgroupDirs", NULL, NULL);
  state->cgroup_unified = nonempty (g_key_file_get_string (kf, GROUP, "CgroupUnified", NULL));
  state->systemd_scope = nonempty (g_key_file_get_string (kf, GROUP, "SystemdScope", NULL));
  state->annotations = g_key_file_get_string_list (kf, GROUP, "Annotations", NULL, NULL);
  if (state->id == NULL || state->pid <= 0)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "the state of %s in %s is damaged", id, path);
      return NULL;
    }
  return g_steal_pointer (&state);
}

guint64
rt_proc_start_time (pid_t pid, gboolean *zombie)
{
  char path[64];
  char buf[1024];
  ssize_t n;
  int fd;
  char *p;
  guint64 start = 0;

  if (zombie)
    *zombie = FALSE;
  g_snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields count from
   * the last ')'. */
  p = strrchr (buf, ')');
  if (p == NULL || p[1] == '\0')
    return 0;
  p += 2;
  if (zombie)
    *zombie = (*p == 'Z' || *p == 'X');
  /* p is field 3 (state); start time is field 22. */
  for (int field = 3; field < 22 && p != NULL; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p != NULL)
    start = g_ascii_strtoull (p, NULL, 10);
  return start;
}

RtStatus
rt_state_status (const RtState *state)
{
  gboolean zombie;
  guint64 start = rt_proc_start_time (state->pid, &zombie);
  g_autofree char *fifo = NULL;

  if (start == 0 || start != state->start_time || zombie)
    return RT_STATUS_STOPPED;
  fifo = rt_state_fifo_path (state->dir);
  return access (fifo, F_OK) == 0 ? RT_STATUS_CREATED : RT_STATUS_RUNNING;
}

int
rt_state_open_pidfd (const RtState *state)
{
  int fd = (int)syscall (SYS_pidfd_open, state->pid, 0);
  gboolean zombie;

  if (fd < 0)
    return -1;
  /* Checked after the pidfd is open: if the start time still matches, the
   * pidfd refers to the container's process and cannot be recycled. */
  if (rt_proc_start_time (state->pid, &zombie) != state->start_time || zombie)
    {
      close (fd);
      errno = ESRCH;
      return -1;
    }
  return fd;
}

static void
json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if (*p < 0x20)
        g_string_append_printf (out, "\\u%04x", *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

char *
rt_state_to_json (const RtState *state, RtStatus status)
{
  GString *out = g_string_new ("{\n  \"ociVersion\": \"" RT_OCI_VERSION "\",\n  \"id\": ");
  g_autoptr (GDateTime) created = g_date_time_new_from_unix_utc (state->created / G_USEC_PER_SEC);
  g_autoptr (GDateTime) created_us
    = created ? g_date_time_add (created, state->created % G_USEC_PER_SEC) : NULL;
  g_autofree char *stamp = created_us ? g_date_time_format_iso8601 (created_us) : g_strdup ("");

  json_string (out, state->id);
  /* A stopped container has no process any more: runc reports pid 0. */
  g_string_append_printf (out, ",\n  \"pid\": %d,\n  \"status\": \"%s\",\n  \"bundle\": ",
                          status == RT_STATUS_STOPPED ? 0 : (int)state->pid,
                          rt_status_to_string (status));
  json_string (out, state->bundle);
  g_string_append (out, ",\n  \"rootfs\": ");
  json_string (out, state->rootfs ? state->rootfs : "");
  g_string_append (out, ",\n  \"created\": ");
  json_string (out, stamp);
  g_string_append (out, ",\n  \"owner\": ");
  json_string (out, state->owner ? state->owner : "");
  if (state->systemd_scope)
    {
      g_string_append (out, ",\n  \"systemdScope\": ");
      json_string (out, state->systemd_scope);
    }
  g_string_append (out, ",\n  \"annotations\": {");
  for (guint i = 0; state->annotations && state->annotations[i]; i++)
    {
      const char *kv = state->annotations[i];
      const char *eq = strchr (kv, '=');
      g_autofree char *key = eq ? g_strndup (kv, eq - kv) : g_strdup (kv);

      g_string_append (out, i ? ",\n    " : "\n    ");
      json_string (out, key);
      g_string_append (out, ": ");
      json_string (out, eq ? eq + 1 : "");
    }
  g_string_append (out, state->annotations && state->annotations[0] ? "\n  }\n}\n" : "}\n}\n");
  return g_string_free (out, FALSE);
}
