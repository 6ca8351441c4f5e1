/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Parses DATA (LEN bytes, or -1 for a nul-terminated string) as a JSON
 * object: the object, or NULL with a BERTH_ERROR_FAILED error ("not JSON:
 * …" or "not a JSON object") when it is not valid JSON, empty or not an
 * object. Callers prefix the error with what they read. */
JsonObject *berth_json_parse_object (const char *data, gssize len, GError **error);

/* Adds MEMBER to the object being built in B: a JSON object holding MAP's
 * string keys and string values, keys sorted so records compare and diff
 * well. Labels of containers and volumes are kept so. */
void berth_json_add_string_map (JsonBuilder *b, const char *member, GHashTable *map);

/* Inserts into MAP (string keys and values, owned by MAP) the string members
 * of O's object MEMBER. A missing MEMBER, one that is not an object and
 * members that are not strings are passed over. */
void berth_json_get_string_map (JsonObject *o, const char *member, GHashTable *map);

G_END_DECLS
