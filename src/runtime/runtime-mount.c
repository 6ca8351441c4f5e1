/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container's file system tree, built in the child between clone and
 * exec. Mount points come from the image, which is untrusted: every path
 * under the root is resolved with openat2 (RESOLVE_IN_ROOT), so a symlink
 * such as /proc -> /etc in an image cannot redirect a mount to the host,
 * and mounts go through the /proc/self/fd/N of the resolved descriptor. */
#include "config.h"

#include "runtime-container.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FD_PATH_MAX 64

static gboolean fail_errno (char **message, int errsv, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
fail_errno (char **message, int errsv, const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  *message = g_strdup_printf ("%s: %s", what, g_strerror (errsv));
  return FALSE;
}

static int
open_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { 0 };

  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  while (*path == '/')
    path++;
  return (int)syscall (SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
}

static void
fd_path (char buf[FD_PATH_MAX], int fd)
{
  g_snprintf (buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

/* Opens PATH under the root as O_PATH, creating what is missing: directories
 * on the way, and the last component as a directory or an empty file. */
static int
ensure_path (int rootfd, const char *path, gboolean directory, char **message)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GString) prefix = g_string_new (NULL);
  int parent = open_in_root (rootfd, "/", O_PATH | O_DIRECTORY);
  int fd;

  if (parent < 0)
    return fail_errno (message, errno, "cannot open the root file system"), -1;

  for (guint i = 0; parts[i]; i++)
    {
      gboolean last = TRUE;
      const char *name = parts[i];

      if (*name == '\0' || g_str_equal (name, "."))
        continue;
      for (guint j = i + 1; parts[j]; j++)
        if (*parts[j] != '\0' && !g_str_equal (parts[j], "."))
          last = FALSE;
      g_string_append_c (prefix, '/');
      g_string_append (prefix, name);

      fd = open_in_root (rootfd, prefix->str, O_PATH | (last && !directory ? 0 : O_DIRECTORY));
      if (fd < 0 && errno == ENOENT)
        {
          if (last && !directory)
            {
              int w
                = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
              if (w >= 0)
                close (w);
            }
          else
            mkdirat (parent, name, 0755);
          fd = open_in_root (rootfd, prefix->str, O_PATH | (last && !directory ? 0 : O_DIRECTORY));
        }
      if (fd < 0)
        {
          int errsv = errno;
          close (parent);
          fail_errno (message, errsv, "cannot make the mount point %s", prefix->str);
          return -1;
        }
      close (parent);
      parent = fd;
    }
  return parent;
}

static gboolean
is_directory (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static gboolean
do_mount (const RtContainer *c, int rootfd, const RtMount *m, char **message)
{
  char target[FD_PATH_MAX];
  const char *type = m->type;
  const char *source = m->source;
  const char *data = m->data;
  unsigned long flags = m->flags & ~MS_REMOUNT;
  gboolean directory = !m->bind || is_directory (m->source);
  int fd = ensure_path (rootfd, m->destination, directory, message);

  if (fd < 0)
    return FALSE;
  fd_path (target, fd);

  if (m->bind)
    {
      if (mount (m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
        {
          int errsv = errno;
          close (fd);
          return fail_errno (message, errsv, "cannot bind-mount %s on %s", m->source,
                             m->destination);
        }
      close (fd);
      /* The flags of a bind mount need a remount, on the new mount: the
       * descriptor opened before it still names what lies beneath. */
      if (flags & ~MS_REC)
        {
          fd = open_in_root (rootfd, m->destination, O_PATH);
          if (fd < 0)
            return fail_errno (message, errno, "cannot open %s", m->destination);
          fd_path (target, fd);
          if (mount (NULL, target, NULL, MS_BIND | MS_REMOUNT | (flags & ~MS_REC), NULL) < 0)
            {
              int errsv = errno;
              close (fd);
              return fail_errno (message, errsv, "cannot remount %s with its options",
                                 m->destination);
            }
          close (fd);
        }
    }
  else
    {
      if (g_str_equal (type, "cgroup") || g_str_equal (type, "cgroup2"))
        {
          /* A v1 tree would need one mount per controller; berth offers the
           * unified hierarchy, seen from the container's cgroup namespace. */
          if (c->has_unified)
            {
              type = "cgroup2";
              source = "cgroup2";
              data = NULL;
            }
          else
            {
              type = "tmpfs";
              source = "tmpfs";
              data = "size=0k";
            }
        }
      if (mount (source, target, type, flags, data) < 0)
        {
          int errsv = errno;
          close (fd);
          return fail_errno (message, errsv, "cannot mount %s (%s) on %s", source, type,
                             m->destination);
        }
      close (fd);
    }

  if (m->propagation)
    {
      fd = open_in_root (rootfd, m->destination, O_PATH);
      if (fd < 0)
        return fail_errno (message, errno, "cannot open %s", m->destination);
      fd_path (target, fd);
      if (mount (NULL, target, NULL, m->propagation, NULL) < 0)
        {
          int errsv = errno;
          close (fd);
          return fail_errno (message, errsv, "cannot set the propagation of %s", m->destination);
        }
      close (fd);
    }
  return TRUE;
}

static const struct
{
  const char *name;
  unsigned int major, minor;
} default_devices[] = {
  { "null", 1, 3 },   { "zero", 1, 5 },    { "full", 1, 7 },
  { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct
{
  const char *name;
  const char *target;
} default_links[] = {
  { "fd", "/proc/self/fd" },       { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },         { "core", "/proc/kcore" },
};

/* One device node, made with mknod; where that is refused, bound from the
 * host's node of the same name. */
static gboolean
make_device (int rootfd, const char *path, char type, unsigned int major, unsigned int minor,
             mode_t mode, uid_t uid, gid_t gid, char **message)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  int dirfd = ensure_path (rootfd, dir, TRUE, message);
  char target[FD_PATH_MAX];
  int fd;

  if (dirfd < 0)
    return FALSE;
  if (mknodat (dirfd, base, kind | (mode & 07777), makedev (major, minor)) == 0)
    {
      fchownat (dirfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
      close (dirfd);
      return TRUE;
    }
  if (errno == EEXIST)
    {
      close (dirfd);
      return TRUE;
    }
  if (errno != EPERM || kind == S_IFIFO)
    {
      int errsv = errno;
      close (dirfd);
      return fail_errno (message, errsv, "cannot create the device %s", path);
    }
  close (dirfd);
  fd = ensure_path (rootfd, path, FALSE, message);
  if (fd < 0)
    return FALSE;
  fd_path (target, fd);
  if (mount (path, target, NULL, MS_BIND, NULL) < 0)
    {
      int errsv = errno;
      close (fd);
      return fail_errno (message, errsv, "cannot bind the device %s", path);
    }
  close (fd);
  return TRUE;
}

static gboolean
setup_dev (const RtContainer *c, int rootfd, gboolean dev_is_tmpfs, char **message)
{
  const RtSpec *spec = c->spec;

  if (dev_is_tmpfs)
    {
      int devfd = open_in_root (rootfd, "/dev", O_PATH | O_DIRECTORY);

      if (devfd < 0)
        return fail_errno (message, errno, "cannot open /dev in the container");
      for (gsize i = 0; i < G_N_ELEMENTS (default_devices); i++)
        {
          g_autofree char *path = g_strconcat ("/dev/", default_devices[i].name, NULL);
          if (!make_device (rootfd, path, 'c', default_devices[i].major, default_devices[i].minor,
                            0666, 0, 0, message))
            {
              close (devfd);
              return FALSE;
            }
        }
      for (gsize i = 0; i < G_N_ELEMENTS (default_links); i++)
        if (symlinkat (default_links[i].target, devfd, default_links[i].name) < 0
            && errno != EEXIST)
          {
            int errsv = errno;
            close (devfd);
            return fail_errno (message, errsv, "cannot create /dev/%s", default_links[i].name);
          }
      close (devfd);
    }
  for (gsize i = 0; i < spec->n_devices; i++)
    {
      const RtDevice *d = &spec->devices[i];
      if (!make_device (rootfd, d->path, d->type, (unsigned)d->major, (unsigned)d->minor, d->mode,
                        d->uid, d->gid, message))
        return FALSE;
    }
  return TRUE;
}

static gboolean
bind_console (int rootfd, int slave, char **message)
{
  char source[FD_PATH_MAX], target[FD_PATH_MAX];
  int fd = ensure_path (rootfd, "/dev/console", FALSE, message);

  if (fd < 0)
    return FALSE;
  fd_path (source, slave);
  fd_path (target, fd);
  if (mount (source, target, NULL, MS_BIND, NULL) < 0)
    {
      int errsv = errno;
      close (fd);
      return fail_errno (message, errsv, "cannot bind the terminal on /dev/console");
    }
  close (fd);
  return TRUE;
}

static gboolean
pivot (const char *rootfs, char **message)
{
  int oldroot = open ("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int newroot = open (rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  gboolean ok = FALSE;

  if (oldroot < 0 || newroot < 0)
    {
      fail_errno (message, errno, "cannot open %s", rootfs);
      goto out;
    }
  /* pivot_root(".", ".") stacks the old root on the new one; unmounting
   * "." afterwards drops it, without a directory to put it in. */
  if (fchdir (newroot) < 0 || syscall (SYS_pivot_root, ".", ".") < 0)
    {
      fail_errno (message, errno, "cannot pivot_root to %s", rootfs);
      goto out;
    }
  if (fchdir (oldroot) < 0 || mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0
      || umount2 (".", MNT_DETACH) < 0 || chdir ("/") < 0)
    {
      fail_errno (message, errno, "cannot detach the old root");
      goto out;
    }
  ok = TRUE;
out:
  if (oldroot >= 0)
    close (oldroot);
  if (newroot >= 0)
    close (newroot);
  return ok;
}

static gboolean
mask_paths (char **paths, char **message)
{
  for (guint i = 0; paths && paths[i]; i++)
    {
      struct stat st;
      int r;

      if (stat (paths[i], &st) < 0)
        {
          if (errno == ENOENT)
            continue;
          return fail_errno (message, errno, "cannot mask %s", paths[i]);
        }
      if (S_ISDIR (st.st_mode))
        r = mount ("tmpfs", paths[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "size=0k");
      else
        r = mount ("/dev/null", paths[i], NULL, MS_BIND, NULL);
      if (r < 0)
        return fail_errno (message, errno, "cannot mask %s", paths[i]);
    }
  return TRUE;
}

static unsigned long
kept_flags (const char *path)
{
  struct statvfs st;
  unsigned long flags = 0;

  if (statvfs (path, &st) < 0)
    return 0;
  if (st.f_flag & ST_NOSUID)
    flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV)
    flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  return flags;
}

static gboolean
readonly_paths (char **paths, char **message)
{
  for (guint i = 0; paths && paths[i]; i++)
    {
      if (mount (paths[i], paths[i], NULL, MS_BIND | MS_REC, NULL) < 0)
        {
          if (errno == ENOENT)
            continue;
          return fail_errno (message, errno, "cannot make %s read-only", paths[i]);
        }
      if (mount (NULL, paths[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags (paths[i]),
                 NULL)
          < 0)
        return fail_errno (message, errno, "cannot make %s read-only", paths[i]);
    }
  return TRUE;
}

static gboolean
is_cgroup_mount (const RtMount *m)
{
  return !m->bind && (g_str_equal (m->type, "cgroup") || g_str_equal (m->type, "cgroup2"));
}

gboolean
rt_mount_prepare (const RtContainer *c, int *console_slave, char **message)
{
  const RtSpec *spec = c->spec;
  gboolean dev_is_tmpfs = FALSE;
  int rootfd;

  /* Nothing mounted here may reach the host: the whole tree becomes a
   * slave of the host's before anything is mounted. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return fail_errno (message, errno, "cannot make the mount tree a slave of the host's");
  if (mount (spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fail_errno (message, errno, "cannot bind-mount the root file system %s", spec->rootfs);

  rootfd = open (spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return fail_errno (message, errno, "cannot open %s", spec->rootfs);
  for (gsize i = 0; i < spec->n_mounts; i++)
    {
      const RtMount *m = &spec->mounts[i];

      /* cgroup file systems show the mounter's cgroup namespace, which
       * exists only once the parent has placed us: rt_mount_finish. */
      if (is_cgroup_mount (m))
        continue;
      if (!do_mount (c, rootfd, m, message))
        {
          close (rootfd);
          return FALSE;
        }
      if (g_str_equal (m->destination, "/dev") && !m->bind)
        dev_is_tmpfs = TRUE;
    }
  if (!setup_dev (c, rootfd, dev_is_tmpfs, message))
    {
      close (rootfd);
      return FALSE;
    }
  if (spec->terminal)
    {
      /* The pty comes from the container's own devpts instance, mounted just now. */
      *console_slave = rt_console_create (c, message);
      if (*console_slave < 0 || !bind_console (rootfd, *console_slave, message))
        {
          close (rootfd);
          return FALSE;
        }
    }
  close (rootfd);
  return TRUE;
}

gboolean
rt_mount_finish (const RtContainer *c, char **message)
{
  const RtSpec *spec = c->spec;
  int rootfd = open (spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (rootfd < 0)
    return fail_errno (message, errno, "cannot open %s", spec->rootfs);
  for (gsize i = 0; i < spec->n_mounts; i++)
    if (is_cgroup_mount (&spec->mounts[i]) && !do_mount (c, rootfd, &spec->mounts[i], message))
      {
        close (rootfd);
        return FALSE;
      }
  close (rootfd);

  if (!pivot (spec->rootfs, message))
    return FALSE;
  if (!mask_paths (spec->masked_paths, message) || !readonly_paths (spec->readonly_paths, message))
    return FALSE;
  if (spec->rootfs_readonly
      && mount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | kept_flags ("/"), NULL) < 0)
    return fail_errno (message, errno, "cannot make the root file system read-only");
  if (spec->rootfs_propagation && mount (NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
    return fail_errno (message, errno, "cannot set the propagation of the root file system");
  return TRUE;
}

int
rt_mount_open_ptmx (const RtContainer *c)
{
  int rootfd;
  int fd;

  /* exec: already inside the container's mount namespace and root */
  if (c->join_pidfd >= 0)
    return open ("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  rootfd = open (c->spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (rootfd < 0)
    return -1;
  fd = open_in_root (rootfd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
  close (rootfd);
  return fd;
}
