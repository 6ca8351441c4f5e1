/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-registry: an OCI distribution registry with a searchable index.
 *   berth-registry [OPTIONS]                       serve
 *   berth-registry [--root DIR] user add|del|passwd NAME [--admin]
 *   berth-registry [--root DIR] gc [--dry-run] [--grace SECONDS] (also while serving) */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-fd.h"
#include "registry.h"

#define DEFAULT_CONFIG "/etc/berth/registry.conf"

typedef struct
{
  char *config;
  char *root;
  char *listen;
  char *tls_cert;
  char *tls_key;
  char *proxy_upstream;
  char *proxy_credentials;
  int proxy_ttl;
  char **redirect_blobs_to;
  gboolean enable_delete;
  gboolean no_anonymous_pull;
  gboolean no_access_log;
  int threads;
  gboolean admin;
  gboolean dry_run;
  int grace;
  gboolean debug;
  gboolean version;
} Options;

static void
options_clear (Options *o)
{
  g_free (o->config);
  g_free (o->root);
  g_free (o->listen);
  g_free (o->tls_cert);
  g_free (o->tls_key);
  g_free (o->proxy_upstream);
  g_free (o->proxy_credentials);
  g_strfreev (o->redirect_blobs_to);
}

static void
replace (char **slot, char *value)
{
  if (value)
    {
      g_free (*slot);
      *slot = g_strdup (value);
    }
}

/* The command line wins over registry.conf. */
static gboolean
apply_options (RegistrySettings *s, Options *o, GError **error)
{
  replace (&s->root, o->root);
  replace (&s->listen, o->listen);
  replace (&s->tls_cert, o->tls_cert);
  replace (&s->tls_key, o->tls_key);
  replace (&s->proxy_upstream, o->proxy_upstream);
  if (o->proxy_credentials)
    {
      const char *colon = strchr (o->proxy_credentials, ':');
      if (colon == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "--proxy-credentials needs USER:PASSWORD");
          return FALSE;
        }
      g_free (s->proxy_username);
      g_free (s->proxy_password);
      s->proxy_username = g_strndup (o->proxy_credentials, colon - o->proxy_credentials);
      s->proxy_password = g_strdup (colon + 1);
    }
  if (o->proxy_ttl >= 0)
    s->proxy_ttl = o->proxy_ttl;
  if (o->redirect_blobs_to)
    {
      g_strfreev (s->redirect_blobs_to);
      s->redirect_blobs_to = g_strdupv (o->redirect_blobs_to);
    }
  if (o->enable_delete)
    s->delete_enabled = TRUE;
  if (o->no_anonymous_pull)
    s->anonymous_pull = FALSE;
  if (o->no_access_log)
    s->access_log = FALSE;
  if (o->threads > 0)
    s->threads = o->threads;
  if (s->proxy_upstream && !g_str_has_prefix (s->proxy_upstream, "http://")
      && !g_str_has_prefix (s->proxy_upstream, "https://"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid upstream \"%s\": use an http:// or https:// URL", s->proxy_upstream);
      return FALSE;
    }
  for (guint i = 0; s->redirect_blobs_to && s->redirect_blobs_to[i]; i++)
    if (!g_str_has_prefix (s->redirect_blobs_to[i], "http://")
        && !g_str_has_prefix (s->redirect_blobs_to[i], "https://"))
      {
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                     "invalid mirror \"%s\": use an http:// or https:// URL",
                     s->redirect_blobs_to[i]);
        return FALSE;
      }
  return TRUE;
}

/* One server per root. */
static int
lock_root (Registry *registry, const char *why, GError **error)
{
  int fd = openat (registry->root_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot create the lock file"), -1;
  if (flock (fd, LOCK_EX | LOCK_NB) < 0)
    {
      int errsv = errno;
      close (fd);
      if (errsv == EWOULDBLOCK)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_BUSY, "another berth-registry is using %s; %s",
                     registry->settings->root, why);
      else
        berth_error_set_errno (error, errsv, "cannot lock %s", registry->settings->root);
      return -1;
    }
  return fd;
}

static gboolean
open_registry (Registry *registry, GError **error)
{
  g_autofree char *db_path = NULL;

  if (!registry_store_open (registry, error))
    return FALSE;
  db_path = g_build_filename (registry->settings->root, "registry.db", NULL);
  registry->db = registry_db_open (db_path, error);
  return registry->db != NULL;
}

static gboolean
on_quit (gpointer user_data)
{
  sd_notify (0, "STOPPING=1");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_flush (gpointer user_data)
{
  Registry *registry = user_data;
  guint expired;

  registry_pulls_flush (registry);
  expired = registry_uploads_expire (registry,
                                     (gint64)registry->settings->upload_timeout * G_USEC_PER_SEC);
  if (expired > 0)
    g_message ("dropped %u upload%s idle for %u s", expired, expired == 1 ? "" : "s",
               registry->settings->upload_timeout);
  return G_SOURCE_CONTINUE;
}

static int
serve (Registry *registry)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  RegistrySettings *s = registry->settings;
  berth_autofd int lock_fd = -1;

  lock_fd = lock_root (registry, "stop it first or use another --root", &error);
  if (lock_fd < 0)
    goto fail;
  /* Whatever an interrupted upload left is garbage now. */
  registry_store_clean_staging (registry);
  if (!registry_auth_load_key (registry, &error) || !registry_server_start (registry, &error))
    goto fail;

  g_unix_signal_add (SIGTERM, on_quit, loop);
  g_unix_signal_add (SIGINT, on_quit, loop);
  g_timeout_add_seconds (2, on_flush, registry);
  g_message ("berth-registry %s serving %s on %s%s%s%s", PACKAGE_VERSION, s->root,
             registry->socket_activated ? "the socket from systemd" : s->listen,
             s->tls_cert ? " (TLS)" : "", s->proxy_upstream ? ", mirroring " : "",
             s->proxy_upstream ? s->proxy_upstream : "");
  sd_notifyf (0, "READY=1\nSTATUS=Serving %s", s->root);
  g_main_loop_run (loop);

  registry_server_stop (registry);
  registry_pulls_flush (registry);
  return 0;

fail:
  g_printerr ("berth-registry: %s\n", error->message);
  return 1;
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (g_log_writer_default_would_drop (level, G_LOG_DOMAIN))
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (fileno (stderr))
      && g_log_writer_journald (level, fields, n_fields, NULL) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_standard_streams (level, fields, n_fields, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  Options o = { .proxy_ttl = -1, .grace = -1 };
  RegistrySettings settings;
  Registry registry = { .root_fd = -1, .blobs_fd = -1, .uploads_fd = -1 };
  const char *command;
  int ret = 1;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config, "Configuration file (" DEFAULT_CONFIG ")",
      "FILE" },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &o.root, "Storage root (/var/lib/berth-registry)",
      "DIR" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &o.listen, "Address to serve on (127.0.0.1:5000)",
      "ADDR:PORT" },
    { "tls-cert", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_cert, "TLS certificate (PEM)", "FILE" },
    { "tls-key", 0, 0, G_OPTION_ARG_FILENAME, &o.tls_key, "TLS private key (PEM)", "FILE" },
    { "proxy-upstream", 0, 0, G_OPTION_ARG_STRING, &o.proxy_upstream,
      "Be a pull-through mirror of this registry", "URL" },
    { "proxy-credentials", 0, 0, G_OPTION_ARG_STRING, &o.proxy_credentials,
      "Credentials for the upstream", "USER:PASSWORD" },
    { "proxy-ttl", 0, 0, G_OPTION_ARG_INT, &o.proxy_ttl,
      "Seconds before a cached tag is checked with the upstream (300)", "SECONDS" },
    { "redirect-blobs-to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.redirect_blobs_to,
      "Send blob downloads to this mirror (repeatable)", "URL" },
    { "enable-delete", 0, 0, G_OPTION_ARG_NONE, &o.enable_delete,
      "Allow deleting manifests, tags and blobs", NULL },
    { "no-anonymous-pull", 0, 0, G_OPTION_ARG_NONE, &o.no_anonymous_pull,
      "Require an account to pull", NULL },
    { "no-access-log", 0, 0, G_OPTION_ARG_NONE, &o.no_access_log, "Do not log each request", NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &o.threads, "Server threads (4)", "N" },
    { "admin", 0, 0, G_OPTION_ARG_NONE, &o.admin, "With user add/passwd: make the user an admin",
      NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &o.dry_run, "With gc: only show what would be removed",
      NULL },
    { "grace", 0, 0, G_OPTION_ARG_INT, &o.grace,
      "With gc: spare unreferenced blobs used in the last SECONDS (3600)", "SECONDS" },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &o.debug, "Log debug messages", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o.version, "Show the version", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  g_log_set_writer_func (log_writer, NULL, NULL);
  context = g_option_context_new ("[user add|del|passwd NAME | gc] - OCI registry and index");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("berth-registry: %s (see berth-registry --help)\n", error->message);
      options_clear (&o);
      return 2;
    }
  if (o.version)
    {
      g_print ("berth-registry %s\n", PACKAGE_VERSION);
      options_clear (&o);
      return 0;
    }
  if (o.debug)
    g_log_set_debug_enabled (TRUE);
  command = argc > 1 ? argv[1] : "serve";
  if (!g_strv_contains ((const char *const[]){ "serve", "user", "gc", NULL }, command))
    {
      g_printerr ("berth-registry: unknown command \"%s\" (use serve, user or gc)\n", command);
      options_clear (&o);
      return 2;
    }
  if ((o.admin && strcmp (command, "user") != 0)
      || ((o.dry_run || o.grace != -1) && strcmp (command, "gc") != 0) || o.grace < -1
      || (strcmp (command, "user") != 0 && argc > 2))
    {
      g_printerr ("berth-registry: unexpected arguments for \"%s\" (see berth-registry --help)\n",
                  command);
      options_clear (&o);
      return 2;
    }

  registry_settings_init (&settings);
  registry.settings = &settings;
  if (!registry_settings_load (&settings, o.config ? o.config : DEFAULT_CONFIG, o.config != NULL,
                               &error)
      || !apply_options (&settings, &o, &error) || !open_registry (&registry, &error))
    {
      g_printerr ("berth-registry: %s\n", error->message);
      goto out;
    }

  if (strcmp (command, "user") == 0)
    ret = registry_users_main (&registry, argc - 2, argv + 2, o.admin);
  else if (strcmp (command, "gc") == 0)
    {
      /* The server may run meanwhile: see registry-gc.c. */
      if (!registry_gc (&registry, o.dry_run, o.grace == -1 ? 3600 : o.grace, &error))
        g_printerr ("berth-registry: %s\n", error->message);
      else
        ret = 0;
    }
  else
    {
      /* Only a mirror talks to other servers; initialising libcurl (and
       * its TLS library) otherwise costs memory for nothing. */
      if (settings.proxy_upstream || settings.redirect_blobs_to)
        curl_global_init (CURL_GLOBAL_DEFAULT);
      registry.log_to_journal = g_log_writer_is_journald (fileno (stderr));
      registry_uploads_init (&registry);
      registry_redirect_init (&registry);
      registry_proxy_init (&registry);
      g_mutex_init (&registry.pulls_lock);
      g_mutex_init (&registry.credentials_lock);
      registry.pending_pulls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      registry.verified_credentials
        = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      ret = serve (&registry);
      registry_uploads_clear (&registry);
      registry_redirect_clear (&registry);
      registry_proxy_clear (&registry);
      g_clear_pointer (&registry.pending_pulls, g_hash_table_unref);
      g_clear_pointer (&registry.verified_credentials, g_hash_table_unref);
      g_mutex_clear (&registry.pulls_lock);
      g_mutex_clear (&registry.credentials_lock);
      if (settings.proxy_upstream || settings.redirect_blobs_to)
        curl_global_cleanup ();
    }

out:
  g_clear_pointer (&registry.db, registry_db_close);
  berth_close_fdp (&registry.root_fd);
  berth_close_fdp (&registry.blobs_fd);
  berth_close_fdp (&registry.uploads_fd);
  registry_settings_clear (&settings);
  options_clear (&o);
  return ret;
}
