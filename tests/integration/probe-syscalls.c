/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* probe-syscalls: run inside a container by test-runtime.sh. Tries each
 * syscall the default seccomp profile must refuse and prints
 * "NAME ERRNO-NAME" (or "NAME ok"). Every call is made with arguments that
 * change nothing even if containment failed: invalid magic numbers,
 * paths that do not exist, NULL time values, the calling process's own
 * namespaces. Static, so that it runs in a busybox image. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *
errno_name (int e)
{
  switch (e)
    {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EBADF:
      return "EBADF";
    case EFAULT:
      return "EFAULT";
    case EINVAL:
      return "EINVAL";
    case ENOSYS:
      return "ENOSYS";
    case EACCES:
      return "EACCES";
    case ENOKEY:
      return "ENOKEY";
    case ENOEXEC:
      return "ENOEXEC";
    default:
      return "other";
    }
}

static void
report (const char *name, long r)
{
  if (r < 0)
    printf ("%s %s\n", name, errno_name (errno));
  else
    printf ("%s ok\n", name);
}

int
main (void)
{
  report ("getpid", syscall (SYS_getpid));
  /* KEYCTL_GET_KEYRING_ID of the session keyring, without creating it */
  report ("keyctl", syscall (SYS_keyctl, 0, -3, 0, 0, 0));
  report ("add_key",
          syscall (SYS_add_key, "user", "berth-probe", "x", 1, -2 /* process keyring */));
  report ("request_key", syscall (SYS_request_key, "user", "berth-probe-none", NULL, -2));
  report ("mount", syscall (SYS_mount, "none", "/berth-probe-none", "tmpfs", 0, NULL));
  report ("umount2", syscall (SYS_umount2, "/berth-probe-none", 0));
  report ("pivot_root", syscall (SYS_pivot_root, "/berth-probe-none", "/berth-probe-none"));
  report ("unshare", syscall (SYS_unshare, CLONE_NEWUTS));
  report ("setns", syscall (SYS_setns, -1, 0));
  report ("bpf", syscall (SYS_bpf, -1, NULL, 0));
  report ("perf_event_open", syscall (SYS_perf_event_open, NULL, 0, -1, -1, 0));
  report ("userfaultfd", syscall (SYS_userfaultfd, 0));
  report ("open_by_handle_at", syscall (SYS_open_by_handle_at, -1, NULL, 0));
  /* magic 0 is refused before anything is looked at */
  report ("reboot", syscall (SYS_reboot, 0, 0, 0, NULL));
  report ("swapon", syscall (SYS_swapon, "/berth-probe-none", 0));
  report ("swapoff", syscall (SYS_swapoff, "/berth-probe-none"));
  report ("acct", syscall (SYS_acct, "/berth-probe-none"));
  /* both NULL: sets nothing */
  report ("settimeofday", syscall (SYS_settimeofday, NULL, NULL));
  /* unknown flags are refused */
  report ("kexec_load", syscall (SYS_kexec_load, 0, 0, NULL, 0xffffffffUL));
  report ("init_module", syscall (SYS_init_module, NULL, 0, ""));
  report ("finit_module", syscall (SYS_finit_module, -1, "", 0));
  report ("delete_module", syscall (SYS_delete_module, "berth_probe_none", O_NONBLOCK));
  fflush (stdout);
  return 0;
}
