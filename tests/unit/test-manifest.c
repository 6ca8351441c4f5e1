/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const char oci[]
  = "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MEDIA_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" BERTH_MEDIA_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":10},"
    "\"layers\":[{\"mediaType\":\"" BERTH_MEDIA_OCI_LAYER_ZSTD "\",\"digest\":\"" D2
    "\",\"size\":20,\"annotations\":{\"k\":\"v\"}}],"
    "\"annotations\":{\"org.opencontainers.image.title\":\"t\"}}";

static const char docker[]
  = "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MEDIA_DOCKER_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" BERTH_MEDIA_DOCKER_CONFIG "\",\"digest\":\"" D1
    "\",\"size\":10},"
    "\"layers\":[{\"mediaType\":\"" BERTH_MEDIA_DOCKER_LAYER_GZIP "\",\"digest\":\"" D2
    "\",\"size\":20}]}";

static const char index_json[]
  = "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MEDIA_DOCKER_LIST "\",\"manifests\":["
    "{\"mediaType\":\"" BERTH_MEDIA_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" BERTH_MEDIA_DOCKER_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":2,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";

static void
test_parse_oci (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m = berth_manifest_parse (oci, strlen (oci), &error);
  BerthDescriptor *layer;
  BerthCompression c;

  g_assert_no_error (error);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_IMAGE);
  g_assert_cmpstr (m->media_type, ==, BERTH_MEDIA_OCI_MANIFEST);
  g_assert_cmpstr (m->config->digest, ==, D1);
  g_assert_cmpint (m->config->size, ==, 10);
  g_assert_cmpuint (m->layers->len, ==, 1);
  layer = g_ptr_array_index (m->layers, 0);
  g_assert_cmpstr (g_hash_table_lookup (layer->annotations, "k"), ==, "v");
  g_assert_true (berth_media_type_layer_compression (layer->media_type, &c));
  g_assert_cmpint (c, ==, BERTH_COMPRESSION_ZSTD);
  g_assert_cmpstr (g_hash_table_lookup (m->annotations, "org.opencontainers.image.title"), ==, "t");
}

static void
test_parse_docker_and_index (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m = berth_manifest_parse (docker, strlen (docker), &error);
  g_autoptr (BerthManifest) idx = berth_manifest_parse (index_json, strlen (index_json), &error);
  const BerthDescriptor *d;

  g_assert_no_error (error);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_IMAGE);
  g_assert_cmpint (idx->kind, ==, BERTH_MANIFEST_INDEX);
  g_assert_cmpuint (idx->manifests->len, ==, 2);
  d = berth_manifest_find_platform (idx, "linux", "amd64", NULL);
  g_assert_cmpstr (d->digest, ==, D2);
  d = berth_manifest_find_platform (idx, "linux", "arm64", "v8");
  g_assert_cmpstr (d->digest, ==, D1);
  g_assert_null (berth_manifest_find_platform (idx, "linux", "arm64", "v7"));
  g_assert_null (berth_manifest_find_platform (idx, "windows", "amd64", NULL));
}

static void
test_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthDescriptor) config = berth_descriptor_new (BERTH_MEDIA_OCI_CONFIG, D1, 5);
  g_autoptr (BerthDescriptor) layer = berth_descriptor_new (BERTH_MEDIA_OCI_LAYER_GZIP, D2, 7);
  g_autoptr (BerthDescriptor) copy = NULL;
  g_autoptr (BerthManifest) m = berth_manifest_new_image (config);
  g_autoptr (BerthManifest) back = NULL;
  g_autofree char *json = NULL;
  g_autofree char *json2 = NULL;
  gsize len, len2;

  g_hash_table_insert (layer->annotations, g_strdup ("b"), g_strdup ("2"));
  g_hash_table_insert (layer->annotations, g_strdup ("a"), g_strdup ("1"));
  copy = berth_descriptor_copy (layer);
  g_assert_cmpstr (g_hash_table_lookup (copy->annotations, "a"), ==, "1");
  berth_manifest_add_layer (m, copy);
  json = berth_manifest_to_json (m, &len);
  /* Annotations are sorted: the same manifest always has the same bytes. */
  g_assert_nonnull (strstr (json, "\"annotations\":{\"a\":\"1\",\"b\":\"2\"}"));
  back = berth_manifest_parse (json, len, &error);
  g_assert_no_error (error);
  json2 = berth_manifest_to_json (back, &len2);
  g_assert_cmpstr (json, ==, json2);
}

static void
test_invalid (void)
{
  static const struct
  {
    const char *json;
    int code;
    const char *message;
  } cases[] = {
    { "not json", BERTH_ERROR_INVALID_ARGUMENT, "not JSON" },
    { "[]", BERTH_ERROR_INVALID_ARGUMENT, "not a JSON object" },
    { "{\"schemaVersion\":1}", BERTH_ERROR_NOT_SUPPORTED, "schemaVersion 1" },
    { "{}", BERTH_ERROR_INVALID_ARGUMENT, "schemaVersion is missing" },
    { "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", BERTH_ERROR_NOT_SUPPORTED,
      "unsupported manifest media type" },
    { "{\"schemaVersion\":2,\"layers\":[]}", BERTH_ERROR_INVALID_ARGUMENT, "needs a config" },
    { "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:x\",\"size\":1},\"layers\":[]}",
      BERTH_ERROR_INVALID_ARGUMENT, "config: invalid digest" },
    { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
      BERTH_ERROR_INVALID_ARGUMENT, "no valid size" },
    { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}",
      BERTH_ERROR_INVALID_ARGUMENT, "\"layers\" is missing" },
    { "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
      "\",\"size\":1},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" D2 "\",\"size\":1}]}",
      BERTH_ERROR_NOT_SUPPORTED, "not a layer berth can unpack" },
    { "{\"schemaVersion\":2,\"manifests\":[1]}", BERTH_ERROR_INVALID_ARGUMENT,
      "manifests[0] is not an object" },
    { "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":1}}",
      BERTH_ERROR_INVALID_ARGUMENT, "annotation \"a\" is not a string" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (BerthManifest) m
        = berth_manifest_parse (cases[i].json, strlen (cases[i].json), &error);

      g_assert_null (m);
      g_assert_error (error, BERTH_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("%s: \"%s\" lacks \"%s\"", cases[i].json, error->message, cases[i].message);
    }
}

static void
test_too_big (void)
{
  gsize len = BERTH_MANIFEST_MAX_SIZE + 1;
  g_autofree char *big = g_malloc0 (len);
  g_autoptr (GError) error = NULL;

  g_assert_null (berth_manifest_parse (big, len, &error));
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
}

static void
test_media_types (void)
{
  BerthCompression c;

  g_assert_true (berth_media_type_layer_compression (BERTH_MEDIA_DOCKER_LAYER, &c));
  g_assert_cmpint (c, ==, BERTH_COMPRESSION_NONE);
  g_assert_true (berth_media_type_layer_compression (BERTH_MEDIA_OCI_LAYER_GZIP, &c));
  g_assert_cmpint (c, ==, BERTH_COMPRESSION_GZIP);
  g_assert_false (berth_media_type_layer_compression (BERTH_MEDIA_OCI_CONFIG, NULL));
  g_assert_false (berth_media_type_layer_compression (NULL, NULL));
  g_assert_cmpstr (berth_media_type_for_compression (BERTH_COMPRESSION_NONE), ==,
                   BERTH_MEDIA_OCI_LAYER);
  g_assert_cmpstr (berth_media_type_for_compression (BERTH_COMPRESSION_GZIP), ==,
                   BERTH_MEDIA_OCI_LAYER_GZIP);
  g_assert_cmpstr (berth_media_type_for_compression (BERTH_COMPRESSION_ZSTD), ==,
                   BERTH_MEDIA_OCI_LAYER_ZSTD);
  berth_descriptor_free (NULL);
  berth_manifest_free (NULL);
}

#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char artifact_image[]
  = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
    "\",\"size\":7},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
    "\",\"size\":100}],"
    "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3
    "\",\"size\":5},"
    "\"annotations\":{\"org.opencontainers.image.description\":\"hello\"}}";

static void
test_any_image (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m
    = berth_manifest_parse_any (artifact_image, strlen (artifact_image), NULL, &error);
  BerthDescriptor *layer;

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_IMAGE);
  g_assert_cmpstr (m->media_type, ==, BERTH_MEDIA_OCI_MANIFEST);
  g_assert_cmpstr (m->config->digest, ==, D1);
  g_assert_cmpint (m->config->size, ==, 7);
  g_assert_cmpuint (m->layers->len, ==, 1);
  layer = m->layers->pdata[0];
  g_assert_cmpstr (layer->digest, ==, D2);
  g_assert_cmpint (layer->size, ==, 100);
  g_assert_cmpstr (m->subject->digest, ==, D3);
  g_assert_cmpstr (berth_manifest_get_annotation (m, BERTH_ANNOTATION_DESCRIPTION), ==, "hello");
  g_assert_null (berth_manifest_get_annotation (m, "other"));
  /* No artifactType: the config's media type stands for it. */
  g_assert_cmpstr (berth_manifest_get_artifact_type (m), ==, BERTH_MEDIA_OCI_CONFIG);
}

static void
test_any_docker_list (void)
{
  const char *list
    = "{\"schemaVersion\":2,\"mediaType\":\"application/"
      "vnd.docker.distribution.manifest.list.v2+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"digest\":\"" D1 "\",\"size\":10,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
      "\"variant\":\"v7\"}}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m
    = berth_manifest_parse_any (list, strlen (list), BERTH_MEDIA_DOCKER_LIST, &error);
  BerthDescriptor *d;

  g_assert_no_error (error);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_INDEX);
  g_assert_null (m->config);
  d = m->manifests->pdata[0];
  g_assert_cmpstr (d->os, ==, "linux");
  g_assert_cmpstr (d->architecture, ==, "arm");
  g_assert_cmpstr (d->variant, ==, "v7");
  g_assert_null (berth_manifest_get_artifact_type (m));
}

/* Without mediaType, the Content-Type (or the shape) decides. */
static void
test_any_media_type_inference (void)
{
  const char *bare = "{\"schemaVersion\":2,\"manifests\":[]}";
  g_autoptr (BerthManifest) a = berth_manifest_parse_any (bare, strlen (bare), NULL, NULL);
  g_autoptr (BerthManifest) b = berth_manifest_parse_any (
    bare, strlen (bare), BERTH_MEDIA_DOCKER_LIST "; charset=utf-8", NULL);

  g_assert_cmpstr (a->media_type, ==, BERTH_MEDIA_OCI_INDEX);
  g_assert_cmpstr (b->media_type, ==, BERTH_MEDIA_DOCKER_LIST);
}

static void
expect_invalid (const char *json, const char *content_type, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m
    = berth_manifest_parse_any (json, strlen (json), content_type, &error);

  g_assert_null (m);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, fragment) == NULL)
    g_error ("\"%s\" not in \"%s\"", fragment, error->message);
}

static void
test_any_invalid (void)
{
  expect_invalid ("not json", NULL, "not JSON");
  expect_invalid ("[]", NULL, "JSON object");
  expect_invalid ("{\"schemaVersion\":1}", NULL, "schemaVersion 1");
  expect_invalid ("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", NULL,
                  "unsupported manifest media type");
  expect_invalid (artifact_image, BERTH_MEDIA_DOCKER_MANIFEST, "does not match Content-Type");
  expect_invalid ("{\"schemaVersion\":2,\"layers\":[]}", NULL, "needs a config");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                  "\",\"size\":1}}",
                  NULL, "\"layers\" is missing or not an array");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"md5:00\","
                  "\"size\":1},\"layers\":[]}",
                  NULL, "unsupported digest algorithm");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                  "\",\"size\":-1},\"layers\":[]}",
                  NULL, "config has no valid size");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                  "\",\"size\":1},\"layers\":[]}",
                  NULL, "config has no mediaType");
  expect_invalid ("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":1}}", NULL,
                  "annotation \"a\" is not a string");
}

static void
test_any_media_types (void)
{
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_OCI_MANIFEST));
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_DOCKER_MANIFEST));
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_OCI_INDEX));
  g_assert_true (berth_media_type_is_index (BERTH_MEDIA_DOCKER_LIST));
  g_assert_false (berth_media_type_is_index (BERTH_MEDIA_OCI_MANIFEST));
  g_assert_false (berth_media_type_is_manifest (BERTH_MEDIA_OCI_CONFIG));
  g_assert_false (berth_media_type_is_manifest (NULL));
}

/* A registry stores artifacts; berth refuses to run them. */
static void
test_any_artifact (void)
{
  const char *artifact
    = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
      "\"artifactType\":\"application/vnd.example.sbom\","
      "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" D1
      "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/json\",\"digest\":\"" D2
      "\",\"size\":9}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) any
    = berth_manifest_parse_any (artifact, strlen (artifact), NULL, &error);
  g_autoptr (BerthManifest) strict = NULL;
  g_autofree char *annotations = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (berth_manifest_get_artifact_type (any), ==, "application/vnd.example.sbom");
  g_assert_null (berth_manifest_annotations_to_json (any));
  strict = berth_manifest_parse (artifact, strlen (artifact), &error);
  g_assert_null (strict);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_NOT_SUPPORTED);
}

static void
test_any_annotations_json (void)
{
  g_autoptr (BerthManifest) m
    = berth_manifest_parse_any (artifact_image, strlen (artifact_image), NULL, NULL);
  g_autofree char *json = berth_manifest_annotations_to_json (m);

  g_assert_cmpstr (json, ==, "{\"org.opencontainers.image.description\":\"hello\"}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/manifest/parse-oci", test_parse_oci);
  g_test_add_func ("/manifest/parse-docker-and-index", test_parse_docker_and_index);
  g_test_add_func ("/manifest/round-trip", test_round_trip);
  g_test_add_func ("/manifest/invalid", test_invalid);
  g_test_add_func ("/manifest/too-big", test_too_big);
  g_test_add_func ("/manifest/media-types", test_media_types);
  g_test_add_func ("/manifest/any/image", test_any_image);
  g_test_add_func ("/manifest/any/docker-list", test_any_docker_list);
  g_test_add_func ("/manifest/any/media-type-inference", test_any_media_type_inference);
  g_test_add_func ("/manifest/any/invalid", test_any_invalid);
  g_test_add_func ("/manifest/any/media-types", test_any_media_types);
  g_test_add_func ("/manifest/any/artifact", test_any_artifact);
  g_test_add_func ("/manifest/any/annotations-json", test_any_annotations_json);
  return g_test_run ();
}
