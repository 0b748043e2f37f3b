// The agent and `deckhand image` share one store, each with its own instance
// of the plugin: what one process pulls, removes or pulls again must be what
// the other stacks into a root filesystem. The in-process plugin stands for
// the agent here; the staged CLI is the other process.
#include <chrono>

#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using SharedStore = StorageTest;

class SharedStoreWithImages : public SharedStore {
 protected:
  void SetUp() override {
    push_busybox(registry_, scratch("busybox"), "busybox", "1");
    OciLayout layout(scratch("marker"));
    const auto layer = layout.add_layer({TarEntry::file("marker", "marker image\n")});
    push_image(registry_, layout, {layer}, "marker", "1");
    const auto other = layout.add_layer({TarEntry::file("marker", "other image\n")});
    push_image(registry_, layout, {other}, "other", "1");
    busybox_ = registry_.host() + "/busybox:1";
    marker_ = registry_.host() + "/marker:1";
    other_ = registry_.host() + "/other:1";
    const auto pull = image("pull", busybox_);
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    // The "agent" is up and using the store before the next pulls.
    prepare_rootfs("running", busybox_);
  }

  LocalRegistry registry_;
  std::string busybox_, marker_, other_;
};

TEST_F(SharedStoreWithImages, AnImageTheCliPullsLaterCanBeStacked) {
  const auto pull = image("pull", marker_);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  std::string root;
  ASSERT_NO_THROW(root = prepare_rootfs("marker", marker_));
  EXPECT_EQ(read_file(root + "/marker"), "marker image\n");
}

// The layer directory the plugin remembers for the marker image is gone, and
// another image's layer may take its place: the root must still be the
// marker image's.
TEST_F(SharedStoreWithImages, AnImageTheCliRemovesAndPullsAgainCanBeStacked) {
  ASSERT_EQ(image("pull", marker_).exit_code, 0);
  reload_plugin();  // now knows the marker image's layer
  prepare_rootfs("running", busybox_);

  const auto rm = image("rm", marker_);
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  ASSERT_EQ(image("pull", other_).exit_code, 0);
  const auto pull = image("pull", marker_);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  std::string root;
  ASSERT_NO_THROW(root = prepare_rootfs("marker", marker_));
  EXPECT_EQ(read_file(root + "/marker"), "marker image\n");
}

// Each `deckhand image` command loads the plugin afresh; loading it must not
// disturb a pull another process has under way (its unpack directory, its
// blobs being written).
TEST_F(SharedStore, ImageCommandsDuringAPullDoNotBreakIt) {
  LocalRegistry registry;
  OciLayout layout(scratch("layout"));
  std::vector<TarEntry> entries{TarEntry::file("blob", "")};
  entries[0].content = pseudo_random_bytes(96u << 20, 5);
  push_image(registry, layout, {layout.add_layer(entries)}, "big", "1");
  entries.clear();
  const std::string ref = registry.host() + "/big:1";

  ChildProcess pull({staged_deckhand(), "image", "--config", config_path(), "pull", ref}, scratch("pull.out"),
                    scratch("pull.err"));
  int listings = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (pull.running() && std::chrono::steady_clock::now() < deadline) {
    const auto ls = image("ls");
    EXPECT_EQ(ls.exit_code, 0) << ls.err;
    ++listings;
  }
  ASSERT_EQ(pull.wait(std::chrono::seconds(1)), 0) << read_file(scratch("pull.err"));
  EXPECT_GT(listings, 1);
  EXPECT_EQ(image_names(), std::set<std::string>{ref});
}

}  // namespace
}  // namespace deckhand::test
