/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "berth-reference.h"
#include "berth-digest.h"
#include "berth-error.h"

#include <string.h>

static gboolean
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static gboolean
is_alnum (char c)
{
  return g_ascii_isalnum (c);
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static gboolean
path_component_is_valid (const char *s, gsize len)
{
  gsize i = 0;

  if (len == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[len - 1]))
    return FALSE;
  while (i < len)
    {
      if (is_lower_alnum (s[i]))
        {
          i++;
          continue;
        }
      /* A separator: ".", "_", "__" or one or more "-", then alnum again. */
      if (s[i] == '.')
        i++;
      else if (s[i] == '_')
        i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
      else if (s[i] == '-')
        while (i < len && s[i] == '-')
          i++;
      else
        return FALSE;
      if (i >= len || !is_lower_alnum (s[i]))
        return FALSE;
    }
  return TRUE;
}

/* A host name of labels ([A-Za-z0-9] with inner "-"), separated by dots,
 * optionally ":port"; or a bracketed IPv6 address with optional port. */
static gboolean
domain_is_valid (const char *s)
{
  const char *colon;
  const char *host_end;

  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');

      if (close == NULL || close == s + 1)
        return FALSE;
      for (const char *p = s + 1; p < close; p++)
        if (!g_ascii_isxdigit (*p) && *p != ':')
          return FALSE;
      host_end = close + 1;
      if (*host_end == '\0')
        return TRUE;
      colon = host_end;
    }
  else
    {
      const char *label = s;

      colon = strchr (s, ':');
      host_end = colon ? colon : s + strlen (s);
      if (host_end == s)
        return FALSE;
      for (const char *p = s; p <= host_end; p++)
        {
          if (p == host_end || *p == '.')
            {
              gsize len = p - label;

              if (len == 0 || !is_alnum (label[0]) || !is_alnum (label[len - 1]))
                return FALSE;
              label = p + 1;
              continue;
            }
          if (!is_alnum (*p) && *p != '-')
            return FALSE;
        }
    }

  if (colon && *colon == ':')
    {
      const char *port = colon + 1;
      gsize n = strlen (port);

      if (n == 0 || n > 5 || strspn (port, "0123456789") != n)
        return FALSE;
    }
  else if (colon && *colon != '\0')
    return FALSE;
  return TRUE;
}

gboolean
berth_reference_tag_is_valid (const char *tag)
{
  gsize len = strlen (tag);

  if (len == 0 || len > 128)
    return FALSE;
  if (!is_alnum (tag[0]) && tag[0] != '_')
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!is_alnum (tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-')
      return FALSE;
  return TRUE;
}

gboolean
berth_reference_validate_tag (const char *tag, GError **error)
{
  if (tag != NULL && berth_reference_tag_is_valid (tag))
    return TRUE;
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
               "invalid tag \"%s\": use 1 to 128 letters, digits, \"_\", \".\" or \"-\", "
               "not starting with \".\" or \"-\"",
               tag ? tag : "");
  return FALSE;
}

gboolean
berth_reference_validate_repository (const char *name, GError **error)
{
  gsize len = name ? strlen (name) : 0;
  const char *p = name;

  if (len == 0)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid repository name \"\": a name must not be empty");
      return FALSE;
    }
  if (len > BERTH_REFERENCE_NAME_MAX)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid repository name: %zu characters, at most %d are allowed", len,
                   BERTH_REFERENCE_NAME_MAX);
      return FALSE;
    }
  for (;;)
    {
      const char *slash = strchr (p, '/');
      gsize component_len = slash ? (gsize)(slash - p) : strlen (p);

      if (!path_component_is_valid (p, component_len))
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

static gboolean invalid (GError **error, const char *text, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
invalid (GError **error, const char *text, const char *format, ...)
{
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT, "invalid reference \"%s\": %s",
               text, why);
  return FALSE;
}

BerthReference *
berth_reference_parse (const char *text, GError **error)
{
  g_autoptr (BerthReference) ref = g_new0 (BerthReference, 1);
  g_autofree char *name = NULL;
  const char *at;
  const char *last_slash;
  const char *colon;
  const char *first_slash;
  g_auto (GStrv) components = NULL;

  if (text == NULL || *text == '\0')
    {
      invalid (error, "", "the reference is empty; use NAME[:TAG][@DIGEST]");
      return NULL;
    }
  if (strlen (text) > 4096)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid reference: longer than 4096 characters");
      return NULL;
    }

  at = strchr (text, '@');
  if (at)
    {
      g_autoptr (GError) local_error = NULL;

      if (!berth_digest_validate (at + 1, NULL, &local_error))
        {
          invalid (error, text, "%s", local_error->message);
          return NULL;
        }
      ref->digest = g_strdup (at + 1);
      name = g_strndup (text, at - text);
    }
  else
    name = g_strdup (text);

  /* A tag is after the last ":" that follows the last "/" (a ":" before it
   * belongs to the host's port). */
  last_slash = strrchr (name, '/');
  colon = strrchr (last_slash ? last_slash : name, ':');
  if (colon)
    {
      if (!berth_reference_tag_is_valid (colon + 1))
        {
          invalid (error, text,
                   "tag \"%s\" is not valid; a tag has 1 to 128 letters, digits, \"_\", \".\" "
                   "or \"-\" and does not start with \".\" or \"-\"",
                   colon + 1);
          return NULL;
        }
      ref->tag = g_strdup (colon + 1);
      name[colon - name] = '\0';
    }

  if (*name == '\0')
    {
      invalid (error, text, "the repository name is empty");
      return NULL;
    }
  if (strlen (name) > BERTH_REFERENCE_MAX_NAME)
    {
      invalid (error, text, "the repository name is longer than %d characters",
               BERTH_REFERENCE_MAX_NAME);
      return NULL;
    }

  /* The first component is a host when it looks like one: it has a "." or
   * a ":", or is "localhost", and something follows it. */
  first_slash = strchr (name, '/');
  if (first_slash)
    {
      g_autofree char *first = g_strndup (name, first_slash - name);

      if (strchr (first, '.') || strchr (first, ':') || g_str_equal (first, "localhost")
          || first[0] == '[')
        {
          if (!domain_is_valid (first))
            {
              invalid (error, text, "\"%s\" is not a valid registry host[:port]", first);
              return NULL;
            }
          ref->domain = g_steal_pointer (&first);
          memmove (name, first_slash + 1, strlen (first_slash + 1) + 1);
        }
    }

  if (*name == '\0')
    {
      invalid (error, text, "the repository path after the registry host is empty");
      return NULL;
    }

  components = g_strsplit (name, "/", -1);
  for (char **c = components; *c; c++)
    {
      gsize len = strlen (*c);

      if (len == 0)
        {
          invalid (error, text, "the repository path has an empty component");
          return NULL;
        }
      if (!path_component_is_valid (*c, len))
        {
          gboolean upper = FALSE;

          for (const char *p = *c; *p; p++)
            upper |= g_ascii_isupper (*p);
          if (upper)
            invalid (error, text, "repository names must be lowercase (\"%s\")", *c);
          else
            invalid (error, text,
                     "\"%s\" is not a valid repository path component; use lowercase letters "
                     "and digits, separated by \".\", \"_\", \"__\" or \"-\"",
                     *c);
          return NULL;
        }
    }
  ref->path = g_steal_pointer (&name);
  return g_steal_pointer (&ref);
}

void
berth_reference_normalize (BerthReference *ref)
{
  if (ref->domain == NULL)
    ref->domain = g_strdup (BERTH_REFERENCE_DEFAULT_DOMAIN);
  if (g_str_equal (ref->domain, "index.docker.io"))
    {
      g_free (ref->domain);
      ref->domain = g_strdup (BERTH_REFERENCE_DEFAULT_DOMAIN);
    }
  if (g_str_equal (ref->domain, BERTH_REFERENCE_DEFAULT_DOMAIN) && strchr (ref->path, '/') == NULL)
    {
      char *path = g_strconcat ("library/", ref->path, NULL);

      g_free (ref->path);
      ref->path = path;
    }
  if (ref->tag == NULL && ref->digest == NULL)
    ref->tag = g_strdup (BERTH_REFERENCE_DEFAULT_TAG);
}

BerthReference *
berth_reference_parse_normalized (const char *text, GError **error)
{
  BerthReference *ref = berth_reference_parse (text, error);

  if (ref)
    berth_reference_normalize (ref);
  return ref;
}

BerthReference *
berth_reference_copy (const BerthReference *ref)
{
  BerthReference *copy = g_new0 (BerthReference, 1);

  copy->domain = g_strdup (ref->domain);
  copy->path = g_strdup (ref->path);
  copy->tag = g_strdup (ref->tag);
  copy->digest = g_strdup (ref->digest);
  return copy;
}

void
berth_reference_free (BerthReference *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->domain);
  g_free (ref->path);
  g_free (ref->tag);
  g_free (ref->digest);
  g_free (ref);
}

char *
berth_reference_repository (const BerthReference *ref)
{
  if (ref->domain)
    return g_strconcat (ref->domain, "/", ref->path, NULL);
  return g_strdup (ref->path);
}

static char *
format_reference (const BerthReference *ref, const char *repository)
{
  GString *s = g_string_new (repository);

  if (ref->tag)
    g_string_append_printf (s, ":%s", ref->tag);
  if (ref->digest)
    g_string_append_printf (s, "@%s", ref->digest);
  return g_string_free (s, FALSE);
}

char *
berth_reference_to_string (const BerthReference *ref)
{
  g_autofree char *repository = berth_reference_repository (ref);

  return format_reference (ref, repository);
}

char *
berth_reference_familiar (const BerthReference *ref)
{
  const char *path = ref->path;
  g_autofree char *repository = NULL;

  if (ref->domain == NULL || g_str_equal (ref->domain, BERTH_REFERENCE_DEFAULT_DOMAIN))
    {
      if (g_str_has_prefix (path, "library/") && strchr (path + 8, '/') == NULL)
        path += 8;
      repository = g_strdup (path);
    }
  else
    repository = berth_reference_repository (ref);
  return format_reference (ref, repository);
}

char *
berth_reference_familiarize (const char *name)
{
  g_autoptr (BerthReference) ref = berth_reference_parse (name, NULL);

  return ref ? berth_reference_familiar (ref) : g_strdup (name);
}
