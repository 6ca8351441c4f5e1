/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --redirect-blobs-to: which mirror a blob GET is sent to. Mirrors are
 * tried in the order given: the first that answers a HEAD for the blob with
 * the right size gets the client. Answers are remembered for a minute, and
 * a mirror that cannot be reached is skipped for half a minute, so that
 * clients never wait on a dead mirror more than once. When no mirror has
 * the blob, the registry serves it itself. Clients check the digest of
 * whatever a mirror sends. */
#include "config.h"

#include <string.h>

#include "berth-curl.h"

#include "registry-request.h"

#define ANSWER_USEC (60 * G_USEC_PER_SEC)
#define DOWN_USEC (30 * G_USEC_PER_SEC)

typedef struct
{
  gboolean has;
  gint64 until;
} Answer;

void
registry_redirect_init (Registry *registry)
{
  g_mutex_init (&registry->redirect_lock);
  registry->redirect_answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  registry->redirect_down_until
    = g_new0 (gint64, registry->settings->redirect_blobs_to
                        ? g_strv_length (registry->settings->redirect_blobs_to)
                        : 0);
}

void
registry_redirect_clear (Registry *registry)
{
  g_clear_pointer (&registry->redirect_answers, g_hash_table_unref);
  g_clear_pointer (&registry->redirect_down_until, g_free);
  g_mutex_clear (&registry->redirect_lock);
}

static size_t
discard (char *data, size_t size, size_t nmemb, void *user_data)
{
  return size * nmemb;
}

char *
registry_redirect_url (const char *base, const char *name, const char *digest)
{
  gsize len = strlen (base);

  while (len > 0 && base[len - 1] == '/')
    len--;
  return g_strdup_printf ("%.*s/v2/%s/blobs/%s", (int)len, base, name, digest);
}

/* 1: the mirror has it, 0: it does not, -1: the mirror cannot be reached. */
static int
probe (const char *url, guint64 size)
{
  g_autoptr (CURL) curl = sym_curl_easy_init ();
  curl_off_t length = -1;
  long status = 0;

  sym_curl_easy_setopt (curl, CURLOPT_URL, url);
  sym_curl_easy_setopt (curl, CURLOPT_NOBODY, 1L);
  sym_curl_easy_setopt (curl, CURLOPT_FOLLOWLOCATION, 1L);
  sym_curl_easy_setopt (curl, CURLOPT_MAXREDIRS, 5L);
  sym_curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  sym_curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  sym_curl_easy_setopt (curl, CURLOPT_TIMEOUT_MS, 2000L);
  sym_curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  sym_curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, discard);
  sym_curl_easy_setopt (curl, CURLOPT_USERAGENT, "berth-registry/" PACKAGE_VERSION);
  if (sym_curl_easy_perform (curl) != CURLE_OK)
    return -1;
  sym_curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &status);
  sym_curl_easy_getinfo (curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  return status == 200 && (length < 0 || (guint64)length == size) ? 1 : 0;
}

char *
registry_redirect_pick (Registry *registry, const char *name, const char *digest, guint64 size)
{
  char **mirrors = registry->settings->redirect_blobs_to;

  for (guint i = 0; mirrors && mirrors[i]; i++)
    {
      g_autofree char *url = registry_redirect_url (mirrors[i], name, digest);
      gint64 now = g_get_monotonic_time ();
      Answer *answer;
      int has;

      g_mutex_lock (&registry->redirect_lock);
      if (registry->redirect_down_until[i] > now)
        {
          g_mutex_unlock (&registry->redirect_lock);
          continue;
        }
      answer = g_hash_table_lookup (registry->redirect_answers, url);
      if (answer && answer->until > now)
        {
          gboolean known_has = answer->has;
          g_mutex_unlock (&registry->redirect_lock);
          if (known_has)
            return g_steal_pointer (&url);
          continue;
        }
      g_mutex_unlock (&registry->redirect_lock);

      has = probe (url, size);
      g_mutex_lock (&registry->redirect_lock);
      if (has < 0)
        {
          registry->redirect_down_until[i] = now + DOWN_USEC;
          g_message ("blob mirror %s cannot be reached; skipping it for %d s", mirrors[i],
                     (int)(DOWN_USEC / G_USEC_PER_SEC));
        }
      else
        {
          answer = g_new (Answer, 1);
          answer->has = has;
          answer->until = now + ANSWER_USEC;
          g_hash_table_replace (registry->redirect_answers, g_strdup (url), answer);
        }
      g_mutex_unlock (&registry->redirect_lock);
      if (has > 0)
        return g_steal_pointer (&url);
    }
  return NULL;
}
