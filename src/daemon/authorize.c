/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <polkit/polkit.h>
#include <string.h>

#include "berth-error.h"
#include "berth-volume.h"
#include "daemon.h"

/* Every method of every berth interface is listed here, once: either as
 * read-only (anyone the bus policy lets through may call it) or with the
 * polkit action that authorizes it. A method missing from this table is
 * refused, so a new method cannot become callable by accident. */
typedef struct
{
  const char *interface;
  const char *method;
  const char *action; /* NULL: read-only, no authorization needed */
} MethodRule;

#define ACTION_PREFIX "org.berth.berth1."

static const MethodRule method_rules[] = {
  { "org.berth.berth1.Manager", "GetInfo", NULL },
  { "org.berth.berth1.Manager", "Reload", ACTION_PREFIX "manage-daemon" },
  { "org.berth.berth1.Manager", "ListImages", NULL },
  { "org.berth.berth1.Manager", "GetImage", NULL },
  { "org.berth.berth1.Manager", "ImportImage", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "LoadImages", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "SaveImages", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "RemoveImage", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "TagImage", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "BuildImage", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Build", "Cancel", ACTION_PREFIX "manage-images" },
  { "org.berth.berth1.Manager", "PullImage", ACTION_PREFIX "pull-push" },
  { "org.berth.berth1.Manager", "PushImage", ACTION_PREFIX "pull-push" },
  { "org.berth.berth1.Manager", "Login", ACTION_PREFIX "pull-push" },
  { "org.berth.berth1.Manager", "Logout", ACTION_PREFIX "pull-push" },
  { "org.berth.berth1.Manager", "SearchImages", NULL },
  { "org.berth.berth1.Transfer", "Cancel", ACTION_PREFIX "pull-push" },
  { "org.berth.berth1.Manager", "ListContainers", NULL },
  { "org.berth.berth1.Manager", "GetContainer", NULL },
  { "org.berth.berth1.Manager", "CreateContainer", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Wait", NULL },
  { "org.berth.berth1.Container", "Start", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Stop", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Kill", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Restart", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Remove", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "OpenLog", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "OpenLogTimes", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Exec", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Commit", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "GetChanges", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Container", "Export", ACTION_PREFIX "manage-containers" },
  { "org.berth.berth1.Manager", "ListVolumes", NULL },
  { "org.berth.berth1.Manager", "GetVolume", NULL },
  { "org.berth.berth1.Manager", "CreateVolume", ACTION_PREFIX "manage-volumes" },
  { "org.berth.berth1.Manager", "RemoveVolume", ACTION_PREFIX "manage-volumes" },
  { "org.berth.berth1.Manager", "PruneVolumes", ACTION_PREFIX "manage-volumes" },
};

/* A second action some calls need on top of their rule's: a container that
 * bind-mounts a host directory reaches beyond berth's own storage, which is
 * an administrator's business (the action that also guards Reload). */
static const char *
extra_action (GDBusMethodInvocation *invocation)
{
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  g_autoptr (GVariant) options = NULL;
  g_autofree const char **volumes = NULL;

  if (!g_str_equal (g_dbus_method_invocation_get_method_name (invocation), "CreateContainer")
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sasa{sv})")))
    return NULL;
  options = g_variant_get_child_value (parameters, 2);
  if (!g_variant_lookup (options, "volumes", "^a&s", &volumes))
    return NULL;
  for (guint i = 0; volumes[i]; i++)
    if (berth_volume_spec_is_bind (volumes[i]))
      return ACTION_PREFIX "manage-daemon";
  return NULL;
}

static const MethodRule *
find_rule (const char *interface, const char *method)
{
  for (gsize i = 0; i < G_N_ELEMENTS (method_rules); i++)
    if (g_str_equal (method_rules[i].interface, interface)
        && g_str_equal (method_rules[i].method, method))
      return &method_rules[i];
  return NULL;
}

/* Asks the bus daemon for a number it knows of the caller:
 * "GetConnectionUnixUser" or "GetConnectionUnixProcessID". */
static gboolean
caller_credential (GDBusMethodInvocation *invocation, const char *bus_method, guint32 *out,
                   GError **error)
{
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (
    connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", bus_method,
    g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(u)", out);
  return TRUE;
}

static gboolean
check_polkit (BerthDaemon *daemon, GDBusMethodInvocation *invocation, const char *action,
              guint32 uid, gboolean interactive, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (PolkitAuthority) authority = NULL;
  g_autoptr (PolkitSubject) subject = NULL;
  g_autoptr (PolkitAuthorizationResult) result = NULL;

  authority = polkit_authority_get_sync (NULL, &local_error);
  if (authority == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_PERMITTED,
                   "%s needs authorization for %s, and polkit is not available (%s); run it "
                   "as root",
                   g_dbus_method_invocation_get_method_name (invocation), action,
                   local_error->message);
      return FALSE;
    }

  /* polkitd resolves a bus name on the system bus. On any other bus (the
   * tests' private one) the same unique name may belong to someone else
   * there, so the caller is named by its process on our bus instead. */
  if (daemon->bus_address == NULL)
    subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (invocation));
  else
    {
      guint32 pid;

      if (!caller_credential (invocation, "GetConnectionUnixProcessID", &pid, error))
        return FALSE;
      subject = polkit_unix_process_new_for_owner (pid, 0, uid);
    }
  result = polkit_authority_check_authorization_sync (
    authority, subject, action, NULL,
    interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE,
    NULL, &local_error);
  if (result == NULL)
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_PERMITTED,
                   "cannot check authorization for %s with polkit (%s); run it as root", action,
                   local_error->message);
      return FALSE;
    }
  if (!polkit_authorization_result_get_is_authorized (result))
    {
      g_set_error (error, BERTH_ERROR, BERTH_ERROR_NOT_PERMITTED,
                   "not authorized: %s needs the polkit action %s",
                   g_dbus_method_invocation_get_method_name (invocation), action);
      return FALSE;
    }
  return TRUE;
}

/* Handlers decide some things themselves, with what was learnt here: a
 * caller who may bind-mount host directories may also take over another
 * container's (--volumes-from). */
#define ADMINISTRATOR_KEY "berth-administrator"

static void
mark_administrator (GDBusMethodInvocation *invocation)
{
  g_object_set_data (G_OBJECT (invocation), ADMINISTRATOR_KEY, GINT_TO_POINTER (1));
}

gboolean
berth_daemon_invocation_is_administrator (GDBusMethodInvocation *invocation)
{
  return g_object_get_data (G_OBJECT (invocation), ADMINISTRATOR_KEY) != NULL;
}

static gboolean
takes_volumes_from (GDBusMethodInvocation *invocation)
{
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  g_autoptr (GVariant) options = NULL;
  g_autoptr (GVariant) from = NULL;

  if (!g_str_equal (g_dbus_method_invocation_get_method_name (invocation), "CreateContainer")
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sasa{sv})")))
    return FALSE;
  options = g_variant_get_child_value (parameters, 2);
  from = g_variant_lookup_value (options, "volumes-from", NULL);
  return from != NULL;
}

/* Runs in a GDBus worker thread (GDBus emits g-authorize-method there), so
 * the blocking calls to the bus and to polkit never stall the main loop. */
static gboolean
on_authorize_method (GDBusInterfaceSkeleton *skeleton, GDBusMethodInvocation *invocation,
                     gpointer user_data)
{
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  const MethodRule *rule = find_rule (interface, method);
  g_autoptr (GError) error = NULL;
  guint32 uid;

  if (rule == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_NOT_PERMITTED,
                                             "%s.%s has no authorization rule", interface, method);
      return FALSE;
    }
  if (rule->action == NULL)
    return TRUE;

  /* A peer-to-peer connection has no bus to ask; only berthd's own tests make those. */
  if (g_dbus_method_invocation_get_sender (invocation) == NULL)
    {
      mark_administrator (invocation);
      return TRUE;
    }

  if (!caller_credential (invocation, "GetConnectionUnixUser", &uid, &error))
    {
      g_dbus_method_invocation_return_error (invocation, BERTH_ERROR, BERTH_ERROR_NOT_PERMITTED,
                                             "cannot identify the caller: %s", error->message);
      return FALSE;
    }
  if (uid == 0)
    {
      mark_administrator (invocation);
      return TRUE;
    }

  if (!check_polkit (user_data, invocation, rule->action, uid, TRUE, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return FALSE;
    }
  if (extra_action (invocation))
    {
      if (!check_polkit (user_data, invocation, extra_action (invocation), uid, TRUE, &error))
        {
          g_prefix_error (&error, "bind mounts of host directories are for administrators: ");
          g_dbus_method_invocation_return_gerror (invocation, error);
          return FALSE;
        }
      mark_administrator (invocation);
    }
  /* Asked without a prompt: most --volumes-from take no host directory. */
  else if (takes_volumes_from (invocation)
           && check_polkit (user_data, invocation, ACTION_PREFIX "manage-daemon", uid, FALSE, NULL))
    mark_administrator (invocation);
  return TRUE;
}

void
berth_daemon_authorize_skeleton (BerthDaemon *daemon, GDBusInterfaceSkeleton *skeleton)
{
  g_signal_connect (skeleton, "g-authorize-method", G_CALLBACK (on_authorize_method), daemon);
}
