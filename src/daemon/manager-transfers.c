/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's registry methods: PullImage and PushImage (transfers run
 * by the berth-pull helper), Login, Logout and SearchImages.
 *
 * A pull: berth-pull downloads and verifies every blob into the store's
 * staging area (staging/pull/<hex>, named only once verified) and tells
 * us so on its stdout. Here, a committer thread unpacks the layers in
 * order as soon as each one is verified — while the next ones still
 * download — with berth_store_commit_layer, which checks the diff_id; then
 * the config and manifest are stored and the image is added. berthd is the
 * only writer of the store itself; the helper writes only staging/pull. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "berth-auth.h"
#include "berth-curl.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-image-config.h"
#include "berth-manifest.h"
#include "berth-reference.h"
#include "berth-registry-client.h"
#include "transfer.h"

/* --- the helper -------------------------------------------------------- */

static char *
helper_path (void)
{
  /* Tests run berthd from the build tree. */
  const char *path = g_getenv ("BERTH_PULL_HELPER");

  return g_strdup (path && *path ? path : BERTH_LIBEXECDIR "/berth-pull");
}

static char *
staging_pull_path (BerthDaemon *daemon, const char *digest)
{
  return g_build_filename (berth_store_get_dir (daemon->store), "staging", "pull",
                           berth_digest_hex (digest), NULL);
}

/* A verified blob berth-pull left, or the store's copy. */
static int
open_verified_blob (BerthDaemon *daemon, const char *digest, GError **error)
{
  g_autofree char *path = staging_pull_path (daemon, digest);
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd >= 0)
    return fd;
  return berth_store_open_blob (daemon->store, digest, error);
}

static gboolean
read_verified_blob (BerthDaemon *daemon, const char *digest, char **out_data, gsize *out_len,
                    GError **error)
{
  g_autofree char *path = staging_pull_path (daemon, digest);
  g_autofree char *got = NULL;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return berth_store_read_blob (daemon->store, digest, BERTH_MANIFEST_MAX_SIZE, out_data, out_len,
                                  error);
  if (!g_file_get_contents (path, out_data, out_len, error))
    return FALSE;
  got = berth_digest_bytes (BERTH_DIGEST_SHA256, *out_data, *out_len);
  if (!g_str_equal (got, digest))
    {
      g_clear_pointer (out_data, g_free);
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "blob %s in the staging area does not match its digest (got %s)", digest, got);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  Transfer *t;
  GSubprocess *helper;
  /* What the manifest says (pulls). */
  char *manifest_digest;
  char *config_digest;
  GPtrArray *layers; /* of char* digests, bottom first */
  /* From the helper. */
  gboolean done;
  int error_code;
  char *error_message;
  /* The committer. */
  GThread *committer;
  GError *commit_error;
  gboolean aborted;
} Run;

static void
run_clear (Run *run)
{
  g_clear_object (&run->helper);
  g_free (run->manifest_digest);
  g_free (run->config_digest);
  g_clear_pointer (&run->layers, g_ptr_array_unref);
  g_free (run->error_message);
  g_clear_error (&run->commit_error);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

typedef struct
{
  GSubprocess *helper;
  char *unit; /* the transient service, under systemd */
} Helper;

static void
helper_free (Helper *h)
{
  g_clear_object (&h->helper);
  g_free (h->unit);
  g_free (h);
}

static void
kill_helper (GCancellable *cancellable, gpointer user_data)
{
  Helper *h = user_data;

  /* Under systemd, ending systemd-run leaves the service: stop it too. */
  if (h->unit)
    {
      const char *argv[] = { "systemctl", "stop", "--no-block", h->unit, NULL };
      g_spawn_async (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL);
    }
  g_subprocess_force_exit (h->helper);
}

static gboolean
blob_ready (Transfer *t, const char *digest)
{
  TransferBlob *b = berth_transfer_find_blob (t, digest);

  return b && (g_str_equal (b->state, "verified") || g_str_equal (b->state, "cached"));
}

/* Waits until @digest is verified; FALSE when the pull ended without it. */
static gboolean
wait_for_blob (Run *run, const char *digest)
{
  Transfer *t = run->t;
  gboolean ready;

  g_mutex_lock (&t->lock);
  while (!(ready = blob_ready (t, digest)) && !t->helper_ended && !run->aborted)
    g_cond_wait (&t->cond, &t->lock);
  g_mutex_unlock (&t->lock);
  return ready;
}

static void
set_blob_state (Transfer *t, const char *digest, const char *state)
{
  g_mutex_lock (&t->lock);
  for (guint i = 0; i < t->blobs->len; i++)
    {
      TransferBlob *b = t->blobs->pdata[i];
      if (g_str_equal (b->digest, digest))
        b->state = state;
    }
  berth_transfer_changed (t);
  g_mutex_unlock (&t->lock);
}

static gboolean
commit_all (Run *run, GError **error)
{
  Transfer *t = run->t;
  BerthStore *store = t->daemon->store;
  g_autofree char *config_data = NULL;
  g_autofree char *manifest_data = NULL;
  g_autofree char *parent = NULL;
  g_autoptr (BerthImageConfig) config = NULL;
  gsize config_len = 0, manifest_len = 0;

  if (!wait_for_blob (run, run->config_digest))
    return TRUE; /* the helper's error says why */
  if (!read_verified_blob (t->daemon, run->config_digest, &config_data, &config_len, error))
    return FALSE;
  config = berth_image_config_parse (config_data, config_len, error);
  if (config == NULL)
    return FALSE;
  if (g_strv_length (config->diff_ids) != run->layers->len)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARCHIVE,
                   "the manifest lists %u layers but the config %u diff_ids", run->layers->len,
                   g_strv_length (config->diff_ids));
      return FALSE;
    }
  for (guint i = 0; i < run->layers->len; i++)
    {
      const char *digest = run->layers->pdata[i];
      berth_autofd int fd = -1;
      char *chain = NULL;

      if (!wait_for_blob (run, digest))
        return TRUE;
      g_mutex_lock (&t->lock);
      t->state = "downloading";
      g_mutex_unlock (&t->lock);
      if ((fd = open_verified_blob (t->daemon, digest, error)) < 0)
        return FALSE;
      /* Only bytes that matched their digest get here; the unpacker checks
       * the diff_id while extracting. */
      if (!berth_store_commit_layer (store, fd, parent, digest, config->diff_ids[i], NULL, &chain,
                                     t->cancellable, error))
        return FALSE;
      g_free (parent);
      parent = chain;
      set_blob_state (t, digest, "unpacked");
    }
  if (!read_verified_blob (t->daemon, run->manifest_digest, &manifest_data, &manifest_len, error))
    return FALSE;
  return berth_store_write_blob (store, config_data, config_len, run->config_digest, NULL, error)
         && berth_store_write_blob (store, manifest_data, manifest_len, run->manifest_digest, NULL,
                                    error);
}

static gpointer
committer_thread (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;

  if (!commit_all (run, &error))
    {
      run->commit_error = g_steal_pointer (&error);
      /* Nothing more is worth downloading. */
      g_cancellable_cancel (run->t->cancellable);
    }
  return NULL;
}

static gboolean
start_commits (Run *run, const char *digest, GError **error)
{
  Transfer *t = run->t;
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (BerthManifest) manifest = NULL;

  if (!read_verified_blob (t->daemon, digest, &data, &len, error))
    return FALSE;
  manifest = berth_manifest_parse (data, len, error);
  if (manifest == NULL)
    return FALSE;
  run->manifest_digest = g_strdup (digest);
  run->config_digest = g_strdup (manifest->config->digest);
  run->layers = g_ptr_array_new_with_free_func (g_free);
  g_mutex_lock (&t->lock);
  for (guint i = 0; i <= manifest->layers->len; i++)
    {
      BerthDescriptor *d = i == 0 ? manifest->config : manifest->layers->pdata[i - 1];
      TransferBlob *b = g_new0 (TransferBlob, 1);

      b->digest = g_strdup (d->digest);
      b->size = d->size;
      b->state = "waiting";
      g_ptr_array_add (t->blobs, b);
      if (i > 0)
        g_ptr_array_add (run->layers, g_strdup (d->digest));
    }
  t->state = "downloading";
  berth_transfer_changed (t);
  g_mutex_unlock (&t->lock);
  if (g_str_equal (t->type, "pull"))
    run->committer = g_thread_new ("berth-commit", committer_thread, run);
  return TRUE;
}

static gboolean
handle_line (Run *run, char *line, GError **error)
{
  Transfer *t = run->t;
  char *arg = strchr (line, ' ');
  TransferBlob *b;

  if (arg)
    *arg++ = '\0';
  else
    arg = line + strlen (line);

  if (g_str_equal (line, "name"))
    {
      g_mutex_lock (&t->lock);
      g_free (t->remote);
      t->remote = g_strdup (arg);
      if (g_str_equal (t->type, "pull"))
        {
          g_free (t->local);
          t->local = g_strdup (arg);
        }
      berth_transfer_changed (t);
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "manifest") && run->manifest_digest == NULL)
    {
      if (g_str_equal (t->type, "pull"))
        return start_commits (run, arg, error);
      run->manifest_digest = g_strdup (arg);
      g_mutex_lock (&t->lock);
      t->state = "uploading";
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "total"))
    {
      g_mutex_lock (&t->lock);
      t->bytes_total = g_ascii_strtoull (arg, NULL, 10);
      berth_transfer_changed (t);
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "start") || g_str_equal (line, "progress"))
    {
      char *number = strchr (arg, ' ');
      guint64 value;

      if (number == NULL)
        return TRUE;
      *number++ = '\0';
      value = g_ascii_strtoull (number, NULL, 10);
      g_mutex_lock (&t->lock);
      b = berth_transfer_find_blob (t, arg);
      if (b == NULL)
        {
          b = g_new0 (TransferBlob, 1);
          b->digest = g_strdup (arg);
          g_ptr_array_add (t->blobs, b);
        }
      b->fetched = TRUE;
      if (g_str_equal (line, "start"))
        {
          b->size = value;
          b->state = g_str_equal (t->type, "pull") ? "downloading" : "uploading";
        }
      else
        b->done = value;
      berth_transfer_changed (t);
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "blob"))
    {
      g_mutex_lock (&t->lock);
      for (guint i = 0; i < t->blobs->len; i++)
        {
          b = t->blobs->pdata[i];
          if (!g_str_equal (b->digest, arg))
            continue;
          if (g_str_equal (t->type, "push"))
            b->state = g_str_equal (b->state, "mounted") ? "mounted" : "pushed";
          else
            b->state = b->fetched ? "verified" : "cached";
          b->done = b->size;
        }
      berth_transfer_changed (t);
      g_cond_broadcast (&t->cond);
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "mounted"))
    {
      char *space = strchr (arg, ' ');

      if (space)
        *space = '\0';
      g_mutex_lock (&t->lock);
      if ((b = berth_transfer_find_blob (t, arg)))
        b->state = "mounted";
      berth_transfer_changed (t);
      g_mutex_unlock (&t->lock);
    }
  else if (g_str_equal (line, "security"))
    g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "TRANSFER_ID",
                      t->path + strlen (BERTH_MANAGER_PATH "/transfer/"), "IMAGE_NAME", t->request,
                      "BERTH_SECURITY_EVENT", "digest-mismatch", "MESSAGE",
                      "SECURITY: %s; the content was refused", arg);
  else if (g_str_equal (line, "error"))
    {
      char *message = strchr (arg, ' ');
      run->error_code = atoi (arg);
      if (run->error_code < 0 || run->error_code >= BERTH_ERROR_N_CODES)
        run->error_code = BERTH_ERROR_FAILED;
      g_free (run->error_message);
      run->error_message = g_strdup (message ? message + 1 : "berth-pull failed");
    }
  else if (g_str_equal (line, "done"))
    run->done = TRUE;
  return TRUE;
}

static void
remove_staged (Run *run)
{
  Transfer *t = run->t;
  g_autofree char *m = NULL;

  for (guint i = 0; i < t->blobs->len; i++)
    {
      g_autofree char *path
        = staging_pull_path (t->daemon, ((TransferBlob *)t->blobs->pdata[i])->digest);
      unlink (path);
    }
  if (run->manifest_digest)
    {
      m = staging_pull_path (t->daemon, run->manifest_digest);
      unlink (m);
    }
}

/* systemd-run and its properties under systemd (the helper is a transient
 * service that can write nothing but the staging area; its stdout stays our
 * pipe), then the helper. Without systemd it sandboxes itself (no_new_privs,
 * no capabilities, a seccomp filter) before it touches the network. */
static void
add_helper_command (BerthDaemon *daemon, GPtrArray *argv, const char *unit)
{
  if (unit)
    {
      g_autofree char *staging
        = g_build_filename (berth_store_get_dir (daemon->store), "staging", NULL);
      const char *const properties[] = {
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "SystemCallArchitectures=native",
        "CapabilityBoundingSet=",
        "RestrictNamespaces=yes",
        "LockPersonality=yes",
        "MemoryDenyWriteExecute=yes",
      };

      g_ptr_array_add (argv, g_strdup ("systemd-run"));
      g_ptr_array_add (argv, g_strdup ("--quiet"));
      g_ptr_array_add (argv, g_strdup ("--pipe"));
      g_ptr_array_add (argv, g_strdup ("--wait"));
      g_ptr_array_add (argv, g_strdup ("--collect"));
      g_ptr_array_add (argv, g_strdup_printf ("--unit=%s", unit));
      g_ptr_array_add (argv, g_strdup_printf ("--property=ReadWritePaths=%s", staging));
#ifdef __SANITIZE_ADDRESS__
      /* LeakSanitizer stops the world with ptrace, which the filter forbids. */
      g_ptr_array_add (argv, g_strdup ("--setenv=ASAN_OPTIONS=detect_leaks=0"));
#endif
      for (gsize i = 0; i < G_N_ELEMENTS (properties); i++)
        g_ptr_array_add (argv, g_strdup_printf ("--property=%s", properties[i]));
      g_ptr_array_add (argv, g_strdup ("--"));
    }
  g_ptr_array_add (argv, helper_path ());
  if (unit)
    g_ptr_array_add (argv, g_strdup ("--systemd-sandbox"));
}

/* What this transfer asks of the helper. */
static void
add_request (Transfer *t, const BerthStoreImage *image, GPtrArray *argv)
{
  BerthDaemon *daemon = t->daemon;

  g_ptr_array_add (argv, g_strdup_printf ("--images-dir=%s", berth_store_get_dir (daemon->store)));
  g_ptr_array_add (argv, g_strdup_printf ("--config=%s", daemon->config_path));
  g_ptr_array_add (argv, g_strdup_printf ("--auth=%s", daemon->auth_path));
  g_ptr_array_add (argv, g_strdup_printf ("--jobs=%u", t->jobs));
  if (image)
    {
      g_autoptr (BerthReference) target = berth_reference_parse_normalized (t->request, NULL);

      g_ptr_array_add (argv, g_strdup_printf ("--manifest=%s", image->manifest_digest));
      if (t->compression)
        g_ptr_array_add (argv, g_strdup_printf ("--compression=%s", t->compression));
      /* The image's other names on the same registry: its blobs may be
       * mounted from there instead of uploaded. */
      for (guint i = 0; target && image->names[i]; i++)
        {
          g_autoptr (BerthReference) other = berth_reference_parse (image->names[i], NULL);

          if (other && other->domain && g_str_equal (other->domain, target->domain)
              && !g_str_equal (other->path, target->path))
            g_ptr_array_add (argv, g_strdup_printf ("--mount-from=%s", other->path));
        }
    }
  g_ptr_array_add (argv, g_strdup (t->type));
  g_ptr_array_add (argv, g_strdup (t->request));
}

/* --- the spare helper -------------------------------------------------- */

/* A helper started ahead of the next transfer: exec, loading libcurl and
 * libcrypto and setting up the sandbox take longer than a small image's
 * whole download, so they happen before it is asked for (berth-pull
 * --wait-for-request). One at a time, made after each transfer; it leaves
 * by itself after a minute unused, and is used only while younger than
 * SPARE_MAX_AGE. Its standard input is a socket, so that writing to a
 * spare that is gone is an error, not a SIGPIPE. */
#define SPARE_MAX_AGE_USEC (50 * G_USEC_PER_SEC)

typedef struct _BerthPullSpare BerthPullSpare;

struct _BerthPullSpare
{
  GMutex lock;
  GSubprocess *helper;
  char *unit;
  int request_fd;
  gint64 started;
  guint serial;
  gboolean closing; /* berthd stops: no new spare */
};

static void
spare_discard (BerthPullSpare *spare)
{
  /* Closing its standard input ends it. */
  berth_close_fdp (&spare->request_fd);
  g_clear_object (&spare->helper);
  g_clear_pointer (&spare->unit, g_free);
}

/* Starts a spare unless there is a fresh one (main thread, once a
 * transfer has been announced as finished). */
static void
spare_replenish (BerthDaemon *daemon)
{
  BerthPullSpare *spare = daemon->pull_spare;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  int pair[2];

  g_mutex_lock (&spare->lock);
  if (spare->closing
      || (spare->helper && g_get_monotonic_time () - spare->started < SPARE_MAX_AGE_USEC))
    goto out;
  spare_discard (spare);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
    goto out;
  if (daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
    spare->unit = g_strdup_printf ("berth-pull-%d-spare%u.service", getpid (), ++spare->serial);
  add_helper_command (daemon, argv, spare->unit);
  g_ptr_array_add (argv, g_strdup ("--wait-for-request"));
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_take_stdin_fd (launcher, pair[1]);
  spare->helper = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  if (spare->helper == NULL)
    {
      g_debug ("cannot start a spare berth-pull: %s", error->message);
      close (pair[0]);
      g_clear_pointer (&spare->unit, g_free);
      goto out;
    }
  spare->request_fd = pair[0];
  spare->started = g_get_monotonic_time ();
out:
  g_mutex_unlock (&spare->lock);
}

/* Hands @request to the spare, if there is a fresh one: its process (and
 * unit) become the transfer's. */
static GSubprocess *
spare_take (BerthDaemon *daemon, GPtrArray *request, char **out_unit)
{
  BerthPullSpare *spare = daemon->pull_spare;
  g_autoptr (GString) data = g_string_new (NULL);
  GSubprocess *helper = NULL;
  gsize done = 0;

  for (guint i = 0; i < request->len; i++)
    g_string_append_len (data, request->pdata[i], strlen (request->pdata[i]) + 1);
  g_string_append_c (data, '\0');
  g_mutex_lock (&spare->lock);
  if (spare->helper && g_get_monotonic_time () - spare->started < SPARE_MAX_AGE_USEC)
    {
      while (done < data->len)
        {
          ssize_t n = send (spare->request_fd, data->str + done, data->len - done, MSG_NOSIGNAL);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            break;
          done += n;
        }
      if (done == data->len)
        {
          helper = g_steal_pointer (&spare->helper);
          *out_unit = g_steal_pointer (&spare->unit);
        }
    }
  spare_discard (spare);
  g_mutex_unlock (&spare->lock);
  return helper;
}

static gboolean
run_helper (Transfer *t, Run *run, const BerthStoreImage *image, GError **error)
{
  BerthDaemon *daemon = t->daemon;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) request = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GDataInputStream) lines = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *unit = NULL;
  Helper *h;
  gulong cancel_id;
  gboolean ok = TRUE;

  add_request (t, image, request);
  run->helper = spare_take (daemon, request, &unit);
  if (run->helper == NULL)
    {
      if (daemon->cgroup_manager == BERTH_CGROUP_MANAGER_SYSTEMD)
        unit = g_strdup_printf ("berth-pull-%d-%u.service", getpid (), t->id);
      add_helper_command (daemon, argv, unit);
      for (guint i = 0; i < request->len; i++)
        g_ptr_array_add (argv, g_strdup (request->pdata[i]));
      g_ptr_array_add (argv, NULL);
      launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                            | G_SUBPROCESS_FLAGS_STDIN_INHERIT);
      run->helper
        = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, error);
      if (run->helper == NULL)
        return FALSE;
    }
  h = g_new0 (Helper, 1);
  h->helper = g_object_ref (run->helper);
  h->unit = g_steal_pointer (&unit);
  cancel_id = g_cancellable_connect (t->cancellable, G_CALLBACK (kill_helper), h,
                                     (GDestroyNotify)helper_free);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (run->helper));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (lines, NULL, NULL, &local_error);

      if (line == NULL)
        break;
      if (ok && !handle_line (run, line, &local_error))
        {
          ok = FALSE;
          g_cancellable_cancel (t->cancellable);
        }
    }
  g_subprocess_wait (run->helper, NULL, NULL);
  g_cancellable_disconnect (t->cancellable, cancel_id);

  g_mutex_lock (&t->lock);
  t->helper_ended = TRUE;
  g_cond_broadcast (&t->cond);
  g_mutex_unlock (&t->lock);
  if (run->committer)
    g_thread_join (g_steal_pointer (&run->committer));

  if (g_cancellable_is_cancelled (t->cancellable) && run->commit_error == NULL && ok)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_CANCELLED, "%s %s canceled", t->type,
                   t->request);
      return FALSE;
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (run->commit_error)
    {
      g_propagate_error (error, g_steal_pointer (&run->commit_error));
      return FALSE;
    }
  if (run->error_message)
    {
      g_set_error_literal (error, BERTH_ERROR, run->error_code, run->error_message);
      return FALSE;
    }
  if (!run->done)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED,
                   "berth-pull ended without finishing (exit status %d)",
                   g_subprocess_get_status (run->helper));
      return FALSE;
    }
  return TRUE;
}

static void
transfer_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Transfer *t = data;
  BerthStore *store = t->daemon->store;
  g_auto (Run) run = { 0 };
  g_autoptr (GError) error = NULL;
  gboolean ok;

  run.t = t;
  if (g_str_equal (t->type, "pull"))
    {
      berth_store_begin_write (store);
      ok = run_helper (t, &run, NULL, &error);
      if (ok)
        {
          g_autoptr (BerthStoreImage) image = NULL;
          const char *names[] = { t->local, NULL };
          gboolean named = strchr (t->local, '@') == NULL;

          g_mutex_lock (&t->lock);
          t->state = "committing";
          g_mutex_unlock (&t->lock);
          image = berth_store_add_image (store, run.manifest_digest, named ? names : NULL, &error);
          ok = image != NULL;
          if (ok)
            {
              g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "IMAGE_ID", image->id,
                                "IMAGE_NAME", t->local, "MESSAGE", "pulled %s as image %s",
                                t->local, image->id);
              remove_staged (&run);
            }
        }
      berth_store_end_write (store);
    }
  else
    {
      g_autoptr (BerthStoreImage) image = berth_store_find_image (store, t->request, &error);

      ok = image != NULL && run_helper (t, &run, image, &error);
    }
  t->infos = berth_image_infos_collect (store);
  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
transfer_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *t = user_data;
  BerthDaemon *daemon = t->daemon;
  g_autoptr (GError) error = NULL;

  g_task_propagate_boolean (G_TASK (result), &error);
  if (t->infos)
    berth_daemon_images_apply (t->daemon, t->infos, TRUE);
  berth_transfer_finish (t, error);
  /* The next transfer finds a helper ready. */
  spare_replenish (daemon);
}

void
berth_transfer_run (Transfer *t)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, transfer_done, t);

  g_task_set_task_data (task, t, NULL);
  g_task_run_in_thread (task, transfer_thread);
}

/* --- methods ----------------------------------------------------------- */

static gboolean
parse_options (GDBusMethodInvocation *invocation, GVariant *options, const char *const *allowed,
               GVariantDict **out_dict)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_variant_unref (value);
      if (!g_strv_contains (allowed, key))
        {
          g_dbus_method_invocation_return_error (
            invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "unknown option \"%s\"", key);
          return FALSE;
        }
    }
  *out_dict = g_variant_dict_new (options);
  return TRUE;
}

static Transfer *
find_transfer (BerthDaemon *daemon, const char *key)
{
  GHashTableIter iter;
  Transfer *t;

  g_hash_table_iter_init (&iter, daemon->transfers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&t))
    if (g_str_equal (t->key, key) && !g_cancellable_is_cancelled (t->cancellable))
      return t;
  return NULL;
}

static gboolean
handle_pull (BerthManager *manager, GDBusMethodInvocation *invocation, const char *reference,
             GVariant *options, BerthDaemon *daemon)
{
  static const char *const allowed[] = { "jobs", NULL };
  g_autoptr (GVariantDict) dict = NULL;
  g_autoptr (BerthReference) ref = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *key = NULL;
  Transfer *t;
  guint jobs = 3;

  if (!parse_options (invocation, options, allowed, &dict))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (g_variant_dict_lookup (dict, "jobs", "u", &jobs) && (jobs < 1 || jobs > 16))
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "jobs must be between 1 and 16, not %u", jobs);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  ref = berth_reference_parse (reference, &error);
  if (ref == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  /* Two pulls of the same image share one download: references with a
   * registry are compared in full form ("HOST/app" is "HOST/app:latest");
   * short names as written, since which registry has them is not known
   * yet. */
  if (ref->domain)
    {
      g_autofree char *full = NULL;

      berth_reference_normalize (ref);
      full = berth_reference_to_string (ref);
      key = g_strdup_printf ("pull:%s", full);
    }
  else
    key = g_strdup_printf ("pull:%s", reference);
  t = find_transfer (daemon, key);
  if (t == NULL)
    {
      t = berth_transfer_new (daemon, "pull", reference);
      g_free (t->key);
      t->key = g_steal_pointer (&key);
      t->jobs = jobs;
      berth_transfer_run (t);
    }
  berth_manager_complete_pull_image (manager, invocation, t->path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_push (BerthManager *manager, GDBusMethodInvocation *invocation, const char *reference,
             GVariant *options, BerthDaemon *daemon)
{
  static const char *const allowed[] = { "compression", NULL };
  g_autoptr (GVariantDict) dict = NULL;
  g_autoptr (BerthReference) ref = NULL;
  g_autoptr (GError) error = NULL;
  const char *compression = NULL;
  Transfer *t;

  if (!parse_options (invocation, options, allowed, &dict))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (g_variant_dict_lookup (dict, "compression", "&s", &compression)
      && !g_str_equal (compression, "gzip") && !g_str_equal (compression, "zstd"))
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "compression must be \"gzip\" or \"zstd\", not \"%s\"",
                                             compression);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  ref = berth_reference_parse (reference, &error);
  if (ref == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  t = berth_transfer_new (daemon, "push", reference);
  t->compression = g_strdup (compression);
  berth_transfer_run (t);
  berth_manager_complete_push_image (manager, invocation, t->path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Login, Logout and SearchImages talk to registries or write auth.json:
 * off the main loop. */
typedef struct
{
  BerthDaemon *daemon;
  GDBusMethodInvocation *invocation;
  char *registry;
  char *user;
  char *password;
  char *term;
  guint limit;
  char *auth_path;
  char *config_path;
  BerthConfig *config; /* read in the thread, which owns it */
  GVariant *results;
} Call;

static void
call_free (Call *call)
{
  g_clear_object (&call->invocation);
  g_free (call->registry);
  g_free (call->user);
  if (call->password)
    explicit_bzero (call->password, strlen (call->password));
  g_free (call->password);
  g_free (call->term);
  g_free (call->auth_path);
  g_free (call->config_path);
  g_clear_pointer (&call->config, berth_config_free);
  g_clear_pointer (&call->results, g_variant_unref);
  g_free (call);
}

/* The configuration as it is now on disk (the registries' settings); read
 * in the worker thread, never on the main loop. */
static BerthConfig *
call_config (Call *call)
{
  if (call->config == NULL)
    call->config = berth_config_load (call->config_path, FALSE, NULL);
  if (call->config == NULL)
    call->config = berth_config_new_defaults ();
  return call->config;
}

static BerthRegistryClient *
client_for (Call *call, const char *registry, const char *user, const char *password)
{
  g_autofree char *base = berth_registry_base_url (
    registry, berth_config_registry_allows_http (call_config (call), registry));
  BerthRegistryClient *client = berth_registry_client_new (registry, base, user, password);

  berth_registry_client_set_timeout (client, 10);
  return client;
}

static void
login_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  g_autoptr (BerthRegistryClient) client = NULL;
  g_autoptr (GError) error = NULL;

  /* berthd maps libcurl only once it talks to a registry itself. */
  if (!berth_curl_load (&error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  client = client_for (call, call->registry, call->user, call->password);
  if (!berth_registry_client_check (client, &error)
      || !berth_auth_store (call->auth_path, call->registry, call->user, call->password, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
logout_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  g_autoptr (GError) error = NULL;
  gboolean removed = FALSE;

  if (!berth_auth_remove (call->auth_path, call->registry, &removed, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (!removed)
    g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "not logged in to %s",
                             call->registry);
  else
    g_task_return_boolean (task, TRUE);
}

static void
add_results (GVariantBuilder *builder, const char *registry, JsonArray *results, guint *count,
             guint limit)
{
  for (guint i = 0; i < json_array_get_length (results) && *count < limit; i++)
    {
      JsonNode *node = json_array_get_element (results, i);
      JsonObject *o;
      g_autofree char *name = NULL;
      g_auto (GVariantBuilder) entry = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      o = json_node_get_object (node);
      if (json_object_get_string_member_with_default (o, "name", NULL) == NULL)
        continue;
      name = g_strdup_printf ("%s/%s", registry, json_object_get_string_member (o, "name"));
      g_variant_builder_add (&entry, "{sv}", "name", g_variant_new_string (name));
      g_variant_builder_add (
        &entry, "{sv}", "description",
        g_variant_new_string (json_object_get_string_member_with_default (o, "description", "")));
      g_variant_builder_add (&entry, "{sv}", "stars",
                             g_variant_new_uint32 (MAX (
                               0, json_object_get_int_member_with_default (o, "star_count", 0))));
      g_variant_builder_add (&entry, "{sv}", "official",
                             g_variant_new_boolean (json_object_get_boolean_member_with_default (
                               o, "is_official", FALSE)));
      g_variant_builder_add (&entry, "{sv}", "automated",
                             g_variant_new_boolean (json_object_get_boolean_member_with_default (
                               o, "is_automated", FALSE)));
      g_variant_builder_add (&entry, "{sv}", "registry", g_variant_new_string (registry));
      g_variant_builder_add_value (builder, g_variant_builder_end (&entry));
      (*count)++;
    }
}

static void
search_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Call *call = data;
  g_auto (GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr (GPtrArray) registries = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) last_error = NULL;
  const char *term = call->term;
  const char *slash = strchr (term, '/');
  guint count = 0, answered = 0;

  /* "HOST[:PORT]/TERM" searches that registry only, as docker does. */
  if (slash
      && (memchr (term, '.', slash - term) || memchr (term, ':', slash - term)
          || (slash - term == 9 && g_str_has_prefix (term, "localhost"))))
    {
      g_ptr_array_add (registries, g_strndup (term, slash - term));
      term = slash + 1;
    }
  else
    for (guint i = 0; call_config (call)->unqualified_search[i]; i++)
      g_ptr_array_add (registries, g_strdup (call->config->unqualified_search[i]));
  if (!berth_curl_load (&last_error))
    {
      g_task_return_error (task, g_steal_pointer (&last_error));
      return;
    }
  if (registries->len == 0)
    {
      g_task_return_new_error (task, BERTH_ERROR, BERTH_ERROR_CONFIG,
                               "no registry to search: name one (HOST/TERM) or list registries "
                               "in [registries] unqualified-search of %s",
                               call->daemon->config_path);
      return;
    }
  for (guint i = 0; i < registries->len; i++)
    {
      const char *registry = registries->pdata[i];
      g_autofree char *user = NULL;
      g_autofree char *password = NULL;
      g_autoptr (BerthRegistryClient) client = NULL;
      g_autoptr (JsonArray) results = NULL;
      g_autoptr (GError) error = NULL;

      berth_auth_lookup (call->auth_path, registry, &user, &password, NULL);
      client = client_for (call, registry, user, password);
      results = berth_registry_client_search (client, term, call->limit, &error);
      if (results == NULL)
        {
          g_warning ("search %s at %s: %s", term, registry, error->message);
          g_clear_error (&last_error);
          last_error = g_steal_pointer (&error);
          continue;
        }
      answered++;
      add_results (&builder, registry, results, &count, call->limit);
    }
  if (answered == 0)
    {
      g_task_return_error (task, g_steal_pointer (&last_error));
      return;
    }
  call->results = g_variant_ref_sink (g_variant_builder_end (&builder));
  g_task_return_boolean (task, TRUE);
}

static void
call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  const char *method = g_dbus_method_invocation_get_method_name (call->invocation);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  if (g_str_equal (method, "Login"))
    {
      g_message ("logged in to %s as %s", call->registry, call->user);
      berth_manager_complete_login (call->daemon->manager, call->invocation);
    }
  else if (g_str_equal (method, "Logout"))
    {
      g_message ("logged out of %s", call->registry);
      berth_manager_complete_logout (call->daemon->manager, call->invocation);
    }
  else
    berth_manager_complete_search_images (call->daemon->manager, call->invocation, call->results);
}

static Call *
call_new (BerthDaemon *daemon, GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->daemon = daemon;
  call->invocation = g_object_ref (invocation);
  call->auth_path = g_strdup (daemon->auth_path);
  call->config_path = g_strdup (daemon->config_path);
  return call;
}

static void
call_start (Call *call, GTaskThreadFunc func)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, call_done, NULL);

  g_task_set_task_data (task, call, (GDestroyNotify)call_free);
  g_task_run_in_thread (task, func);
}

static gboolean
registry_is_valid (GDBusMethodInvocation *invocation, const char *registry)
{
  if (*registry == '\0' || strpbrk (registry, "/ \t\n@") != NULL)
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "\"%s\" is not a registry: give HOST or HOST:PORT",
                                             registry);
      return FALSE;
    }
  return TRUE;
}

static gboolean
handle_login (BerthManager *manager, GDBusMethodInvocation *invocation, const char *registry,
              const char *user, const char *password, BerthDaemon *daemon)
{
  Call *call;

  if (!registry_is_valid (invocation, registry))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (*user == '\0' || strchr (user, ':'))
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             "the user name must not be empty or contain ':'");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  call = call_new (daemon, invocation);
  call->registry = g_strdup (registry);
  call->user = g_strdup (user);
  call->password = g_strdup (password);
  call_start (call, login_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_logout (BerthManager *manager, GDBusMethodInvocation *invocation, const char *registry,
               BerthDaemon *daemon)
{
  Call *call;

  if (!registry_is_valid (invocation, registry))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  call = call_new (daemon, invocation);
  call->registry = g_strdup (registry);
  call_start (call, logout_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_search (BerthManager *manager, GDBusMethodInvocation *invocation, const char *term,
               GVariant *options, BerthDaemon *daemon)
{
  static const char *const allowed[] = { "limit", NULL };
  g_autoptr (GVariantDict) dict = NULL;
  guint limit = 25;
  Call *call;

  if (!parse_options (invocation, options, allowed, &dict))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  g_variant_dict_lookup (dict, "limit", "u", &limit);
  if (*term == '\0' || limit < 1 || limit > 100)
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                             *term ? "limit must be between 1 and 100"
                                                   : "give a search term");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  call = call_new (daemon, invocation);
  call->term = g_strdup (term);
  call->limit = limit;
  call_start (call, search_thread);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
berth_manager_transfers_connect (BerthDaemon *daemon, BerthManager *manager)
{
  g_autofree char *config_dir = g_path_get_dirname (daemon->config_path);

  /* Credentials live beside the configuration: /etc/berth/auth.json for
   * /etc/berth/berth.conf, a scratch file for a scratch config. */
  daemon->auth_path = g_build_filename (config_dir, "auth.json", NULL);
  daemon->transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  daemon->pull_spare = g_new0 (BerthPullSpare, 1);
  daemon->pull_spare->request_fd = -1;
  g_mutex_init (&daemon->pull_spare->lock);
  g_signal_connect (manager, "handle-pull-image", G_CALLBACK (handle_pull), daemon);
  g_signal_connect (manager, "handle-push-image", G_CALLBACK (handle_push), daemon);
  g_signal_connect (manager, "handle-login", G_CALLBACK (handle_login), daemon);
  g_signal_connect (manager, "handle-logout", G_CALLBACK (handle_logout), daemon);
  g_signal_connect (manager, "handle-search-images", G_CALLBACK (handle_search), daemon);
}

void
berth_daemon_transfers_shutdown (BerthDaemon *daemon)
{
  if (daemon->transfers == NULL)
    return;
  daemon->pull_spare->closing = TRUE;
  berth_daemon_cancel_and_wait (daemon->transfers, G_STRUCT_OFFSET (Transfer, cancellable));
  g_clear_pointer (&daemon->transfers, g_hash_table_unref);
  if (daemon->pull_spare)
    {
      if (daemon->pull_spare->helper)
        g_subprocess_force_exit (daemon->pull_spare->helper);
      spare_discard (daemon->pull_spare);
      g_mutex_clear (&daemon->pull_spare->lock);
      g_clear_pointer (&daemon->pull_spare, g_free);
    }
}
