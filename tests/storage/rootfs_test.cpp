// Container root filesystems of a pulled image: containers share the image's
// unpacked layers as overlay lower directories, each writes to its own upper
// directory, and a read-only root refuses writes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "overlay_mounts.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using RootFilesystem = StorageTest;

std::optional<OverlayMount> mount_at(const std::string& store, const std::string& merged) {
  for (const auto& mount : overlay_mounts_under(store)) {
    if (mount.mount_point == merged) return mount;
  }
  return std::nullopt;
}

// errno of creating `path`, 0 if it worked.
int create_error(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

class RootFilesystemOfBusybox : public RootFilesystem {
 protected:
  void SetUp() override {
    push_busybox(registry_, scratch("layout"), "busybox", "1");
    ref_ = registry_.host() + "/busybox:1";
    const auto pull = image("pull", ref_);
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
  }

  LocalRegistry registry_;
  std::string ref_;
};

TEST_F(RootFilesystemOfBusybox, TwoContainersShareTheLowerLayersAndNotTheirWrites) {
  const std::string first = prepare_rootfs("first", ref_);
  const std::string second = prepare_rootfs("second", ref_);
  ASSERT_NE(first, second);

  const auto first_mount = mount_at(store_root(), first);
  const auto second_mount = mount_at(store_root(), second);
  ASSERT_TRUE(first_mount && second_mount) << "no overlay mounted at " << first << " or " << second;
  ASSERT_EQ(first_mount->lower_dirs.size(), 1u);
  EXPECT_EQ(first_mount->lower_dirs, second_mount->lower_dirs);
  EXPECT_EQ(first_mount->lower_dirs[0].rfind(store_root() + "/layers/", 0), 0u) << first_mount->lower_dirs[0];
  EXPECT_NE(first_mount->upper_dir, second_mount->upper_dir);
  const std::string lower = first_mount->lower_dirs[0];

  write_file(first + "/tmp/written-by-first", "first\n");
  ASSERT_EQ(::unlink((second + "/etc/group").c_str()), 0);
  write_file(second + "/etc/passwd", "changed by second\n");

  EXPECT_EQ(read_file(first + "/tmp/written-by-first"), "first\n");
  EXPECT_FALSE(std::filesystem::exists(second + "/tmp/written-by-first"));
  EXPECT_EQ(read_file(first + "/etc/group"), "root:x:0:\n");
  EXPECT_EQ(read_file(first + "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_FALSE(std::filesystem::exists(second + "/etc/group"));
  // The shared layer itself is untouched.
  EXPECT_FALSE(std::filesystem::exists(lower + "/tmp/written-by-first"));
  EXPECT_EQ(read_file(lower + "/etc/group"), "root:x:0:\n");
  EXPECT_EQ(read_file(lower + "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");

  // A third container starts from the image again.
  const std::string third = prepare_rootfs("third", ref_);
  EXPECT_EQ(read_file(third + "/etc/group"), "root:x:0:\n");
  EXPECT_FALSE(std::filesystem::exists(third + "/tmp/written-by-first"));

  release_rootfs("second");
  EXPECT_FALSE(mount_at(store_root(), second));
  EXPECT_EQ(read_file(first + "/tmp/written-by-first"), "first\n");
}

TEST_F(RootFilesystemOfBusybox, AReadOnlyRootRefusesWritesWithEROFS) {
  const std::string root = prepare_rootfs("readonly", ref_, true);
  const auto mount = mount_at(store_root(), root);
  ASSERT_TRUE(mount) << "no overlay mounted at " << root;
  EXPECT_TRUE(mount->readonly);

  EXPECT_EQ(create_error(root + "/tmp/new"), EROFS);
  EXPECT_EQ(create_error(root + "/etc/passwd"), EROFS);
  EXPECT_EQ(::mkdir((root + "/newdir").c_str(), 0755), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(::unlink((root + "/etc/group").c_str()), -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(read_file(root + "/etc/group"), "root:x:0:\n");

  // A writable root of the same image beside it can write.
  const std::string writable = prepare_rootfs("writable", ref_);
  EXPECT_EQ(create_error(writable + "/tmp/new"), 0);
  EXPECT_FALSE(std::filesystem::exists(root + "/tmp/new"));
}

TEST_F(RootFilesystemOfBusybox, AnAbsentImageIsRefusedWithAHintToPullIt) {
  try {
    prepare_rootfs("absent", registry_.host() + "/other:1");
    FAIL() << "prepare_rootfs of an absent image succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("image \"" + registry_.host() + "/other:1\" is not present on this node: pull it first"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(overlay_mounts_under(store_root()).empty());
}

}  // namespace
}  // namespace deckhand::test
