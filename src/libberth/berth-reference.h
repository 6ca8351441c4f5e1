/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Image references in the usual grammar: [host[:port]/]path[:tag][@digest].
 *
 * A parsed reference keeps what the user wrote; berth_reference_normalize()
 * fills in what a short name implies, as Docker does: "busybox" is
 * "docker.io/library/busybox:latest". The store keeps names in the
 * normalized form and shows them in the familiar (short) one. */
typedef struct
{
  char *domain; /* "docker.io", "127.0.0.1:5000"; NULL when none was written */
  char *path;   /* "library/busybox" */
  char *tag;    /* "latest", or NULL */
  char *digest; /* "sha256:<hex>", or NULL */
} BerthReference;

#define BERTH_REFERENCE_DEFAULT_DOMAIN "docker.io"
#define BERTH_REFERENCE_DEFAULT_TAG "latest"
#define BERTH_REFERENCE_MAX_NAME 255

/* Parses @text; the error (BERTH_ERROR_INVALID_ARGUMENT) names the part
 * that is wrong and says what is allowed. */
BerthReference *berth_reference_parse (const char *text, GError **error);
/* Parses and normalizes in one step. */
BerthReference *berth_reference_parse_normalized (const char *text, GError **error);
/* Default domain, "library/" for single-component Docker Hub paths, and
 * the "latest" tag when neither a tag nor a digest was given. */
void berth_reference_normalize (BerthReference *ref);
BerthReference *berth_reference_copy (const BerthReference *ref);
void berth_reference_free (BerthReference *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthReference, berth_reference_free)

/* "domain/path" (or just "path" when there is no domain). */
char *berth_reference_repository (const BerthReference *ref);
/* The whole reference as written (or normalized): repository[:tag][@digest]. */
char *berth_reference_to_string (const BerthReference *ref);
/* The short form people type: "busybox:latest" for
 * "docker.io/library/busybox:latest". */
char *berth_reference_familiar (const BerthReference *ref);
/* Familiar form of a normalized name string; returns a copy of @name when
 * it does not parse. */
char *berth_reference_familiarize (const char *name);

/* Checks a tag alone ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
gboolean berth_reference_tag_is_valid (const char *tag);

/* A repository name as the OCI distribution spec defines it (what follows
 * "/v2/" in a registry's URLs): "/"-separated components of
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, at most BERTH_REFERENCE_NAME_MAX
 * characters. Fails with a message saying what a name may contain. */
#define BERTH_REFERENCE_NAME_MAX 255
gboolean berth_reference_validate_repository (const char *name, GError **error);
/* berth_reference_tag_is_valid with a message a user can act on. */
gboolean berth_reference_validate_tag (const char *tag, GError **error);

G_END_DECLS
