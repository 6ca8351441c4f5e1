/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* COPY and ADD: files of the build context (or of another stage's root)
 * written into a mounted root, with Docker's rules for globs, directories
 * and trailing slashes. Paths in the root are resolved inside it (its
 * symbolic links point within it), never by string concatenation. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"
#include "berth-passwd.h"
#include "berth-fd.h"
#include "berth-fsutil.h"
#include "berth-unpack.h"
#include "build.h"

int
berth_builder_open_in_root (int root_fd, const char *path, int flags)
{
  struct open_how how = {
    .flags = flags | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };

  return (int)syscall (SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
}

static gboolean
is_url (const char *source)
{
  return g_str_has_prefix (source, "http://") || g_str_has_prefix (source, "https://");
}

static gboolean
has_glob (const char *s)
{
  return strpbrk (s, "*?[") != NULL;
}

/* The names in @dirfd, sorted; none when it cannot be read (a source
 * that vanished is reported where it is opened). */
static GPtrArray *
list_dir (int dirfd)
{
  GPtrArray *names = berth_fs_list_dir (dirfd, "a directory of the build", NULL);

  return names ? names : g_ptr_array_new_with_free_func (g_free);
}

/* Expands @pattern (cleaned, relative) component by component. */
static void
glob_expand (int root_fd, const char *prefix, char **parts, GPtrArray *out)
{
  berth_autofd int dirfd = berth_builder_open_in_root (root_fd, prefix, O_RDONLY | O_DIRECTORY);
  g_autoptr (GPtrArray) names = NULL;

  if (dirfd < 0)
    return;
  names = list_dir (dirfd);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *path = NULL;

      if (fnmatch (parts[0], name, 0) != 0)
        continue;
      path = *prefix ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
      if (parts[1] == NULL)
        g_ptr_array_add (out, g_steal_pointer (&path));
      else
        glob_expand (root_fd, path, parts + 1, out);
    }
}

/* The context paths (or URLs) the sources name, in order. */
static GPtrArray *
resolve_sources (const BerthBuilderCopy *copy, char **sources, GError **error)
{
  const char *what = copy->add ? "ADD" : "COPY";
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; sources[i]; i++)
    {
      g_autofree char *clean = NULL;
      struct stat st;

      if (copy->add && is_url (sources[i]))
        {
          g_ptr_array_add (out, g_strdup (sources[i]));
          continue;
        }
      if (is_url (sources[i]))
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "COPY cannot fetch %s; use ADD for URLs", sources[i]),
               NULL;
      clean = berth_builder_clean_path (sources[i]);
      if (clean == NULL)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "%s: %s is outside the build context", what, sources[i]),
               NULL;
      if (has_glob (clean))
        {
          g_auto (GStrv) parts = g_strsplit (clean, "/", -1);
          guint before = out->len;

          glob_expand (copy->context_fd, "", parts, out);
          if (out->len == before)
            return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                                "%s: no file matches %s", what, sources[i]),
                   NULL;
          continue;
        }
      {
        berth_autofd int fd
          = berth_builder_open_in_root (copy->context_fd, clean, O_PATH | O_NOFOLLOW);

        if (fd < 0 || fstat (fd, &st) < 0)
          return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                              "%s: %s: not found in the build context%s%s", what, sources[i],
                              errno == ENOENT ? "" : ": ",
                              errno == ENOENT ? "" : g_strerror (errno)),
                 NULL;
      }
      g_ptr_array_add (out, g_steal_pointer (&clean));
    }
  return g_steal_pointer (&out);
}

/* --- the cache digest ----------------------------------------------------- */

static gboolean
hash_tree (BerthHasher *hasher, int root_fd, const char *path, GError **error)
{
  berth_autofd int fd = berth_builder_open_in_root (root_fd, path, O_PATH | O_NOFOLLOW);
  struct stat st;
  g_autofree char *head = NULL;

  if (fd < 0 || fstat (fd, &st) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s in the build context", path);
  head = g_strdup_printf ("%s\n%o %" G_GUINT64_FORMAT "\n", path, (guint)st.st_mode,
                          (guint64)st.st_size);
  berth_hasher_update (hasher, head, strlen (head) + 1);
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (fd, "", target, sizeof target);

      if (n > 0)
        berth_hasher_update (hasher, target, n);
    }
  else if (S_ISREG (st.st_mode))
    {
      berth_autofd int data = berth_builder_open_in_root (root_fd, path, O_RDONLY | O_NOFOLLOW);
      g_autofree char *digest = NULL;

      if (data < 0 || !berth_digest_fd (BERTH_DIGEST_SHA256, data, &digest, NULL, error))
        return data < 0 ? berth_error_set_errno (error, errno, "cannot read %s", path) : FALSE;
      berth_hasher_update (hasher, digest, strlen (digest));
    }
  else if (S_ISDIR (st.st_mode))
    {
      berth_autofd int dirfd
        = berth_builder_open_in_root (root_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      g_autoptr (GPtrArray) names = dirfd >= 0 ? list_dir (dirfd) : NULL;

      for (guint i = 0; names && i < names->len; i++)
        {
          g_autofree char *child
            = *path ? g_strconcat (path, "/", names->pdata[i], NULL) : g_strdup (names->pdata[i]);

          if (!hash_tree (hasher, root_fd, child, error))
            return FALSE;
        }
    }
  return TRUE;
}

char *
berth_builder_copy_digest (const BerthBuilderCopy *copy, char **sources, GError **error)
{
  g_autoptr (GPtrArray) paths = resolve_sources (copy, sources, error);
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);

  if (paths == NULL)
    return NULL;
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);

      /* A URL counts by its text: fetched again only when it changes. */
      berth_hasher_update (hasher, path, strlen (path) + 1);
      if (!(copy->add && is_url (path)) && !hash_tree (hasher, copy->context_fd, path, error))
        return NULL;
    }
  return berth_hasher_finish (hasher);
}

/* --- owners ------------------------------------------------------------- */

/* Names are looked up as `run -u` does (berth-passwd.h); a UID without a
 * group keeps it as GID too, as Docker's COPY --chown does. */
gboolean
berth_builder_resolve_user (int root_fd, const char *spec, guint32 *out_uid, guint32 *out_gid,
                            GError **error)
{
  g_autoptr (BerthUser) user = NULL;
  guint64 n;

  if (strchr (spec, ':') == NULL
      && g_ascii_string_to_unsigned (spec, 10, 0, G_MAXUINT32 - 1, &n, NULL))
    {
      *out_uid = *out_gid = (guint32)n;
      return TRUE;
    }
  user = berth_user_resolve (root_fd, spec, error);
  if (user == NULL)
    return FALSE;
  *out_uid = user->uid;
  *out_gid = user->gid;
  return TRUE;
}

/* --- writing ------------------------------------------------------------ */

typedef struct
{
  const BerthBuilderCopy *copy;
  gboolean chown;
  uid_t uid;
  gid_t gid;
  gboolean chmod;
  mode_t mode;
} Writer;

/* Opens (creating as needed, root-owned 0755) the directory @path of the
 * root. */
int
berth_builder_mkdir_in_root (int root_fd, const char *path, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr (GString) prefix = g_string_new ("/");
  int fd = berth_builder_open_in_root (root_fd, "/", O_RDONLY | O_DIRECTORY);

  if (fd < 0)
    return berth_error_set_errno (error, errno, "cannot open the root"), -1;
  for (guint i = 0; parts[i]; i++)
    {
      int next;

      if (*parts[i] == '\0' || g_str_equal (parts[i], "."))
        continue;
      g_string_append_printf (prefix, "%s%s", prefix->len > 1 ? "/" : "", parts[i]);
      next = berth_builder_open_in_root (root_fd, prefix->str, O_RDONLY | O_DIRECTORY);
      if (next < 0 && errno == ENOENT)
        {
          if (mkdirat (fd, parts[i], 0755) < 0 && errno != EEXIST)
            {
              berth_error_set_errno (error, errno, "cannot create %s", prefix->str);
              close (fd);
              return -1;
            }
          next = berth_builder_open_in_root (root_fd, prefix->str, O_RDONLY | O_DIRECTORY);
        }
      if (next < 0)
        {
          berth_error_set_errno (error, errno, "cannot open %s in the image", prefix->str);
          close (fd);
          return -1;
        }
      close (fd);
      fd = next;
    }
  return fd;
}

static gboolean
set_attributes (Writer *w, int fd, const struct stat *st, const char *path, GError **error)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  mode_t mode = w->chmod ? w->mode : st->st_mode & 07777;

  if (fchown (fd, w->chown ? w->uid : 0, w->chown ? w->gid : 0) < 0 || fchmod (fd, mode) < 0
      || futimens (fd, times) < 0)
    return berth_error_set_errno (error, errno, "cannot set the owner and mode of %s", path);
  return TRUE;
}

static gboolean
copy_data (int in, int out, off_t size, const char *path, GError **error)
{
  while (size > 0)
    {
      ssize_t n = sendfile (out, in, NULL, MIN (size, (off_t)1 << 30));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot copy %s", path);
      if (n == 0)
        break;
      size -= n;
    }
  return TRUE;
}

/* Makes room for a new entry @name in @dirfd: what was there goes, unless
 * it is a directory and a directory comes. */
static gboolean
replace_entry (int dirfd, const char *name, gboolean want_dir, const char *path, GError **error)
{
  struct stat st;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return TRUE;
  if (S_ISDIR (st.st_mode) && want_dir)
    return TRUE;
  if (unlinkat (dirfd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
    return berth_error_set_errno (error, errno, "cannot replace %s", path);
  return TRUE;
}

static gboolean copy_entry (Writer *w, int src_dirfd, const char *src_name, int dst_dirfd,
                            const char *dst_name, const char *path, GError **error);

static gboolean
copy_dir_contents (Writer *w, int src_fd, int dst_fd, const char *path, GError **error)
{
  g_autoptr (GPtrArray) names = list_dir (src_fd);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_cancellable_set_error_if_cancelled (w->copy->cancellable, error))
        return FALSE;
      if (!copy_entry (w, src_fd, name, dst_fd, name, child, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
copy_entry (Writer *w, int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
            const char *path, GError **error)
{
  struct stat st;

  if (fstatat (src_dirfd, src_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s", src_name);
  if (!replace_entry (dst_dirfd, dst_name, S_ISDIR (st.st_mode), path, error))
    return FALSE;

  if (S_ISDIR (st.st_mode))
    {
      berth_autofd int src
        = openat (src_dirfd, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      berth_autofd int dst = -1;

      if (mkdirat (dst_dirfd, dst_name, 0700) < 0 && errno != EEXIST)
        return berth_error_set_errno (error, errno, "cannot create %s", path);
      dst = openat (dst_dirfd, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (src < 0 || dst < 0)
        return berth_error_set_errno (error, errno, "cannot open %s", path);
      if (!copy_dir_contents (w, src, dst, path, error))
        return FALSE;
      return set_attributes (w, dst, &st, path, error);
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (src_dirfd, src_name, target, sizeof target - 1);

      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read the link %s", path);
      target[n] = '\0';
      if (symlinkat (target, dst_dirfd, dst_name) < 0
          || fchownat (dst_dirfd, dst_name, w->chown ? w->uid : 0, w->chown ? w->gid : 0,
                       AT_SYMLINK_NOFOLLOW)
               < 0)
        return berth_error_set_errno (error, errno, "cannot create the link %s", path);
      return TRUE;
    }
  if (S_ISREG (st.st_mode))
    {
      berth_autofd int src = openat (src_dirfd, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      berth_autofd int dst
        = openat (dst_dirfd, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

      if (src < 0 || dst < 0)
        return berth_error_set_errno (error, errno, "cannot copy %s", path);
      if (!copy_data (src, dst, st.st_size, path, error))
        return FALSE;
      return set_attributes (w, dst, &st, path, error);
    }
  /* Devices, FIFOs and sockets are not copied, as Docker does not. */
  return TRUE;
}

/* --- ADD: archives and URLs --------------------------------------------- */

static gboolean
is_archive (int fd)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;
  gboolean yes;

  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  yes = archive_read_open_fd (a, fd, 65536) == ARCHIVE_OK
        && archive_read_next_header (a, &entry) == ARCHIVE_OK;
  archive_read_free (a);
  lseek (fd, 0, SEEK_SET);
  return yes;
}

typedef struct
{
  int fd;
  guint64 written, max;
  GCancellable *cancellable;
  gboolean too_big;
} Download;

static size_t
on_data (char *data, size_t size, size_t n, void *user_data)
{
  Download *d = user_data;
  size_t len = size * n;

  if (d->written + len > d->max)
    {
      d->too_big = TRUE;
      return 0;
    }
  if (!berth_fs_write_all (d->fd, data, len, NULL))
    return 0;
  d->written += len;
  return len;
}

static int
on_progress (void *user_data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
             curl_off_t ulnow)
{
  Download *d = user_data;

  return g_cancellable_is_cancelled (d->cancellable) ? 1 : 0;
}

static gboolean
fetch_url (Writer *w, const char *url, int dirfd, const char *name, const char *path,
           GError **error)
{
  CURL *curl = curl_easy_init ();
  Download d = { -1, 0, w->copy->max_size, w->copy->cancellable, FALSE };
  char errbuf[CURL_ERROR_SIZE] = "";
  struct stat st = { .st_mode = S_IFREG | 0600 };
  long filetime = -1;
  CURLcode code;

  if (curl == NULL)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot start libcurl"), FALSE;
  if (!replace_entry (dirfd, name, FALSE, path, error))
    {
      curl_easy_cleanup (curl);
      return FALSE;
    }
  d.fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (d.fd < 0)
    {
      curl_easy_cleanup (curl);
      return berth_error_set_errno (error, errno, "cannot create %s", path);
    }
  curl_easy_setopt (curl, CURLOPT_URL, url);
  curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt (curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)d.max);
  curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (curl, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt (curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt (curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt (curl, CURLOPT_XFERINFODATA, &d);
  curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (curl, CURLOPT_FILETIME, 1L);
  curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  code = curl_easy_perform (curl);
  curl_easy_getinfo (curl, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup (curl);
  if (code != CURLE_OK)
    {
      close (d.fd);
      unlinkat (dirfd, name, 0);
      if (g_cancellable_set_error_if_cancelled (w->copy->cancellable, error))
        return FALSE;
      if (d.too_big || code == CURLE_FILESIZE_EXCEEDED)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_LIMIT_EXCEEDED,
                            "ADD %s: larger than the limit of %" G_GUINT64_FORMAT " bytes", url,
                            d.max),
               FALSE;
      return g_set_error (error, BERTH_ERROR, BERTH_ERROR_NETWORK, "ADD %s: %s", url,
                          *errbuf ? errbuf : curl_easy_strerror (code)),
             FALSE;
    }
  st.st_mtim.tv_sec = filetime > 0 ? filetime : (time_t)(g_get_real_time () / G_USEC_PER_SEC);
  st.st_atim = st.st_mtim;
  {
    gboolean ok = set_attributes (w, d.fd, &st, path, error);

    close (d.fd);
    return ok;
  }
}

static char *
url_file_name (const char *url)
{
  g_autofree char *copy = g_strdup (url + strcspn (url, ":") + 3);
  char *end = copy + strcspn (copy, "?#");
  const char *slash;

  *end = '\0';
  slash = strrchr (copy, '/');
  if (slash == NULL || slash[1] == '\0')
    return NULL;
  return g_uri_unescape_string (slash + 1, "/");
}

/* --- one source --------------------------------------------------------- */

/* The directory and the name a single source lands as. */
static gboolean
destination_for (Writer *w, const char *dest, gboolean dest_is_dir, const char *base,
                 int *out_dirfd, char **out_name, GError **error)
{
  int root_fd = w->copy->root_fd;

  if (!dest_is_dir)
    {
      berth_autofd int existing
        = berth_builder_open_in_root (root_fd, dest, O_RDONLY | O_DIRECTORY);

      /* COPY file /existing-dir lands inside it. */
      dest_is_dir = existing >= 0;
    }
  if (dest_is_dir)
    {
      *out_dirfd = berth_builder_mkdir_in_root (root_fd, dest, error);
      *out_name = g_strdup (base);
    }
  else
    {
      g_autofree char *parent = g_path_get_dirname (dest);

      *out_dirfd = berth_builder_mkdir_in_root (root_fd, parent, error);
      *out_name = g_path_get_basename (dest);
    }
  return *out_dirfd >= 0;
}

static gboolean
copy_source (Writer *w, const char *source, const char *dest, gboolean dest_is_dir, GError **error)
{
  const BerthBuilderCopy *copy = w->copy;
  berth_autofd int src = -1;
  berth_autofd int dirfd = -1;
  g_autofree char *name = NULL;
  g_autofree char *base = NULL;
  g_autofree char *parent = NULL;
  berth_autofd int parent_fd = -1;
  struct stat st;

  if (copy->add && is_url (source))
    {
      g_autofree char *file = url_file_name (source);

      if (dest_is_dir && file == NULL)
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "ADD %s: the URL names no file; give a destination file name", source),
               FALSE;
      if (!destination_for (w, dest, dest_is_dir, file, &dirfd, &name, error))
        return FALSE;
      return fetch_url (w, source, dirfd, name, dest, error);
    }

  src = berth_builder_open_in_root (copy->context_fd, source, O_PATH | O_NOFOLLOW);
  if (src < 0 || fstat (src, &st) < 0)
    return berth_error_set_errno (error, errno, "cannot read %s", source);
  base = g_path_get_basename (*source ? source : ".");
  parent = g_path_get_dirname (source);
  parent_fd = berth_builder_open_in_root (copy->context_fd, g_str_equal (parent, ".") ? "" : parent,
                                          O_RDONLY | O_DIRECTORY);
  if (parent_fd < 0)
    return berth_error_set_errno (error, errno, "cannot open %s", parent);

  if (S_ISDIR (st.st_mode))
    {
      /* A directory's contents are copied, not the directory itself. */
      berth_autofd int from
        = berth_builder_open_in_root (copy->context_fd, source, O_RDONLY | O_DIRECTORY);

      dirfd = berth_builder_mkdir_in_root (copy->root_fd, dest, error);
      if (dirfd < 0)
        return FALSE;
      if (from < 0)
        return berth_error_set_errno (error, errno, "cannot open %s", source);
      return copy_dir_contents (w, from, dirfd, dest, error);
    }

  if (copy->add && S_ISREG (st.st_mode))
    {
      berth_autofd int data
        = berth_builder_open_in_root (copy->context_fd, source, O_RDONLY | O_NOFOLLOW);

      if (data >= 0 && is_archive (data))
        {
          BerthUnpackOptions o = BERTH_UNPACK_OPTIONS_INIT;
          g_auto (BerthUnpackResult) result = { 0 };

          dirfd = berth_builder_mkdir_in_root (copy->root_fd, dest, error);
          if (dirfd < 0)
            return FALSE;
          o.max_size = copy->max_size;
          if (!berth_unpack_layer (data, dirfd, &o, &result, copy->cancellable, error))
            {
              g_prefix_error (error, "ADD %s: ", source);
              return FALSE;
            }
          return TRUE;
        }
    }

  if (!destination_for (w, dest, dest_is_dir, base, &dirfd, &name, error))
    return FALSE;
  return copy_entry (w, parent_fd, base, dirfd, name, dest, error);
}

gboolean
berth_builder_copy (const BerthBuilderCopy *copy, char **sources, const char *dest, GError **error)
{
  const char *what = copy->add ? "ADD" : "COPY";
  g_autoptr (GPtrArray) paths = resolve_sources (copy, sources, error);
  g_autofree char *target = NULL;
  Writer w = { copy };
  gboolean dest_is_dir;

  if (paths == NULL)
    return FALSE;
  if (copy->chown
      && !berth_builder_resolve_user (copy->root_fd, copy->chown, &w.uid, &w.gid, error))
    return g_prefix_error (error, "%s --chown: ", what), FALSE;
  w.chown = copy->chown != NULL;
  if (copy->chmod)
    {
      guint64 mode;

      if (!g_ascii_string_to_unsigned (copy->chmod, 8, 0, 07777, &mode, NULL))
        return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                            "%s --chmod=%s: give an octal mode such as 0755", what, copy->chmod),
               FALSE;
      w.chmod = TRUE;
      w.mode = (mode_t)mode;
    }

  /* Docker's rules: a destination ending in '/' (or ".") is a directory;
   * several sources need one. Relative destinations are under WORKDIR. */
  target = dest[0] == '/'
             ? g_strdup (dest)
             : g_build_filename (copy->workdir && *copy->workdir ? copy->workdir : "/", dest, NULL);
  dest_is_dir
    = g_str_has_suffix (dest, "/") || g_str_equal (dest, ".") || g_str_has_suffix (dest, "/.");
  if (paths->len > 1 && !dest_is_dir)
    return g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                        "%s: with more than one source the destination must be a directory "
                        "ending in /, not %s",
                        what, dest),
           FALSE;
  for (guint i = 0; i < paths->len; i++)
    if (!copy_source (&w, g_ptr_array_index (paths, i), target, dest_is_dir, error))
      return FALSE;
  return TRUE;
}
