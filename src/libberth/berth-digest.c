/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-digest.h"
#include "berth-error.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

struct _BerthHasher
{
  EVP_MD_CTX *ctx;
  BerthDigestAlgorithm algorithm;
};

static const char *
algorithm_name (BerthDigestAlgorithm algorithm)
{
  return algorithm == BERTH_DIGEST_SHA512 ? "sha512" : "sha256";
}

BerthHasher *
berth_hasher_new (BerthDigestAlgorithm algorithm)
{
  BerthHasher *hasher = g_new0 (BerthHasher, 1);
  const EVP_MD *md = algorithm == BERTH_DIGEST_SHA512 ? EVP_sha512 () : EVP_sha256 ();

  hasher->algorithm = algorithm;
  hasher->ctx = EVP_MD_CTX_new ();
  if (hasher->ctx == NULL || EVP_DigestInit_ex (hasher->ctx, md, NULL) != 1)
    g_error ("libcrypto cannot initialise %s", algorithm_name (algorithm));
  return hasher;
}

void
berth_hasher_update (BerthHasher *hasher, const void *data, gsize len)
{
  if (len > 0)
    EVP_DigestUpdate (hasher->ctx, data, len);
}

BerthHasher *
berth_hasher_copy (BerthHasher *hasher)
{
  BerthHasher *copy = g_new0 (BerthHasher, 1);

  copy->algorithm = hasher->algorithm;
  copy->ctx = EVP_MD_CTX_new ();
  if (copy->ctx == NULL || EVP_MD_CTX_copy_ex (copy->ctx, hasher->ctx) != 1)
    g_error ("libcrypto cannot copy a %s state", algorithm_name (hasher->algorithm));
  return copy;
}

char *
berth_hasher_finish (BerthHasher *hasher)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  GString *out = g_string_new (algorithm_name (hasher->algorithm));

  EVP_DigestFinal_ex (hasher->ctx, md, &md_len);
  g_string_append_c (out, ':');
  for (unsigned int i = 0; i < md_len; i++)
    g_string_append_printf (out, "%02x", md[i]);
  return g_string_free (out, FALSE);
}

void
berth_hasher_free (BerthHasher *hasher)
{
  if (hasher == NULL)
    return;
  EVP_MD_CTX_free (hasher->ctx);
  g_free (hasher);
}

char *
berth_digest_bytes (BerthDigestAlgorithm algorithm, const void *data, gsize len)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (algorithm);

  berth_hasher_update (hasher, data, len);
  return berth_hasher_finish (hasher);
}

gboolean
berth_digest_fd (BerthDigestAlgorithm algorithm, int fd, char **out_digest, guint64 *out_size,
                 GError **error)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (algorithm);
  g_autofree guint8 *buf = g_malloc (1 << 20);
  guint64 total = 0;

  for (;;)
    {
      ssize_t n = read (fd, buf, 1 << 20);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot read data to digest");
      if (n == 0)
        break;
      berth_hasher_update (hasher, buf, n);
      total += n;
    }

  *out_digest = berth_hasher_finish (hasher);
  if (out_size)
    *out_size = total;
  return TRUE;
}
