// An image with one ~200 MiB gzip layer of incompressible data pulls,
// is verified, and unpacks to exactly the bytes that went in.
#include <filesystem>

#include "file_tree.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using LargeLayer = StorageTest;

constexpr std::size_t kLayerBytes = 200u << 20;

TEST_F(LargeLayer, A200MiBLayerPullsAndUnpacksByteForByte) {
  LocalRegistry registry;
  std::string expected_sha;
  {
    OciLayout layout(scratch("layout"));
    std::vector<TarEntry> entries{TarEntry::directory("data"), TarEntry::file("data/blob", "")};
    entries[1].content = pseudo_random_bytes(kLayerBytes, 42);
    expected_sha = bytes_sha256(entries[1].content);
    push_image(registry, layout, {layout.add_layer(entries)}, "large", "1");
  }
  std::filesystem::remove_all(scratch("layout"));  // the registry has its own copy
  const std::string ref = registry.host() + "/large:1";

  const auto pull = image("pull", ref);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("Status: Pulled " + ref + " in "), std::string::npos) << pull.out;
  const auto record = inspect(ref);
  EXPECT_GE(record["size"].get<uint64_t>(), kLayerBytes);  // gzip cannot shrink random bytes
  EXPECT_GE(record["unpacked_size"].get<uint64_t>(), kLayerBytes);

  const std::string root = prepare_rootfs("large", ref);
  EXPECT_EQ(std::filesystem::file_size(root + "/data/blob"), kLayerBytes);
  EXPECT_EQ(file_sha256(root + "/data/blob"), expected_sha);
}

}  // namespace
}  // namespace deckhand::test
