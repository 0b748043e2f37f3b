// Decompression bombs (SECURITY-BASELINE 2.3; Docker CVE-2017-14992): layers
// of about a megabyte that gunzip to a gigabyte of zeros, against a store
// whose max_unpacked_bytes is 32 MiB. The unpack must stop at the limit,
// early (not after writing or even inflating the gigabyte), with an error
// naming the limit, and leave nothing behind.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "layer_bombs.hpp"
#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kLimit = 32 * kMiB;

class DecompressionBomb : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { registry_ = std::make_unique<LocalRegistry>(); }
  static void TearDownTestSuite() { registry_.reset(); }

  NodeStore node_{nlohmann::json{{"max_unpacked_bytes", "32Mi"}}};

  CommandResult pull_expecting_failure(const std::string& reference, const std::vector<std::string>& expected) {
    const auto started = std::chrono::steady_clock::now();
    const CommandResult result = node_.pull(reference);
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_NE(result.exit_code, 0) << describe(result);
    EXPECT_NE(result.err.find("pull " + reference + ":"), std::string::npos) << result.err;
    for (const std::string& text : expected) {
      EXPECT_NE(result.err.find(text), std::string::npos) << "expected \"" << text << "\" in:\n" << result.err;
    }
    // Stopping early: inflating a gigabyte alone takes seconds.
    EXPECT_LT(seconds, 30.0);
    return result;
  }

  static std::unique_ptr<LocalRegistry> registry_;
};

std::unique_ptr<LocalRegistry> DecompressionBomb::registry_;

TEST_F(DecompressionBomb, OneFileOfAGigabyteStopsAtItsHeader) {
  const std::string reference = registry_->host() + "/bombs/one-file:v1";
  const PushedImage image = push_layers(reference, [](OciLayout& layout) {
    return std::vector<LayerBlob>{add_zero_file_bomb(layout, kGiB)};
  });
  ASSERT_LT(image.layers.at(0).descriptor.size, 4 * kMiB) << "not much of a bomb";
  pull_expecting_failure(reference, {"layer entry \"zeros\" (" + std::to_string(kGiB) +
                                     " bytes) would bring the unpacked size to more than the limit of " +
                                     std::to_string(kLimit) + " bytes"});
  EXPECT_EQ(node_.what_is_left(), "");
}

TEST_F(DecompressionBomb, ManyFilesAddUpToTheLimit) {
  // 48 files of 1 MiB: each small, together over 32 MiB; the 33rd is refused.
  const std::string reference = registry_->host() + "/bombs/many-files:v1";
  push_layers(reference, [](OciLayout& layout) {
    GzipLayerStream stream;
    for (int i = 0; i < 48; ++i) {
      stream.write(ustar_file_header("zeros-" + std::to_string(i), kMiB));
      stream.write_zeros(kMiB);
    }
    stream.write_zeros(1024);
    return std::vector<LayerBlob>{stream.finish(layout)};
  });
  pull_expecting_failure(reference, {"layer entry \"zeros-32\" (" + std::to_string(kMiB) +
                                     " bytes) would bring the unpacked size to more than the limit of " +
                                     std::to_string(kLimit) + " bytes"});
  EXPECT_EQ(node_.what_is_left(), "");
}

TEST_F(DecompressionBomb, ZerosAfterTheEndOfTheArchiveAreCapped) {
  // Nothing to unpack but a small file; the gigabyte follows the tar's end
  // marker, where it still has to be inflated to check the diff_id.
  const std::string reference = registry_->host() + "/bombs/trailing:v1";
  const PushedImage image = push_layers(reference, [](OciLayout& layout) {
    return std::vector<LayerBlob>{add_trailing_zeros_bomb(layout, kGiB)};
  });
  ASSERT_LT(image.layers.at(0).descriptor.size, 4 * kMiB);
  pull_expecting_failure(reference, {"the layer's uncompressed stream passed",
                                     "the limit of " + std::to_string(kLimit) + " file bytes"});
  EXPECT_EQ(node_.what_is_left(), "");
}

// The limit is per image: two layers of 20 MiB each would pass a per-layer
// check; the file that brings the image past 32 MiB is refused at its
// header, whichever layer unpacks it (they unpack in parallel). A layer that
// finished stays in the store by design (layer_installer.hpp: "layers that
// did finish stay: they are valid and shared"), for garbage collection to
// take; what must not exist is an image record.
TEST_F(DecompressionBomb, TheLimitHoldsForTheWholeImage) {
  const std::string reference = registry_->host() + "/bombs/two-layers:v1";
  push_layers(reference, [](OciLayout& layout) {
    std::vector<LayerBlob> layers;
    for (int i = 0; i < 2; ++i) {
      GzipLayerStream stream;
      stream.write(ustar_file_header("zeros-" + std::to_string(i), 20 * kMiB));
      stream.write_zeros(20 * kMiB + 1024);
      layers.push_back(stream.finish(layout));
    }
    return layers;
  });
  pull_expecting_failure(reference, {" (" + std::to_string(20 * kMiB) +
                                     " bytes) would bring the image's unpacked size to more than the limit of " +
                                     std::to_string(kLimit) + " bytes"});
  EXPECT_EQ(node_.image_records(), std::vector<std::string>{});
  EXPECT_EQ(node_.leftovers(), std::vector<std::string>{});
  const CommandResult listed = node_.image({"ls", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  EXPECT_EQ(nlohmann::json::parse(listed.out), nlohmann::json::array()) << listed.out;
}

}  // namespace
}  // namespace deckhand::test
