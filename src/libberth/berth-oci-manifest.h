/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* OCI and Docker schema 2 manifests and indexes: media types, and a parser
 * that checks the structure a registry or a pulling client relies on. */

#define BERTH_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MEDIA_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define BERTH_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BERTH_MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The Accept header value a client sends to get any manifest type berth reads. */
#define BERTH_MANIFEST_ACCEPT                                                                      \
  BERTH_MEDIA_OCI_INDEX ", " BERTH_MEDIA_OCI_MANIFEST ", " BERTH_MEDIA_DOCKER_LIST                 \
                        ", " BERTH_MEDIA_DOCKER_MANIFEST

#define BERTH_ANNOTATION_DESCRIPTION "org.opencontainers.image.description"

typedef enum
{
  BERTH_MANIFEST_KIND_IMAGE, /* config + layers */
  BERTH_MANIFEST_KIND_INDEX, /* manifests[] */
} BerthManifestKind;

typedef struct
{
  char *media_type;
  char *digest;
  gint64 size;
  char *artifact_type; /* or NULL */
  char *platform_os;   /* index entries only, or NULL */
  char *platform_arch;
  char *platform_variant;
  JsonObject *annotations; /* or NULL */
} BerthDescriptor;

typedef struct
{
  BerthManifestKind kind;
  char *media_type;         /* the mediaType field or, without one, the Content-Type given */
  char *artifact_type;      /* or NULL */
  BerthDescriptor *config;  /* image manifests only */
  GPtrArray *layers;        /* BerthDescriptor*: the layers, or the index's manifests */
  BerthDescriptor *subject; /* or NULL */
  JsonObject *annotations;  /* or NULL */
} BerthManifest;

/* TRUE for the four manifest and index media types berth accepts. */
gboolean berth_media_type_is_manifest (const char *media_type);
gboolean berth_media_type_is_index (const char *media_type);

/* Parses @data (not necessarily NUL-terminated). @content_type is what the
 * sender said (may be NULL or "application/json"); when the body carries a
 * mediaType the two must agree. Fails with a message naming the field. */
BerthManifest *berth_manifest_parse (const char *data, gsize len, const char *content_type,
                                     GError **error);
void berth_manifest_free (BerthManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthManifest, berth_manifest_free)

/* The value of annotation @key, or NULL. */
const char *berth_manifest_get_annotation (BerthManifest *manifest, const char *key);
/* The artifact type the referrers API reports: artifactType, else the
 * config's media type (image manifests), else NULL. */
const char *berth_manifest_get_artifact_type (BerthManifest *manifest);

void berth_descriptor_free (BerthDescriptor *descriptor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthDescriptor, berth_descriptor_free)

/* From an image config blob: the label @key of config.Labels, or NULL when
 * the blob has no such label (or is not a JSON object). */
char *berth_image_config_get_label (const char *data, gsize len, const char *key);

G_END_DECLS
