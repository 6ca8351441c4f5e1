/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new random identifier as docker makes them: 64 lowercase hex digits
 * (32 bytes from getrandom). Containers and anonymous volumes are named so. */
char *berth_random_id (void);

/* Whether @text has that form. */
gboolean berth_id_is_valid (const char *text);

G_END_DECLS
