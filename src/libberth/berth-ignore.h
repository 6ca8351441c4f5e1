/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* .containerignore / .dockerignore: which files of a build context are
 * left out, with Docker's rules. One pattern a line; '#' lines and blank
 * lines are skipped; a leading '!' re-includes what earlier patterns
 * excluded; patterns are relative to the context root (a leading '/' and
 * a trailing '/' change nothing; "." and ".." are cleaned); '*' and '?'
 * match within one path component, '[...]' a class, '\' escapes, and
 * '**' any number of components. A pattern matching a directory matches
 * everything below it. The last matching pattern decides. */

typedef struct _BerthIgnore BerthIgnore;

BerthIgnore *berth_ignore_new (const char *text, GError **error);
void berth_ignore_free (BerthIgnore *ignore);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthIgnore, berth_ignore_free)

/* Whether @path ('/'-separated, relative to the context root) is left out. */
gboolean berth_ignore_excludes (BerthIgnore *ignore, const char *path);
/* Whether some '!' pattern may re-include something below a directory
 * that is itself excluded (so that a walk must still look inside). */
gboolean berth_ignore_has_exceptions (BerthIgnore *ignore);

/* Writes the directory @dirfd as an uncompressed tar to @out_fd, leaving
 * out what @ignore (may be NULL) excludes, except the paths in
 * @always_include (the Containerfile and the ignore file, which the build
 * needs). Regular files, directories and symbolic links, with their
 * modes, owners and times; other file types are skipped. */
gboolean berth_ignore_write_context (int dirfd, BerthIgnore *ignore,
                                     const char *const *always_include, int out_fd, GError **error);

G_END_DECLS
