/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's process, last steps before exec: rlimits, the executable,
 * user and groups, the five capability sets, no_new_privs and seccomp.
 *
 * Capabilities use the raw capset(2) and prctl(2) calls rather than
 * libcap: five bit masks are all there is to it. */
#include "config.h"

#include "runtime-container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

gboolean
rt_process_set_rlimits (const RtSpec *spec, char **message)
{
  for (gsize i = 0; i < spec->n_rlimits; i++)
    {
      const RtRlimit *r = &spec->rlimits[i];
      struct rlimit limit = { r->soft, r->hard };

      if (setrlimit (r->resource, &limit) < 0)
        {
          int errsv = errno;
          struct rlimit current = { 0, 0 };

          getrlimit (r->resource, &current);
          if (errsv == EPERM && r->hard > current.rlim_max)
            *message = g_strdup_printf ("cannot set rlimit %d: its hard limit %" G_GUINT64_FORMAT
                                        " is above the caller's %" G_GUINT64_FORMAT
                                        " (raising it needs CAP_SYS_RESOURCE)",
                                        r->resource, r->hard, (guint64)current.rlim_max);
          else
            *message
              = g_strdup_printf ("cannot set rlimit %d: %s", r->resource, g_strerror (errsv));
          return FALSE;
        }
    }
  return TRUE;
}

static const char *
env_get (char **env, const char *name)
{
  gsize len = strlen (name);

  for (guint i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, len) == 0 && env[i][len] == '=')
      return env[i] + len + 1;
  return NULL;
}

static gboolean
is_executable (const char *path, int *errsv)
{
  struct stat st;

  if (stat (path, &st) < 0)
    {
      *errsv = errno;
      return FALSE;
    }
  if (S_ISDIR (st.st_mode) || !(st.st_mode & 0111))
    {
      *errsv = EACCES;
      return FALSE;
    }
  return TRUE;
}

/* Resolved inside the container (after pivot_root) with the container's
 * PATH, so that a missing program fails create rather than start. Exit
 * codes follow the shell: 127 not found, 126 not executable. */
char *
rt_process_find_executable (const RtSpec *spec, int *exit_code, char **message)
{
  const char *name = spec->args[0];
  const char *path = env_get (spec->env, "PATH");
  g_auto (GStrv) dirs = NULL;
  int errsv = ENOENT;

  if (strchr (name, '/'))
    {
      if (is_executable (name, &errsv))
        return g_strdup (name);
      *exit_code = errsv == ENOENT ? 127 : 126;
      *message = g_strdup_printf ("cannot execute %s: %s", name, g_strerror (errsv));
      return NULL;
    }
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  dirs = g_strsplit (path, ":", -1);
  for (guint i = 0; dirs[i]; i++)
    {
      g_autofree char *candidate = g_build_filename (*dirs[i] ? dirs[i] : ".", name, NULL);
      int e;

      if (is_executable (candidate, &e))
        return g_steal_pointer (&candidate);
      if (e == EACCES)
        errsv = e;
    }
  *exit_code = errsv == ENOENT ? 127 : 126;
  *message = g_strdup_printf ("executable file \"%s\" not found in $PATH (%s)", name, path);
  return NULL;
}

static int
capset_raw (guint64 effective, guint64 permitted, guint64 inheritable)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];

  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (guint32)(effective >> (32 * i));
      data[i].permitted = (guint32)(permitted >> (32 * i));
      data[i].inheritable = (guint32)(inheritable >> (32 * i));
    }
  return (int)syscall (SYS_capset, &header, data);
}

static gboolean
load_seccomp (const RtContainer *c, char **message)
{
  if (c->seccomp.len == 0)
    return TRUE;
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, &c->seccomp) < 0)
    {
      *message = g_strdup_printf ("cannot load the seccomp filter: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
rt_process_finalize (const RtContainer *c, char **message)
{
  const RtSpec *spec = c->spec;
  guint64 mask
    = c->last_cap >= 63 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << (c->last_cap + 1)) - 1;

  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which is
   * about to go: load it first. With it, load it last, so that the
   * filter need not allow the calls below. */
  if (!spec->no_new_privileges && !load_seccomp (c, message))
    return FALSE;

  for (int cap = 0; cap <= c->last_cap; cap++)
    if (!(spec->caps[RT_CAP_BOUNDING] & (G_GUINT64_CONSTANT (1) << cap))
        && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      {
        *message = g_strdup_printf ("cannot drop capability %d from the bounding set: %s", cap,
                                    g_strerror (errno));
        return FALSE;
      }

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    {
      *message = g_strdup_printf ("cannot keep capabilities across setuid: %s", g_strerror (errno));
      return FALSE;
    }
  if (setgroups (spec->n_additional_gids, spec->additional_gids) < 0)
    {
      *message = g_strdup_printf ("cannot set the additional groups: %s", g_strerror (errno));
      return FALSE;
    }
  if (setresgid (spec->gid, spec->gid, spec->gid) < 0)
    {
      *message = g_strdup_printf ("cannot set gid %u: %s", (unsigned)spec->gid, g_strerror (errno));
      return FALSE;
    }
  if (setresuid (spec->uid, spec->uid, spec->uid) < 0)
    {
      *message = g_strdup_printf ("cannot set uid %u: %s", (unsigned)spec->uid, g_strerror (errno));
      return FALSE;
    }
  prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0);

  if (capset_raw (spec->caps[RT_CAP_EFFECTIVE] & mask, spec->caps[RT_CAP_PERMITTED] & mask,
                  spec->caps[RT_CAP_INHERITABLE] & mask)
      < 0)
    {
      *message = g_strdup_printf ("cannot set the capabilities: %s (effective must be within "
                                  "permitted, and both within bounding)",
                                  g_strerror (errno));
      return FALSE;
    }
  prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap <= c->last_cap; cap++)
    if ((spec->caps[RT_CAP_AMBIENT] & (G_GUINT64_CONSTANT (1) << cap))
        && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      {
        *message = g_strdup_printf ("cannot raise ambient capability %d: %s (it must be "
                                    "permitted and inheritable)",
                                    cap, g_strerror (errno));
        return FALSE;
      }

  if (spec->no_new_privileges)
    {
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        {
          *message = g_strdup_printf ("cannot set no_new_privs: %s", g_strerror (errno));
          return FALSE;
        }
      if (!load_seccomp (c, message))
        return FALSE;
    }
  return TRUE;
}
