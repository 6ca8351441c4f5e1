/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Points in time as `logs --since/--until` take them, as docker does:
 * RFC 3339 ("2026-11-23T18:00:00Z", "...T18:00:00.5+01:00"; without a zone:
 * local time), a date ("2026-11-23", local midnight), Unix seconds
 * ("1795000000", "1795000000.25"), or a duration before @now ("10s",
 * "42m", "1h30m", "250ms"). @now and *@out in microseconds since the
 * epoch. Fails with BERTH_ERROR_INVALID_ARGUMENT naming the forms. */
gboolean berth_time_parse (const char *text, gint64 now, gint64 *out, GError **error);

/* RFC 3339 in UTC with nine fractional digits, as docker's -t prints:
 * "2026-11-23T18:00:00.123456000Z". */
char *berth_time_format (gint64 usec);

G_END_DECLS
