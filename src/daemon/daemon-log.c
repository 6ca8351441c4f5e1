/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib.h>
#include <unistd.h>

#include "daemon.h"

static gboolean
journal_available (void)
{
  return access ("/run/systemd/journal/socket", W_OK) == 0;
}

static GLogWriterOutput
berthd_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                   gpointer user_data)
{
  gboolean to_journal = GPOINTER_TO_INT (user_data);

  if (g_log_writer_default_would_drop (level, G_LOG_DOMAIN))
    return G_LOG_WRITER_HANDLED;
  if (to_journal && g_log_writer_journald (level, fields, n_fields, NULL) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, NULL);
}

/* The journal when journald runs, standard error otherwise (the quickstart
 * sends that to a file under /run/berth). Debug messages are cheap to keep and
 * switched on with --debug or, at run time, SIGUSR2. */
void
berth_daemon_log_setup (gboolean debug)
{
  g_log_set_writer_func (berthd_log_writer, GINT_TO_POINTER (journal_available ()), NULL);
  if (debug)
    g_log_set_debug_enabled (TRUE);
}

void
berth_daemon_log_toggle_debug (void)
{
  gboolean enabled = !g_log_get_debug_enabled ();

  g_log_set_debug_enabled (enabled);
  g_message ("debug logging %s", enabled ? "enabled" : "disabled");
}
