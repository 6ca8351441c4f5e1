/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "berth-volume-gen.h"
#include "berth-volume.h"
#include "container.h"
#include "daemon.h"

G_BEGIN_DECLS

/* berthd's volumes: the store (libberth's berth-volume), one exported
 * org.berth.berth1.Volume object per volume, and what the main thread
 * knows about volumes on their way in or out. Everything here belongs to
 * the main thread unless it says otherwise. */
struct _BerthDaemonVolumes
{
  BerthVolumeStore *store;
  GHashTable *objects;  /* name → BerthVolume skeleton */
  GHashTable *reserved; /* name → count of mounts of containers being created */
  GHashTable *removing; /* names whose removal is under way */
  guint jobs;           /* worker threads using the store; berthd waits for them at exit */
};

/* volume-dbus.c: the objects. */
char *berth_volume_object_path (const char *name);
/* Opens the store (at start, before the containers are loaded). */
gboolean berth_daemon_volumes_open (BerthDaemon *daemon, GError **error);
/* Exports what the store holds and is not exported yet, unexports what it
 * no longer holds (with VolumeAdded/VolumeRemoved when @emit), and brings
 * every UsedBy up to date. Cheap: the store's list lives in memory. */
void berth_daemon_volumes_sync (BerthDaemon *daemon, gboolean emit);
void berth_daemon_volumes_clear (BerthDaemon *daemon);
guint berth_daemon_volumes_count (BerthDaemon *daemon);
/* The containers (exported) that mount the volume @name, in creation order. */
GPtrArray *berth_daemon_volume_users (BerthDaemon *daemon, const char *name);
/* InUse naming the users (or a creation under way); FALSE when unused. */
gboolean berth_daemon_volume_check_unused (BerthDaemon *daemon, const char *name, GError **error);

/* manager-volumes.c: CreateVolume, ListVolumes, GetVolume, RemoveVolume,
 * PruneVolumes. */
void berth_manager_volumes_connect (BerthDaemon *daemon, BerthManager *manager);

/* container-volumes.c: the container's side. */
/* CreateContainer's "volumes" and "volumes-from" options (main thread):
 * adds to rec->mounts and reserves the volumes named. */
gboolean berth_container_volumes_option (BerthContainerRec *rec, const char *key, GVariant *value,
                                         GError **error);
/* In the creation's worker thread, with the image's run config (may be
 * NULL): anonymous volumes for the image's Volumes, the volumes made or
 * found, new ones filled from the image. */
gboolean berth_container_volumes_setup (BerthContainerRec *rec, JsonObject *run_config,
                                        GError **error);
/* Once the options were accepted, before the worker thread starts: the
 * volumes named are reserved, so that they cannot be removed meanwhile. */
void berth_container_volumes_reserve (BerthContainerRec *rec);
/* Back in the main thread once the creation succeeded or failed: releases
 * the reservations, removes the anonymous volumes of a failed creation. */
void berth_container_volumes_created (BerthContainerRec *rec, gboolean success);
/* In the start's worker thread: the mounts as bind mounts in the OCI spec. */
gboolean berth_container_volumes_add_to_spec (BerthContainerRec *rec, JsonNode *spec,
                                              GError **error);
/* When the removal begins (main thread): with rec->remove_volumes, picks
 * the anonymous volumes no other container uses into
 * rec->volumes_to_remove. */
void berth_container_volumes_prepare_removal (BerthContainerRec *rec);
/* In the removal's worker thread: removes rec->volumes_to_remove. */
void berth_container_volumes_remove_files (BerthContainerRec *rec);
/* The container is gone (main thread): UsedBy and removed volumes. */
void berth_container_volumes_forget (BerthContainerRec *rec);

G_END_DECLS
