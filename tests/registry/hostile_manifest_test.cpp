// Manifests a real docker-registry will not serve, answered by the fault
// proxy in its place (docker-registry 2.8 refuses to store a manifest over
// 4 MiB and to read one back over 4 MiB, both below the plugin's limit of
// 4*1048*1048 bytes, so a manifest over that limit needs a registry that
// misbehaves): a manifest over the limit, announced by Content-Length or
// sent chunked with no length; Docker schema 1 manifests. Each pull must
// fail naming the problem and leave nothing behind.
#include <gtest/gtest.h>

#include <memory>

#include "fault_proxy.hpp"
#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

constexpr std::size_t kPluginManifestLimit = 4 * 1048 * 1048;  // manifest.hpp kMaxManifestBytes

class HostileManifest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = std::make_unique<LocalRegistry>();
    image_ = push_image(registry_->host() + "/manifests/app:v1", {small_tree()});
  }
  static void TearDownTestSuite() { registry_.reset(); }

  // The pushed manifest with an annotation that makes it `size` bytes or a little more.
  std::string oversized_manifest(std::size_t size) const {
    auto manifest = nlohmann::json::parse(read_file(registry_->blob_data_path(image_.manifest.digest)));
    manifest["annotations"]["org.example.padding"] = std::string(size, 'a');
    return manifest.dump();
  }

  static std::unique_ptr<LocalRegistry> registry_;
  static PushedImage image_;
  FaultProxy proxy_{registry_->port()};
};

std::unique_ptr<LocalRegistry> HostileManifest::registry_;
PushedImage HostileManifest::image_;

TEST_F(HostileManifest, OverTheSizeLimitWithContentLengthIsRefused) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
  reply.body = oversized_manifest(kPluginManifestLimit + 100'000);
  proxy_.replace("/manifests/oversized", reply);
  NodeStore node;
  expect_failed_pull(node, proxy_.address() + "/manifests/app:oversized",
                 {"the manifest is " + std::to_string(reply.body.size()) + " bytes, more than the limit of " +
                  std::to_string(kPluginManifestLimit)});
}

TEST_F(HostileManifest, OverTheSizeLimitWithoutALengthIsRefused) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
  reply.body = oversized_manifest(kPluginManifestLimit + 100'000);
  reply.chunked = true;
  proxy_.replace("/manifests/chunked", reply);
  NodeStore node;
  expect_failed_pull(node, proxy_.address() + "/manifests/app:chunked",
                 {"/v2/manifests/app/manifests/chunked: the response is larger than " +
                  std::to_string(kPluginManifestLimit) + " bytes"});
}

// For contrast: the same manifest at exactly the limit is accepted (the
// padding is an ordinary annotation), and it is larger than what
// docker-registry itself would serve.
TEST_F(HostileManifest, ExactlyAtTheSizeLimitIsAccepted) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}};
  const std::size_t overhead = oversized_manifest(0).size();
  reply.body = oversized_manifest(kPluginManifestLimit - overhead);
  ASSERT_EQ(reply.body.size(), kPluginManifestLimit);
  ASSERT_GT(reply.body.size(), 4u << 20);
  proxy_.replace("/manifests/large", reply);
  NodeStore node;
  const CommandResult result = node.pull(proxy_.address() + "/manifests/app:large");
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(node.image_records().size(), 1u);
}

const char* const kSchema1Manifest = R"({
   "schemaVersion": 1,
   "name": "manifests/app",
   "tag": "old",
   "architecture": "amd64",
   "fsLayers": [
      {"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}
   ],
   "history": [
      {"v1Compatibility": "{\"id\":\"e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5\",\"os\":\"linux\"}"}
   ],
   "signatures": [
      {
         "header": {
            "jwk": {"crv": "P-256", "kid": "OD6I:6DRK:JXEJ:KBM4:255X:NSAA:MUSF:E4VM:ZI6W:CUN2:L4Z6:LSF4",
                    "kty": "EC", "x": "3gAwX48IQ5oaYQAYSxor6rYYc_6yjuLCjtQ9LUakg4A",
                    "y": "t72ge6kIA1XOjqjVoEOiPPAURltJFBMGDSQvEGVB010"},
            "alg": "ES256"
         },
         "signature": "XREm0L8WNn27Ga_iE_vRnTxVMhhYY0Zst_FfkKopg6gWSoTOZTuW4rK0fg_IqnKkEKlbD83tD46LKEGi5aIVFg",
         "protected": "eyJmb3JtYXRMZW5ndGgiOjY2MjgsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1lIjoiMjAxNS0wNC0wOFQxODo1Mjo1OVoifQ"
      }
   ]
})";

TEST_F(HostileManifest, DockerSchema1IsRefusedByContentType) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"}};
  reply.body = kSchema1Manifest;
  proxy_.replace("/manifests/old", reply);
  NodeStore node;
  expect_failed_pull(node, proxy_.address() + "/manifests/app:old",
                 {"uses Docker image manifest schema 1, which deckhand does not support"});
}

TEST_F(HostileManifest, DockerSchema1IsRefusedByItsSchemaVersion) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = kSchema1Manifest;
  proxy_.replace("/manifests/old-json", reply);
  NodeStore node;
  expect_failed_pull(node, proxy_.address() + "/manifests/app:old-json",
                 {"uses Docker image manifest schema 1, which deckhand does not support"});
}

}  // namespace
}  // namespace deckhand::test
