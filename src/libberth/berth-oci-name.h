/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Repository names and tags as the OCI distribution spec defines them.
 *   name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 *   tag:  [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 * Names are limited to 255 characters so that "host/name" stays usable. */

#define BERTH_OCI_NAME_MAX 255

gboolean berth_oci_name_validate (const char *name, GError **error);
gboolean berth_oci_tag_validate (const char *tag, GError **error);

/* The fallback tag for the referrers of @digest ("sha256-<hex>"), as clients
 * use it when a registry has no referrers API; NULL when @digest has no ":". */
char *berth_oci_referrers_tag (const char *digest);

G_END_DECLS
