/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon.h"

G_BEGIN_DECLS

/* One pull or push. The worker thread writes the progress fields under
 * @lock; the main thread copies them to the D-Bus object at most ten
 * times a second. Everything else is main-thread only. */
typedef struct
{
  char *digest;
  guint64 size;
  guint64 done;
  const char *state; /* static string */
  gboolean fetched;  /* downloaded or uploaded by this transfer */
} TransferBlob;

typedef struct
{
  BerthDaemon *daemon;
  guint id;
  char *path;
  char *key; /* "pull:REF": what a second identical pull shares */
  char *type;
  char *request; /* what the caller asked for */
  guint jobs;
  char *compression; /* push: "gzip" or "zstd" */
  BerthTransfer *skeleton;
  GCancellable *cancellable;

  GMutex lock;
  GCond cond;
  char *remote;
  char *local;
  const char *state;
  GPtrArray *blobs; /* of TransferBlob */
  guint64 bytes_total;
  gboolean helper_ended;
  guint update_id;

  /* Results, written by the worker before it returns. */
  GPtrArray *infos;
} Transfer;

/* transfer-dbus.c */
Transfer *berth_transfer_new (BerthDaemon *daemon, const char *type, const char *request);
/* Worker side: the progress changed (takes no lock; call with it held). */
void berth_transfer_changed (Transfer *transfer);
/* Main thread: the transfer ended; announces it and frees it. */
void berth_transfer_finish (Transfer *transfer, const GError *error);
TransferBlob *berth_transfer_find_blob (Transfer *transfer, const char *digest);

/* manager-transfers.c */
void berth_transfer_run (Transfer *transfer);

G_END_DECLS
