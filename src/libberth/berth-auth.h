/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registry credentials in the containers auth.json format
 * ({"auths": {"HOST[:PORT]": {"auth": base64("user:password")}}}), the file
 * podman, skopeo and buildah read too. berthd keeps it at
 * /etc/berth/auth.json, readable by root only. */

#define BERTH_AUTH_DEFAULT_PATH "/etc/berth/auth.json"

/* Finds the credentials for @registry ("host[:port]"). A missing file or
 * entry is not an error: *out_user and *out_password are set to NULL. */
gboolean berth_auth_lookup (const char *path, const char *registry, char **out_user,
                            char **out_password, GError **error);

/* Adds or replaces @registry's entry, keeping every other entry; the file is
 * replaced atomically with mode 0600. */
gboolean berth_auth_store (const char *path, const char *registry, const char *user,
                           const char *password, GError **error);

/* Removes @registry's entry; *out_removed says whether there was one. */
gboolean berth_auth_remove (const char *path, const char *registry, gboolean *out_removed,
                            GError **error);

G_END_DECLS
