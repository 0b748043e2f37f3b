// Manifests, indexes and image configs as registries serve them: Docker Hub's
// OCI indexes with BuildKit attestations, `docker push` schema 2 manifests,
// skopeo's OCI manifests, an OCI layout's index.json; then every way one can
// be wrong.
#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <functional>
#include <string>

#include "manifest.hpp"
#include "storage_error.hpp"

namespace {

using namespace deckhand::storage;
using nlohmann::json;

// As Docker Hub serves docker.io/library/nginx: one entry per platform, each
// followed by its attestation manifest (platform unknown/unknown).
const std::string kNginxIndex = R"({
  "manifests": [
    {
      "annotations": {
        "com.docker.official-images.bashbrew.arch": "amd64",
        "org.opencontainers.image.base.name": "debian:bookworm-slim",
        "org.opencontainers.image.created": "2024-10-02T17:55:35Z",
        "org.opencontainers.image.version": "1.27.2"
      },
      "digest": "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "amd64", "os": "linux"},
      "size": 2295
    },
    {
      "annotations": {
        "vnd.docker.reference.digest": "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51",
        "vnd.docker.reference.type": "attestation-manifest"
      },
      "digest": "sha256:9c6bd5496b74c574d1efe05bb58297d3de62c21f0d778ec2d05d2b2b81fe4eaf",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "unknown", "os": "unknown"},
      "size": 841
    },
    {
      "digest": "sha256:5b93ff5f5cd53074088b6155e5d584c4606f26fc75be9f3d0ca03a60e8d00d8c",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "arm", "os": "linux", "variant": "v5"},
      "size": 2297
    },
    {
      "digest": "sha256:5ba6c8710dd1369ce61603ab9b7a81b25f92d4a9f74956ab72a7ea75884f07ee",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "arm", "os": "linux", "variant": "v7"},
      "size": 2297
    },
    {
      "digest": "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
      "size": 2297
    },
    {
      "annotations": {
        "vnd.docker.reference.digest": "sha256:f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265",
        "vnd.docker.reference.type": "attestation-manifest"
      },
      "digest": "sha256:7a5534a3f42a4adb02016ec0e3730ff5c51a54f2889eefb653b7f8de6774dedd",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "unknown", "os": "unknown"},
      "size": 841
    },
    {
      "digest": "sha256:15a26c6fa5151c712acc7ee45a1fd525ab85b801f096847c7d5fdf49efeabb4d",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "386", "os": "linux"},
      "size": 2295
    },
    {
      "digest": "sha256:6913bf299f6ee044c6a3d5f21ec7300bcbeae8260f5796000d6db0342e1cce5e",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "mips64le", "os": "linux"},
      "size": 2295
    },
    {
      "digest": "sha256:c92bb5907722b7ac701cea3606df516f5fe98c9f8380063df2d17d7d5db0bd05",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "ppc64le", "os": "linux"},
      "size": 2295
    },
    {
      "digest": "sha256:77d3a5496288a2cd8724282d24f862ab1ea470f3aba13cadb9e3c105aaacf20b",
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "platform": {"architecture": "s390x", "os": "linux"},
      "size": 2295
    }
  ],
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "schemaVersion": 2
})";

// A Docker manifest list (docker manifest push): arm64 without a variant, a
// Windows entry with os.version, Docker's key order.
const std::string kDockerManifestList = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:91a15eb56f494814ca5a8b9abd60dbad4bb59ee6613c2dc14cdcdcbdd005b68f",
         "platform": {"architecture": "amd64", "os": "linux"}
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:e78b95fbaf966b98f560e0af1e2a1de743293e67c3af2a10551f50bad4753ff8",
         "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:ca1d602ebcebefb80008811d41f1dbd6f6663c82b120da634905ee93f7f378e2",
         "platform": {"architecture": "arm64", "os": "linux"}
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 1158,
         "digest": "sha256:c345054d2bce82f7b29415681da20cd3538251ec15a2c92eba3b20bd56c5bb6b",
         "platform": {"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2700"}
      }
   ]
})";

// docker push of a single-platform image (schema 2).
const std::string kDockerManifest = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 7023,
      "digest": "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 32654,
         "digest": "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 16724,
         "digest": "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 73109,
         "digest": "sha256:a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8"
      }
   ]
})";

// skopeo copy --format oci: compact, with annotations and no layer list gaps.
const std::string kOciManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)"
    R"("digest":"sha256:8aef71d39eae813e8496c5dc3d1b178d344a1330a9f5c2fa8bb295e71975845b","size":1472},)"
    R"("layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
    R"("digest":"sha256:34782f51d0156a92261ec2f48790f61e95950810efddc707a4d3fbd44e6bc655","size":3623807,)"
    R"("annotations":{"org.opencontainers.image.title":"rootfs.tar.gz"}}],)"
    R"("annotations":{"org.opencontainers.image.base.digest":"","org.opencontainers.image.base.name":""}})";

// An OCI layout's index.json: no mediaType, the tag in an annotation.
const std::string kOciLayoutIndex = R"({
  "schemaVersion": 2,
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51",
      "size": 2295,
      "annotations": {"org.opencontainers.image.ref.name": "1.27"}
    }
  ]
})";

// What an old registry still holds for images pushed before 2017.
const std::string kSchema1 = R"({
   "schemaVersion": 1,
   "name": "library/hello-world",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [
      {"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}
   ],
   "history": [{"v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\"}"}],
   "signatures": [{"header": {"alg": "ES256"}, "signature": "XREm0L8WNn27Ga_iE_vRnTxVMhhYY0Zst_FfkKopg6g", "protected": "eyJmb3JtYXRMZW5ndGgiOjY2MjgsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1lIjoiMjAxNS0wNC0wOFQxODo1Mjo1OVoifQ"}]
})";

// The config of docker.io/library/alpine (linux/amd64), as Docker writes it.
const std::string kAlpineConfig = R"({
  "architecture": "amd64",
  "config": {
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "Cmd": ["/bin/sh"],
    "WorkingDir": "/",
    "Entrypoint": null,
    "OnBuild": null,
    "Labels": null,
    "ArgsEscaped": true
  },
  "created": "2024-09-06T22:20:07Z",
  "history": [
    {"created": "2024-09-06T22:20:07Z", "created_by": "ADD alpine-minirootfs-3.20.3-x86_64.tar.gz / # buildkit", "comment": "buildkit.dockerfile.v0"},
    {"created": "2024-09-06T22:20:07Z", "created_by": "CMD [\"/bin/sh\"]", "comment": "buildkit.dockerfile.v0", "empty_layer": true}
  ],
  "os": "linux",
  "rootfs": {
    "type": "layers",
    "diff_ids": ["sha256:0697c0f434f8672811eb1b52d443d0d4cb616fa58e4d10b25e91471b7f45a665"]
  }
})";

const std::string kOciConfigArmV7 = R"({
  "created": "2024-10-01T08:00:00Z",
  "architecture": "arm",
  "variant": "v7",
  "os": "linux",
  "config": {
    "User": "65532:65532",
    "Env": ["PATH=/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
    "Entrypoint": ["/app/server"],
    "Cmd": ["--port", "8080"],
    "WorkingDir": "/app",
    "ExposedPorts": {"8080/tcp": {}},
    "Labels": {"org.opencontainers.image.source": "https://github.com/example/server"},
    "StopSignal": "SIGTERM"
  },
  "rootfs": {
    "type": "layers",
    "diff_ids": [
      "sha256:0697c0f434f8672811eb1b52d443d0d4cb616fa58e4d10b25e91471b7f45a665",
      "sha256:a9485d17c39b521f9de31b558df98f81dd72a9c7498f57f27b74356ea150fbd9",
      "sha256:03d63cb5ac6da8f21ccf8cb8ee9e410ece553f0bf779d19ac73eb8e9135d5e50"
    ]
  }
})";

const std::string kSchema1Message =
    "manifest: the image uses Docker image manifest schema 1, which deckhand does not support (deprecated since "
    "2017): push it again with a current docker or skopeo";
const std::string kDigestRule = " (expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)";

// The message of the StorageError `parse` throws, after checking its kind.
template <typename Parse>
std::string failure(Parse parse, Failure kind = Failure::invalid) {
  try {
    parse();
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), kind) << error.what();
    return error.what();
  }
  ADD_FAILURE() << "no StorageError";
  return "";
}

std::string manifest_failure(const json& document, std::string_view content_type = "") {
  return failure([&] { parse_manifest(document.dump(), content_type); });
}

std::string config_failure(const json& document) {
  return failure([&] { parse_image_config(document.dump()); });
}

Index nginx_index() { return parse_manifest(kNginxIndex, media_type::kOciIndex).index.value(); }

// ---- documents as registries serve them

TEST(StorageManifestTest, ParsesDockerHubOciIndex) {
  const ManifestDocument document = parse_manifest(kNginxIndex, "application/vnd.oci.image.index.v1+json");
  ASSERT_TRUE(document.index);
  EXPECT_FALSE(document.manifest);
  const Index& index = *document.index;
  EXPECT_EQ(index.media_type, media_type::kOciIndex);
  ASSERT_EQ(index.manifests.size(), 10u);
  const Descriptor& amd64 = index.manifests[0];
  EXPECT_EQ(amd64.media_type, media_type::kOciManifest);
  EXPECT_EQ(amd64.digest.string(), "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51");
  EXPECT_EQ(amd64.size, 2295);
  ASSERT_TRUE(amd64.platform);
  EXPECT_EQ(amd64.platform->string(), "linux/amd64");
  EXPECT_EQ(amd64.annotations.at("org.opencontainers.image.version"), "1.27.2");
  EXPECT_EQ(index.manifests[3].platform->string(), "linux/arm/v7");
  EXPECT_EQ(index.manifests[1].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
}

TEST(StorageManifestTest, ParsesDockerManifestList) {
  const ManifestDocument document =
      parse_manifest(kDockerManifestList, "application/vnd.docker.distribution.manifest.list.v2+json");
  ASSERT_TRUE(document.index);
  EXPECT_EQ(document.index->media_type, media_type::kDockerManifestList);
  ASSERT_EQ(document.index->manifests.size(), 4u);
  EXPECT_EQ(document.index->manifests[3].platform->string(), "windows/amd64");
  EXPECT_EQ(document.index->manifests[2].platform->variant, "");
}

TEST(StorageManifestTest, ParsesDockerSchema2Manifest) {
  const ManifestDocument document = parse_manifest(kDockerManifest, media_type::kDockerManifest);
  ASSERT_TRUE(document.manifest);
  EXPECT_FALSE(document.index);
  const Manifest& manifest = *document.manifest;
  EXPECT_EQ(manifest.media_type, media_type::kDockerManifest);
  EXPECT_EQ(manifest.config.media_type, media_type::kDockerConfig);
  EXPECT_EQ(manifest.config.digest.hex, "b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910");
  EXPECT_EQ(manifest.config.size, 7023);
  ASSERT_EQ(manifest.layers.size(), 3u);
  EXPECT_EQ(manifest.layers[0].media_type, media_type::kDockerLayerGzip);
  EXPECT_EQ(manifest.layers[2].digest.string(),
            "sha256:a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8");
  EXPECT_EQ(manifest.layers[2].size, 73109);
  EXPECT_FALSE(manifest.layers[0].platform);
}

TEST(StorageManifestTest, ParsesSkopeoOciManifest) {
  const ManifestDocument document = parse_manifest(kOciManifest, media_type::kOciManifest);
  ASSERT_TRUE(document.manifest);
  EXPECT_EQ(document.manifest->media_type, media_type::kOciManifest);
  EXPECT_EQ(document.manifest->config.media_type, media_type::kOciConfig);
  ASSERT_EQ(document.manifest->layers.size(), 1u);
  EXPECT_EQ(document.manifest->layers[0].size, 3623807);
  EXPECT_EQ(document.manifest->layers[0].annotations.at("org.opencontainers.image.title"), "rootfs.tar.gz");
}

TEST(StorageManifestTest, ReadsEveryLayerTypeTheUnpackerHandles) {
  for (const char* type : {media_type::kOciLayer, media_type::kOciLayerGzip, media_type::kOciLayerZstd,
                           media_type::kDockerLayerGzip, "application/vnd.docker.image.rootfs.diff.tar",
                           "application/vnd.docker.image.rootfs.diff.tar.zstd"}) {
    json document = json::parse(kOciManifest);
    document["layers"][0]["mediaType"] = type;
    const ManifestDocument parsed = parse_manifest(document.dump());
    ASSERT_TRUE(parsed.manifest) << type;
    EXPECT_EQ(parsed.manifest->layers[0].media_type, type);
  }
}

TEST(StorageManifestTest, IgnoresUnknownFieldsAndNullOptionalOnes) {
  json document = json::parse(kOciManifest);
  document["artifactType"] = "application/vnd.example+type";
  document["subject"] = {{"mediaType", media_type::kOciManifest}, {"digest", "sha256:" + std::string(64, '0')},
                         {"size", 1}};
  document["config"]["data"] = "e30=";
  document["layers"][0]["x-vendor"] = {{"anything", {1, 2, 3}}};
  document["layers"][0]["urls"] = nullptr;
  document["layers"][0]["annotations"] = nullptr;
  const ManifestDocument parsed = parse_manifest(document.dump());
  ASSERT_TRUE(parsed.manifest);
  EXPECT_TRUE(parsed.manifest->layers[0].annotations.empty());

  json index = json::parse(kNginxIndex);
  index["manifests"][0]["platform"]["os.version"] = "";
  index["manifests"][0]["platform"]["features"] = json::array({"sse4"});
  index["manifests"][0]["platform"]["variant"] = nullptr;
  EXPECT_EQ(parse_manifest(index.dump()).index->manifests[0].platform->string(), "linux/amd64");
}

TEST(StorageManifestTest, KeepsForeignLayerUrlsOfIndexEntriesAndLayers) {
  json document = json::parse(kOciLayoutIndex);
  document["manifests"][0]["urls"] = json::array({"https://mirror.example.com/blob", "https://b.example.com/x"});
  const Index index = *parse_manifest(document.dump()).index;
  EXPECT_EQ(index.manifests[0].urls, (std::vector<std::string>{"https://mirror.example.com/blob",
                                                               "https://b.example.com/x"}));
}

// ---- which type: Content-Type, mediaType, shape

TEST(StorageManifestTest, IgnoresContentTypeParametersAndCase) {
  EXPECT_TRUE(parse_manifest(kNginxIndex, "application/vnd.oci.image.index.v1+json; charset=utf-8").index);
  EXPECT_TRUE(parse_manifest(kNginxIndex, "  Application/VND.OCI.Image.Index.v1+JSON ;q=1").index);
  EXPECT_TRUE(parse_manifest(kDockerManifest, "application/json").manifest);
  EXPECT_TRUE(parse_manifest(kDockerManifest, "application/octet-stream").manifest);
}

TEST(StorageManifestTest, TakesTheTypeFromContentTypeWhenTheDocumentHasNone) {
  json document = json::parse(kDockerManifest);
  document.erase("mediaType");
  const ManifestDocument parsed = parse_manifest(document.dump(), media_type::kDockerManifest);
  ASSERT_TRUE(parsed.manifest);
  EXPECT_EQ(parsed.manifest->media_type, media_type::kDockerManifest);
}

TEST(StorageManifestTest, TakesTheTypeFromTheShapeWhenNothingSaysIt) {
  const ManifestDocument layout = parse_manifest(kOciLayoutIndex);
  ASSERT_TRUE(layout.index);
  EXPECT_EQ(layout.index->media_type, media_type::kOciIndex);
  EXPECT_EQ(layout.index->manifests[0].annotations.at("org.opencontainers.image.ref.name"), "1.27");

  json manifest = json::parse(kOciManifest);
  manifest.erase("mediaType");
  const ManifestDocument parsed = parse_manifest(manifest.dump(), "application/json");
  ASSERT_TRUE(parsed.manifest);
  EXPECT_EQ(parsed.manifest->media_type, media_type::kOciManifest);

  EXPECT_EQ(manifest_failure({{"schemaVersion", 2}}),
            "manifest: cannot tell a manifest from an index: no mediaType, no \"manifests\", no \"config\" or "
            "\"layers\"");
}

TEST(StorageManifestTest, RefusesAContentTypeThatDisagreesWithTheDocument) {
  EXPECT_EQ(failure([] { parse_manifest(kNginxIndex, media_type::kOciManifest); }),
            "manifest: the content type \"application/vnd.oci.image.manifest.v1+json\" disagrees with the document's "
            "mediaType \"application/vnd.oci.image.index.v1+json\"");
  EXPECT_EQ(failure([] { parse_manifest(kDockerManifest, media_type::kOciManifest); }),
            "manifest: the content type \"application/vnd.oci.image.manifest.v1+json\" disagrees with the document's "
            "mediaType \"application/vnd.docker.distribution.manifest.v2+json\"");
}

TEST(StorageManifestTest, RefusesContentTypesThatAreNoManifest) {
  const std::string expected = "manifest: the registry sent content type \"text/html\", which is not a manifest or "
                               "index (expected one of: " + manifest_accept_header() + ")";
  EXPECT_EQ(failure([] { parse_manifest(kDockerManifest, "text/html; charset=UTF-8"); }), expected);
  EXPECT_EQ(failure([] { parse_manifest(kDockerManifest, media_type::kOciConfig); }),
            "manifest: the registry sent content type \"application/vnd.oci.image.config.v1+json\", which is not a "
            "manifest or index (expected one of: " + manifest_accept_header() + ")");
  json document = json::parse(kOciManifest);
  document["mediaType"] = media_type::kOciConfig;
  EXPECT_EQ(manifest_failure(document),
            "manifest: mediaType: \"application/vnd.oci.image.config.v1+json\" is not a manifest or index type "
            "deckhand reads (expected one of: " + manifest_accept_header() + ")");
  document["mediaType"] = "";
  EXPECT_EQ(manifest_failure(document), "manifest: mediaType: must not be empty");
  document["mediaType"] = 2;
  EXPECT_EQ(manifest_failure(document), "manifest: mediaType: must be a string, found 2");
}

TEST(StorageManifestTest, AcceptHeaderListsEveryTypeReadOciFirst) {
  EXPECT_EQ(manifest_accept_header(),
            "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json, "
            "application/vnd.docker.distribution.manifest.v2+json");
}

// ---- schema 1

TEST(StorageManifestTest, RefusesSchema1ByContentType) {
  EXPECT_EQ(failure([] { parse_manifest(kSchema1, media_type::kDockerSchema1Signed); }), kSchema1Message);
  EXPECT_EQ(failure([] { parse_manifest(kSchema1, "application/vnd.docker.distribution.manifest.v1+json"); }),
            kSchema1Message);
  // Even when the body is damaged: the content type already says enough.
  EXPECT_EQ(failure([] { parse_manifest("{\"schemaVersion\": 1,", media_type::kDockerSchema1Signed); }),
            kSchema1Message);
}

TEST(StorageManifestTest, RefusesSchema1ByItsSchemaVersion) {
  EXPECT_EQ(failure([] { parse_manifest(kSchema1); }), kSchema1Message);
  EXPECT_EQ(failure([] { parse_manifest(kSchema1, "application/json"); }), kSchema1Message);
  json document = json::parse(kSchema1);
  document["mediaType"] = media_type::kDockerSchema1;
  document["schemaVersion"] = 2;
  EXPECT_EQ(manifest_failure(document), kSchema1Message);
}

// ---- required fields and their types

TEST(StorageManifestTest, NamesEveryMissingRequiredFieldOfAManifest) {
  const json manifest = json::parse(kDockerManifest);
  const auto without = [&](const json::json_pointer& pointer) {
    json document = manifest;
    document[pointer.parent_pointer()].erase(pointer.back());
    return manifest_failure(document);
  };
  EXPECT_EQ(without(json::json_pointer("/schemaVersion")), "manifest: schemaVersion: required field missing");
  EXPECT_EQ(without(json::json_pointer("/config")), "manifest: config: required field missing");
  EXPECT_EQ(without(json::json_pointer("/config/mediaType")), "manifest: config.mediaType: required field missing");
  EXPECT_EQ(without(json::json_pointer("/config/digest")), "manifest: config.digest: required field missing");
  EXPECT_EQ(without(json::json_pointer("/config/size")), "manifest: config.size: required field missing");
  EXPECT_EQ(without(json::json_pointer("/layers")), "manifest: layers: required field missing");
  EXPECT_EQ(without(json::json_pointer("/layers/0/mediaType")), "manifest: layers[0].mediaType: required field missing");
  EXPECT_EQ(without(json::json_pointer("/layers/1/size")), "manifest: layers[1].size: required field missing");
  EXPECT_EQ(without(json::json_pointer("/layers/2/digest")), "manifest: layers[2].digest: required field missing");
}

TEST(StorageManifestTest, NamesEveryMissingRequiredFieldOfAnIndex) {
  const json index = json::parse(kNginxIndex);
  const auto without = [&](const json::json_pointer& pointer) {
    json document = index;
    document[pointer.parent_pointer()].erase(pointer.back());
    return manifest_failure(document);
  };
  EXPECT_EQ(without(json::json_pointer("/schemaVersion")), "index: schemaVersion: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests")), "index: manifests: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests/0/mediaType")),
            "index: manifests[0].mediaType: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests/2/digest")), "index: manifests[2].digest: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests/3/size")), "index: manifests[3].size: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests/4/platform/architecture")),
            "index: manifests[4].platform.architecture: required field missing");
  EXPECT_EQ(without(json::json_pointer("/manifests/4/platform/os")),
            "index: manifests[4].platform.os: required field missing");
}

TEST(StorageManifestTest, RefusesFieldsOfTheWrongType) {
  json document = json::parse(kDockerManifest);
  document["schemaVersion"] = 3;
  EXPECT_EQ(manifest_failure(document), "manifest: schemaVersion: must be 2, found 3");
  document["schemaVersion"] = "2";
  EXPECT_EQ(manifest_failure(document), "manifest: schemaVersion: must be 2, found \"2\"");
  document = json::parse(kDockerManifest);
  document["config"] = "sha256:b79606fb";
  EXPECT_EQ(manifest_failure(document), "manifest: config: must be an object, found \"sha256:b79606fb\"");
  document = json::parse(kDockerManifest);
  document["layers"] = json::object();
  EXPECT_EQ(manifest_failure(document), "manifest: layers: must be an array, found an object");
  document = json::parse(kDockerManifest);
  document["layers"][1] = json::array();
  EXPECT_EQ(manifest_failure(document), "manifest: layers[1]: must be an object, found an array");
  document = json::parse(kDockerManifest);
  document["layers"][0]["digest"] = 12;
  EXPECT_EQ(manifest_failure(document), "manifest: layers[0].digest: must be a string, found 12");
  document = json::parse(kDockerManifest);
  document["layers"][0]["urls"] = json::array({5});
  EXPECT_EQ(manifest_failure(document), "manifest: layers[0].urls[0]: must be a string, found 5");
  document = json::parse(kDockerManifest);
  document["layers"][0]["annotations"] = {{"org.example.signed", true}};
  EXPECT_EQ(manifest_failure(document),
            "manifest: layers[0].annotations[\"org.example.signed\"]: must be a string, found true");
  json index = json::parse(kNginxIndex);
  index["manifests"][2]["platform"]["variant"] = 7;
  EXPECT_EQ(manifest_failure(index), "index: manifests[2].platform.variant: must be a string, found 7");
  index = json::parse(kNginxIndex);
  index["manifests"] = nullptr;
  EXPECT_EQ(manifest_failure(index), "index: manifests: must be an array, found null");
}

TEST(StorageManifestTest, RefusesSizesThatAreNotNonNegativeIntegers) {
  json document = json::parse(kDockerManifest);
  document["layers"][1]["size"] = -1;
  EXPECT_EQ(manifest_failure(document), "manifest: layers[1].size: must not be negative, found -1");
  document["layers"][1]["size"] = 1.5;
  EXPECT_EQ(manifest_failure(document), "manifest: layers[1].size: must be a non-negative integer (bytes), found 1.5");
  document["layers"][1]["size"] = "16724";
  EXPECT_EQ(manifest_failure(document),
            "manifest: layers[1].size: must be a non-negative integer (bytes), found \"16724\"");
  EXPECT_EQ(failure([] {
              std::string body = kDockerManifest;
              body.replace(body.find("16724"), 5, "9223372036854775808");
              parse_manifest(body);
            }),
            "manifest: layers[1].size: must be at most 9223372036854775807, found 9223372036854775808");
  document["layers"][1]["size"] = 0;
  EXPECT_EQ(parse_manifest(document.dump()).manifest->layers[1].size, 0);
}

TEST(StorageManifestTest, RefusesBadDigests) {
  const auto with_layer_digest = [](const json& digest) {
    json document = json::parse(kDockerManifest);
    document["layers"][2]["digest"] = digest;
    return manifest_failure(document);
  };
  EXPECT_EQ(with_layer_digest("sha256:abc"), "manifest: layers[2].digest: invalid digest \"sha256:abc\"" + kDigestRule);
  EXPECT_EQ(with_layer_digest("sha256:" + std::string(64, 'A')),
            "manifest: layers[2].digest: invalid digest \"sha256:" + std::string(64, 'A') + "\"" + kDigestRule);
  EXPECT_EQ(with_layer_digest("md5:d41d8cd98f00b204e9800998ecf8427e"),
            "manifest: layers[2].digest: invalid digest \"md5:d41d8cd98f00b204e9800998ecf8427e\"" + kDigestRule);
  EXPECT_EQ(with_layer_digest("a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8"),
            "manifest: layers[2].digest: invalid digest "
            "\"a0e70458d19e37e14d6388030a017c587283e2fb6ef10c0744cad0294c47e8f8\"" + kDigestRule);
  // Non-ASCII is shown escaped, never as raw bytes cut in the middle.
  EXPECT_EQ(with_layer_digest("sha256:\xc3\xa9"),
            "manifest: layers[2].digest: invalid digest \"sha256:\\u00e9\"" + kDigestRule);
  json index = json::parse(kNginxIndex);
  index["manifests"][0]["digest"] = "sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd5";
  EXPECT_EQ(manifest_failure(index), "index: manifests[0].digest: invalid digest "
                                     "\"sha256:5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd5\"" +
                                         kDigestRule);
}

TEST(StorageManifestTest, RefusesLayerAndConfigTypesThatAreNoImage) {
  json document = json::parse(kOciManifest);
  document["layers"][0]["mediaType"] = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
  EXPECT_EQ(manifest_failure(document),
            "manifest: layers[0].mediaType: \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\" is not a layer "
            "type deckhand can unpack (expected one of: application/vnd.oci.image.layer.v1.tar, "
            "application/vnd.oci.image.layer.v1.tar+gzip, application/vnd.oci.image.layer.v1.tar+zstd, "
            "application/vnd.docker.image.rootfs.diff.tar.gzip, application/vnd.docker.image.rootfs.diff.tar, "
            "application/vnd.docker.image.rootfs.diff.tar.zstd); is this an artifact rather than a container image?");
  document["layers"][0]["mediaType"] = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
  EXPECT_EQ(manifest_failure(document),
            "manifest: layers[0].mediaType: \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\" is a "
            "foreign (non-distributable) layer, which deckhand does not pull (they belong to Windows images)");
  document["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
  EXPECT_EQ(manifest_failure(document),
            "manifest: layers[0].mediaType: \"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip\" is a "
            "foreign (non-distributable) layer, which deckhand does not pull (they belong to Windows images)");
  document = json::parse(kOciManifest);
  document["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
  EXPECT_EQ(manifest_failure(document),
            "manifest: config.mediaType: \"application/vnd.cncf.helm.config.v1+json\" is not an image config type "
            "(expected application/vnd.oci.image.config.v1+json, application/vnd.docker.container.image.v1+json); "
            "is this an artifact rather than a container image?");
}

TEST(StorageManifestTest, RefusesWhatIsNotAJsonObject) {
  EXPECT_EQ(failure([] { parse_manifest("", media_type::kOciManifest); }).rfind("manifest: not valid JSON: ", 0), 0u);
  const std::string truncated = failure([] { parse_manifest(kDockerManifest.substr(0, 200)); });
  EXPECT_TRUE(truncated.starts_with("manifest: not valid JSON: ")) << truncated;
  EXPECT_EQ(truncated.find("[json.exception"), std::string::npos) << truncated;
  EXPECT_EQ(failure([] { parse_manifest("[1, 2]"); }), "manifest: the document is an array, not a JSON object");
  EXPECT_EQ(failure([] { parse_manifest("\"manifest\""); }),
            "manifest: the document is \"manifest\", not a JSON object");
  EXPECT_TRUE(failure([] { parse_manifest("{\"schemaVersion\": 2, \"name\": \"\xff\"}"); })
                  .starts_with("manifest: not valid JSON: "));
  // nlohmann reports a number too large for a double as out_of_range, not parse_error.
  EXPECT_EQ(failure([] { parse_manifest("{\"schemaVersion\": 2, \"manifests\": [], \"x\": 1e999}"); }),
            "manifest: not valid JSON: number overflow parsing '1e999'");
  EXPECT_EQ(failure([] { parse_image_config("{\"os\": \"linux\", \"created\": -1e400}"); }),
            "image config: not valid JSON: number overflow parsing '-1e400'");
}

TEST(StorageManifestTest, RefusesDeepNesting) {
  const std::string deep = "{\"schemaVersion\": 2, \"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(failure([&] { parse_manifest(deep); }), "manifest: nested more than 64 levels deep");
  const std::string shallow = "{\"schemaVersion\": 2, \"manifests\": [], \"x\": " + std::string(60, '[') +
                              std::string(60, ']') + "}";
  EXPECT_TRUE(parse_manifest(shallow).index);
}

TEST(StorageManifestTest, RefusesManifestsOverTheCap) {
  std::string body = kDockerManifest;
  body.append(kMaxManifestBytes - body.size(), ' ');
  EXPECT_TRUE(parse_manifest(body).manifest);
  body += ' ';
  EXPECT_EQ(failure([&] { parse_manifest(body); }, Failure::exhausted),
            "manifest: the document is 4393217 bytes, over the 4393216-byte limit");
}

// ---- platforms

TEST(StorageManifestTest, ChoosesThePlatformsEntry) {
  const Index index = nginx_index();
  EXPECT_EQ(choose_platform(index, {"linux", "amd64", ""}).digest.hex,
            "5861314d7fccb39c2192173240eab44fa35ca66426201ca2acd0630a6258dd51");
  EXPECT_EQ(choose_platform(index, {"linux", "arm64", "v8"}).digest.hex,
            "f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265");
  EXPECT_EQ(choose_platform(index, {"linux", "arm64", ""}).digest.hex,
            "f69162950f235e3cdbbad33f1f912d1a504be90d8a37d002c735d6f3e3882265");
  EXPECT_EQ(choose_platform(index, {"linux", "arm", "v7"}).digest.hex,
            "5ba6c8710dd1369ce61603ab9b7a81b25f92d4a9f74956ab72a7ea75884f07ee");
  EXPECT_EQ(choose_platform(index, {"linux", "arm", "v5"}).digest.hex,
            "5b93ff5f5cd53074088b6155e5d584c4606f26fc75be9f3d0ca03a60e8d00d8c");
  EXPECT_EQ(choose_platform(index, {"linux", "386", ""}).digest.hex,
            "15a26c6fa5151c712acc7ee45a1fd525ab85b801f096847c7d5fdf49efeabb4d");
}

TEST(StorageManifestTest, TreatsArm64WithoutVariantAsV8) {
  const Index list = *parse_manifest(kDockerManifestList).index;
  EXPECT_EQ(choose_platform(list, {"linux", "arm64", "v8"}).digest.hex,
            "ca1d602ebcebefb80008811d41f1dbd6f6663c82b120da634905ee93f7f378e2");
  EXPECT_EQ(choose_platform(list, {"linux", "arm64", ""}).digest.hex,
            "ca1d602ebcebefb80008811d41f1dbd6f6663c82b120da634905ee93f7f378e2");
  EXPECT_EQ(choose_platform(list, {"linux", "amd64", ""}).digest.hex,
            "91a15eb56f494814ca5a8b9abd60dbad4bb59ee6613c2dc14cdcdcbdd005b68f");
  EXPECT_EQ(choose_platform(list, {"windows", "amd64", ""}).digest.hex,
            "c345054d2bce82f7b29415681da20cd3538251ec15a2c92eba3b20bd56c5bb6b");
  // Other variants are not interchangeable: arm/v6 cannot run a v7 image.
  EXPECT_EQ(failure([&] { choose_platform(list, {"linux", "arm", "v6"}); }, Failure::not_found),
            "no image for linux/arm/v6 in the index: it offers linux/amd64, linux/arm/v7, linux/arm64, "
            "windows/amd64");
  EXPECT_EQ(failure([&] { choose_platform(list, {"linux", "arm64", "v9"}); }, Failure::not_found),
            "no image for linux/arm64/v9 in the index: it offers linux/amd64, linux/arm/v7, linux/arm64, "
            "windows/amd64");
}

TEST(StorageManifestTest, ListsTheOfferedPlatformsWhenNoneMatches) {
  // Attestation entries (unknown/unknown) are no platform anyone can run.
  EXPECT_EQ(failure([] { choose_platform(nginx_index(), {"linux", "riscv64", ""}); }, Failure::not_found),
            "no image for linux/riscv64 in the index: it offers linux/amd64, linux/arm/v5, linux/arm/v7, "
            "linux/arm64/v8, linux/386, linux/mips64le, linux/ppc64le, linux/s390x");
  EXPECT_EQ(failure([] { choose_platform(nginx_index(), {"freebsd", "amd64", ""}); }, Failure::not_found),
            "no image for freebsd/amd64 in the index: it offers linux/amd64, linux/arm/v5, linux/arm/v7, "
            "linux/arm64/v8, linux/386, linux/mips64le, linux/ppc64le, linux/s390x");
  const Index layout = *parse_manifest(kOciLayoutIndex).index;
  EXPECT_EQ(failure([&] { choose_platform(layout, {"linux", "amd64", ""}); }, Failure::not_found),
            "no image for linux/amd64 in the index: it names no platforms");
}

TEST(StorageManifestTest, HostPlatformUsesGoArchitectureNames) {
  const Platform host = host_platform();
  EXPECT_EQ(host.os, "linux");
  utsname names{};
  ASSERT_EQ(uname(&names), 0);
  const std::string machine = names.machine;
  if (machine == "x86_64") {
    EXPECT_EQ(host.string(), "linux/amd64");
  } else if (machine == "aarch64") {
    EXPECT_EQ(host.string(), "linux/arm64/v8");
  } else if (machine == "armv7l") {
    EXPECT_EQ(host.string(), "linux/arm/v7");
  } else {
    GTEST_SKIP() << "no expectation written for " << machine;
  }
  EXPECT_EQ(Platform({"linux", "arm", "v7"}).string(), "linux/arm/v7");
}

// ---- image configs

TEST(StorageManifestTest, ParsesDockerImageConfig) {
  const ImageConfig config = parse_image_config(kAlpineConfig);
  EXPECT_EQ(config.platform.string(), "linux/amd64");
  ASSERT_EQ(config.diff_ids.size(), 1u);
  EXPECT_EQ(config.diff_ids[0].string(), "sha256:0697c0f434f8672811eb1b52d443d0d4cb616fa58e4d10b25e91471b7f45a665");
  EXPECT_EQ(config.config["Cmd"], json::array({"/bin/sh"}));
  EXPECT_EQ(config.config["WorkingDir"], "/");
  EXPECT_TRUE(config.config["Entrypoint"].is_null());
}

TEST(StorageManifestTest, ParsesOciImageConfigWithVariant) {
  const ImageConfig config = parse_image_config(kOciConfigArmV7);
  EXPECT_EQ(config.platform.os, "linux");
  EXPECT_EQ(config.platform.architecture, "arm");
  EXPECT_EQ(config.platform.variant, "v7");
  ASSERT_EQ(config.diff_ids.size(), 3u);
  EXPECT_EQ(config.diff_ids[2].hex, "03d63cb5ac6da8f21ccf8cb8ee9e410ece553f0bf779d19ac73eb8e9135d5e50");
  EXPECT_EQ(config.config["User"], "65532:65532");
  EXPECT_EQ(config.config["Entrypoint"], json::array({"/app/server"}));
  EXPECT_EQ(config.config["Labels"]["org.opencontainers.image.source"], "https://github.com/example/server");
}

TEST(StorageManifestTest, ConfigWithoutExecutionConfigGetsAnEmptyObject) {
  json document = json::parse(kAlpineConfig);
  document.erase("config");
  EXPECT_EQ(parse_image_config(document.dump()).config, json::object());
  document["config"] = nullptr;
  EXPECT_EQ(parse_image_config(document.dump()).config, json::object());
  document["rootfs"]["diff_ids"] = json::array();
  EXPECT_TRUE(parse_image_config(document.dump()).diff_ids.empty());
}

TEST(StorageManifestTest, RefusesBadImageConfigs) {
  const json base = json::parse(kOciConfigArmV7);
  const auto changed = [&](const std::function<void(json&)>& change) {
    json document = base;
    change(document);
    return config_failure(document);
  };
  EXPECT_EQ(changed([](json& d) { d["rootfs"]["type"] = "snapshot"; }),
            "image config: rootfs.type: must be \"layers\", found \"snapshot\"");
  EXPECT_EQ(changed([](json& d) { d.erase("rootfs"); }), "image config: rootfs: required field missing");
  EXPECT_EQ(changed([](json& d) { d["rootfs"].erase("type"); }), "image config: rootfs.type: required field missing");
  EXPECT_EQ(changed([](json& d) { d["rootfs"].erase("diff_ids"); }),
            "image config: rootfs.diff_ids: required field missing");
  EXPECT_EQ(changed([](json& d) { d["rootfs"]["diff_ids"][1] = "sha256:a9485d17"; }),
            "image config: rootfs.diff_ids[1]: invalid digest \"sha256:a9485d17\"" + kDigestRule);
  EXPECT_EQ(changed([](json& d) { d["rootfs"]["diff_ids"] = "sha256:a9485d17"; }),
            "image config: rootfs.diff_ids: must be an array, found \"sha256:a9485d17\"");
  EXPECT_EQ(changed([](json& d) { d.erase("os"); }), "image config: os: required field missing");
  EXPECT_EQ(changed([](json& d) { d.erase("architecture"); }), "image config: architecture: required field missing");
  EXPECT_EQ(changed([](json& d) { d["variant"] = 7; }), "image config: variant: must be a string, found 7");
  EXPECT_EQ(changed([](json& d) { d["config"] = json::array(); }),
            "image config: config: must be an object, found an array");
  EXPECT_EQ(changed([](json& d) { d["config"]["Env"][1] = 1; }), "image config: config.Env[1]: must be a string, found 1");
  EXPECT_EQ(changed([](json& d) { d["config"]["Cmd"] = "--port 8080"; }),
            "image config: config.Cmd: must be an array, found \"--port 8080\"");
  EXPECT_EQ(changed([](json& d) { d["config"]["WorkingDir"] = json::array({"/app"}); }),
            "image config: config.WorkingDir: must be a string, found an array");
  EXPECT_EQ(changed([](json& d) { d["config"]["Labels"]["version"] = 2; }),
            "image config: config.Labels[\"version\"]: must be a string, found 2");
  EXPECT_TRUE(failure([] { parse_image_config("{\"os\": \"linux\""); }).starts_with("image config: not valid JSON: "));
  EXPECT_EQ(failure([] { parse_image_config("null"); }), "image config: the document is null, not a JSON object");
}

TEST(StorageManifestTest, RefusesConfigsOverTheCap) {
  std::string body = kAlpineConfig;
  body.append(kMaxConfigBytes - body.size(), '\n');
  EXPECT_EQ(parse_image_config(body).platform.architecture, "amd64");
  body += '\n';
  EXPECT_EQ(failure([&] { parse_image_config(body); }, Failure::exhausted),
            "image config: the document is 20971521 bytes, over the 20971520-byte limit");
}

}  // namespace
