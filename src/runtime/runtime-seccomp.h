/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <linux/filter.h>

G_BEGIN_DECLS

typedef struct
{
  struct sock_filter *filter; /* g_free */
  unsigned short len;
  unsigned int flags; /* SECCOMP_FILTER_FLAG_* */
} RtSeccompProgram;

/* Compiles linux.seccomp (an OCI LinuxSeccomp object) to a BPF program,
 * or takes it from @cache_dir (NULL: no cache) where an earlier create left
 * the program of the same profile. */
gboolean rt_seccomp_compile (JsonNode *seccomp, const char *cache_dir, RtSeccompProgram *program,
                             GError **error);

G_END_DECLS
