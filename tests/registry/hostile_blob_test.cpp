// A registry that serves the wrong bytes (SECURITY-BASELINE 2.4): blobs and
// manifests edited in the registry's storage after the push (the registry
// serves stored data as it is), so the pull meets content that does not
// match the digest it asked for, or has the wrong length. Each pull must fail
// saying which blob or manifest is wrong and how, and leave nothing behind:
// content is verified before it is committed (4.6).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

class HostileBlob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { registry_ = std::make_unique<LocalRegistry>(); }
  static void TearDownTestSuite() { registry_.reset(); }

  // A repository and content of its own per test: the registry keeps one
  // copy of a blob for all repositories, so an edit must not meet another test.
  PushedImage push(const std::string& repository) {
    std::vector<TarEntry> entries = small_tree("to be tampered with in " + repository + "\n");
    entries.push_back(TarEntry::file("data.bin", pseudo_random_bytes(256 * 1024, 7)));
    return push_image(registry_->host() + "/" + repository + ":v1", {entries});
  }

  static std::unique_ptr<LocalRegistry> registry_;
};

std::unique_ptr<LocalRegistry> HostileBlob::registry_;

// Same length, valid gzip, same uncompressed tar: only the blob digest can
// tell. (Bytes 4-7 of a gzip header are its MTIME, which no checksum covers.)
TEST_F(HostileBlob, ALayerWhoseDigestDoesNotMatchIsRefused) {
  const PushedImage image = push("tampered/layer");
  const Descriptor& layer = image.layers.at(0).descriptor;
  const std::string path = registry_->blob_data_path(layer.digest);
  std::string data = read_file(path);
  ASSERT_EQ(data.size(), layer.size);
  ASSERT_EQ(static_cast<unsigned char>(data[0]), 0x1f);
  ASSERT_EQ(static_cast<unsigned char>(data[1]), 0x8b);
  for (int i = 4; i < 8; ++i) data[i] = static_cast<char>(data[i] ^ 0x5a);
  write_file(path, data);

  NodeStore node;
  expect_failed_pull(node, image.reference, {"blob " + layer.digest + " does not match its digest"});
}

TEST_F(HostileBlob, AConfigWhoseDigestDoesNotMatchIsRefused) {
  const PushedImage image = push("tampered/config");
  const std::string path = registry_->blob_data_path(image.config.digest);
  std::string data = read_file(path);
  const auto at = data.find("\"linux\"");
  ASSERT_NE(at, std::string::npos) << data;
  data.replace(at, 7, "\"LINUX\"");
  write_file(path, data);

  NodeStore node;
  expect_failed_pull(node, image.reference, {"blob " + image.config.digest + " does not match its digest"});
}

TEST_F(HostileBlob, ATruncatedLayerIsRefused) {
  const PushedImage image = push("tampered/truncated");
  const Descriptor& layer = image.layers.at(0).descriptor;
  const uint64_t half = layer.size / 2;
  std::filesystem::resize_file(registry_->blob_data_path(layer.digest), half);

  NodeStore node;
  expect_failed_pull(node, image.reference,
                 {"blob " + layer.digest + " is truncated: the registry sent " + std::to_string(half) + " of its " +
                  std::to_string(layer.size) + " bytes"});
}

TEST_F(HostileBlob, ALayerWithExtraBytesIsRefused) {
  const PushedImage image = push("tampered/extended");
  const Descriptor& layer = image.layers.at(0).descriptor;
  const std::string path = registry_->blob_data_path(layer.digest);
  write_file(path, read_file(path) + std::string(4096, 'x'));

  NodeStore node;
  expect_failed_pull(node, image.reference,
                 {"blob " + layer.digest + ": the registry sent more than its " + std::to_string(layer.size) + " bytes"});
}

// The manifest edited in place: pulled by tag, it no longer matches the
// digest the registry announces (Docker-Content-Digest); pulled by digest,
// it does not match the digest asked for.
TEST_F(HostileBlob, AManifestWhoseDigestDoesNotMatchIsRefused) {
  const PushedImage image = push("tampered/manifest");
  const std::string path = registry_->blob_data_path(image.manifest.digest);
  std::string data = read_file(path);
  // One hex digit of the layer's digest: another layer, same length.
  const std::string layer_hex = image.layers.at(0).descriptor.digest.substr(7);
  const auto at = data.find(layer_hex);
  ASSERT_NE(at, std::string::npos) << data;
  data[at] = data[at] == '0' ? '1' : '0';
  write_file(path, data);

  NodeStore node;
  expect_failed_pull(node, image.reference,
                 {"the manifest's digest is sha256:", "not " + image.manifest.digest + " as the registry announced"});
  const std::string by_digest = registry_->host() + "/tampered/manifest@" + image.manifest.digest;
  expect_failed_pull(node, by_digest, {"the manifest's digest is sha256:", "not " + image.manifest.digest + " as requested"});
}

}  // namespace
}  // namespace deckhand::test
