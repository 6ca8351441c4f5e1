/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcurl, loaded on first use: see berth-curl.h. */
#include "config.h"

#include "berth-curl.h"

#include "berth-dlopen.h"
#include "berth-error.h"

#define LIBCURL_SONAME "libcurl.so.4"

CURL *(*sym_curl_easy_init) (void);
void (*sym_curl_easy_cleanup) (CURL *curl);
void (*sym_curl_easy_reset) (CURL *curl);
CURLcode (*sym_curl_easy_setopt) (CURL *curl, CURLoption option, ...);
CURLcode (*sym_curl_easy_getinfo) (CURL *curl, CURLINFO info, ...);
CURLcode (*sym_curl_easy_perform) (CURL *curl);
const char *(*sym_curl_easy_strerror) (CURLcode code);
struct curl_slist *(*sym_curl_slist_append) (struct curl_slist *list, const char *string);
void (*sym_curl_slist_free_all) (struct curl_slist *list);

static char *load_error; /* why loading failed, once and for all */
static gboolean loaded;

static void
load (void)
{
  CURLcode (*global_init) (long flags);
  g_autoptr (GError) error = NULL;
  const BerthDlsym symbols[] = {
    { "curl_easy_init", (void **)&sym_curl_easy_init },
    { "curl_easy_cleanup", (void **)&sym_curl_easy_cleanup },
    { "curl_easy_reset", (void **)&sym_curl_easy_reset },
    { "curl_easy_setopt", (void **)&sym_curl_easy_setopt },
    { "curl_easy_getinfo", (void **)&sym_curl_easy_getinfo },
    { "curl_easy_perform", (void **)&sym_curl_easy_perform },
    { "curl_easy_strerror", (void **)&sym_curl_easy_strerror },
    { "curl_slist_append", (void **)&sym_curl_slist_append },
    { "curl_slist_free_all", (void **)&sym_curl_slist_free_all },
    { "curl_global_init", (void **)&global_init },
  };

  if (!berth_dlopen_symbols (LIBCURL_SONAME, "libcurl4", symbols, G_N_ELEMENTS (symbols), &error))
    {
      load_error = g_strdup (error->message);
      return;
    }
  /* Not thread-safe in libcurl; done once here. */
  if (global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
      load_error = g_strdup ("libcurl cannot initialise");
      return;
    }
  loaded = TRUE;
}

gboolean
berth_curl_load (GError **error)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      load ();
      g_once_init_leave (&once, 1);
    }
  if (!loaded)
    {
      g_set_error_literal (error, BERTH_ERROR, BERTH_ERROR_FAILED, load_error);
      return FALSE;
    }
  return TRUE;
}

gboolean
berth_curl_is_loaded (void)
{
  return loaded;
}
