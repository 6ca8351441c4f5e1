/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-registry user add|del|passwd NAME [--admin]. The password is asked
 * for twice on a terminal (without echo) and read as one line otherwise. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "berth-error.h"
#include "berth-reference.h"
#include "registry.h"

static char *
read_line (FILE *in)
{
  g_autofree char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline (&line, &cap, in);

  if (n < 0)
    return NULL;
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return g_steal_pointer (&line);
}

static char *
prompt (const char *text)
{
  struct termios old, quiet;
  char *line;

  fprintf (stderr, "%s", text);
  fflush (stderr);
  tcgetattr (STDIN_FILENO, &old);
  quiet = old;
  quiet.c_lflag &= ~ECHO;
  tcsetattr (STDIN_FILENO, TCSANOW, &quiet);
  line = read_line (stdin);
  tcsetattr (STDIN_FILENO, TCSANOW, &old);
  fprintf (stderr, "\n");
  return line;
}

static char *
get_password (const char *user, GError **error)
{
  g_autofree char *first = NULL;

  if (isatty (STDIN_FILENO))
    {
      g_autofree char *text = g_strdup_printf ("Password for %s: ", user);
      g_autofree char *second = NULL;

      first = prompt (text);
      second = first ? prompt ("Again: ") : NULL;
      if (first && second && strcmp (first, second) != 0)
        {
          g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                       "the two passwords differ; nothing was changed");
          return NULL;
        }
    }
  else
    first = read_line (stdin);
  if (first == NULL || *first == '\0')
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "no password given (type it, or pipe it as one line on standard input)");
      return NULL;
    }
  return g_steal_pointer (&first);
}

static gboolean
validate_user (const char *name, GError **error)
{
  /* The user's namespace is "NAME/", so NAME must be a name component. */
  if (strchr (name, '/') != NULL || !berth_reference_validate_repository (name, NULL))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
                   "invalid user name \"%s\": use lowercase letters and digits, optionally "
                   "joined by \".\", \"_\" or \"-\" (it names the user's namespace)",
                   name);
      return FALSE;
    }
  return TRUE;
}

static int
grant (Registry *registry, const char *verb, const char *name, const char *prefix)
{
  gboolean on = strcmp (verb, "grant") == 0;

  if (!berth_reference_validate_repository (prefix, NULL))
    {
      g_printerr ("berth-registry: invalid repository \"%s\" to %s\n", prefix, verb);
      return 1;
    }
  if (!registry_db_user_get (registry->db, name, NULL, NULL))
    {
      g_printerr ("berth-registry: no user \"%s\"\n", name);
      return 1;
    }
  if (!registry_db_grant (registry->db, name, prefix, on) && !on)
    {
      g_printerr ("berth-registry: user \"%s\" has no grant for %s\n", name, prefix);
      return 1;
    }
  if (on)
    g_print ("%s may now push to %s and %s/...\n", name, prefix, prefix);
  else
    g_print ("%s may no longer push to %s.\n", name, prefix);
  return 0;
}

/* argv: "add"|"del"|"passwd" NAME, or "grant"|"revoke" NAME REPOSITORY.
 * Returns the exit code. */
int
registry_users_main (Registry *registry, int argc, char **argv, gboolean admin)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *password = NULL;
  g_autofree char *hash = NULL;
  const char *verb = argv[0];
  const char *name = argc > 1 ? argv[1] : NULL;

  if (argc == 3 && (strcmp (verb, "grant") == 0 || strcmp (verb, "revoke") == 0))
    return grant (registry, verb, name, argv[2]);
  if (argc != 2 || !g_strv_contains ((const char *const[]){ "add", "del", "passwd", NULL }, verb))
    {
      g_printerr ("berth-registry: usage: berth-registry [--root DIR] user add|del|passwd NAME "
                  "[--admin], or user grant|revoke NAME REPOSITORY\n");
      return 2;
    }
  if (admin && strcmp (verb, "del") == 0)
    {
      g_printerr ("berth-registry: --admin makes no sense with \"user del\"\n");
      return 2;
    }
  if (!validate_user (name, &error))
    goto fail;

  if (strcmp (verb, "del") == 0)
    {
      if (!registry_db_user_delete (registry->db, name))
        {
          g_printerr ("berth-registry: no user \"%s\"\n", name);
          return 1;
        }
      g_print ("Deleted user %s.\n", name);
      return 0;
    }

  if (strcmp (verb, "passwd") == 0 && !registry_db_user_get (registry->db, name, NULL, NULL))
    {
      g_printerr ("berth-registry: no user \"%s\" (use \"user add\" to create it)\n", name);
      return 1;
    }
  if (strcmp (verb, "add") == 0 && registry_db_user_get (registry->db, name, NULL, NULL))
    {
      g_printerr ("berth-registry: user \"%s\" already exists (use \"user passwd\" to change "
                  "the password)\n",
                  name);
      return 1;
    }
  password = get_password (name, &error);
  if (password == NULL)
    goto fail;
  hash = registry_password_hash (password, &error);
  if (hash == NULL
      || !registry_db_user_put (registry->db, name, hash, admin, strcmp (verb, "add") == 0, &error))
    goto fail;
  g_print ("%s user %s%s.\n", strcmp (verb, "add") == 0 ? "Added" : "Changed the password of", name,
           admin ? " (admin)" : "");
  return 0;

fail:
  g_printerr ("berth-registry: %s\n", error->message);
  return 1;
}
