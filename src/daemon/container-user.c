/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The user a container's process runs as, from `-u NAME[:GROUP]` (or the
 * image's User): looked up in the container's own /etc/passwd and
 * /etc/group, in its mounted root, at each start and for each exec, so
 * that users the container added are found too. Only files are read
 * (berth-passwd.c); nothing from the image runs on the host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "container.h"

BerthUser *
berth_container_resolve_user (BerthContainerRec *rec, const char *user, GError **error)
{
  return berth_container_resolve_user_at (rec->bundle, rec->name, user, error);
}

BerthUser *
berth_container_resolve_user_at (const char *bundle, const char *name, const char *user,
                                 GError **error)
{
  g_autofree char *rootfs = g_build_filename (bundle, "rootfs", NULL);
  berth_autofd int root_fd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  BerthUser *resolved;

  if (root_fd < 0)
    {
      berth_error_set_errno (error, errno, "cannot open the root of container %s", name);
      return NULL;
    }
  resolved = berth_user_resolve (root_fd, user, error);
  if (resolved == NULL)
    g_prefix_error (error, "container %s: ", name);
  return resolved;
}

gboolean
berth_container_env_has (char *const *env, const char *name)
{
  gsize len = strlen (name);

  for (guint i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
      return TRUE;
  return FALSE;
}

char **
berth_container_env_with_home (char *const *env, const char *home)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; env && env[i]; i++)
    g_ptr_array_add (out, g_strdup (env[i]));
  if (home && !berth_container_env_has (env, "HOME"))
    g_ptr_array_add (out, g_strconcat ("HOME=", home, NULL));
  g_ptr_array_add (out, NULL);
  return (char **)g_ptr_array_free (out, FALSE);
}
