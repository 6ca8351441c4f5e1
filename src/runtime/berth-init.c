/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-init: PID 1 of every berth container.
 *
 *   berth-init [--status-dir DIR] [--] COMMAND [ARG...]
 *
 * Runs COMMAND as its child, forwards the signals it receives to it, reaps
 * every zombie that is re-parented to it, and when COMMAND exits writes
 * DIR/exit-status (a temporary file, fsync, rename) and exits with the
 * same status. DIR is a bind mount of a host directory, so berthd learns
 * the exit code even if it was not running at the time.
 *
 * The file holds one JSON object:
 *   {"exitCode":137,"signal":9,"finishedAt":1700000000000000}
 * exitCode as a shell reports it (128+N for signal N), signal 0 when the
 * command exited, finishedAt in microseconds since the epoch.
 *
 * Statically linked against libc alone: images need not have a libc. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_STATUS_FILE "exit-status"

/* Writes the strings, up to a NULL, as one line on stderr. */
static void
say (const char *first, ...)
{
  char line[1024] = "berth-init: ";
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    strncat (line, s, sizeof line - strlen (line) - 2);
  va_end (args);
  strcat (line, "\n");
  (void)!write (STDERR_FILENO, line, strlen (line));
}

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      buf += n;
      len -= (size_t)n;
    }
  return 0;
}

static void
write_status (const char *dir, int exit_code, int signo)
{
  char tmp[4096], path[4096], json[128];
  struct timespec now;
  long long usec;
  int fd, len;

  clock_gettime (CLOCK_REALTIME, &now);
  usec = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
  len = snprintf (json, sizeof json, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":%lld}\n",
                  exit_code, signo, usec);
  if (snprintf (tmp, sizeof tmp, "%s/." EXIT_STATUS_FILE ".tmp", dir) >= (int)sizeof tmp
      || snprintf (path, sizeof path, "%s/" EXIT_STATUS_FILE, dir) >= (int)sizeof path)
    {
      say ("the status directory path ", dir, " is too long", NULL);
      return;
    }
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write_all (fd, json, (size_t)len) < 0 || fsync (fd) < 0 || rename (tmp, path) < 0)
    {
      say ("cannot write the exit status into ", dir, ": ", strerror (errno), NULL);
      if (fd >= 0)
        unlink (tmp);
    }
  if (fd >= 0)
    close (fd);
}

static void
usage (void)
{
  say ("usage: berth-init [--status-dir DIR] [--] COMMAND [ARG...]", NULL);
  exit (2);
}

int
main (int argc, char **argv)
{
  const char *status_dir = NULL;
  sigset_t all, previous;
  pid_t child;
  int i = 1;

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      if (strcmp (argv[i], "--status-dir") == 0 && i + 1 < argc)
        status_dir = argv[++i];
      else if (strncmp (argv[i], "--status-dir=", 13) == 0)
        status_dir = argv[i] + 13;
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        usage ();
      else
        {
          say ("unknown option \"", argv[i], "\"", NULL);
          usage ();
        }
    }
  if (i >= argc)
    usage ();

  /* Outside a PID namespace (tests, debugging) orphans still come to us. */
  if (getpid () != 1)
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  /* Every signal is received with sigwaitinfo, but those that report a
   * fault of this very process. */
  sigfillset (&all);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGABRT);
  sigdelset (&all, SIGTRAP);
  sigdelset (&all, SIGSYS);
  sigprocmask (SIG_BLOCK, &all, &previous);

  child = fork ();
  if (child < 0)
    {
      say ("cannot fork: ", strerror (errno), NULL);
      return 1;
    }
  if (child == 0)
    {
      /* Its own process group, in the foreground of the terminal if there
       * is one, so that ^C reaches the command and not us. SIGTTOU is still
       * blocked here, which tcsetpgrp from the background needs. */
      setpgid (0, 0);
      if (isatty (STDIN_FILENO))
        tcsetpgrp (STDIN_FILENO, getpid ());
      sigprocmask (SIG_SETMASK, &previous, NULL);
      execvp (argv[i], argv + i);
      {
        int errsv = errno;
        /* The words docker and podman use, so that scripts and people
         * recognise them. */
        if (errsv == ENOENT && strchr (argv[i], '/') == NULL)
          say ("executable file \"", argv[i], "\" not found in $PATH", NULL);
        else
          say ("cannot execute ", argv[i], ": ", strerror (errsv), NULL);
        _exit (errsv == ENOENT ? 127 : 126);
      }
    }

  for (;;)
    {
      siginfo_t info;
      int status;
      pid_t pid;

      if (sigwaitinfo (&all, &info) < 0)
        continue;
      if (info.si_signo != SIGCHLD)
        {
          kill (child, info.si_signo);
          continue;
        }
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        {
          int code, signo = 0;

          if (pid != child)
            continue;
          if (WIFSIGNALED (status))
            {
              signo = WTERMSIG (status);
              code = 128 + signo;
            }
          else
            code = WEXITSTATUS (status);
          if (status_dir)
            write_status (status_dir, code, signo);
          /* The kernel kills what is left in the namespace when PID 1 exits. */
          return code;
        }
    }
}
