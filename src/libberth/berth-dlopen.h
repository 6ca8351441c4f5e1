/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Libraries berth loads when first needed rather than links (libcurl,
 * libcrypto): see berth-curl.h and berth-digest.c for why. */
typedef struct
{
  const char *name;
  void **slot; /* where the symbol's address goes */
} BerthDlsym;

/* dlopen()s @soname (kept loaded) and resolves each of @symbols; FALSE with
 * a message naming the library and @package to install when it or a symbol
 * is missing. */
gboolean berth_dlopen_symbols (const char *soname, const char *package, const BerthDlsym *symbols,
                               gsize n_symbols, GError **error);

G_END_DECLS
