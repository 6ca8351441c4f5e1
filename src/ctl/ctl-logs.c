/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Printing a container's log for `berthctl logs` and `status`: lines with
 * the time they were written, taken from the times berthd records beside
 * the log (OpenLogTimes), filtered by --since and --until, the last N
 * with --tail, prefixed with the time with -t, and followed with -f. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth-time.h"
#include "ctl.h"

struct _CtlLogReader
{
  int log_fd;   /* borrowed */
  int times_fd; /* borrowed; -1: none (an older berthd) */
  CtlLogFilter filter;
  GString *pending;       /* read from the log, not yet printed */
  guint64 pending_offset; /* where @pending starts in the log */
  GArray *records;        /* guint64 pairs: offset, time */
  GString *times_partial; /* a record read in part */
  guint next_record;      /* the first that may cover the next line */
  gboolean started;
};

typedef struct
{
  const char *text;
  gsize len; /* with its newline, if any */
  gint64 time;
} Line;

CtlLogReader *
ctl_log_reader_new (int log_fd, int times_fd, const CtlLogFilter *filter)
{
  CtlLogReader *r = g_new0 (CtlLogReader, 1);

  r->log_fd = log_fd;
  r->times_fd = times_fd;
  r->filter = *filter;
  r->pending = g_string_new (NULL);
  r->records = g_array_new (FALSE, FALSE, sizeof (guint64));
  r->times_partial = g_string_new (NULL);
  return r;
}

void
ctl_log_reader_free (CtlLogReader *r)
{
  if (r == NULL)
    return;
  g_string_free (r->pending, TRUE);
  g_array_unref (r->records);
  g_string_free (r->times_partial, TRUE);
  g_free (r);
}

static void
read_all (int fd, GString *into)
{
  char buf[65536];
  gssize n;

  while ((n = read (fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (into, buf, n);
}

static void
read_records (CtlLogReader *r)
{
  gsize whole;

  if (r->times_fd < 0)
    return;
  read_all (r->times_fd, r->times_partial);
  whole = r->times_partial->len - r->times_partial->len % 16;
  for (gsize i = 0; i < whole; i += 8)
    {
      guint64 v;

      memcpy (&v, r->times_partial->str + i, 8);
      v = GUINT64_FROM_LE (v);
      g_array_append_val (r->records, v);
    }
  g_string_erase (r->times_partial, 0, whole);
}

/* The time of the bytes up to @end: the first record that covers them,
 * else the log's last change. */
static gint64
time_of (CtlLogReader *r, guint64 end, gint64 fallback)
{
  guint n = r->records->len / 2;
  const guint64 *rec = (const guint64 *)(gpointer)r->records->data;

  while (r->next_record < n && rec[2 * r->next_record] < end)
    r->next_record++;
  if (r->next_record < n)
    return (gint64)rec[2 * r->next_record + 1];
  return fallback;
}

static void
write_all (const char *buf, gsize len)
{
  while (len > 0)
    {
      gssize n = write (STDOUT_FILENO, buf, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      buf += n;
      len -= (gsize)n;
    }
}

gboolean
ctl_log_reader_print (CtlLogReader *r, gboolean final)
{
  g_autoptr (GArray) lines = g_array_new (FALSE, FALSE, sizeof (Line));
  struct stat st;
  gint64 fallback = g_get_real_time ();
  gsize start = 0, consumed;
  guint first = 0;
  gboolean go_on = TRUE;

  read_all (r->log_fd, r->pending);
  read_records (r);
  if (fstat (r->log_fd, &st) == 0)
    fallback = (gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;

  for (gsize i = 0; i <= r->pending->len; i++)
    {
      gboolean at_end = i == r->pending->len;
      Line line;

      if (!at_end && r->pending->str[i] != '\n')
        continue;
      /* A last line without its newline waits for it, unless this is
       * the end. */
      if (at_end && (i == start || !final))
        break;
      line.text = r->pending->str + start;
      line.len = i - start + (at_end ? 0 : 1);
      line.time = time_of (r, r->pending_offset + start + line.len, fallback);
      start = i + 1;
      if (r->filter.since && line.time < r->filter.since)
        continue;
      if (r->filter.until && line.time > r->filter.until)
        {
          go_on = FALSE;
          break;
        }
      g_array_append_val (lines, line);
    }
  consumed = MIN (start, r->pending->len);

  if (!r->started && r->filter.tail >= 0 && lines->len > (guint)r->filter.tail)
    first = lines->len - (guint)r->filter.tail;
  r->started = TRUE;
  for (guint i = first; i < lines->len; i++)
    {
      const Line *l = &g_array_index (lines, Line, i);

      if (r->filter.timestamps)
        {
          g_autofree char *stamp = berth_time_format (l->time);
          g_autofree char *prefix = g_strconcat (stamp, " ", NULL);

          write_all (prefix, strlen (prefix));
        }
      write_all (l->text, l->len);
      if (r->filter.timestamps && l->text[l->len - 1] != '\n')
        write_all ("\n", 1);
    }
  r->pending_offset += consumed;
  g_string_erase (r->pending, 0, consumed);
  return go_on;
}
