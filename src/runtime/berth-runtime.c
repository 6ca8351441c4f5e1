/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-runtime: an OCI runtime with runc's command line.
 *
 * This program handles the commands that act on an existing container
 * (start, state, kill, delete, list) and links GLib alone, so that each of
 * those costs little more than an exec. create, run, exec and spec need json-glib,
 * libseccomp and sd-bus: they are handed to berth-runtime-create, installed
 * beside this program, with the same command line. */
#include "config.h"

#include "berth-signal.h"
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Exit statuses, as runc's: 1 for any failure, 2 for usage errors. */
#define EXIT_USAGE 2

static int
fail (GError *error)
{
  rt_log_error ("%s", error->message);
  g_error_free (error);
  return EXIT_FAILURE;
}

static gboolean
parse_command_options (int *argc, char ***argv, const char *usage, const char *summary,
                       GOptionEntry *entries, int min_args, int max_args)
{
  g_autoptr (GOptionContext) context = g_option_context_new (usage);
  g_autoptr (GError) error = NULL;
  g_autofree char *prgname = g_strdup_printf ("berth-runtime %s", (*argv)[0]);

  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      fprintf (stderr, "berth-runtime %s: %s (see --help)\n", (*argv)[0], error->message);
      exit (EXIT_USAGE);
    }
  if (*argc - 1 < min_args || *argc - 1 > max_args)
    {
      if (*argc - 1 < min_args)
        fprintf (stderr, "berth-runtime %s: missing argument: %s\n", (*argv)[0], usage);
      else
        fprintf (stderr, "berth-runtime %s: unexpected argument \"%s\"\n", (*argv)[0],
                 (*argv)[max_args + 1]);
      exit (EXIT_USAGE);
    }
  return TRUE;
}

static int
cmd_start (const RtGlobal *global, int argc, char **argv)
{
  GOptionEntry entries[] = { { NULL } };
  g_autoptr (RtState) state = NULL;
  g_autofree char *fifo = NULL;
  GError *error = NULL;
  RtStatus status;
  int fd;

  parse_command_options (&argc, &argv, "ID", "Run the process of a created container.", entries, 1,
                         1);
  state = rt_state_load (global->root, argv[1], &error);
  if (state == NULL)
    return fail (error);
  status = rt_state_status (state);
  if (status != RT_STATUS_CREATED)
    {
      rt_log_error ("cannot start container %s: it is %s, not created", state->id,
                    rt_status_to_string (status));
      return EXIT_FAILURE;
    }

  /* The container's process holds the fifo open for reading and waits for
   * a byte (see runtime-container.c). A writer that cannot open finds no
   * reader: the process died. */
  fifo = rt_state_fifo_path (state->dir);
  fd = open (fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENXIO || errno == ENOENT)
        rt_log_error ("cannot start container %s: its process is gone", state->id);
      else
        rt_log_error ("cannot open %s: %s", fifo, g_strerror (errno));
      return EXIT_FAILURE;
    }
  /* Unlinked first, so that `state` says running as soon as we return. */
  unlink (fifo);
  if (write (fd, "s", 1) != 1)
    {
      rt_log_error ("cannot start container %s: %s", state->id, g_strerror (errno));
      close (fd);
      return EXIT_FAILURE;
    }
  close (fd);
  return EXIT_SUCCESS;
}

static int
cmd_state (const RtGlobal *global, int argc, char **argv)
{
  GOptionEntry entries[] = { { NULL } };
  g_autoptr (RtState) state = NULL;
  g_autofree char *json = NULL;
  GError *error = NULL;

  parse_command_options (&argc, &argv, "ID", "Print the OCI state of a container as JSON.", entries,
                         1, 1);
  state = rt_state_load (global->root, argv[1], &error);
  if (state == NULL)
    return fail (error);
  json = rt_state_to_json (state, rt_state_status (state));
  fputs (json, stdout);
  return EXIT_SUCCESS;
}

static int
send_signal (const RtState *state, int signo, gboolean all, GError **error)
{
  int fd;

  if (all)
    {
      g_autoptr (GArray) pids = rt_cgroup_pids (state);

      for (guint i = 0; i < pids->len; i++)
        kill (g_array_index (pids, pid_t, i), signo);
      if (pids->len > 0)
        return TRUE;
      /* Without a cgroup to list, signal at least the init process. */
    }

  fd = rt_state_open_pidfd (state);
  if (fd < 0)
    {
      g_set_error (error, RT_ERROR, RT_ERROR_STATE, "container %s is not running", state->id);
      return FALSE;
    }
  if (syscall (SYS_pidfd_send_signal, fd, signo, NULL, 0) < 0)
    {
      int errsv = errno;
      close (fd);
      g_set_error (error, RT_ERROR, RT_ERROR_FAILED, "cannot signal container %s: %s", state->id,
                   g_strerror (errsv));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static int
cmd_kill (const RtGlobal *global, int argc, char **argv)
{
  gboolean all = FALSE;
  GOptionEntry entries[]
    = { { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Signal every process in the container", NULL },
        { NULL } };
  g_autoptr (RtState) state = NULL;
  GError *error = NULL;
  int signo = SIGTERM;

  parse_command_options (&argc, &argv, "ID [SIGNAL]",
                         "Send a signal (default TERM) to a container's process.", entries, 1, 2);
  if (argc > 2)
    {
      signo = berth_signal_parse (argv[2]);
      if (signo <= 0)
        {
          rt_log_error ("unknown signal \"%s\": use a name such as TERM or KILL, or a number",
                        argv[2]);
          return EXIT_FAILURE;
        }
    }
  state = rt_state_load (global->root, argv[1], &error);
  if (state == NULL)
    return fail (error);
  if (rt_state_status (state) == RT_STATUS_STOPPED)
    {
      rt_log_error ("container %s is not running", state->id);
      return EXIT_FAILURE;
    }
  if (!send_signal (state, signo, all, &error))
    return fail (error);
  return EXIT_SUCCESS;
}

static gboolean
wait_gone (const RtState *state, int timeout_ms)
{
  int fd = rt_state_open_pidfd (state);
  struct pollfd pfd;
  int r;

  if (fd < 0)
    return TRUE;
  pfd.fd = fd;
  pfd.events = POLLIN;
  do
    r = poll (&pfd, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  close (fd);
  return r > 0;
}

static void
remove_state_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      unlink (path);
    }
  rmdir (dir);
}

static int
cmd_delete (const RtGlobal *global, int argc, char **argv)
{
  gboolean force = FALSE;
  GOptionEntry entries[]
    = { { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Kill the container first if it runs", NULL },
        { NULL } };
  g_autoptr (RtState) state = NULL;
  GError *error = NULL;
  RtStatus status;

  parse_command_options (&argc, &argv, "ID", "Remove a container.", entries, 1, 1);
  state = rt_state_load (global->root, argv[1], &error);
  if (state == NULL)
    {
      g_autofree char *dir = NULL;

      if (!g_error_matches (error, RT_ERROR, RT_ERROR_NOT_FOUND))
        return fail (error);
      /* A create that was killed before it wrote the state leaves its
       * directory (and so the id) behind: nothing runs there to stop. */
      dir = rt_state_dir (global->root, argv[1]);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        {
          remove_state_dir (dir);
          g_error_free (error);
          return EXIT_SUCCESS;
        }
      if (force)
        {
          g_error_free (error);
          return EXIT_SUCCESS;
        }
      return fail (error);
    }

  status = rt_state_status (state);
  if (status == RT_STATUS_RUNNING && !force)
    {
      rt_log_error ("cannot delete container %s: it is running (stop it first, or use --force)",
                    state->id);
      return EXIT_FAILURE;
    }
  if (status != RT_STATUS_STOPPED)
    {
      /* A created container was never started: removing it needs no force. */
      send_signal (state, SIGKILL, TRUE, NULL);
      if (!wait_gone (state, 10000))
        {
          rt_log_error ("cannot delete container %s: its process survived SIGKILL for 10 s",
                        state->id);
          return EXIT_FAILURE;
        }
    }
  rt_cgroup_remove (state);
  remove_state_dir (state->dir);
  return EXIT_SUCCESS;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *)a, *(char *const *)b);
}

static int
cmd_list (const RtGlobal *global, int argc, char **argv)
{
  gboolean quiet = FALSE;
  GOptionEntry entries[]
    = { { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print the ids only", NULL }, { NULL } };
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  parse_command_options (&argc, &argv, "", "List the containers.", entries, 0, 0);
  dir = g_dir_open (global->root, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (ids, g_strdup (name));
  g_ptr_array_sort (ids, compare_names);
  if (!quiet)
    printf ("%-20s %-8s %-8s %s\n", "ID", "PID", "STATUS", "BUNDLE");
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr (RtState) state = rt_state_load (global->root, ids->pdata[i], NULL);
      RtStatus status;

      if (state == NULL)
        continue;
      if (quiet)
        {
          printf ("%s\n", state->id);
          continue;
        }
      status = rt_state_status (state);
      printf ("%-20s %-8d %-8s %s\n", state->id, status == RT_STATUS_STOPPED ? 0 : state->pid,
              rt_status_to_string (status), state->bundle);
    }
  return EXIT_SUCCESS;
}

/* create, run, exec and spec: berth-runtime-create beside this program. */
static int
exec_create_helper (char **original_argv)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *dir = self ? g_path_get_dirname (self) : g_strdup (BERTH_LIBEXECDIR);
  g_autofree char *helper = g_build_filename (dir, "berth-runtime-create", NULL);

  execv (helper, original_argv);
  rt_log_error ("cannot run %s: %s", helper, g_strerror (errno));
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  g_auto (GStrv) original_argv = g_strdupv (argv);
  RtGlobal global;
  const char *command;
  int ret;

  rt_global_parse (&global, &argc, &argv);
  rt_log_init (&global);
  command = argv[1];
  argv++;
  argc--;

  if (g_str_equal (command, "create") || g_str_equal (command, "run")
      || g_str_equal (command, "exec") || g_str_equal (command, "spec"))
    ret = exec_create_helper (original_argv);
  else if (g_str_equal (command, "start"))
    ret = cmd_start (&global, argc, argv);
  else if (g_str_equal (command, "state"))
    ret = cmd_state (&global, argc, argv);
  else if (g_str_equal (command, "kill"))
    ret = cmd_kill (&global, argc, argv);
  else if (g_str_equal (command, "delete"))
    ret = cmd_delete (&global, argc, argv);
  else if (g_str_equal (command, "list"))
    ret = cmd_list (&global, argc, argv);
  else
    {
      fprintf (stderr, "berth-runtime: unknown command \"%s\" (see berth-runtime --help)\n",
               command);
      ret = EXIT_USAGE;
    }
  rt_global_clear (&global);
  return ret;
}
