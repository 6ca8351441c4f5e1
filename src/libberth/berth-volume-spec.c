/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What -v and --volumes-from ask for, in docker's syntax. */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-volume.h"

void
berth_volume_spec_free (BerthVolumeSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->source);
  g_free (spec->destination);
  g_free (spec);
}

char *
berth_volume_normalize_destination (const char *path, GError **error)
{
  g_auto (GStrv) parts = NULL;
  g_autoptr (GString) out = g_string_new (NULL);

  if (path == NULL || *path == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "empty container path: give an absolute path such as /data");
      return NULL;
    }
  if (*path != '/')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "container path \"%s\" is relative: it must be absolute, such as /%s", path,
                   path);
      return NULL;
    }
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i]; i++)
    {
      if (*parts[i] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "container path \"%s\" may not contain \"..\"", path);
          return NULL;
        }
      g_string_append_c (out, '/');
      g_string_append (out, parts[i]);
    }
  if (out->len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "cannot mount a volume over the container's root \"%s\"", path);
      return NULL;
    }
  if (out->len > 4095)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "container path of %zu bytes is too long", out->len);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
parse_mode (const char *spec, const char *mode, gboolean *read_only, GError **error)
{
  if (g_str_equal (mode, "ro"))
    *read_only = TRUE;
  else if (g_str_equal (mode, "rw"))
    *read_only = FALSE;
  else
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "unknown mode \"%s\" in \"%s\": use ro or rw", mode, spec);
      return FALSE;
    }
  return TRUE;
}

/* Splits SOURCE:DESTINATION:MODE, where SOURCE and MODE may be absent;
 * "/path:ro" is an anonymous volume with a mode, as docker reads it. */
static gboolean
split (const char *text, char **source, char **destination, char **mode)
{
  g_auto (GStrv) parts = g_strsplit (text, ":", -1);
  guint n = g_strv_length (parts);

  *source = *destination = *mode = NULL;
  switch (n)
    {
    case 1:
      *destination = g_strdup (parts[0]);
      return TRUE;
    case 2:
      if (g_str_equal (parts[1], "ro") || g_str_equal (parts[1], "rw"))
        {
          *destination = g_strdup (parts[0]);
          *mode = g_strdup (parts[1]);
        }
      else
        {
          *source = g_strdup (parts[0]);
          *destination = g_strdup (parts[1]);
        }
      return TRUE;
    case 3:
      *source = g_strdup (parts[0]);
      *destination = g_strdup (parts[1]);
      *mode = g_strdup (parts[2]);
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
berth_volume_spec_is_bind (const char *text)
{
  g_autofree char *source = NULL, *destination = NULL, *mode = NULL;

  if (text == NULL)
    return FALSE;
  /* Anything that names a source with a "/" is taken for a host path:
   * refused unauthorized before the parser says what else is wrong. */
  if (!split (text, &source, &destination, &mode))
    return strchr (text, '/') != NULL && *text != ':';
  return source != NULL && strchr (source, '/') != NULL;
}

BerthVolumeSpec *
berth_volume_spec_parse (const char *text, GError **error)
{
  g_autoptr (BerthVolumeSpec) spec = g_new0 (BerthVolumeSpec, 1);
  g_autofree char *source = NULL, *destination = NULL, *mode = NULL;

  if (text == NULL || !split (text, &source, &destination, &mode))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid volume \"%s\": use /path, NAME:/path[:ro|rw] or "
                   "/host/dir:/path[:ro|rw]",
                   text ? text : "");
      return NULL;
    }
  if (mode && !parse_mode (text, mode, &spec->read_only, error))
    return NULL;
  spec->destination = berth_volume_normalize_destination (destination, error);
  if (spec->destination == NULL)
    return NULL;
  if (source == NULL)
    spec->kind = BERTH_VOLUME_SPEC_ANONYMOUS;
  else if (*source == '/')
    {
      g_autofree char *canonical = g_canonicalize_filename (source, "/");

      spec->kind = BERTH_VOLUME_SPEC_BIND;
      spec->source = g_steal_pointer (&canonical);
    }
  else if (strchr (source, '/') != NULL || g_str_equal (source, ".")
           || g_str_has_prefix (source, "~"))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid volume name \"%s\": a name may not contain \"/\", and a host "
                   "directory must be given as an absolute path",
                   source);
      return NULL;
    }
  else
    {
      if (!berth_volume_name_validate (source, error))
        return NULL;
      spec->kind = BERTH_VOLUME_SPEC_NAMED;
      spec->source = g_steal_pointer (&source);
    }
  return g_steal_pointer (&spec);
}

gboolean
berth_volume_from_parse (const char *text, char **out_container, gboolean *out_has_mode,
                         gboolean *out_read_only, GError **error)
{
  const char *colon = text ? strrchr (text, ':') : NULL;
  g_autofree char *container = NULL;

  *out_has_mode = FALSE;
  if (colon)
    {
      if (!parse_mode (text, colon + 1, out_read_only, error))
        return FALSE;
      *out_has_mode = TRUE;
      container = g_strndup (text, colon - text);
    }
  else
    container = g_strdup (text ? text : "");
  if (*container == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "--volumes-from needs a container: CONTAINER[:ro|:rw]");
      return FALSE;
    }
  *out_container = g_steal_pointer (&container);
  return TRUE;
}
