/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Media types berth reads and writes. */
#define BERTH_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MEDIA_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define BERTH_MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define BERTH_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define BERTH_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BERTH_MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define BERTH_MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The Accept header value a client sends to get any manifest type berth reads. */
#define BERTH_MANIFEST_ACCEPT                                                                      \
  BERTH_MEDIA_OCI_INDEX ", " BERTH_MEDIA_OCI_MANIFEST ", " BERTH_MEDIA_DOCKER_LIST                 \
                        ", " BERTH_MEDIA_DOCKER_MANIFEST

#define BERTH_ANNOTATION_DESCRIPTION "org.opencontainers.image.description"

/* Manifests, configs and indexes larger than this are refused (as
 * containerd and the distribution registry do). */
#define BERTH_MANIFEST_MAX_SIZE (4 * 1024 * 1024)

typedef enum
{
  BERTH_COMPRESSION_NONE,
  BERTH_COMPRESSION_GZIP,
  BERTH_COMPRESSION_ZSTD,
} BerthCompression;

typedef struct
{
  char *media_type;
  char *digest;
  gint64 size;
  char *artifact_type; /* or NULL */
  /* For index entries: the platform, or NULLs. */
  char *os;
  char *architecture;
  char *variant;
  GHashTable *annotations; /* string → string; never NULL */
} BerthDescriptor;

typedef enum
{
  BERTH_MANIFEST_IMAGE, /* OCI image manifest or Docker schema 2 manifest */
  BERTH_MANIFEST_INDEX, /* OCI index or Docker manifest list */
} BerthManifestKind;

typedef struct
{
  BerthManifestKind kind;
  char *media_type;         /* from the document, or implied by its shape */
  BerthDescriptor *config;  /* images only */
  GPtrArray *layers;        /* of BerthDescriptor; images only */
  GPtrArray *manifests;     /* of BerthDescriptor; indexes only */
  GHashTable *annotations;  /* never NULL */
  char *artifact_type;      /* or NULL */
  BerthDescriptor *subject; /* the manifest this one refers to, or NULL */
} BerthManifest;

/* TRUE for the four manifest and index media types berth accepts. */
gboolean berth_media_type_is_manifest (const char *media_type);
gboolean berth_media_type_is_index (const char *media_type);

BerthDescriptor *berth_descriptor_new (const char *media_type, const char *digest, gint64 size);
BerthDescriptor *berth_descriptor_copy (const BerthDescriptor *desc);
void berth_descriptor_free (BerthDescriptor *desc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthDescriptor, berth_descriptor_free)

/* Parses an image manifest or an index (OCI or Docker schema 2). Refuses
 * schema 1, unknown media types, invalid digests, negative sizes, layers
 * with media types that are not layers, and documents over
 * BERTH_MANIFEST_MAX_SIZE. */
BerthManifest *berth_manifest_parse (const char *data, gsize len, GError **error);
/* What a registry accepts: any image manifest or index by structure, also
 * artifacts whose layers are not file system layers. @content_type is what
 * the sender said (NULL or "application/json" say nothing); when the
 * document carries a mediaType the two must agree. Descriptors need a
 * mediaType. */
BerthManifest *berth_manifest_parse_any (const char *data, gsize len, const char *content_type,
                                         GError **error);
/* The value of annotation @key, or NULL. */
const char *berth_manifest_get_annotation (const BerthManifest *manifest, const char *key);
/* The artifact type the referrers API reports: artifactType, else the
 * config's media type (image manifests), else NULL. */
const char *berth_manifest_get_artifact_type (const BerthManifest *manifest);
/* The annotations as a JSON object text (keys sorted), or NULL when none. */
char *berth_manifest_annotations_to_json (const BerthManifest *manifest);
/* A new OCI image manifest. */
BerthManifest *berth_manifest_new_image (const BerthDescriptor *config);
void berth_manifest_add_layer (BerthManifest *manifest, const BerthDescriptor *layer);
/* Canonical JSON of @manifest (image or index). */
char *berth_manifest_to_json (const BerthManifest *manifest, gsize *out_len);
void berth_manifest_free (BerthManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BerthManifest, berth_manifest_free)

/* The index entry for @os/@architecture (@variant may be NULL: any), or NULL. */
const BerthDescriptor *berth_manifest_find_platform (const BerthManifest *index, const char *os,
                                                     const char *architecture, const char *variant);

/* Whether @media_type is a layer berth can unpack, and its compression. */
gboolean berth_media_type_layer_compression (const char *media_type,
                                             BerthCompression *out_compression);
/* The OCI layer media type for @compression. */
const char *berth_media_type_for_compression (BerthCompression compression);

G_END_DECLS
