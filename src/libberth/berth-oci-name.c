/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-oci-name.h"
#include "berth-error.h"

#include <string.h>

static gboolean
is_alnum_lower (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: alphanumeric runs joined by ".", "_", "__" or "-+". */
static gboolean
component_valid (const char *s, gsize len)
{
  gsize i = 0;

  if (len == 0 || !is_alnum_lower (s[0]) || !is_alnum_lower (s[len - 1]))
    return FALSE;
  while (i < len)
    {
      if (is_alnum_lower (s[i]))
        {
          i++;
          continue;
        }
      /* A separator run, which must be followed by an alphanumeric. */
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < len && s[i] == '-')
          i++;
      else
        return FALSE;
      if (i >= len || !is_alnum_lower (s[i]))
        return FALSE;
    }
  return TRUE;
}

gboolean
berth_oci_name_validate (const char *name, GError **error)
{
  const char *p = name;
  gsize len = name ? strlen (name) : 0;

  if (len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid repository name \"\": a name must not be empty");
      return FALSE;
    }
  if (len > BERTH_OCI_NAME_MAX)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid repository name: %zu characters, at most %d are allowed", len,
                   BERTH_OCI_NAME_MAX);
      return FALSE;
    }
  for (;;)
    {
      const char *slash = strchr (p, '/');
      gsize clen = slash ? (gsize)(slash - p) : strlen (p);

      if (!component_valid (p, clen))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "invalid repository name \"%s\": each \"/\"-separated part must be "
                       "lowercase letters and digits, joined by \".\", \"_\", \"__\" or \"-\"",
                       name);
          return FALSE;
        }
      if (slash == NULL)
        return TRUE;
      p = slash + 1;
    }
}

gboolean
berth_oci_tag_validate (const char *tag, GError **error)
{
  gsize len = tag ? strlen (tag) : 0;
  gboolean ok = len >= 1 && len <= 128;

  for (gsize i = 0; ok && i < len; i++)
    {
      char c = tag[i];

      ok = g_ascii_isalnum (c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
    }
  if (!ok)
    g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                 "invalid tag \"%s\": use 1 to 128 letters, digits, \"_\", \".\" or \"-\", "
                 "not starting with \".\" or \"-\"",
                 tag ? tag : "");
  return ok;
}

char *
berth_oci_referrers_tag (const char *digest)
{
  const char *colon = digest ? strchr (digest, ':') : NULL;
  g_autofree char *alg = NULL;
  g_autofree char *enc = NULL;
  char *tag;

  if (colon == NULL)
    return NULL;
  alg = g_strndup (digest, MIN ((gsize)(colon - digest), 32));
  enc = g_strndup (colon + 1, 64);
  tag = g_strconcat (alg, "-", enc, NULL);
  for (char *p = tag; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
      *p = '-';
  return tag;
}
