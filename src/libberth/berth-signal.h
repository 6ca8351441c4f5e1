/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A signal as users name it: "TERM", "SIGTERM", "term", "15", "RTMIN+3".
 * Returns its number, or -1 when @name names no signal. */
int berth_signal_parse (const char *name);

G_END_DECLS
