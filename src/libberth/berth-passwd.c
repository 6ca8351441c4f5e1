/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Users and groups of a container from its own /etc/passwd and /etc/group,
 * the way docker and podman resolve `-u`: the primary group from passwd
 * unless one is given, the supplementary groups from the members lists of
 * /etc/group, HOME from passwd. The files come from an image, so they are
 * opened with openat2(RESOLVE_IN_ROOT): an absolute symbolic link such as
 * /etc/passwd -> /host/etc/shadow resolves inside the container's root. */
#include "config.h"

#include "berth-passwd.h"
#include "berth-error.h"
#include "berth-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Far more than any real passwd file; a bigger one is an error, not a
 * reason to fill berthd's memory. */
#define MAX_FILE_SIZE (8 * 1024 * 1024)

void
berth_user_free (BerthUser *user)
{
  if (user == NULL)
    return;
  g_clear_pointer (&user->additional_gids, g_array_unref);
  g_free (user->home);
  g_free (user);
}

/* The file's contents; NULL with errno ENOENT when it does not exist
 * (not an error for numeric users), NULL with @error otherwise. */
static char *
read_in_root (int root_fd, const char *path, GError **error)
{
  struct open_how how = {
    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  berth_autofd int fd = (int)syscall (SYS_openat2, root_fd, path, &how, sizeof how);
  g_autoptr (GString) text = g_string_new (NULL);
  struct stat st;
  char buf[16384];

  if (fd < 0)
    {
      if (errno == ENOENT)
        return NULL;
      berth_error_set_errno (error, errno, "cannot open the container's /%s", path);
      return NULL;
    }
  /* A FIFO would block, a device could be anything. */
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "the container's /%s is not a regular file", path);
      return NULL;
    }
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          berth_error_set_errno (error, errno, "cannot read the container's /%s", path);
          return NULL;
        }
      if (n == 0)
        break;
      if (text->len + (gsize)n > MAX_FILE_SIZE)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                       "the container's /%s is larger than %d MiB", path,
                       MAX_FILE_SIZE / (1024 * 1024));
          return NULL;
        }
      g_string_append_len (text, buf, n);
    }
  errno = 0;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
parse_id (const char *text, guint32 *out)
{
  guint64 n;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    return FALSE;
  *out = (guint32)n;
  return TRUE;
}

/* Splits one line of passwd or group into its fields; NULL for comments,
 * blank lines and lines with fewer than @min fields. */
static char **
fields_of (const char *line, guint min)
{
  g_auto (GStrv) f = NULL;

  if (*line == '\0' || *line == '#')
    return NULL;
  f = g_strsplit (line, ":", -1);
  if (g_strv_length (f) < min)
    return NULL;
  return g_steal_pointer (&f);
}

BerthUser *
berth_user_resolve (int root_fd, const char *spec, GError **error)
{
  g_autoptr (BerthUser) user = g_new0 (BerthUser, 1);
  g_auto (GStrv) parts = NULL;
  g_autofree char *passwd = NULL, *group = NULL;
  g_auto (GStrv) passwd_lines = NULL, group_lines = NULL;
  const char *user_part, *group_part;
  const char *user_name = NULL;
  g_autofree char *found_name = NULL;
  gboolean user_numeric, found = FALSE;
  GError *local = NULL;

  if (spec == NULL || *spec == '\0')
    spec = "0";
  parts = g_strsplit (spec, ":", 2);
  user_part = parts[0];
  group_part = parts[1];
  if (*user_part == '\0' || (group_part && *group_part == '\0'))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "user \"%s\": give NAME or UID, optionally with :GROUP or :GID", spec);
      return NULL;
    }
  user_numeric = parse_id (user_part, &user->uid);
  if (!user_numeric)
    user_name = user_part;

  passwd = read_in_root (root_fd, "etc/passwd", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  passwd_lines = g_strsplit (passwd ? passwd : "", "\n", -1);
  for (guint i = 0; passwd_lines[i] && !found; i++)
    {
      g_auto (GStrv) f = fields_of (passwd_lines[i], 7);
      guint32 uid, gid;

      /* name:password:uid:gid:gecos:home:shell */
      if (f == NULL || !parse_id (f[2], &uid) || !parse_id (f[3], &gid))
        continue;
      if (user_numeric ? uid != user->uid : !g_str_equal (f[0], user_name))
        continue;
      found = TRUE;
      user->uid = uid;
      user->gid = gid;
      user->home = g_strdup (*f[5] ? f[5] : "/");
      found_name = g_strdup (f[0]);
    }
  /* root is root even in an image without /etc/passwd. */
  if (!found && !user_numeric && passwd == NULL && g_str_equal (user_name, "root"))
    {
      found = TRUE;
      user->uid = user->gid = 0;
      user->home = g_strdup ("/root");
    }
  if (!found && !user_numeric)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   passwd ? "unable to find user %s: no matching entries in the container's "
                            "/etc/passwd (give a numeric UID[:GID] instead)"
                          : "unable to find user %s: the container has no /etc/passwd (give a "
                            "numeric UID[:GID] instead)",
                   user_name);
      return NULL;
    }
  if (!found)
    user->home = g_strdup ("/");

  group = read_in_root (root_fd, "etc/group", &local);
  if (local)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  group_lines = g_strsplit (group ? group : "", "\n", -1);
  if (group_part && !parse_id (group_part, &user->gid))
    {
      gboolean group_found = FALSE;

      for (guint i = 0; group_lines[i] && !group_found; i++)
        {
          g_auto (GStrv) f = fields_of (group_lines[i], 4);

          /* name:password:gid:members */
          if (f && g_str_equal (f[0], group_part) && parse_id (f[2], &user->gid))
            group_found = TRUE;
        }
      if (!group_found)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "unable to find group %s: no matching entries in the container's "
                       "/etc/group (give a numeric GID instead)",
                       group_part);
          return NULL;
        }
    }

  /* Supplementary groups: those whose member lists name the user. */
  user->additional_gids = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; found_name && group_lines[i]; i++)
    {
      g_auto (GStrv) f = fields_of (group_lines[i], 4);
      g_auto (GStrv) members = NULL;
      guint32 gid;

      if (f == NULL || !parse_id (f[2], &gid) || gid == user->gid)
        continue;
      members = g_strsplit (g_strstrip (f[3]), ",", -1);
      for (guint j = 0; members[j]; j++)
        if (g_str_equal (g_strstrip (members[j]), found_name))
          {
            gboolean dup = FALSE;

            for (guint k = 0; k < user->additional_gids->len; k++)
              dup |= g_array_index (user->additional_gids, guint32, k) == gid;
            if (!dup)
              g_array_append_val (user->additional_gids, gid);
            break;
          }
    }
  return g_steal_pointer (&user);
}
