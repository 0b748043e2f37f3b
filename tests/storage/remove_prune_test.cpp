// `deckhand image rm` and `deckhand image prune` free the store: the
// removed image's layers and blobs go, an image a container uses stays.
#include <filesystem>

#include "file_tree.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using RemoveAndPrune = StorageTest;

constexpr std::size_t kBigFile = 4 << 20;

std::size_t entries_in(const std::string& dir) {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++count;
  return count;
}

class RemoveAndPruneTwoImages : public RemoveAndPrune {
 protected:
  void SetUp() override {
    push_busybox(registry_, scratch("busybox"), "busybox", "1");
    OciLayout layout(scratch("big"));
    const auto layer = layout.add_layer({TarEntry::file("big", pseudo_random_bytes(kBigFile, 11))});
    push_image(registry_, layout, {layer}, "big", "1");
    busybox_ = registry_.host() + "/busybox:1";
    big_ = registry_.host() + "/big:1";
    ASSERT_EQ(image("pull", busybox_).exit_code, 0);
    ASSERT_EQ(image("pull", big_).exit_code, 0);
  }

  LocalRegistry registry_;
  std::string busybox_, big_;
};

TEST_F(RemoveAndPruneTwoImages, RmUntagsTheImageAndFreesItsLayer) {
  const uint64_t before = tree_bytes(store_root());
  const std::size_t layers_before = entries_in(store_root() + "/layers");

  const auto rm = image("rm", big_);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "Untagged: " + big_ + "\n");

  EXPECT_EQ(image_names(), std::set<std::string>{busybox_});
  EXPECT_EQ(entries_in(store_root() + "/layers"), layers_before - 1);
  const uint64_t after = tree_bytes(store_root());
  EXPECT_GE(before - after, kBigFile) << "before " << before << ", after " << after;

  const auto again = image("rm", big_);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "error: image \"" + big_ + "\" is not present on this node\n");
}

TEST_F(RemoveAndPruneTwoImages, AnImageInUseIsKeptByRmAndPruneUntilReleased) {
  prepare_rootfs("user", busybox_);

  const auto rm = image("rm", busybox_);
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_NE(rm.err.find("is used by a container: remove the container first (or force)"), std::string::npos)
      << rm.err;

  const uint64_t before = tree_bytes(store_root());
  const auto prune = image("prune");
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_EQ(prune.out.rfind("Deleted: " + big_ + "\nTotal reclaimed space: ", 0), 0u) << prune.out;
  EXPECT_EQ(image_names(), std::set<std::string>{busybox_});
  EXPECT_GE(before - tree_bytes(store_root()), kBigFile);

  release_rootfs("user");
  const auto last = image("prune");
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(last.out.rfind("Deleted: " + busybox_ + "\nTotal reclaimed space: ", 0), 0u) << last.out;
  EXPECT_TRUE(list_images().empty());
  EXPECT_EQ(entries_in(store_root() + "/layers"), 0u);
  EXPECT_EQ(tree_bytes(store_root() + "/layers"), 0u);
  EXPECT_EQ(tree_bytes(store_root() + "/content"), 0u);
}

TEST_F(RemoveAndPruneTwoImages, PruneOfAStoreInUseByNothingEmptiesIt) {
  const uint64_t before = tree_bytes(store_root());
  ASSERT_GE(before, kBigFile + std::filesystem::file_size("/usr/bin/busybox"));
  const auto prune = image("prune");
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_NE(prune.out.find("Deleted: " + big_ + "\n"), std::string::npos) << prune.out;
  EXPECT_NE(prune.out.find("Deleted: " + busybox_ + "\n"), std::string::npos) << prune.out;
  EXPECT_TRUE(list_images().empty());
  EXPECT_EQ(entries_in(store_root() + "/layers"), 0u);
  EXPECT_LT(tree_bytes(store_root()), 64u * 1024) << "left after prune";
}

}  // namespace
}  // namespace deckhand::test
