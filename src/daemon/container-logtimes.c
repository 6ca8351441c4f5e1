/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When each part of a container's log was written, for `logs --since`,
 * `--until` and `-t`.
 *
 * The container writes its log file itself (its stdout and stderr are the
 * file, in cgroupfs mode): no process copies its output, so no line is
 * lost when berthd stops or crashes. berthd watches the file with inotify
 * instead and appends to container.log.times one record per change it
 * sees: "the log had reached OFFSET by TIME" (two little-endian 64-bit
 * numbers; TIME in microseconds since the epoch, the file's mtime). A line
 * is as old as the first record that covers its end. What was written
 * while berthd was down is recorded when it is back, with the time of the
 * last write before that. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-fd.h"
#include "berth-fsutil.h"
#include "container.h"

#define LOG_FILE "container.log"
#define TIMES_FILE "container.log.times"

struct _BerthLogTimes
{
  int inotify_fd;
  guint source;
  GHashTable *watches; /* watch descriptor → container ID (owned) */
};

struct _BerthContainerLogTimes
{
  int wd;
  int log_fd;
  int times_fd;
  guint64 offset; /* what the last record covers */
};

static void
record (BerthContainerRec *rec)
{
  BerthContainerLogTimes *t = rec->log_times;
  struct stat st;
  guint64 data[2];

  if (t == NULL || t->log_fd < 0 || t->times_fd < 0 || fstat (t->log_fd, &st) < 0)
    return;
  if ((guint64)st.st_size <= t->offset)
    return;
  data[0] = GUINT64_TO_LE ((guint64)st.st_size);
  data[1] = GUINT64_TO_LE ((guint64)st.st_mtim.tv_sec * G_USEC_PER_SEC
                           + (guint64)st.st_mtim.tv_nsec / 1000);
  if (berth_fs_write_all (t->times_fd, data, sizeof data, NULL))
    t->offset = (guint64)st.st_size;
}

static gboolean
on_inotify (gint fd, GIOCondition condition, gpointer user_data)
{
  BerthDaemon *daemon = user_data;
  char buf[4096] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  ssize_t n = read (fd, buf, sizeof buf);

  for (char *p = buf; n > 0 && p < buf + n;)
    {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      const char *id = g_hash_table_lookup (daemon->log_times->watches, GINT_TO_POINTER (ev->wd));
      BerthContainerRec *rec = id ? g_hash_table_lookup (daemon->containers, id) : NULL;

      if (rec && rec->log_times && rec->log_times->wd == ev->wd)
        record (rec);
      p += sizeof *ev + ev->len;
    }
  return G_SOURCE_CONTINUE;
}

static BerthLogTimes *
daemon_log_times (BerthDaemon *daemon)
{
  BerthLogTimes *lt = daemon->log_times;

  if (lt)
    return lt;
  lt = g_new0 (BerthLogTimes, 1);
  lt->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  lt->watches = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  if (lt->inotify_fd >= 0)
    lt->source = g_unix_fd_add (lt->inotify_fd, G_IO_IN, on_inotify, daemon);
  else
    g_warning ("cannot watch container logs (inotify: %s); their times are those seen at exit",
               g_strerror (errno));
  daemon->log_times = lt;
  return lt;
}

/* Opens the two files and records what is there and not yet covered. */
static BerthContainerLogTimes *
open_times (BerthContainerRec *rec)
{
  BerthContainerLogTimes *t = rec->log_times;
  g_autofree char *log_path = g_build_filename (rec->dir, LOG_FILE, NULL);
  g_autofree char *times_path = g_build_filename (rec->dir, TIMES_FILE, NULL);
  struct stat st;

  if (t)
    return t;
  t = g_new0 (BerthContainerLogTimes, 1);
  t->wd = -1;
  t->log_fd = open (log_path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  t->times_fd = open (times_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (t->times_fd >= 0 && fstat (t->times_fd, &st) == 0)
    {
      guint64 last[2];

      /* A record cut short by a crash is dropped. */
      if (st.st_size % sizeof last != 0)
        (void)!ftruncate (t->times_fd, st.st_size - st.st_size % (off_t)sizeof last);
      if (st.st_size >= (off_t)sizeof last
          && pread (t->times_fd, last, sizeof last,
                    st.st_size - st.st_size % (off_t)sizeof last - (off_t)sizeof last)
               == sizeof last)
        t->offset = GUINT64_FROM_LE (last[0]);
    }
  rec->log_times = t;
  return t;
}

void
berth_container_log_times_watch (BerthContainerRec *rec)
{
  BerthLogTimes *lt = daemon_log_times (rec->daemon);
  BerthContainerLogTimes *t = open_times (rec);
  g_autofree char *log_path = g_build_filename (rec->dir, LOG_FILE, NULL);

  if (t->wd < 0 && lt->inotify_fd >= 0)
    {
      t->wd = inotify_add_watch (lt->inotify_fd, log_path, IN_MODIFY);
      if (t->wd >= 0)
        g_hash_table_replace (lt->watches, GINT_TO_POINTER (t->wd), g_strdup (rec->id));
    }
  /* Watching first, then this: nothing falls between. */
  record (rec);
}

void
berth_container_log_times_stop (BerthContainerRec *rec)
{
  BerthContainerLogTimes *t = rec->log_times;
  BerthLogTimes *lt = rec->daemon->log_times;

  if (t == NULL)
    {
      /* An exit learnt at start: what it wrote meanwhile. */
      open_times (rec);
      t = rec->log_times;
    }
  record (rec);
  if (t->wd >= 0 && lt)
    {
      /* The ID may name the same watch again later: only ours goes. */
      inotify_rm_watch (lt->inotify_fd, t->wd);
      g_hash_table_remove (lt->watches, GINT_TO_POINTER (t->wd));
    }
  berth_close_fdp (&t->log_fd);
  berth_close_fdp (&t->times_fd);
  g_free (t);
  rec->log_times = NULL;
}

void
berth_daemon_log_times_free (BerthDaemon *daemon)
{
  BerthLogTimes *lt = daemon->log_times;

  if (lt == NULL)
    return;
  g_clear_handle_id (&lt->source, g_source_remove);
  berth_close_fdp (&lt->inotify_fd);
  g_hash_table_unref (lt->watches);
  g_free (lt);
  daemon->log_times = NULL;
}
