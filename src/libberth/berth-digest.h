/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Content digests in the OCI form "algorithm:hex". SHA-256 comes from
 * libcrypto, which uses the CPU's SHA extensions where they exist. */

typedef struct _BerthHasher BerthHasher;

typedef enum
{
  BERTH_DIGEST_SHA256,
  BERTH_DIGEST_SHA512,
} BerthDigestAlgorithm;

BerthHasher *berth_hasher_new (BerthDigestAlgorithm algorithm);
void berth_hasher_update (BerthHasher *hasher, const void *data, gsize len);
/* A hasher in the same state as @hasher (which stays usable): resuming a
 * download restarts from the bytes already hashed, not from zero. */
BerthHasher *berth_hasher_copy (BerthHasher *hasher);
/* Returns "sha256:<hex>"; the hasher cannot be updated afterwards. */
char *berth_hasher_finish (BerthHasher *hasher);
void berth_hasher_free (BerthHasher *hasher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthHasher, berth_hasher_free)

/* Checks the syntax of @digest ("sha256:" and 64 lowercase hex digits, or
 * "sha512:" and 128) and reports which algorithm it uses. */
gboolean berth_digest_validate (const char *digest, BerthDigestAlgorithm *out_algorithm,
                                GError **error);
/* The hex part of a valid digest (points into @digest). */
const char *berth_digest_hex (const char *digest);

char *berth_digest_bytes (BerthDigestAlgorithm algorithm, const void *data, gsize len);
/* Reads @fd from its current offset to the end. */
gboolean berth_digest_fd (BerthDigestAlgorithm algorithm, int fd, char **out_digest,
                          guint64 *out_size, GError **error);

G_END_DECLS
