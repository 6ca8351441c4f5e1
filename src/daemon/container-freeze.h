/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"

G_BEGIN_DECLS

/* Freezes and thaws a running container's processes (for a commit that
 * must see a consistent file system). Made in the main thread from the
 * record; freeze and thaw block and belong in worker threads. */
typedef struct _BerthFreezer BerthFreezer;

BerthFreezer *berth_freezer_new (BerthContainerRec *rec);
void berth_freezer_free (BerthFreezer *freezer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthFreezer, berth_freezer_free)

/* Returns once every process is frozen; on failure nothing stays frozen. */
gboolean berth_freezer_freeze (BerthFreezer *freezer, GError **error);
/* How the last freeze was done, for the log. */
const char *berth_freezer_method (BerthFreezer *freezer);
/* Undoes a freeze (also a failed one); nothing to do when not frozen. */
gboolean berth_freezer_thaw (BerthFreezer *freezer, GError **error);

G_END_DECLS
