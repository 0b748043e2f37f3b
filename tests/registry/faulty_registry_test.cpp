// Pulls through a fault proxy (fault_proxy.hpp) in front of a real registry:
// connections broken off in the middle of a layer, 5xx answers. A pull must
// get through transient faults (retrying with back-off, resuming a layer
// with a Range request where it broke off) and end with the right files;
// the proxy's log shows that the retry or the resume really happened.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "fault_proxy.hpp"
#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

constexpr std::size_t kPayloadSize = 3u << 20;  // compresses badly: the blob is about as large
constexpr uint32_t kPayloadSeed = 20240607;

class FaultyRegistry : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = std::make_unique<LocalRegistry>();
    std::vector<TarEntry> entries = small_tree("through a faulty network\n");
    entries.push_back(TarEntry::directory("data"));
    entries.push_back(TarEntry::file("data/payload.bin", pseudo_random_bytes(kPayloadSize, kPayloadSeed)));
    image_ = push_image(registry_->host() + "/flaky/app:v1", {entries});
  }
  static void TearDownTestSuite() { registry_.reset(); }

  std::string layer_digest() const { return image_.layers.at(0).descriptor.digest; }
  uint64_t layer_size() const { return image_.layers.at(0).descriptor.size; }

  void expect_right_content(const NodeStore& node) const {
    const auto diff = node.diff_dir_of_blob(layer_digest());
    ASSERT_TRUE(diff.has_value()) << node.what_is_left();
    EXPECT_EQ(read_file(*diff + "/etc/hello"), "through a faulty network\n");
    EXPECT_TRUE(read_file(*diff + "/data/payload.bin") == pseudo_random_bytes(kPayloadSize, kPayloadSeed))
        << "data/payload.bin differs from what was pushed";
    EXPECT_EQ(node.image_records().size(), 1u);
    EXPECT_EQ(node.leftovers(), std::vector<std::string>{});
  }

  static std::unique_ptr<LocalRegistry> registry_;
  static PushedImage image_;
  FaultProxy proxy_{registry_->port()};
  std::string reference_ = proxy_.address() + "/flaky/app:v1";
};

std::unique_ptr<LocalRegistry> FaultyRegistry::registry_;
PushedImage FaultyRegistry::image_;

TEST_F(FaultyRegistry, ALayerBrokenOffMidwayResumesWithARangeRequest) {
  ASSERT_GT(layer_size(), 2u << 20);
  constexpr std::size_t kCut = 1u << 20;
  // Headers and 1 MiB arrive, the connection hangs a moment, then drops.
  proxy_.cut("/blobs/" + layer_digest(), kCut, 1, std::chrono::milliseconds(1500));
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_EQ(result.exit_code, 0) << describe(result);

  const auto blob_requests = proxy_.requests_for("/blobs/" + layer_digest());
  ASSERT_EQ(blob_requests.size(), 2u);
  EXPECT_EQ(blob_requests[0].action, "cut");
  EXPECT_EQ(blob_requests[0].range, "");
  EXPECT_EQ(blob_requests[1].action, "forward");
  EXPECT_EQ(blob_requests[1].range, "bytes=" + std::to_string(kCut) + "-");
  EXPECT_EQ(blob_requests[1].status, 206);
  expect_right_content(node);
}

TEST_F(FaultyRegistry, ALayerBrokenOffBeforeTheClientLooksIsFetchedAgain) {
  // The cut comes at once: the transfer may already have failed when the
  // client has only just read the headers. Whether it resumes or starts
  // over, the pull must succeed with the right files.
  proxy_.cut("/blobs/" + layer_digest(), 64 * 1024, 1);
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const auto blob_requests = proxy_.requests_for("/blobs/" + layer_digest());
  ASSERT_EQ(blob_requests.size(), 2u);
  EXPECT_EQ(blob_requests[0].action, "cut");
  EXPECT_EQ(blob_requests[1].action, "forward");
  expect_right_content(node);
}

TEST_F(FaultyRegistry, AManifestBrokenOffMidwayIsFetchedAgain) {
  proxy_.cut("/manifests/v1", 100, 1, std::chrono::milliseconds(500));
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const auto manifest_requests = proxy_.requests_for("/manifests/v1");
  ASSERT_EQ(manifest_requests.size(), 2u);
  EXPECT_EQ(manifest_requests[0].action, "cut");
  EXPECT_EQ(manifest_requests[1].action, "forward");
  expect_right_content(node);
}

TEST_F(FaultyRegistry, AConfigBrokenOffMidwayIsFetchedAgain) {
  ASSERT_GT(image_.config.size, 100u);
  proxy_.cut("/blobs/" + image_.config.digest, 50, 1, std::chrono::milliseconds(500));
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const auto config_requests = proxy_.requests_for("/blobs/" + image_.config.digest);
  ASSERT_EQ(config_requests.size(), 2u);
  EXPECT_EQ(config_requests[0].action, "cut");
  EXPECT_EQ(config_requests[1].action, "forward");
  expect_right_content(node);
}

TEST_F(FaultyRegistry, ServerErrorsAreRetried) {
  proxy_.fail("/manifests/v1", 2, 500);
  proxy_.fail("/blobs/" + layer_digest(), 1, 503);
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_EQ(result.exit_code, 0) << describe(result);

  const auto manifest_requests = proxy_.requests_for("/manifests/v1");
  ASSERT_EQ(manifest_requests.size(), 3u);
  EXPECT_EQ(manifest_requests[0].status, 500);
  EXPECT_EQ(manifest_requests[1].status, 500);
  EXPECT_EQ(manifest_requests[2].status, 200);
  const auto blob_requests = proxy_.requests_for("/blobs/" + layer_digest());
  ASSERT_EQ(blob_requests.size(), 2u);
  EXPECT_EQ(blob_requests[0].status, 503);
  EXPECT_EQ(blob_requests[1].status, 200);
  EXPECT_EQ(blob_requests[1].range, "");
  expect_right_content(node);
}

TEST_F(FaultyRegistry, APersistentServerErrorFailsAfterTheRetries) {
  proxy_.fail("/manifests/v1", -1, 500);
  NodeStore node;
  const auto started = std::chrono::steady_clock::now();
  const CommandResult result = node.pull(reference_);
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("/v2/flaky/app/manifests/v1: 500"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("injected by the test's fault proxy"), std::string::npos) << result.err;
  // 5 attempts with back-off between them (0.4 + 0.8 + 1.6 + 3.2 s).
  EXPECT_EQ(proxy_.requests_for("/manifests/v1").size(), 5u);
  EXPECT_GE(took, std::chrono::seconds(5));
  EXPECT_EQ(node.what_is_left(), "");
}

TEST_F(FaultyRegistry, NotFoundIsNotRetried) {
  NodeStore node;
  const CommandResult result = node.pull(proxy_.address() + "/flaky/app:no-such-tag");
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("/v2/flaky/app/manifests/no-such-tag: 404"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("MANIFEST_UNKNOWN"), std::string::npos) << result.err;
  EXPECT_EQ(proxy_.requests_for("/manifests/no-such-tag").size(), 1u);
  EXPECT_EQ(node.what_is_left(), "");
}

}  // namespace
}  // namespace deckhand::test
