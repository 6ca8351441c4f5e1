/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-pull: the helper every pull and push goes through. berthd starts
 * one per transfer; it talks to registries with libcurl and nothing else.
 *
 * Who writes what: berth-pull only ever writes into the store's staging
 * area (<images>/staging/pull/). Each blob is downloaded into an anonymous
 * file there (O_TMPFILE) while it is hashed; only when the digest matches
 * is the file given its name (<hex>) and announced to berthd. berthd then
 * commits it with berth_store_commit_layer, which checks the diff_id while
 * it unpacks. So nothing unverified ever has a name, and libarchive only
 * reads bytes that matched their digest. Named files in staging/pull are
 * verified blobs: an interrupted pull's retry reuses them, after hashing
 * them again (they may have lain there across a restart).
 *
 * A download in progress is kept as <hex>.partial (locked while written):
 * when it is cut, the next attempt hashes the bytes kept and asks for the
 * rest with a Range request. A .partial is never read by anything but that
 * hash and the final check: it becomes <hex> only when the whole matches.
 *
 * Protocol to berthd, one line each on stdout:
 *   name REF            the reference resolved (short names expanded)
 *   manifest DIGEST     the image manifest, verified, in staging/pull
 *   total BYTES         what remains to download
 *   start DIGEST SIZE   a blob download begins
 *   progress DIGEST N   bytes of it so far
 *   blob DIGEST         verified and in staging/pull (or already stored)
 *   mounted DIGEST REPO push: the registry mounted the blob from REPO
 *   security MESSAGE    a mirror sent bytes that did not match
 *   error CODE MESSAGE  the transfer failed (CODE: a BerthError number)
 *   done
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-auth.h"
#include "berth-compress.h"
#include "berth-config.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"
#include "berth-host.h"
#include "berth-manifest.h"
#include "berth-reference.h"
#include "berth-registry-client.h"

typedef struct
{
  BerthConfig *config;
  char *auth_path;
  char *images_dir;
  int pull_dir_fd; /* <images>/staging/pull */
  int blobs_dir_fd;
  guint jobs;
  char **mount_from; /* push: repositories of the same registry to mount blobs from */
  GMutex out_lock;
  /* The resolved source. */
  char *registry;
  char *repository; /* path on the registry */
  BerthRegistryClient *origin;
  char **mirrors;
  /* Parallel downloads. */
  GMutex lock;
  GError *first_error;
  GPtrArray *partials;   /* .partial files this helper wrote to */
  gboolean saw_mismatch; /* some source sent bytes that did not match */
  GCancellable *cancellable;
} Pull;

static void emit (Pull *pull, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
emit (Pull *pull, const char *format, ...)
{
  va_list args;

  g_mutex_lock (&pull->out_lock);
  va_start (args, format);
  vfprintf (stdout, format, args);
  va_end (args);
  fputc ('\n', stdout);
  fflush (stdout);
  g_mutex_unlock (&pull->out_lock);
}

/* --- sandbox ----------------------------------------------------------- */

/* What berth-pull never needs: privileges, namespaces, kernel state. The
 * same spirit as SystemCallFilter=@system-service with
 * RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 under systemd. */
static const int denied_syscalls[] = {
  SCMP_SYS (mount),
  SCMP_SYS (umount2),
  SCMP_SYS (pivot_root),
  SCMP_SYS (chroot),
#ifndef __SANITIZE_ADDRESS__
  /* LeakSanitizer stops the world with ptrace at exit. */
  SCMP_SYS (ptrace),
#endif
  SCMP_SYS (process_vm_readv),
  SCMP_SYS (process_vm_writev),
  SCMP_SYS (kexec_load),
  SCMP_SYS (kexec_file_load),
  SCMP_SYS (init_module),
  SCMP_SYS (finit_module),
  SCMP_SYS (delete_module),
  SCMP_SYS (reboot),
  SCMP_SYS (swapon),
  SCMP_SYS (swapoff),
  SCMP_SYS (bpf),
  SCMP_SYS (unshare),
  SCMP_SYS (setns),
  SCMP_SYS (keyctl),
  SCMP_SYS (add_key),
  SCMP_SYS (request_key),
  SCMP_SYS (perf_event_open),
  SCMP_SYS (acct),
  SCMP_SYS (settimeofday),
  SCMP_SYS (clock_settime),
  SCMP_SYS (clock_adjtime),
  SCMP_SYS (adjtimex),
  SCMP_SYS (sethostname),
  SCMP_SYS (setdomainname),
  SCMP_SYS (open_by_handle_at),
  SCMP_SYS (name_to_handle_at),
  SCMP_SYS (iopl),
  SCMP_SYS (ioperm),
  SCMP_SYS (userfaultfd),
  SCMP_SYS (fanotify_init),
  SCMP_SYS (quotactl),
  SCMP_SYS (mknod),
  SCMP_SYS (mknodat),
  SCMP_SYS (setuid),
  SCMP_SYS (setgid),
  SCMP_SYS (setreuid),
  SCMP_SYS (setregid),
  SCMP_SYS (setresuid),
  SCMP_SYS (setresgid),
  SCMP_SYS (setgroups),
  SCMP_SYS (fsopen),
  SCMP_SYS (fsmount),
  SCMP_SYS (move_mount),
  SCMP_SYS (open_tree),
  SCMP_SYS (syslog),
  SCMP_SYS (vhangup),
};

static gboolean
drop_capabilities (GError **error)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };

  for (int cap = 0; cap <= 63; cap++)
    if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
      return berth_error_set_errno (error, errno, "cannot drop capability %d", cap);
  if (syscall (SYS_capset, &header, data) < 0)
    return berth_error_set_errno (error, errno, "cannot drop capabilities");
  return TRUE;
}

static gboolean
sandbox (GError **error)
{
  scmp_filter_ctx ctx;
  int rc = 0;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berth_error_set_errno (error, errno, "cannot set no_new_privs");
  if (!drop_capabilities (error))
    return FALSE;
  ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return berth_error_set_errno (error, ENOMEM, "cannot set up the system call filter");
  for (gsize i = 0; i < G_N_ELEMENTS (denied_syscalls) && rc == 0; i++)
    if (denied_syscalls[i] >= 0)
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), denied_syscalls[i], 0);
  /* Sockets: only AF_UNIX, AF_INET and AF_INET6. */
  for (int family = 0; family < AF_MAX && rc == 0; family++)
    if (family != AF_UNIX && family != AF_INET && family != AF_INET6)
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), 1,
                             SCMP_A0 (SCMP_CMP_EQ, family));
  if (rc == 0)
    rc = seccomp_load (ctx);
  seccomp_release (ctx);
  if (rc < 0)
    return berth_error_set_errno (error, -rc, "cannot load the system call filter");
  return TRUE;
}

/* --- verified files ---------------------------------------------------- */

static gboolean
has_name (int dir_fd, const char *digest)
{
  struct stat st;

  return fstatat (dir_fd, berth_digest_hex (digest), &st, 0) == 0 && S_ISREG (st.st_mode);
}

static gboolean
blob_is_stored (Pull *pull, const char *digest)
{
  g_autofree char *name = g_strdup_printf ("sha256/%s", berth_digest_hex (digest));
  struct stat st;

  return g_str_has_prefix (digest, "sha256:") && pull->blobs_dir_fd >= 0
         && fstatat (pull->blobs_dir_fd, name, &st, 0) == 0;
}

/* Gives a verified anonymous file its name: the only way a file gets one. */
static gboolean
name_verified (Pull *pull, int fd, const char *digest, GError **error)
{
  g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", fd);

  if (fsync (fd) < 0)
    return berth_error_set_errno (error, errno, "cannot write blob %s", digest);
  if (linkat (AT_FDCWD, proc, pull->pull_dir_fd, berth_digest_hex (digest), AT_SYMLINK_FOLLOW) < 0
      && errno != EEXIST)
    return berth_error_set_errno (error, errno, "cannot keep blob %s in the staging area", digest);
  return TRUE;
}

/* A verified blob left in staging by an earlier, interrupted pull: it is
 * hashed again before it is reused (a restart lies between, and nothing
 * proves the file has not changed since); a mismatch removes it and the
 * blob is downloaded. */
static gboolean
staged_blob_matches (Pull *pull, const char *digest)
{
  berth_autofd int fd
    = openat (pull->pull_dir_fd, berth_digest_hex (digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  g_autofree char *got = NULL;
  BerthDigestAlgorithm algorithm;
  g_autoptr (GError) error = NULL;

  if (fd < 0 || !berth_digest_validate (digest, &algorithm, NULL))
    return FALSE;
  if (berth_digest_fd (algorithm, fd, &got, NULL, &error) && g_str_equal (got, digest))
    return TRUE;
  g_printerr ("berth-pull: blob %s in the staging area does not match its digest (%s); "
              "downloading it again\n",
              digest, error ? error->message : got);
  unlinkat (pull->pull_dir_fd, berth_digest_hex (digest), 0);
  return FALSE;
}

static int
anonymous_file (Pull *pull, GError **error)
{
  int fd = openat (pull->pull_dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  if (fd < 0)
    berth_error_set_errno (error, errno, "cannot create a file in the staging area");
  return fd;
}

/* --- manifests --------------------------------------------------------- */

/* By digest: from the mirrors first, then the origin. */
static GBytes *
fetch_manifest_by_digest (Pull *pull, const char *digest, GError **error)
{
  for (guint i = 0; pull->mirrors[i]; i++)
    {
      g_autoptr (BerthRegistryClient) mirror
        = berth_registry_client_new (pull->registry, pull->mirrors[i], NULL, NULL);
      g_autoptr (GError) local_error = NULL;
      GBytes *data = NULL;

      if (berth_registry_client_get_manifest (mirror, pull->repository, digest, digest, &data, NULL,
                                              NULL, &local_error))
        return data;
      if (g_error_matches (local_error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH))
        emit (pull, "security mirror %s: %s", pull->mirrors[i], local_error->message);
    }
  {
    GBytes *data = NULL;

    if (!berth_registry_client_get_manifest (pull->origin, pull->repository, digest, digest, &data,
                                             NULL, NULL, error))
      return NULL;
    return data;
  }
}

static gboolean
save_bytes (Pull *pull, GBytes *data, const char *digest, GError **error)
{
  berth_autofd int fd = -1;
  gsize len;
  const char *p = g_bytes_get_data (data, &len);

  if (has_name (pull->pull_dir_fd, digest) && staged_blob_matches (pull, digest))
    return TRUE;
  if ((fd = anonymous_file (pull, error)) < 0)
    return FALSE;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot write manifest %s", digest);
      p += n;
      len -= n;
    }
  return name_verified (pull, fd, digest, error);
}

/* --- blobs ------------------------------------------------------------- */

typedef struct
{
  Pull *pull;
  char *digest;
  gint64 size;
  guint64 last_reported;
  gboolean staged; /* verified in staging by an earlier pull */
} BlobJob;

static void
blob_progress (guint64 done, gpointer user_data)
{
  BlobJob *job = user_data;

  if (done - job->last_reported >= 256 * 1024 || (gint64)done == job->size)
    {
      job->last_reported = done;
      emit (job->pull, "progress %s %" G_GUINT64_FORMAT, job->digest, done);
    }
}

/* <hex>.partial, open and locked; -1 when another helper writes it. */
static int
open_partial (Pull *pull, const char *digest, char **out_name)
{
  g_autofree char *name = g_strdup_printf ("%s.partial", berth_digest_hex (digest));
  struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  berth_autofd int fd
    = openat (pull->pull_dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

  if (fd < 0 || fcntl (fd, F_OFD_SETLK, &lock) < 0)
    return -1;
  g_mutex_lock (&pull->lock);
  g_ptr_array_add (pull->partials, g_strdup (name));
  g_mutex_unlock (&pull->lock);
  *out_name = g_steal_pointer (&name);
  return g_steal_fd (&fd);
}

static gboolean
download_from (Pull *pull, BerthRegistryClient *client, BlobJob *job, GError **error)
{
  g_autofree char *partial = NULL;
  berth_autofd int fd = open_partial (pull, job->digest, &partial);
  gboolean resumed = FALSE;
  gboolean ok;

  job->last_reported = 0;
  if (fd < 0)
    {
      /* Someone else downloads the same blob into the .partial: this one
       * goes to an anonymous file, which vanishes with its descriptor. */
      if ((fd = anonymous_file (pull, error)) < 0)
        return FALSE;
      if (!berth_registry_client_get_blob (client, pull->repository, job->digest, job->size, fd,
                                           blob_progress, job, pull->cancellable, error))
        return FALSE;
      return name_verified (pull, fd, job->digest, error);
    }
  ok = berth_registry_client_resume_blob (client, pull->repository, job->digest, job->size, fd,
                                          blob_progress, job, pull->cancellable, &resumed, error);
  if (resumed)
    g_printerr ("berth-pull: blob %s: resumed a cut download\n", job->digest);
  if (!ok)
    {
      /* Bytes that were cut short are kept for the next attempt; bytes
       * that do not match are not (nor an empty file). */
      struct stat st;

      if (g_error_matches (*error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH)
          || (fstat (fd, &st) == 0 && st.st_size == 0))
        unlinkat (pull->pull_dir_fd, partial, 0);
      if (g_error_matches (*error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH))
        pull->saw_mismatch = TRUE;
      return FALSE;
    }
  if (fsync (fd) < 0)
    return berth_error_set_errno (error, errno, "cannot write blob %s", job->digest);
  if (renameat (pull->pull_dir_fd, partial, pull->pull_dir_fd, berth_digest_hex (job->digest)) < 0)
    return berth_error_set_errno (error, errno, "cannot keep blob %s in the staging area",
                                  job->digest);
  return TRUE;
}

static gboolean
download_blob (Pull *pull, BlobJob *job, GError **error)
{
  emit (pull, "start %s %" G_GINT64_FORMAT, job->digest, job->size);
  for (guint i = 0; pull->mirrors[i]; i++)
    {
      g_autoptr (BerthRegistryClient) mirror
        = berth_registry_client_new (pull->registry, pull->mirrors[i], NULL, NULL);
      g_autoptr (GError) local_error = NULL;

      if (download_from (pull, mirror, job, &local_error))
        return TRUE;
      if (g_error_matches (local_error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH))
        {
          pull->saw_mismatch = TRUE;
          emit (pull, "security mirror %s: %s", pull->mirrors[i], local_error->message);
          g_printerr ("berth-pull: SECURITY: mirror %s sent tampered content: %s\n",
                      pull->mirrors[i], local_error->message);
        }
      else
        g_printerr ("berth-pull: mirror %s: %s; trying the next source\n", pull->mirrors[i],
                    local_error->message);
      if (g_error_matches (local_error, BERTH_ERROR, BERTH_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  {
    g_autoptr (BerthRegistryClient) origin = berth_registry_client_dup (pull->origin);
    return download_from (pull, origin, job, error);
  }
}

static void
blob_thread (gpointer data, gpointer user_data)
{
  BlobJob *job = data;
  Pull *pull = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_cancellable_is_cancelled (pull->cancellable))
    {
      if (download_blob (pull, job, &error))
        emit (pull, "blob %s", job->digest);
      else
        {
          g_mutex_lock (&pull->lock);
          if (pull->first_error == NULL)
            pull->first_error = g_steal_pointer (&error);
          g_mutex_unlock (&pull->lock);
          /* One failure ends the pull: stop the others. */
          g_cancellable_cancel (pull->cancellable);
        }
    }
  g_free (job->digest);
  g_free (job);
}

/* A blob an earlier pull left verified in staging: hashed again here, in
 * parallel with the downloads; downloaded when it does not match. */
static void
staged_thread (gpointer data, gpointer user_data)
{
  BlobJob *job = data;
  Pull *pull = user_data;

  if (!g_cancellable_is_cancelled (pull->cancellable) && staged_blob_matches (pull, job->digest))
    {
      emit (pull, "blob %s", job->digest);
      g_free (job->digest);
      g_free (job);
      return;
    }
  blob_thread (job, pull);
}

static void
pool_thread (gpointer data, gpointer user_data)
{
  if (((BlobJob *)data)->staged)
    staged_thread (data, user_data);
  else
    blob_thread (data, user_data);
}

/* --- resolving --------------------------------------------------------- */

static gboolean
open_source (Pull *pull, const char *registry, const char *repository, GError **error)
{
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  g_autofree char *base = NULL;

  if (!berth_auth_lookup (pull->auth_path, registry, &user, &password, error))
    return FALSE;
  base = berth_registry_base_url (registry,
                                  berth_config_registry_allows_http (pull->config, registry));
  g_clear_pointer (&pull->origin, berth_registry_client_free);
  pull->origin = berth_registry_client_new (registry, base, user, password);
  g_free (pull->registry);
  pull->registry = g_strdup (registry);
  g_free (pull->repository);
  pull->repository = g_strdup (repository);
  g_strfreev (pull->mirrors);
  pull->mirrors = berth_config_registry_mirrors (pull->config, registry);
  return TRUE;
}

/* Finds the image: the tag at the origin (always), by digest anywhere.
 * Returns the (index or image) manifest and its verified digest. */
static GBytes *
resolve_at (Pull *pull, BerthReference *ref, char **out_digest, GError **error)
{
  if (ref->digest)
    {
      GBytes *data = fetch_manifest_by_digest (pull, ref->digest, error);
      if (data)
        *out_digest = g_strdup (ref->digest);
      return data;
    }
  {
    GBytes *data = NULL;

    if (!berth_registry_client_get_manifest (pull->origin, pull->repository, ref->tag, NULL, &data,
                                             NULL, out_digest, error))
      return NULL;
    return data;
  }
}

static GBytes *
resolve (Pull *pull, const char *text, char **out_name, char **out_digest, GError **error)
{
  g_autoptr (BerthReference) ref = berth_reference_parse (text, error);
  char **search = pull->config->unqualified_search;

  if (ref == NULL)
    return NULL;
  if (ref->tag == NULL && ref->digest == NULL)
    ref->tag = g_strdup (BERTH_REFERENCE_DEFAULT_TAG);
  if (ref->domain == NULL && search && search[0])
    {
      g_autoptr (GError) last_error = NULL;

      /* A short name: each registry of the search list in turn. */
      for (guint i = 0; search[i]; i++)
        {
          g_autoptr (BerthReference) candidate = berth_reference_copy (ref);
          GBytes *data;

          g_free (candidate->domain);
          candidate->domain = g_strdup (search[i]);
          berth_reference_normalize (candidate);
          if (!open_source (pull, candidate->domain, candidate->path, error))
            return NULL;
          g_clear_error (&last_error);
          data = resolve_at (pull, candidate, out_digest, &last_error);
          if (data)
            {
              *out_name = berth_reference_to_string (candidate);
              return data;
            }
          if (!g_error_matches (last_error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE)
              && !g_error_matches (last_error, BERTH_ERROR, BERTH_ERROR_NETWORK))
            break;
        }
      if (search[1] != NULL && g_error_matches (last_error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE))
        {
          g_autofree char *list = g_strjoinv (", ", search);
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NO_SUCH_IMAGE,
                       "%s: not found in any registry of unqualified-search (%s)", text, list);
          return NULL;
        }
      g_propagate_error (error, g_steal_pointer (&last_error));
      return NULL;
    }
  berth_reference_normalize (ref);
  if (!open_source (pull, ref->domain, ref->path, error))
    return NULL;
  *out_name = berth_reference_to_string (ref);
  return resolve_at (pull, ref, out_digest, error);
}

static gboolean
run_pull (Pull *pull, const char *text, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *digest = NULL;
  g_autoptr (GBytes) data = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (GPtrArray) wanted = g_ptr_array_new ();
  GThreadPool *pool;
  guint64 total = 0;

  data = resolve (pull, text, &name, &digest, error);
  if (data == NULL)
    return FALSE;
  emit (pull, "name %s", name);
  manifest = berth_manifest_parse (g_bytes_get_data (data, NULL), g_bytes_get_size (data), error);
  if (manifest == NULL)
    return FALSE;
  if (manifest->kind == BERTH_MANIFEST_INDEX)
    {
      const BerthDescriptor *entry
        = berth_manifest_find_platform (manifest, "linux", berth_host_oci_arch (), NULL);

      if (entry == NULL)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "%s has no image for linux/%s", name, berth_host_oci_arch ());
          return FALSE;
        }
      g_free (digest);
      digest = g_strdup (entry->digest);
      g_bytes_unref (data);
      data = fetch_manifest_by_digest (pull, digest, error);
      if (data == NULL)
        return FALSE;
      berth_manifest_free (manifest);
      manifest
        = berth_manifest_parse (g_bytes_get_data (data, NULL), g_bytes_get_size (data), error);
      if (manifest == NULL)
        return FALSE;
      if (manifest->kind != BERTH_MANIFEST_IMAGE)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                       "%s: the linux/%s entry is another index", name, berth_host_oci_arch ());
          return FALSE;
        }
    }
  if (!save_bytes (pull, data, digest, error))
    return FALSE;
  emit (pull, "manifest %s", digest);

  g_ptr_array_add (wanted, manifest->config);
  for (guint i = 0; i < manifest->layers->len; i++)
    g_ptr_array_add (wanted, manifest->layers->pdata[i]);
  for (guint i = 0; i < wanted->len; i++)
    {
      BerthDescriptor *desc = wanted->pdata[i];
      if (!blob_is_stored (pull, desc->digest) && !has_name (pull->pull_dir_fd, desc->digest))
        total += desc->size;
    }
  emit (pull, "total %" G_GUINT64_FORMAT, total);

  pull->cancellable = g_cancellable_new ();
  pool = g_thread_pool_new (pool_thread, pull, pull->jobs, TRUE, NULL);
  for (guint i = 0; i < wanted->len; i++)
    {
      BerthDescriptor *desc = wanted->pdata[i];
      BlobJob *job;

      if (blob_is_stored (pull, desc->digest))
        {
          emit (pull, "blob %s", desc->digest);
          continue;
        }
      job = g_new0 (BlobJob, 1);
      job->pull = pull;
      job->digest = g_strdup (desc->digest);
      job->size = desc->size;
      job->staged = has_name (pull->pull_dir_fd, desc->digest);
      g_thread_pool_push (pool, job, NULL);
    }
  g_thread_pool_free (pool, FALSE, TRUE);
  if (pull->first_error && pull->saw_mismatch)
    {
      /* A source sent bad bytes: what the cut downloads kept may be more of
       * them; nothing of this pull is kept for a retry but verified blobs. */
      for (guint i = 0; i < pull->partials->len; i++)
        unlinkat (pull->pull_dir_fd, pull->partials->pdata[i], 0);
    }
  if (pull->first_error)
    {
      g_propagate_error (error, g_steal_pointer (&pull->first_error));
      return FALSE;
    }
  return TRUE;
}

/* --- push -------------------------------------------------------------- */

static void
push_progress (guint64 done, gpointer user_data)
{
  BlobJob *job = user_data;

  if (done - job->last_reported >= 256 * 1024 || (gint64)done == job->size)
    {
      job->last_reported = done;
      emit (job->pull, "progress %s %" G_GUINT64_FORMAT, job->digest, done);
    }
}

/* @packed_fd: the compressed layer, or -1: the stored blob. */
static gboolean
push_blob (Pull *pull, const BerthDescriptor *desc, int packed_fd, GError **error)
{
  g_autofree char *name = g_strdup_printf ("sha256/%s", berth_digest_hex (desc->digest));
  berth_autofd int fd = packed_fd >= 0 ? dup (packed_fd) : -1;
  gboolean exists = FALSE;
  BlobJob job = { pull, desc->digest, desc->size, 0 };

  emit (pull, "start %s %" G_GINT64_FORMAT, desc->digest, desc->size);
  if (!berth_registry_client_has_blob (pull->origin, pull->repository, desc->digest, &exists,
                                       error))
    return FALSE;
  for (guint i = 0; !exists && pull->mount_from && pull->mount_from[i]; i++)
    {
      g_autoptr (GError) local_error = NULL;

      if (!berth_registry_client_mount_blob (pull->origin, pull->repository, desc->digest,
                                             pull->mount_from[i], &exists, &local_error))
        g_printerr ("berth-pull: cannot mount %s from %s: %s\n", desc->digest, pull->mount_from[i],
                    local_error->message);
      else if (exists)
        emit (pull, "mounted %s %s", desc->digest, pull->mount_from[i]);
    }
  if (!exists)
    {
      if (fd < 0)
        fd = openat (pull->blobs_dir_fd, name, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return berth_error_set_errno (error, errno, "cannot open blob %s of the image",
                                      desc->digest);
      if (!berth_registry_client_put_blob (pull->origin, pull->repository, desc->digest, fd,
                                           desc->size, push_progress, &job, NULL, error))
        return FALSE;
    }
  emit (pull, "progress %s %" G_GINT64_FORMAT, desc->digest, desc->size);
  emit (pull, "blob %s", desc->digest);
  return TRUE;
}

typedef struct
{
  Pull *pull;
  const BerthDescriptor *layer;
  BerthCompression compression;
  int fd; /* the compressed layer, anonymous, in the staging area */
  char *digest;
  guint64 size;
  GError *error;
} Pack;

static void
pack_thread (gpointer data, gpointer user_data)
{
  Pack *pack = data;
  g_autofree char *name = g_strdup_printf ("sha256/%s", berth_digest_hex (pack->layer->digest));
  berth_autofd int in = openat (pack->pull->blobs_dir_fd, name, O_RDONLY | O_CLOEXEC);

  if (in < 0)
    {
      berth_error_set_errno (&pack->error, errno, "cannot open layer %s", pack->layer->digest);
      return;
    }
  pack->fd = anonymous_file (pack->pull, &pack->error);
  if (pack->fd >= 0)
    berth_compress_fd (in, pack->fd, pack->compression, &pack->digest, &pack->size, &pack->error);
}

/* Layers stored uncompressed (from docker load, commits) are compressed
 * for the registry, all at once on every core; compressed ones (pulled,
 * already verified) go as they are. Returns the manifest to push. */
static BerthManifest *
pack_layers (Pull *pull, const BerthManifest *manifest, BerthCompression compression,
             GPtrArray *packs, GError **error)
{
  g_autoptr (BerthManifest) packed = berth_manifest_new_image (manifest->config);
  GThreadPool *pool = g_thread_pool_new (pack_thread, NULL, g_get_num_processors (), TRUE, NULL);
  gboolean changed = FALSE;

  for (guint i = 0; i < manifest->layers->len; i++)
    {
      const BerthDescriptor *layer = manifest->layers->pdata[i];
      BerthCompression current = BERTH_COMPRESSION_GZIP;
      Pack *pack = g_new0 (Pack, 1);

      pack->pull = pull;
      pack->layer = layer;
      pack->fd = -1;
      g_ptr_array_add (packs, pack);
      if (berth_media_type_layer_compression (layer->media_type, &current)
          && current == BERTH_COMPRESSION_NONE)
        {
          pack->compression = compression;
          g_thread_pool_push (pool, pack, NULL);
        }
    }
  g_thread_pool_free (pool, FALSE, TRUE);
  for (guint i = 0; i < packs->len; i++)
    {
      Pack *pack = packs->pdata[i];

      if (pack->error)
        {
          g_propagate_error (error, g_steal_pointer (&pack->error));
          return NULL;
        }
      if (pack->digest)
        {
          g_autoptr (BerthDescriptor) d = berth_descriptor_new (
            berth_media_type_for_compression (pack->compression), pack->digest, pack->size);
          berth_manifest_add_layer (packed, d);
          changed = TRUE;
        }
      else
        berth_manifest_add_layer (packed, pack->layer);
    }
  return changed ? g_steal_pointer (&packed) : NULL;
}

static void
pack_free (Pack *pack)
{
  berth_close_fdp (&pack->fd);
  g_free (pack->digest);
  g_clear_error (&pack->error);
  g_free (pack);
}

static gboolean
run_push (Pull *pull, const char *text, const char *manifest_digest, BerthCompression compression,
          GError **error)
{
  g_autoptr (GPtrArray) packs = g_ptr_array_new_with_free_func ((GDestroyNotify)pack_free);
  g_autoptr (BerthManifest) packed = NULL;
  g_autoptr (GError) pack_error = NULL;
  g_autoptr (BerthReference) ref = berth_reference_parse_normalized (text, error);
  g_autofree char *name = NULL;
  g_autofree char *blob = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (BerthManifest) manifest = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree char *got = NULL;
  gsize len = 0;
  guint64 total = 0;

  if (ref == NULL)
    return FALSE;
  if (ref->digest)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "push %s: push to a tag, not a digest", text);
      return FALSE;
    }
  if (!open_source (pull, ref->domain, ref->path, error))
    return FALSE;
  blob
    = g_strdup_printf ("%s/blobs/sha256/%s", pull->images_dir, berth_digest_hex (manifest_digest));
  if (!g_file_get_contents (blob, &contents, &len, error))
    return FALSE;
  got = berth_digest_bytes (BERTH_DIGEST_SHA256, contents, len);
  if (!g_str_equal (got, manifest_digest))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_DIGEST_MISMATCH,
                   "the stored manifest %s does not match its digest (got %s)", manifest_digest,
                   got);
      return FALSE;
    }
  manifest = berth_manifest_parse (contents, len, error);
  if (manifest == NULL || manifest->kind != BERTH_MANIFEST_IMAGE)
    {
      if (manifest)
        g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED, "cannot push an index");
      return FALSE;
    }
  name = berth_reference_to_string (ref);
  emit (pull, "name %s", name);
  emit (pull, "manifest %s", manifest_digest);
  packed = pack_layers (pull, manifest, compression, packs, &pack_error);
  if (pack_error)
    {
      g_propagate_error (error, g_steal_pointer (&pack_error));
      return FALSE;
    }
  if (packed)
    {
      gsize packed_len = 0;
      char *json = berth_manifest_to_json (packed, &packed_len);

      bytes = g_bytes_new_take (json, packed_len);
    }
  else
    bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
  {
    const BerthManifest *pushed = packed ? packed : manifest;

    total = pushed->config->size;
    for (guint i = 0; i < pushed->layers->len; i++)
      total += ((BerthDescriptor *)pushed->layers->pdata[i])->size;
    emit (pull, "total %" G_GUINT64_FORMAT, total);
    if (!push_blob (pull, pushed->config, -1, error))
      return FALSE;
    for (guint i = 0; i < pushed->layers->len; i++)
      if (!push_blob (pull, pushed->layers->pdata[i], ((Pack *)packs->pdata[i])->fd, error))
        return FALSE;
    return berth_registry_client_put_manifest (pull->origin, pull->repository, ref->tag, bytes,
                                               pushed->media_type, error);
  }
}

/* --- main -------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  g_autofree char *images_dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *auth_path = NULL;
  g_autofree char *manifest_digest = NULL;
  gint jobs = 3;
  g_autofree char *compression_name = NULL;
  BerthCompression compression = BERTH_COMPRESSION_GZIP;
  g_auto (GStrv) mount_from = NULL;
  gboolean no_sandbox = FALSE;
  gboolean systemd_sandbox = FALSE;
  GOptionEntry entries[] = {
    { "images-dir", 0, 0, G_OPTION_ARG_FILENAME, &images_dir, "The store (<root>/images)", "DIR" },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_path, "berth.conf", "FILE" },
    { "auth", 0, 0, G_OPTION_ARG_FILENAME, &auth_path, "auth.json", "FILE" },
    { "jobs", 0, 0, G_OPTION_ARG_INT, &jobs, "Parallel downloads (3)", "N" },
    { "manifest", 0, 0, G_OPTION_ARG_STRING, &manifest_digest, "push: the image's manifest",
      "DIGEST" },
    { "compression", 0, 0, G_OPTION_ARG_STRING, &compression_name,
      "push: gzip (default) or zstd, for layers stored uncompressed", "NAME" },
    { "mount-from", 0, 0, G_OPTION_ARG_STRING_ARRAY, &mount_from,
      "push: mount blobs from this repository of the registry (repeatable)", "REPO" },
    { "systemd-sandbox", 0, 0, G_OPTION_ARG_NONE, &systemd_sandbox,
      "Run by systemd with its sandboxing properties: skip the own filter", NULL },
    { "no-sandbox", 0, 0, G_OPTION_ARG_NONE, &no_sandbox, "Debugging only", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("pull|push REFERENCE");
  g_autoptr (GError) error = NULL;
  g_autofree char *pull_dir = NULL;
  g_autofree char *blobs_dir = NULL;
  Pull pull = { 0 };
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "The helper berthd runs for each pull and push.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      printf ("error %d %s\n", BERTH_ERROR_INVALID_ARGUMENT, error->message);
      return 2;
    }
  if (argc != 3 || images_dir == NULL
      || !(g_str_equal (argv[1], "pull") || (g_str_equal (argv[1], "push") && manifest_digest)))
    {
      printf ("error %d usage: berth-pull --images-dir DIR [--config FILE] [--auth FILE] "
              "pull|push REFERENCE\n",
              BERTH_ERROR_INVALID_ARGUMENT);
      return 2;
    }

  if (compression_name && g_str_equal (compression_name, "zstd"))
    compression = BERTH_COMPRESSION_ZSTD;
  else if (compression_name && !g_str_equal (compression_name, "gzip"))
    {
      printf ("error %d unknown compression \"%s\": gzip or zstd\n", BERTH_ERROR_INVALID_ARGUMENT,
              compression_name);
      return 2;
    }
  pull.jobs = CLAMP (jobs, 1, 16);
  pull.mount_from = mount_from;
  pull.images_dir = images_dir;
  pull.auth_path = auth_path ? auth_path : g_strdup (BERTH_AUTH_DEFAULT_PATH);
  auth_path = NULL;
  pull_dir = g_build_filename (images_dir, "staging", "pull", NULL);
  blobs_dir = g_build_filename (images_dir, "blobs", NULL);
  g_mutex_init (&pull.out_lock);
  g_mutex_init (&pull.lock);
  pull.partials = g_ptr_array_new_with_free_func (g_free);
  pull.pull_dir_fd = pull.blobs_dir_fd = -1;

  /* Everything the helper opens on the file system it opens now; then it
   * gives up what it could do with more. */
  ok = (pull.config
        = berth_config_load (config_path ? config_path : BERTH_DEFAULT_CONFIG, FALSE, &error))
       != NULL;
  if (ok
      && (g_mkdir_with_parents (pull_dir, 0700) < 0
          || (pull.pull_dir_fd = open (pull_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0))
    ok = berth_error_set_errno (&error, errno, "cannot open %s", pull_dir);
  if (ok)
    pull.blobs_dir_fd = open (blobs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* Under systemd the service's SystemCallFilter, CapabilityBoundingSet
   * and RestrictAddressFamilies do the same (and forbid seccomp(2) itself). */
  if (ok && !no_sandbox && !systemd_sandbox)
    ok = sandbox (&error);
  if (ok)
    ok = g_str_equal (argv[1], "pull")
           ? run_pull (&pull, argv[2], &error)
           : run_push (&pull, argv[2], manifest_digest, compression, &error);
  if (ok)
    emit (&pull, "done");
  else
    emit (&pull, "error %d %s", error->domain == BERTH_ERROR ? error->code : BERTH_ERROR_FAILED,
          error->message);

  berth_close_fdp (&pull.pull_dir_fd);
  berth_close_fdp (&pull.blobs_dir_fd);
  g_clear_pointer (&pull.config, berth_config_free);
  g_clear_pointer (&pull.origin, berth_registry_client_free);
  g_strfreev (pull.mirrors);
  g_free (pull.registry);
  g_free (pull.repository);
  g_free (pull.auth_path);
  g_clear_object (&pull.cancellable);
  g_ptr_array_unref (pull.partials);
  return ok ? 0 : 1;
}
