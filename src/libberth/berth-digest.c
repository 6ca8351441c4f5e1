/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-digest.h"
#include "berth-dlopen.h"
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

/* libcrypto is loaded on the first digest, not linked: a program that
 * computes none (berth-registry serving pulls, berthctl) does not map it,
 * about 1.4 MB of relocated pages. Its SHA-256 is the reason to have it:
 * several times GLib's where the CPU has SHA extensions. */
#define LIBCRYPTO_SONAME "libcrypto.so.3"

static struct
{
  EVP_MD_CTX *(*md_ctx_new) (void);
  void (*md_ctx_free) (EVP_MD_CTX *ctx);
  int (*md_ctx_copy_ex) (EVP_MD_CTX *out, const EVP_MD_CTX *in);
  int (*digest_init_ex) (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
  int (*digest_update) (EVP_MD_CTX *ctx, const void *d, size_t cnt);
  int (*digest_final_ex) (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
  const EVP_MD *(*sha256) (void);
  const EVP_MD *(*sha512) (void);
} crypto;

static void
load_libcrypto (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      g_autoptr (GError) error = NULL;
      const BerthDlsym symbols[] = {
        { "EVP_MD_CTX_new", (void **)&crypto.md_ctx_new },
        { "EVP_MD_CTX_free", (void **)&crypto.md_ctx_free },
        { "EVP_MD_CTX_copy_ex", (void **)&crypto.md_ctx_copy_ex },
        { "EVP_DigestInit_ex", (void **)&crypto.digest_init_ex },
        { "EVP_DigestUpdate", (void **)&crypto.digest_update },
        { "EVP_DigestFinal_ex", (void **)&crypto.digest_final_ex },
        { "EVP_sha256", (void **)&crypto.sha256 },
        { "EVP_sha512", (void **)&crypto.sha512 },
      };

      /* Without it nothing can be verified: an installation this broken
       * cannot go on (libcrypto3 is required by the package). */
      if (!berth_dlopen_symbols (LIBCRYPTO_SONAME, "libssl3", symbols, G_N_ELEMENTS (symbols),
                                 &error))
        g_error ("%s", error->message);
      g_once_init_leave (&once, 1);
    }
}

static const char *
algorithm_name (BerthDigestAlgorithm algorithm)
{
  return algorithm == BERTH_DIGEST_SHA512 ? "sha512" : "sha256";
}

BerthHasher *
berth_hasher_new (BerthDigestAlgorithm algorithm)
{
  BerthHasher *hasher = g_new0 (BerthHasher, 1);
  const EVP_MD *md;

  load_libcrypto ();
  md = algorithm == BERTH_DIGEST_SHA512 ? crypto.sha512 () : crypto.sha256 ();

  hasher->algorithm = algorithm;
  hasher->ctx = crypto.md_ctx_new ();
  if (hasher->ctx == NULL || crypto.digest_init_ex (hasher->ctx, md, NULL) != 1)
    g_error ("libcrypto cannot initialise %s", algorithm_name (algorithm));
  return hasher;
}

void
berth_hasher_update (BerthHasher *hasher, const void *data, gsize len)
{
  if (len > 0)
    crypto.digest_update (hasher->ctx, data, len);
}

BerthHasher *
berth_hasher_copy (BerthHasher *hasher)
{
  BerthHasher *copy = g_new0 (BerthHasher, 1);

  copy->algorithm = hasher->algorithm;
  copy->ctx = crypto.md_ctx_new ();
  if (copy->ctx == NULL || crypto.md_ctx_copy_ex (copy->ctx, hasher->ctx) != 1)
    g_error ("libcrypto cannot copy a %s state", algorithm_name (hasher->algorithm));
  return copy;
}

char *
berth_hasher_finish (BerthHasher *hasher)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  GString *out = g_string_new (algorithm_name (hasher->algorithm));

  crypto.digest_final_ex (hasher->ctx, md, &md_len);
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
  crypto.md_ctx_free (hasher->ctx);
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
