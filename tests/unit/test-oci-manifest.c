/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "berth-error.h"
#include "berth-oci-manifest.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char image[]
  = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D1
    "\",\"size\":7},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2
    "\",\"size\":100}],"
    "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3
    "\",\"size\":5},"
    "\"annotations\":{\"org.opencontainers.image.description\":\"hello\"}}";

static void
test_image (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m = berth_manifest_parse (image, strlen (image), NULL, &error);
  BerthDescriptor *layer;

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_KIND_IMAGE);
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
test_docker_list (void)
{
  const char *list
    = "{\"schemaVersion\":2,\"mediaType\":\"application/"
      "vnd.docker.distribution.manifest.list.v2+json\","
      "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
      "\"digest\":\"" D1 "\",\"size\":10,\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
      "\"variant\":\"v7\"}}]}";
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m
    = berth_manifest_parse (list, strlen (list), BERTH_MEDIA_DOCKER_LIST, &error);
  BerthDescriptor *d;

  g_assert_no_error (error);
  g_assert_cmpint (m->kind, ==, BERTH_MANIFEST_KIND_INDEX);
  g_assert_null (m->config);
  d = m->layers->pdata[0];
  g_assert_cmpstr (d->platform_os, ==, "linux");
  g_assert_cmpstr (d->platform_arch, ==, "arm");
  g_assert_cmpstr (d->platform_variant, ==, "v7");
  g_assert_null (berth_manifest_get_artifact_type (m));
}

/* Without mediaType, the Content-Type (or the shape) decides. */
static void
test_media_type_inference (void)
{
  const char *bare = "{\"schemaVersion\":2,\"manifests\":[]}";
  g_autoptr (BerthManifest) a = berth_manifest_parse (bare, strlen (bare), NULL, NULL);
  g_autoptr (BerthManifest) b
    = berth_manifest_parse (bare, strlen (bare), BERTH_MEDIA_DOCKER_LIST "; charset=utf-8", NULL);

  g_assert_cmpstr (a->media_type, ==, BERTH_MEDIA_OCI_INDEX);
  g_assert_cmpstr (b->media_type, ==, BERTH_MEDIA_DOCKER_LIST);
}

static void
expect_invalid (const char *json, const char *content_type, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (BerthManifest) m = berth_manifest_parse (json, strlen (json), content_type, &error);

  g_assert_null (m);
  g_assert_error (error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, fragment) == NULL)
    g_error ("\"%s\" not in \"%s\"", fragment, error->message);
}

static void
test_invalid (void)
{
  expect_invalid ("not json", NULL, "not JSON");
  expect_invalid ("[]", NULL, "JSON object");
  expect_invalid ("{\"schemaVersion\":1}", NULL, "schemaVersion must be 2");
  expect_invalid ("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", NULL,
                  "unsupported media type");
  expect_invalid (image, BERTH_MEDIA_DOCKER_MANIFEST, "does not match Content-Type");
  expect_invalid ("{\"schemaVersion\":2,\"layers\":[]}", NULL, "config must be an object");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                  "\",\"size\":1}}",
                  NULL, "layers must be an array");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"md5:00\","
                  "\"size\":1},\"layers\":[]}",
                  NULL, "unsupported digest algorithm");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" D1
                  "\",\"size\":-1},\"layers\":[]}",
                  NULL, "config.size must be a non-negative integer");
  expect_invalid ("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
                  "\",\"size\":1},\"layers\":[]}",
                  NULL, "config has no mediaType");
  expect_invalid ("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":1}}", NULL,
                  "annotations[\"a\"] must be a string");
}

static void
test_media_types (void)
{
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_OCI_MANIFEST));
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_DOCKER_MANIFEST));
  g_assert_true (berth_media_type_is_manifest (BERTH_MEDIA_OCI_INDEX));
  g_assert_true (berth_media_type_is_index (BERTH_MEDIA_DOCKER_LIST));
  g_assert_false (berth_media_type_is_index (BERTH_MEDIA_OCI_MANIFEST));
  g_assert_false (berth_media_type_is_manifest (BERTH_MEDIA_OCI_CONFIG));
  g_assert_false (berth_media_type_is_manifest (NULL));
}

static void
test_config_label (void)
{
  const char *config = "{\"config\":{\"Labels\":{\"org.opencontainers.image.description\":\"d\","
                       "\"n\":1}}}";
  g_autofree char *label
    = berth_image_config_get_label (config, strlen (config), BERTH_ANNOTATION_DESCRIPTION);

  g_assert_cmpstr (label, ==, "d");
  g_assert_null (berth_image_config_get_label (config, strlen (config), "n"));
  g_assert_null (berth_image_config_get_label (config, strlen (config), "missing"));
  g_assert_null (berth_image_config_get_label ("{}", 2, "x"));
  g_assert_null (berth_image_config_get_label ("garbage", 7, "x"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/oci-manifest/image", test_image);
  g_test_add_func ("/oci-manifest/docker-list", test_docker_list);
  g_test_add_func ("/oci-manifest/media-type-inference", test_media_type_inference);
  g_test_add_func ("/oci-manifest/invalid", test_invalid);
  g_test_add_func ("/oci-manifest/media-types", test_media_types);
  g_test_add_func ("/oci-manifest/config-label", test_config_label);
  return g_test_run ();
}
