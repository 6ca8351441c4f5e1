/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The org.berth.berth1.Transfer objects, one per pull or push. */
#include "config.h"

#include "berth-error.h"
#include <string.h>

#include "transfer.h"

static void
blob_free (TransferBlob *blob)
{
  g_free (blob->digest);
  g_free (blob);
}

static void
transfer_free (Transfer *t)
{
  if (t->update_id)
    g_source_remove (t->update_id);
  g_clear_object (&t->skeleton);
  g_clear_object (&t->cancellable);
  g_clear_pointer (&t->blobs, g_ptr_array_unref);
  g_clear_pointer (&t->infos, g_ptr_array_unref);
  g_mutex_clear (&t->lock);
  g_cond_clear (&t->cond);
  g_free (t->path);
  g_free (t->key);
  g_free (t->type);
  g_free (t->request);
  g_free (t->compression);
  g_free (t->remote);
  g_free (t->local);
  g_free (t);
}

/* Main thread: copies what the worker wrote to the object. */
static void
apply (Transfer *t)
{
  g_auto (GVariantBuilder) layers = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sstt)"));
  guint64 done = 0;

  g_mutex_lock (&t->lock);
  for (guint i = 0; i < t->blobs->len; i++)
    {
      TransferBlob *b = t->blobs->pdata[i];
      g_variant_builder_add (&layers, "(sstt)", b->digest, b->state, b->done, b->size);
      if (b->fetched)
        done += b->done;
    }
  berth_transfer_set_remote (t->skeleton, t->remote ? t->remote : "");
  berth_transfer_set_local (t->skeleton, t->local ? t->local : "");
  berth_transfer_set_state (t->skeleton, t->state);
  berth_transfer_set_bytes_total (t->skeleton, t->bytes_total);
  berth_transfer_set_bytes_done (t->skeleton, MIN (done, t->bytes_total));
  berth_transfer_set_progress (t->skeleton,
                               t->bytes_total ? MIN (1.0, (double)done / t->bytes_total) : 0.0);
  g_mutex_unlock (&t->lock);
  berth_transfer_set_layers (t->skeleton, g_variant_builder_end (&layers));
}

static gboolean
on_update (gpointer user_data)
{
  Transfer *t = user_data;

  g_mutex_lock (&t->lock);
  t->update_id = 0;
  g_mutex_unlock (&t->lock);
  apply (t);
  return G_SOURCE_REMOVE;
}

void
berth_transfer_changed (Transfer *t)
{
  if (t->update_id == 0)
    t->update_id = g_timeout_add (100, on_update, t);
}

TransferBlob *
berth_transfer_find_blob (Transfer *t, const char *digest)
{
  for (guint i = 0; i < t->blobs->len; i++)
    {
      TransferBlob *b = t->blobs->pdata[i];
      if (g_str_equal (b->digest, digest))
        return b;
    }
  return NULL;
}

static gboolean
handle_cancel (BerthTransfer *skeleton, GDBusMethodInvocation *invocation, Transfer *t)
{
  g_message ("transfer %u (%s %s) canceled", t->id, t->type, t->request);
  g_cancellable_cancel (t->cancellable);
  berth_transfer_complete_cancel (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

Transfer *
berth_transfer_new (BerthDaemon *daemon, const char *type, const char *request)
{
  Transfer *t = g_new0 (Transfer, 1);
  g_autoptr (GError) error = NULL;

  t->daemon = daemon;
  t->id = ++daemon->next_transfer_id;
  t->path = g_strdup_printf ("%s/transfer/%u", BERTH_MANAGER_PATH, t->id);
  t->type = g_strdup (type);
  t->request = g_strdup (request);
  t->key = g_strdup_printf ("%s:%s", type, request);
  t->cancellable = g_cancellable_new ();
  t->blobs = g_ptr_array_new_with_free_func ((GDestroyNotify)blob_free);
  t->state = "resolving";
  t->jobs = 3;
  g_mutex_init (&t->lock);
  g_cond_init (&t->cond);
  t->remote = g_strdup (request);
  t->local = g_strdup (request);

  t->skeleton = berth_transfer_skeleton_new ();
  berth_transfer_set_id (t->skeleton, t->id);
  berth_transfer_set_type_ (t->skeleton, type);
  berth_transfer_set_error_name (t->skeleton, "");
  berth_transfer_set_error_message (t->skeleton, "");
  g_signal_connect (t->skeleton, "handle-cancel", G_CALLBACK (handle_cancel), t);
  berth_daemon_authorize_skeleton (daemon, G_DBUS_INTERFACE_SKELETON (t->skeleton));
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (t->skeleton), daemon->bus,
                                         t->path, &error))
    g_warning ("cannot export %s: %s", t->path, error->message);
  /* Set once exported, so that they also go out as PropertiesChanged: a
   * client that subscribed before PullImage learns Remote and Local even
   * when the transfer ends before its GetAll arrives (a pull of an image
   * already stored takes a few milliseconds). */
  apply (t);
  g_hash_table_insert (daemon->transfers, g_strdup (t->path), t);
  berth_manager_emit_transfer_new (daemon->manager, t->path);
  return t;
}

void
berth_transfer_finish (Transfer *t, const GError *error)
{
  BerthDaemon *daemon = t->daemon;
  const char *result;

  if (t->update_id)
    {
      g_source_remove (t->update_id);
      t->update_id = 0;
    }
  if (error == NULL)
    result = "done";
  else if (g_error_matches (error, BERTH_ERROR, BERTH_ERROR_CANCELLED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    result = "canceled";
  else
    result = "failed";
  g_mutex_lock (&t->lock);
  t->state = result;
  g_mutex_unlock (&t->lock);
  apply (t);
  if (error)
    {
      g_autofree char *name = g_dbus_error_encode_gerror (error);
      berth_transfer_set_error_name (t->skeleton, name);
      berth_transfer_set_error_message (t->skeleton, error->message);
    }
  /* The last properties reach clients before the signal that ends it. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (t->skeleton));
  g_log_structured (G_LOG_DOMAIN, error ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, "TRANSFER_ID",
                    t->path + strlen (BERTH_MANAGER_PATH "/transfer/"), "IMAGE_NAME", t->local,
                    "MESSAGE", "%s %s: %s%s%s", t->type, t->request, result, error ? ": " : "",
                    error ? error->message : "");
  berth_manager_emit_transfer_removed (daemon->manager, t->path, result);
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (t->skeleton));
  g_hash_table_remove (daemon->transfers, t->path);
  transfer_free (t);
}
