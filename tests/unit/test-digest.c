/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "berth-digest.h"
#include "berth-error.h"

#define EMPTY_SHA256 "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void
test_known_vectors (void)
{
  g_autofree char *empty = berth_digest_bytes (BERTH_DIGEST_SHA256, "", 0);
  g_autofree char *abc = berth_digest_bytes (BERTH_DIGEST_SHA256, "abc", 3);
  g_autofree char *abc512 = berth_digest_bytes (BERTH_DIGEST_SHA512, "abc", 3);

  g_assert_cmpstr (empty, ==, EMPTY_SHA256);
  g_assert_cmpstr (abc, ==, ABC_SHA256);
  g_assert_true (g_str_has_prefix (abc512, "sha512:ddaf35a193617aba"));
  g_assert_cmpuint (strlen (abc512), ==, 7 + 128);
}

/* Feeding the data in pieces gives the same digest as all at once. */
static void
test_streaming (void)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  g_autofree char *digest = NULL;

  berth_hasher_update (hasher, "a", 1);
  berth_hasher_update (hasher, "", 0);
  berth_hasher_update (hasher, "bc", 2);
  digest = berth_hasher_finish (hasher);
  g_assert_cmpstr (digest, ==, ABC_SHA256);
}

/* A copy continues from the state it was copied in; the original too. */
static void
test_copy (void)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  g_autoptr (BerthHasher) copy = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  berth_hasher_update (hasher, "ab", 2);
  copy = berth_hasher_copy (hasher);
  berth_hasher_update (hasher, "c", 1);
  berth_hasher_update (copy, "c", 1);
  a = berth_hasher_finish (hasher);
  b = berth_hasher_finish (copy);
  g_assert_cmpstr (a, ==, ABC_SHA256);
  g_assert_cmpstr (b, ==, ABC_SHA256);
}

static void
test_fd (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *digest = NULL;
  guint64 size = 0;
  int fd;

  fd = g_file_open_tmp ("berth-digest-XXXXXX", &path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "abc", 3), ==, 3);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  g_assert_true (berth_digest_fd (BERTH_DIGEST_SHA256, fd, &digest, &size, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (digest, ==, ABC_SHA256);
  g_assert_cmpuint (size, ==, 3);
  close (fd);
  g_unlink (path);

  g_assert_false (berth_digest_fd (BERTH_DIGEST_SHA256, -1, &digest, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_validate (void)
{
  const char *bad[] = {
    "",
    "sha256",
    "sha256:",
    "sha256:abc",
    "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
    ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  };
  BerthDigestAlgorithm algorithm = BERTH_DIGEST_SHA512;
  g_autoptr (GError) error = NULL;

  g_assert_true (berth_digest_validate (EMPTY_SHA256, &algorithm, &error));
  g_assert_no_error (error);
  g_assert_cmpint (algorithm, ==, BERTH_DIGEST_SHA256);
  g_assert_cmpstr (berth_digest_hex (EMPTY_SHA256), ==, EMPTY_SHA256 + 7);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_error (&error);
      g_assert_false (berth_digest_validate (bad[i], NULL, &error));
      g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
    }

  g_clear_error (&error);
  g_assert_false (berth_digest_validate ("md5:d41d8cd98f00b204e9800998ecf8427e", NULL, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "md5"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/digest/known-vectors", test_known_vectors);
  g_test_add_func ("/digest/streaming", test_streaming);
  g_test_add_func ("/digest/copy", test_copy);
  g_test_add_func ("/digest/fd", test_fd);
  g_test_add_func ("/digest/validate", test_validate);
  return g_test_run ();
}
