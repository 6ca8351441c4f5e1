/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Password hashes: yescrypt from libcrypt, the hash /etc/shadow uses. */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>

#include "berth-error.h"
#include "registry.h"

char *
registry_password_hash (const char *password, GError **error)
{
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  const char *hash;

  if (crypt_gensalt_rn ("$y$", 0, NULL, 0, salt, sizeof salt) == NULL)
    return berth_error_set_errno (error, errno, "libcrypt cannot make a yescrypt salt"), NULL;
  hash = crypt_rn (password, salt, data, sizeof *data);
  if (hash == NULL || hash[0] == '*')
    return berth_error_set_errno (error, errno, "libcrypt cannot hash the password"), NULL;
  return g_strdup (hash);
}

gboolean
registry_password_verify (const char *password, const char *hash)
{
  g_autofree struct crypt_data *data = g_new0 (struct crypt_data, 1);
  const char *computed = crypt_rn (password, hash, data, sizeof *data);
  gsize len = strlen (hash);
  guint8 diff = 0;

  if (computed == NULL || computed[0] == '*' || strlen (computed) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    diff |= computed[i] ^ hash[i];
  return diff == 0;
}
