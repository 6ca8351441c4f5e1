/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Digest strings ("sha256:<hex>"): checked and split without hashing, so
 * that programs which only parse references (berthctl) do not load
 * libcrypto; the hashing is in berth-digest.c. */
#include "config.h"

#include "berth-digest.h"
#include "berth-error.h"

#include <string.h>

static const char *
algorithm_name (BerthDigestAlgorithm algorithm)
{
  return algorithm == BERTH_DIGEST_SHA512 ? "sha512" : "sha256";
}

gboolean
berth_digest_validate (const char *digest, BerthDigestAlgorithm *out_algorithm, GError **error)
{
  const char *colon;
  const char *hex;
  gsize want;
  BerthDigestAlgorithm algorithm;

  if (digest == NULL || (colon = strchr (digest, ':')) == NULL || colon == digest)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid digest \"%s\": expected algorithm:hex, e.g. sha256:<64 hex digits>",
                   digest ? digest : "");
      return FALSE;
    }

  if (colon - digest == 6 && strncmp (digest, "sha256", 6) == 0)
    algorithm = BERTH_DIGEST_SHA256, want = 64;
  else if (colon - digest == 6 && strncmp (digest, "sha512", 6) == 0)
    algorithm = BERTH_DIGEST_SHA512, want = 128;
  else
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED,
                   "unsupported digest algorithm \"%.*s\" in \"%s\": use sha256 or sha512",
                   (int)(colon - digest), digest, digest);
      return FALSE;
    }

  hex = colon + 1;
  if (strlen (hex) != want || strspn (hex, "0123456789abcdef") != want)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid digest \"%s\": %s needs exactly %zu lowercase hex digits", digest,
                   algorithm_name (algorithm), want);
      return FALSE;
    }

  if (out_algorithm)
    *out_algorithm = algorithm;
  return TRUE;
}

const char *
berth_digest_hex (const char *digest)
{
  const char *colon = strchr (digest, ':');

  return colon ? colon + 1 : digest;
}
