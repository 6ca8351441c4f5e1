/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Layer compression for pushes: gzip (what every registry client reads)
 * and zstd (smaller and faster, for clients that know it). */
#include "config.h"

#include "berth-compress.h"

#include <errno.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "berth-digest.h"
#include "berth-error.h"

#define CHUNK (256 * 1024)

typedef struct
{
  int fd;
  BerthHasher *hasher;
  guint64 size;
} Sink;

static gboolean
sink_write (Sink *sink, const void *data, gsize len, GError **error)
{
  const char *p = data;

  berth_hasher_update (sink->hasher, data, len);
  sink->size += len;
  while (len > 0)
    {
      ssize_t n = write (sink->fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return berth_error_set_errno (error, errno, "cannot write the compressed layer");
      p += n;
      len -= n;
    }
  return TRUE;
}

static gssize
read_chunk (int fd, void *buffer, gsize len, GError **error)
{
  ssize_t n;

  do
    n = read (fd, buffer, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    berth_error_set_errno (error, errno, "cannot read the layer");
  return n;
}

static gboolean
compress_gzip (int in_fd, Sink *sink, GError **error)
{
  g_autofree guint8 *in = g_malloc (CHUNK);
  g_autofree guint8 *out = g_malloc (CHUNK);
  z_stream z = { 0 };
  gboolean ok = TRUE;
  int flush = Z_NO_FLUSH;

  /* windowBits 15 + 16: a gzip header and trailer. */
  if (deflateInit2 (&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "cannot start gzip compression");
      return FALSE;
    }
  while (ok && flush != Z_FINISH)
    {
      gssize n = read_chunk (in_fd, in, CHUNK, error);

      if (n < 0)
        {
          ok = FALSE;
          break;
        }
      flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
      z.next_in = in;
      z.avail_in = n;
      do
        {
          z.next_out = out;
          z.avail_out = CHUNK;
          deflate (&z, flush);
          ok = sink_write (sink, out, CHUNK - z.avail_out, error);
        }
      while (ok && z.avail_out == 0);
    }
  deflateEnd (&z);
  return ok;
}

static gboolean
compress_zstd (int in_fd, Sink *sink, GError **error)
{
  g_autofree guint8 *in = g_malloc (CHUNK);
  gsize out_len = ZSTD_CStreamOutSize ();
  g_autofree guint8 *out = g_malloc (out_len);
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  gboolean ok = TRUE, last = FALSE;

  ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, 3);
  while (ok && !last)
    {
      gssize n = read_chunk (in_fd, in, CHUNK, error);
      ZSTD_inBuffer input = { in, n > 0 ? n : 0, 0 };
      gboolean finished = FALSE;

      if (n < 0)
        {
          ok = FALSE;
          break;
        }
      last = n == 0;
      while (ok && !finished)
        {
          ZSTD_outBuffer output = { out, out_len, 0 };
          size_t remaining
            = ZSTD_compressStream2 (cctx, &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);

          if (ZSTD_isError (remaining))
            {
              g_set_error (error, BERTH_ERROR, BERTH_ERROR_FAILED, "zstd compression failed: %s",
                           ZSTD_getErrorName (remaining));
              ok = FALSE;
              break;
            }
          ok = sink_write (sink, out, output.pos, error);
          finished = last ? remaining == 0 : input.pos == input.size;
        }
    }
  ZSTD_freeCCtx (cctx);
  return ok;
}

gboolean
berth_compress_fd (int in_fd, int out_fd, BerthCompression compression, char **out_digest,
                   guint64 *out_size, GError **error)
{
  g_autoptr (BerthHasher) hasher = berth_hasher_new (BERTH_DIGEST_SHA256);
  Sink sink = { out_fd, hasher, 0 };
  gboolean ok;

  switch (compression)
    {
    case BERTH_COMPRESSION_GZIP:
      ok = compress_gzip (in_fd, &sink, error);
      break;
    case BERTH_COMPRESSION_ZSTD:
      ok = compress_zstd (in_fd, &sink, error);
      break;
    case BERTH_COMPRESSION_NONE:
    default:
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "no compression to apply");
      return FALSE;
    }
  if (!ok)
    return FALSE;
  *out_digest = berth_hasher_finish (hasher);
  *out_size = sink.size;
  return TRUE;
}
