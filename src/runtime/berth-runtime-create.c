/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-runtime-create: create, run, exec and spec for berth-runtime, which execs
 * this program with its own command line (see berth-runtime.c). */
#include "config.h"

#include "berth-oci-spec.h"
#include "runtime-create.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void
parse_or_exit (GOptionContext *context, const char *command, int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("berth-runtime %s", command);

  g_set_prgname (prgname);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "berth-runtime %s: %s (see --help)\n", command, error->message);
      exit (EXIT_USAGE);
    }
}

static void
need_id (const char *command, int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "berth-runtime %s: missing argument: the container id\n", command);
      exit (EXIT_USAGE);
    }
  if (argc > 2)
    {
      fprintf (stderr, "berth-runtime %s: unexpected argument \"%s\"\n", command, argv[2]);
      exit (EXIT_USAGE);
    }
}

/* Waits for the container's init, forwarding the signals a terminal or a
 * supervisor sends to `run`. Returns the exit status in shell terms. */
static int
wait_forwarding (pid_t pid, const sigset_t *forwarded)
{
  for (;;)
    {
      siginfo_t info;
      int status;
      pid_t r = waitpid (pid, &status, WNOHANG);

      if (r == pid)
        return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
      if (r < 0 && errno != EINTR)
        return 1;
      if (sigwaitinfo (forwarded, &info) < 0)
        continue;
      if (info.si_signo != SIGCHLD)
        kill (pid, info.si_signo);
    }
}

static int
cmd_create_or_run (const RtGlobal *global, gboolean run, int argc, char **argv)
{
  g_autofree char *bundle = NULL;
  g_autofree char *pid_file = NULL;
  g_autofree char *console_socket = NULL;
  int preserve_fds = 0;
  gboolean detach = FALSE, no_pivot = FALSE, no_new_keyring = FALSE;
  GOptionEntry entries[]
    = { { "bundle", 'b', 0, G_OPTION_ARG_FILENAME, &bundle, "The bundle (default: .)", "DIR" },
        { "pid-file", 0, 0, G_OPTION_ARG_FILENAME, &pid_file, "Write the init's pid here", "FILE" },
        { "console-socket", 0, 0, G_OPTION_ARG_FILENAME, &console_socket,
          "Send the pty master to this AF_UNIX socket", "PATH" },
        { "preserve-fds", 0, 0, G_OPTION_ARG_INT, &preserve_fds,
          "Pass N descriptors after 0, 1, 2 to the container", "N" },
        { "no-pivot", 0, 0, G_OPTION_ARG_NONE, &no_pivot, "Refused: berth-runtime always pivots",
          NULL },
        { "no-new-keyring", 0, 0, G_OPTION_ARG_NONE, &no_new_keyring,
          "Accepted for runc compatibility", NULL },
        { NULL } };
  GOptionEntry run_entries[]
    = { { "detach", 'd', 0, G_OPTION_ARG_NONE, &detach, "Return once the process runs", NULL },
        { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new ("ID");
  g_autoptr (GError) error = NULL;
  const char *command = run ? "run" : "create";
  RtCreateOptions options = { 0 };
  sigset_t forwarded, previous;
  pid_t pid;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (run)
    g_option_context_add_main_entries (context, run_entries, NULL);
  g_option_context_set_summary (context, run ? "Create and start a container, and wait for it."
                                             : "Create a container; start runs its process.");
  parse_or_exit (context, command, &argc, &argv);
  need_id (command, argc, argv);
  if (no_pivot)
    {
      rt_log_error ("--no-pivot is not supported: berth-runtime always uses pivot_root");
      return EXIT_FAILURE;
    }
  if (preserve_fds < 0)
    {
      fprintf (stderr, "berth-runtime %s: --preserve-fds must not be negative\n", command);
      return EXIT_USAGE;
    }

  options.id = argv[1];
  options.bundle = bundle ? bundle : ".";
  options.pid_file = pid_file;
  options.console_socket = console_socket;
  options.preserve_fds = preserve_fds;

  /* Blocked before the clone so that none is lost between start and the
   * wait; the container's process unblocks them before exec. */
  sigemptyset (&forwarded);
  if (run && !detach)
    {
      static const int signals[]
        = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT };
      for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
        sigaddset (&forwarded, signals[i]);
      sigprocmask (SIG_BLOCK, &forwarded, &previous);
    }

  pid = rt_create (global, &options, &error);
  if (pid < 0)
    {
      rt_log_error ("%s", error->message);
      return EXIT_FAILURE;
    }
  if (!run)
    return EXIT_SUCCESS;

  if (!rt_start_created (global, options.id, &error))
    {
      rt_log_error ("%s", error->message);
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      rt_delete_stopped (global, options.id);
      return EXIT_FAILURE;
    }
  if (detach)
    return EXIT_SUCCESS;
  rt_log_debug ("started");
  status = wait_forwarding (pid, &forwarded);
  rt_log_debug ("the container exited with %d", status);
  rt_delete_stopped (global, options.id);
  rt_log_debug ("deleted");
  return status;
}

static int
cmd_exec (const RtGlobal *global, int argc, char **argv)
{
  g_autofree char *process = NULL;
  g_autofree char *console_socket = NULL;
  g_autofree char *pid_file = NULL;
  g_autofree char *cwd = NULL;
  g_autofree char *user = NULL;
  g_auto (GStrv) env = NULL;
  g_auto (GStrv) additional_gids = NULL;
  gboolean tty = FALSE, detach = FALSE;
  int preserve_fds = 0;
  GOptionEntry entries[]
    = { { "process", 'p', 0, G_OPTION_ARG_FILENAME, &process,
          "An OCI process object (JSON) instead of the bundle's", "FILE" },
        { "console-socket", 0, 0, G_OPTION_ARG_FILENAME, &console_socket,
          "Send the pty master to this AF_UNIX socket", "PATH" },
        { "pid-file", 0, 0, G_OPTION_ARG_FILENAME, &pid_file, "Write the process's pid here",
          "FILE" },
        { "tty", 't', 0, G_OPTION_ARG_NONE, &tty, "Give the process a pty (needs --console-socket)",
          NULL },
        { "detach", 'd', 0, G_OPTION_ARG_NONE, &detach, "Return once the process runs", NULL },
        { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env, "Add KEY=VALUE to the environment",
          "KEY=VALUE" },
        { "cwd", 0, 0, G_OPTION_ARG_FILENAME, &cwd, "Working directory", "DIR" },
        { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "Numeric UID[:GID]", "UID[:GID]" },
        { "additional-gids", 'g', 0, G_OPTION_ARG_STRING_ARRAY, &additional_gids,
          "A supplementary group (repeatable; replaces the bundle's)", "GID" },
        { "preserve-fds", 0, 0, G_OPTION_ARG_INT, &preserve_fds,
          "Pass N descriptors after 0, 1, 2 to the process", "N" },
        { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new ("ID [COMMAND [ARG...]]");
  g_autoptr (GError) error = NULL;
  RtExecOptions o = { 0 };
  int status;

  g_option_context_set_summary (context, "Run a new process in a running container.");
  g_option_context_add_main_entries (context, entries, NULL);
  /* Options after the id belong to the command. */
  g_option_context_set_strict_posix (context, TRUE);
  parse_or_exit (context, "exec", &argc, &argv);
  if (argc < 2)
    {
      fprintf (stderr, "berth-runtime exec: missing argument: the container id\n");
      return EXIT_USAGE;
    }
  if (argc < 3 && process == NULL)
    {
      fprintf (stderr, "berth-runtime exec: missing argument: the command (or --process)\n");
      return EXIT_USAGE;
    }
  if (preserve_fds < 0)
    {
      fprintf (stderr, "berth-runtime exec: --preserve-fds must not be negative\n");
      return EXIT_USAGE;
    }
  o.id = argv[1];
  o.process_file = process;
  o.args = argc > 2 ? argv + 2 : NULL;
  o.env = env;
  o.cwd = cwd;
  o.user = user;
  o.additional_gids = additional_gids;
  o.tty = tty;
  o.console_socket = console_socket;
  o.pid_file = pid_file;
  o.detach = detach;
  o.preserve_fds = preserve_fds;
  status = rt_exec (global, &o, &error);
  if (status < 0)
    {
      rt_log_error ("%s", error->message);
      if (g_error_matches (error, RT_ERROR, RT_ERROR_EXEC_NOT_FOUND))
        return 127;
      if (g_error_matches (error, RT_ERROR, RT_ERROR_EXEC_NOT_ALLOWED))
        return 126;
      return EXIT_FAILURE;
    }
  return status;
}

static int
cmd_spec (int argc, char **argv)
{
  g_autofree char *bundle = NULL;
  g_autofree char *rootfs = NULL;
  g_autofree char *cwd = NULL;
  g_autofree char *hostname = NULL;
  g_autofree char *user = NULL;
  g_autofree char *init = NULL;
  g_autofree char *status_dir = NULL;
  g_autofree char *cgroups_path = NULL;
  g_autofree char *network = NULL;
  g_auto (GStrv) env = NULL;
  gboolean terminal = FALSE, readonly = FALSE;
  gint64 memory = 0, pids = 0;
  double cpus = 0;
  GOptionEntry entries[]
    = { { "bundle", 'b', 0, G_OPTION_ARG_FILENAME, &bundle, "Write DIR/config.json (default: .)",
          "DIR" },
        { "rootfs", 0, 0, G_OPTION_ARG_FILENAME, &rootfs, "root.path (default: rootfs)", "PATH" },
        { "readonly", 0, 0, G_OPTION_ARG_NONE, &readonly, "A read-only root file system", NULL },
        { "terminal", 't', 0, G_OPTION_ARG_NONE, &terminal, "process.terminal", NULL },
        { "env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env, "Add KEY=VALUE to the environment",
          "KEY=VALUE" },
        { "cwd", 'w', 0, G_OPTION_ARG_FILENAME, &cwd, "Working directory (default: /)", "DIR" },
        { "hostname", 0, 0, G_OPTION_ARG_STRING, &hostname, "The container's hostname", "NAME" },
        { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "Numeric UID[:GID]", "UID[:GID]" },
        { "network", 0, 0, G_OPTION_ARG_STRING, &network,
          "none (a private network namespace, the default) or host", "MODE" },
        { "memory", 'm', 0, G_OPTION_ARG_INT64, &memory, "Memory limit in bytes", "BYTES" },
        { "cpus", 0, 0, G_OPTION_ARG_DOUBLE, &cpus, "CPU quota, in CPUs", "N" },
        { "pids-limit", 0, 0, G_OPTION_ARG_INT64, &pids, "Most processes at once", "N" },
        { "cgroups-path", 0, 0, G_OPTION_ARG_STRING, &cgroups_path, "linux.cgroupsPath", "PATH" },
        { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, "Host path of berth-init, run as PID 1",
          "PATH" },
        { "status-dir", 0, 0, G_OPTION_ARG_FILENAME, &status_dir,
          "Host directory where berth-init writes the exit status", "DIR" },
        { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new ("[-- COMMAND [ARG...]]");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) spec = NULL;
  BerthOciSpecOptions o = { 0 };
  static const char *const default_args[] = { "sh", NULL };

  g_option_context_set_summary (context,
                                "Write the config.json berthd would write, with berth's defaults.");
  g_option_context_add_main_entries (context, entries, NULL);
  parse_or_exit (context, "spec", &argc, &argv);
  if (argc > 1 && g_str_equal (argv[1], "--"))
    {
      argv++;
      argc--;
    }
  o.args = argc > 1 ? (const char *const *)argv + 1 : default_args;
  o.env = (const char *const *)env;
  o.cwd = cwd;
  o.terminal = terminal;
  o.hostname = hostname;
  o.rootfs = rootfs;
  o.readonly_rootfs = readonly;
  o.memory_limit = memory;
  o.cpus = cpus;
  o.pids_limit = pids;
  o.cgroups_path = cgroups_path;
  o.init_path = init;
  o.status_dir = status_dir;
  if (network && !g_str_equal (network, "none") && !g_str_equal (network, "host"))
    {
      fprintf (stderr, "berth-runtime spec: --network must be none or host, not \"%s\"\n", network);
      return EXIT_USAGE;
    }
  o.host_network = g_strcmp0 (network, "host") == 0;
  if (user)
    {
      g_auto (GStrv) parts = g_strsplit (user, ":", 2);
      guint64 uid, gid = 0;

      if (!g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT32 - 1, &uid, NULL)
          || (parts[1]
              && !g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT32 - 1, &gid, NULL)))
        {
          fprintf (stderr, "berth-runtime spec: --user wants numeric UID[:GID], not \"%s\"\n",
                   user);
          return EXIT_USAGE;
        }
      o.uid = (guint32)uid;
      o.gid = (guint32)(parts[1] ? gid : uid);
    }

  spec = berth_oci_spec_new (&o, &error);
  if (spec == NULL || !berth_oci_spec_write (spec, bundle ? bundle : ".", &error))
    {
      rt_log_error ("%s", error->message);
      return EXIT_FAILURE;
    }
  return EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  RtGlobal global;
  const char *command;
  int ret;

  rt_global_parse (&global, &argc, &argv);
  rt_log_init (&global);
  command = argv[1];
  argv++;
  argc--;

  if (g_str_equal (command, "create"))
    ret = cmd_create_or_run (&global, FALSE, argc, argv);
  else if (g_str_equal (command, "run"))
    ret = cmd_create_or_run (&global, TRUE, argc, argv);
  else if (g_str_equal (command, "spec"))
    ret = cmd_spec (argc, argv);
  else if (g_str_equal (command, "exec"))
    ret = cmd_exec (&global, argc, argv);
  else
    {
      fprintf (stderr, "berth-runtime-create: unknown command \"%s\"\n", command);
      ret = EXIT_USAGE;
    }
  rt_global_clear (&global);
  return ret;
}
