/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A container's user as `-u NAME[:GROUP]` names it, looked up in the
 * container's own /etc/passwd and /etc/group: read as files beneath the
 * container's root (symbolic links resolved inside it, never out of it),
 * nothing from the image is run. */
typedef struct
{
  guint32 uid;
  guint32 gid;
  GArray *additional_gids; /* guint32: the groups that list the user */
  char *home;              /* from passwd; "/" when the user is not there */
} BerthUser;

void berth_user_free (BerthUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthUser, berth_user_free)

/* Resolves @spec ("", "NAME", "UID", "NAME:GROUP", "UID:GID", ...) against
 * ROOT/etc/passwd and ROOT/etc/group, @root_fd being the container's root
 * directory. Numbers need no entry (as docker: uid 1000 without an entry
 * runs as 1000:0 with HOME=/); a name must have one. An empty @spec is
 * root. Fails with BERTH_ERROR_INVALID_ARGUMENT naming what is missing. */
BerthUser *berth_user_resolve (int root_fd, const char *spec, GError **error);

G_END_DECLS
