/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "berth-compress.h"
#include "berth-digest.h"
#include "berth-error.h"
#include "berth-fd.h"

static int
tmp_with (const void *data, gsize len)
{
  int fd = open (g_get_tmp_dir (), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize)len);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

static GBytes *
read_all (int fd)
{
  off_t end = lseek (fd, 0, SEEK_END);
  guint8 *data = g_malloc (end);

  g_assert_cmpint (pread (fd, data, end, 0), ==, end);
  return g_bytes_new_take (data, end);
}

static GByteArray *
sample (void)
{
  GByteArray *a = g_byte_array_new ();
  GRand *rand = g_rand_new_with_seed (7);

  /* Text that compresses and noise that does not, over several chunks. */
  for (int i = 0; i < 200000; i++)
    g_byte_array_append (a, (const guint8 *)"berth layer ", 12);
  for (int i = 0; i < 300000; i++)
    {
      guint8 b = g_rand_int (rand);
      g_byte_array_append (a, &b, 1);
    }
  g_rand_free (rand);
  return a;
}

static void
check_roundtrip (BerthCompression compression)
{
  g_autoptr (GByteArray) plain = sample ();
  g_autoptr (GError) error = NULL;
  berth_autofd int in = tmp_with (plain->data, plain->len);
  berth_autofd int out = tmp_with ("", 0);
  g_autofree char *digest = NULL;
  g_autofree char *want = NULL;
  g_autoptr (GBytes) packed = NULL;
  guint64 size = 0;
  gsize len;
  const guint8 *p;

  g_assert_true (berth_compress_fd (in, out, compression, &digest, &size, &error));
  g_assert_no_error (error);
  packed = read_all (out);
  p = g_bytes_get_data (packed, &len);
  g_assert_cmpuint (size, ==, len);
  g_assert_cmpuint (len, <, plain->len);
  want = berth_digest_bytes (BERTH_DIGEST_SHA256, p, len);
  g_assert_cmpstr (digest, ==, want);

  if (compression == BERTH_COMPRESSION_GZIP)
    {
      g_autoptr (GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      g_autoptr (GInputStream) raw = g_memory_input_stream_new_from_bytes (packed);
      g_autoptr (GInputStream) s = g_converter_input_stream_new (raw, G_CONVERTER (z));
      g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
      g_autoptr (GBytes) back = NULL;

      g_assert_cmpint (
        g_output_stream_splice (mem, s, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error), ==,
        plain->len);
      g_assert_no_error (error);
      back = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
      g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), plain->data,
                       plain->len);
    }
  else
    {
      g_autofree guint8 *back = g_malloc (plain->len);
      size_t n = ZSTD_decompress (back, plain->len, p, len);

      g_assert_false (ZSTD_isError (n));
      g_assert_cmpmem (back, n, plain->data, plain->len);
    }
}

static void
test_gzip (void)
{
  check_roundtrip (BERTH_COMPRESSION_GZIP);
}

static void
test_zstd (void)
{
  check_roundtrip (BERTH_COMPRESSION_ZSTD);
}

static void
test_none_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *digest = NULL;
  guint64 size;

  g_assert_false (berth_compress_fd (0, 1, BERTH_COMPRESSION_NONE, &digest, &size, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/compress/gzip", test_gzip);
  g_test_add_func ("/compress/zstd", test_zstd);
  g_test_add_func ("/compress/none-refused", test_none_refused);
  return g_test_run ();
}
