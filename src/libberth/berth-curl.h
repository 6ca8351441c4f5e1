/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcurl is loaded when a program first talks to a registry, not linked:
 * berth-registry without a mirror then never maps libcurl and its
 * dependency tree (OpenSSL's libssl, Kerberos, LDAP, SASL, SSH, RTMP,
 * nghttp2, ...), which was about 1.7 MB of its idle RSS, and berthd maps it
 * only once it logs in or searches. The calls go through the sym_curl_*
 * pointers below, as systemd does for its optional libraries. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <glib.h>

G_BEGIN_DECLS

/* Loads libcurl.so.4 and runs curl_global_init, once per process (thread
 * safe); FALSE with a message naming the library when it is missing. */
gboolean berth_curl_load (GError **error);
/* Whether it is loaded (tests: programs that need no registry do not). */
gboolean berth_curl_is_loaded (void);

extern CURL *(*sym_curl_easy_init) (void);
extern void (*sym_curl_easy_cleanup) (CURL *curl);
extern void (*sym_curl_easy_reset) (CURL *curl);
extern CURLcode (*sym_curl_easy_setopt) (CURL *curl, CURLoption option, ...);
extern CURLcode (*sym_curl_easy_getinfo) (CURL *curl, CURLINFO info, ...);
extern CURLcode (*sym_curl_easy_perform) (CURL *curl);
extern const char *(*sym_curl_easy_strerror) (CURLcode code);
extern struct curl_slist *(*sym_curl_slist_append) (struct curl_slist *list, const char *string);
extern void (*sym_curl_slist_free_all) (struct curl_slist *list);

static inline void
berth_curl_easy_cleanup (CURL *curl)
{
  if (curl)
    sym_curl_easy_cleanup (curl);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CURL, berth_curl_easy_cleanup)

G_END_DECLS
