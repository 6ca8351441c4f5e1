/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berthctl build: sends the build context (a directory as a tar, minus
 * what .containerignore or .dockerignore leave out, or a tar read from
 * stdin) to Manager.BuildImage and prints the Build object's steps and
 * output as Docker's classic builder does. Ctrl-C cancels the build. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-fd.h"
#include "berth-ignore.h"
#include "ctl.h"

#define BUILD_IFACE "org.berth.berth1.Build"

typedef struct
{
  BerthCtl *ctl;
  GMainLoop *loop;
  char *path;
  gboolean quiet;
  gboolean finished;
  char *image_id;
  char *error_message;
  GString *step_output; /* the running step's output, shown on failure with -q */
  gboolean cancel_sent;
} Follow;

static void
follow_clear (Follow *f)
{
  g_clear_pointer (&f->loop, g_main_loop_unref);
  g_free (f->path);
  g_free (f->image_id);
  g_free (f->error_message);
  if (f->step_output)
    g_string_free (f->step_output, TRUE);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Follow, follow_clear)

static const char *
hex_of (const char *id)
{
  return g_str_has_prefix (id, "sha256:") ? id + 7 : id;
}

static void
on_signal (GDBusConnection *bus, const char *sender, const char *path, const char *iface,
           const char *signal, GVariant *params, gpointer user_data)
{
  Follow *f = user_data;

  if (f->path == NULL || !g_str_equal (path, f->path) || f->finished)
    return;
  if (g_str_equal (signal, "StepStarted"))
    {
      guint step, steps;
      const char *text;

      g_variant_get (params, "(uu&s)", &step, &steps, &text);
      g_string_truncate (f->step_output, 0);
      if (!f->quiet)
        g_print ("STEP %u/%u: %s\n", step, steps, text);
    }
  else if (g_str_equal (signal, "Output"))
    {
      g_autoptr (GVariant) data = g_variant_get_child_value (params, 0);
      gsize len;
      const char *bytes = g_variant_get_fixed_array (data, &len, 1);

      if (f->quiet)
        g_string_append_len (f->step_output, bytes, len);
      else
        {
          fwrite (bytes, 1, len, stdout);
          fflush (stdout);
        }
    }
  else if (g_str_equal (signal, "StepDone"))
    {
      guint step;
      const char *id;
      gboolean cached;

      g_variant_get (params, "(u&sb)", &step, &id, &cached);
      if (!f->quiet && *id)
        g_print ("---> %.12s\n", hex_of (id));
    }
  else if (g_str_equal (signal, "Finished"))
    {
      const char *id, *name, *message;

      g_variant_get (params, "(&s&s&s)", &id, &name, &message);
      f->finished = TRUE;
      f->image_id = *id ? g_strdup (id) : NULL;
      f->error_message = *id ? NULL : g_strdup (*message ? message : name);
      g_main_loop_quit (f->loop);
    }
}

static void
on_berthd_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  Follow *f = user_data;

  if (f->finished)
    return;
  f->finished = TRUE;
  f->error_message = g_strdup ("berthd went away during the build (see its log)");
  g_main_loop_quit (f->loop);
}

static gboolean
on_interrupt (gpointer user_data)
{
  Follow *f = user_data;

  if (f->path && !f->cancel_sent)
    {
      f->cancel_sent = TRUE;
      ctl_cancel (f->ctl, f->path, BUILD_IFACE);
      g_printerr ("canceling the build...\n");
    }
  return G_SOURCE_CONTINUE;
}

/* --- the context -------------------------------------------------------- */

typedef struct
{
  int dirfd;
  BerthIgnore *ignore;
  char *always[3];
  int out_fd;
  GError *error;
} Sender;

static gpointer
send_thread (gpointer user_data)
{
  Sender *s = user_data;

  berth_ignore_write_context (s->dirfd, s->ignore, (const char *const *)s->always, s->out_fd,
                              &s->error);
  berth_close_fdp (&s->out_fd);
  return NULL;
}

static void
sender_free (Sender *s)
{
  berth_close_fdp (&s->dirfd);
  berth_close_fdp (&s->out_fd);
  berth_ignore_free (s->ignore);
  for (guint i = 0; i < G_N_ELEMENTS (s->always); i++)
    g_free (s->always[i]);
  g_clear_error (&s->error);
  g_free (s);
}

/* The ignore file of the context: .containerignore, else .dockerignore. */
static gboolean
load_ignore (Sender *s, GError **error)
{
  static const char *const names[] = { ".containerignore", ".dockerignore" };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      berth_autofd int fd = openat (s->dirfd, names[i], O_RDONLY | O_CLOEXEC);
      g_autoptr (GIOChannel) channel = NULL;
      g_autofree char *text = NULL;
      gsize len;

      if (fd < 0)
        continue;
      channel = g_io_channel_unix_new (fd);
      if (g_io_channel_set_encoding (channel, NULL, error) != G_IO_STATUS_NORMAL
          || g_io_channel_read_to_end (channel, &text, &len, error) != G_IO_STATUS_NORMAL)
        return FALSE;
      s->ignore = berth_ignore_new (text, error);
      if (s->ignore == NULL)
        {
          g_prefix_error (error, "%s: ", names[i]);
          return FALSE;
        }
      s->always[1] = g_strdup (names[i]);
      return TRUE;
    }
  return TRUE;
}

/* -f FILE for a directory context: its path inside the context. */
static char *
containerfile_in_context (const char *dir, const char *file, GError **error)
{
  g_autofree char *cdir = g_canonicalize_filename (dir, NULL);
  g_autofree char *real_dir = realpath (cdir, NULL);
  g_autofree char *cfile = g_canonicalize_filename (file, NULL);
  g_autofree char *real_file = realpath (cfile, NULL);

  if (real_file == NULL)
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: %s", file,
                        g_strerror (errno)),
           NULL;
  if (real_dir == NULL || !g_str_has_prefix (real_file, real_dir)
      || real_file[strlen (real_dir)] != '/')
    return g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s is not inside the build context %s", file, dir),
           NULL;
  return g_strdup (real_file + strlen (real_dir) + 1);
}

static gboolean
add_pairs (GVariantBuilder *options, const char *key, char **pairs, const char *what)
{
  g_auto (GVariantBuilder) map = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{ss}"));

  if (pairs == NULL)
    return TRUE;
  for (guint i = 0; pairs[i]; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      g_autofree char *name = eq ? g_strndup (pairs[i], eq - pairs[i]) : g_strdup (pairs[i]);
      const char *value = eq ? eq + 1 : g_getenv (name);

      if (*name == '\0')
        {
          g_printerr ("berthctl build: %s \"%s\" has no name (give NAME=VALUE)\n", what, pairs[i]);
          return FALSE;
        }
      /* --build-arg NAME takes the value from the environment, as docker does. */
      if (value == NULL)
        continue;
      g_variant_builder_add (&map, "{ss}", name, value);
    }
  g_variant_builder_add (options, "{sv}", key, g_variant_builder_end (&map));
  return TRUE;
}

int
ctl_verb_build (BerthCtl *ctl, int argc, char **argv)
{
  g_auto (GStrv) tags = NULL, build_args = NULL, labels = NULL;
  g_autofree char *file = NULL, *pull = NULL, *target = NULL;
  gboolean no_cache = FALSE, quiet = FALSE;
  GOptionEntry entries[] = {
    { "tag", 't', 0, G_OPTION_ARG_STRING_ARRAY, &tags, "Name the image (repeatable)", "REF" },
    { "file", 'f', 0, G_OPTION_ARG_FILENAME, &file,
      "The Containerfile (default: Containerfile, else Dockerfile, in the context)", "FILE" },
    { "build-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &build_args, "Set a build argument",
      "NAME=VALUE" },
    { "label", 0, 0, G_OPTION_ARG_STRING_ARRAY, &labels, "Add a label to the image", "NAME=VALUE" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache, "Run every step, using no cached layer",
      NULL },
    { "pull", 0, 0, G_OPTION_ARG_STRING, &pull,
      "Pull FROM images: missing (default), always or never", "POLICY" },
    { "target", 0, 0, G_OPTION_ARG_STRING, &target, "Build this stage (default: the last)",
      "STAGE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the image ID", NULL },
    { NULL },
  };
  g_auto (GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_auto (Follow) f = { 0 };
  GDBusConnection *bus;
  Sender *sender = NULL;
  GThread *thread = NULL;
  guint sub, sigint, sigterm, watch;
  int pipe_fds[2] = { -1, -1 };
  int r = ctl_parse_options ("build", "DIR|-",
                             "Build an image from a Containerfile and a context directory (or a "
                             "tar on stdin).",
                             entries, &argc, &argv);

  if (r != CTL_EXIT_OK)
    return r == CTL_HELP_SHOWN ? CTL_EXIT_OK : r;
  if (argc != 2)
    {
      g_printerr ("berthctl build: give one context directory, or - for a tar on stdin (see "
                  "berthctl build --help)\n");
      return CTL_EXIT_USAGE;
    }
  if (pull && !g_str_equal (pull, "missing") && !g_str_equal (pull, "always")
      && !g_str_equal (pull, "never"))
    {
      g_printerr ("berthctl build: --pull takes missing, always or never, not \"%s\"\n", pull);
      return CTL_EXIT_USAGE;
    }

  if (g_str_equal (argv[1], "-"))
    {
      if (file)
        g_variant_builder_add (&options, "{sv}", "containerfile", g_variant_new_string (file));
      if (g_unix_fd_list_append (fds, STDIN_FILENO, &error) < 0)
        {
          g_printerr ("berthctl build: %s\n", error->message);
          return CTL_EXIT_FAILURE;
        }
    }
  else
    {
      sender = g_new0 (Sender, 1);
      sender->out_fd = -1;
      sender->dirfd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (sender->dirfd < 0)
        {
          g_printerr ("berthctl build: %s: %s (give a context directory or -)\n", argv[1],
                      g_strerror (errno));
          sender_free (sender);
          return CTL_EXIT_FAILURE;
        }
      if (file)
        {
          sender->always[0] = containerfile_in_context (argv[1], file, &error);
          if (sender->always[0] == NULL)
            {
              g_printerr ("berthctl build: %s\n", error->message);
              sender_free (sender);
              return CTL_EXIT_FAILURE;
            }
          g_variant_builder_add (&options, "{sv}", "containerfile",
                                 g_variant_new_string (sender->always[0]));
        }
      else
        sender->always[0]
          = g_strdup (faccessat (sender->dirfd, "Containerfile", F_OK, 0) == 0 ? "Containerfile"
                                                                               : "Dockerfile");
      if (!load_ignore (sender, &error) || pipe2 (pipe_fds, O_CLOEXEC) < 0)
        {
          g_printerr ("berthctl build: %s\n", error ? error->message : g_strerror (errno));
          sender_free (sender);
          return CTL_EXIT_FAILURE;
        }
      /* A larger pipe: fewer switches between us and berthd for big contexts. */
      fcntl (pipe_fds[1], F_SETPIPE_SZ, 1 << 20);
      sender->out_fd = pipe_fds[1];
      g_unix_fd_list_append (fds, pipe_fds[0], NULL);
      close (pipe_fds[0]);
    }

  if (tags)
    g_variant_builder_add (&options, "{sv}", "tags",
                           g_variant_new_strv ((const char *const *)tags, -1));
  if (!add_pairs (&options, "build-args", build_args, "--build-arg")
      || !add_pairs (&options, "labels", labels, "--label"))
    {
      if (sender)
        sender_free (sender);
      return CTL_EXIT_USAGE;
    }
  if (no_cache)
    g_variant_builder_add (&options, "{sv}", "no-cache", g_variant_new_boolean (TRUE));
  if (pull)
    g_variant_builder_add (&options, "{sv}", "pull", g_variant_new_string (pull));
  if (target)
    g_variant_builder_add (&options, "{sv}", "target", g_variant_new_string (target));

  bus = ctl_bus (ctl);
  if (bus == NULL)
    {
      if (sender)
        sender_free (sender);
      return CTL_EXIT_FAILURE;
    }
  /* A context reader that goes away must not kill us with SIGPIPE. */
  signal (SIGPIPE, SIG_IGN);
  f.ctl = ctl;
  f.quiet = quiet;
  f.loop = g_main_loop_new (NULL, FALSE);
  f.step_output = g_string_new (NULL);
  /* Subscribed before the call, so that no signal of the build is missed. */
  sub = g_dbus_connection_signal_subscribe (bus, BERTH_BUS_NAME, BUILD_IFACE, NULL, NULL, NULL,
                                            G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &f, NULL);
  reply = ctl_call_manager_with_fds (
    ctl, "BuildImage", g_variant_new ("(h@a{sv})", 0, g_variant_builder_end (&options)), fds,
    G_VARIANT_TYPE ("(o)"));
  g_clear_object (&fds);
  if (reply == NULL)
    {
      g_dbus_connection_signal_unsubscribe (bus, sub);
      if (sender)
        sender_free (sender);
      return CTL_EXIT_FAILURE;
    }
  g_variant_get (reply, "(o)", &f.path);
  if (sender)
    thread = g_thread_new ("context", send_thread, sender);

  sigint = g_unix_signal_add (SIGINT, on_interrupt, &f);
  sigterm = g_unix_signal_add (SIGTERM, on_interrupt, &f);
  watch = g_bus_watch_name_on_connection (bus, BERTH_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                          on_berthd_vanished, &f, NULL);
  if (!f.finished)
    g_main_loop_run (f.loop);
  g_bus_unwatch_name (watch);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_dbus_connection_signal_unsubscribe (bus, sub);
  if (thread)
    {
      g_thread_join (thread);
      /* A context error counts only when the build did not say more. */
      if (sender->error && f.image_id == NULL && !f.cancel_sent)
        g_printerr ("berthctl build: sending the context: %s\n", sender->error->message);
      sender_free (sender);
    }

  if (f.image_id)
    {
      if (!quiet)
        for (guint i = 0; tags && tags[i]; i++)
          g_print ("Successfully tagged %s\n", tags[i]);
      g_print ("%s\n", hex_of (f.image_id));
      return CTL_EXIT_OK;
    }
  if (quiet && f.step_output->len)
    fwrite (f.step_output->str, 1, f.step_output->len, stderr);
  g_printerr ("berthctl build: %s\n", f.error_message ? f.error_message : "the build failed");
  return CTL_EXIT_FAILURE;
}
