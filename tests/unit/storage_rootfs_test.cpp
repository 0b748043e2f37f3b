// Container root filesystems: overlays of hand-made layers (with whiteouts
// and opaque directories) by each method, their isolation, read-only mounts,
// layer chains beyond the classic one-page option limit, idempotence,
// refusals, and cleanup that leaves nothing mounted and nothing on disk.
// Needs root (mounts); skipped otherwise.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rootfs_mount.hpp"
#include "rootfs_overlay.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

namespace fs = std::filesystem;

// Mount points at or below `prefix`, from /proc/self/mountinfo (octal escapes
// such as \040 undone).
std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> found;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, escaped;
    fields >> id >> parent >> device >> root >> escaped;
    std::string point;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 3 < escaped.size()) {
        point += static_cast<char>(std::stoi(escaped.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        point += escaped[i];
      }
    }
    if (point == prefix || point.rfind(prefix + "/", 0) == 0) found.push_back(point);
  }
  return found;
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// errno of creating (or truncating) `path` and writing to it; 0 on success.
int try_write(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  const ssize_t written = ::write(fd, content.data(), content.size());
  const int error = written == static_cast<ssize_t>(content.size()) ? 0 : errno;
  ::close(fd);
  return error;
}

// An overlay whiteout: a character device 0/0 hides the name below it.
void make_whiteout(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0000, makedev(0, 0)), 0) << path << ": " << std::strerror(errno);
}

// An opaque directory hides everything below it in lower layers.
void make_opaque(const std::string& directory) {
  fs::create_directories(directory);
  ASSERT_EQ(::setxattr(directory.c_str(), "trusted.overlay.opaque", "y", 1, 0), 0) << std::strerror(errno);
}

// FS_IOC_SETFLAGS and its flags, spelled out: <linux/fs.h> would bring
// <linux/mount.h> in beside <sys/mount.h>. These values are kernel ABI.
constexpr unsigned long kSetInodeFlags = _IOW('f', 2, long);
constexpr int kImmutableFlag = 0x10;
constexpr int kAppendOnlyFlag = 0x20;

void set_inode_flags(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(::ioctl(fd, kSetInodeFlags, &flags), 0) << path << ": " << std::strerror(errno);
  ::close(fd);
}

bool is_whiteout(const std::string& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0 && S_ISCHR(status.st_mode) && status.st_rdev == makedev(0, 0);
}

// Every path below `directory`, relative to it, symlinks not followed.
std::set<std::string> tree_of(const std::string& directory) {
  std::set<std::string> names;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(directory)) {
    names.insert(fs::relative(entry.path(), directory).string());
  }
  return names;
}

std::string method_label(OverlayMethod method) {
  switch (method) {
    case OverlayMethod::lowerdir_plus:
      return "LowerdirPlus";
    case OverlayMethod::relative_paths:
      return "RelativePaths";
    case OverlayMethod::automatic:
      break;
  }
  return "Automatic";
}

// The method a prepare used, as its record says.
std::string recorded_method(const std::string& root, const std::string& container_id) {
  const std::string record = read_file(root + "/" + container_id + "/rootfs.json");
  const std::size_t key = record.find("\"method\":\"");
  if (key == std::string::npos) return "";
  const std::size_t start = key + 10;
  return record.substr(start, record.find('"', start) - start);
}

// A private temporary directory, with layers/ for hand-made layers and
// containers/ as the RootfsManager root. Afterwards nothing may be mounted
// below it; it is unmounted and removed whatever a test left.
class RootfsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount overlays";
    char pattern[] = "/tmp/deckhand-rootfs-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    temp_ = pattern;
    layers_ = temp_ + "/layers";
    root_ = temp_ + "/containers";
    fs::create_directories(layers_);
  }

  void TearDown() override {
    if (temp_.empty()) return;
    EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{}) << "a test left mounts behind";
    std::vector<std::string> leftovers = mounts_under(temp_);
    std::sort(leftovers.rbegin(), leftovers.rend());  // deepest first
    for (const std::string& point : leftovers) ::umount2(point.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(temp_, ignored);
  }

  // Three layers, bottom first: base files; a middle layer that overrides
  // os-release, whites out etc/gone and makes data/ opaque; a top layer.
  std::vector<std::string> make_three_layers() {
    const std::string bottom = layers_ + "/bottom", middle = layers_ + "/middle", top = layers_ + "/top";
    write_file(bottom + "/etc/os-release", "base");
    write_file(bottom + "/etc/gone", "should be hidden");
    write_file(bottom + "/data/old", "should be hidden");
    write_file(middle + "/etc/os-release", "middle");
    make_whiteout(middle + "/etc/gone");
    make_opaque(middle + "/data");
    write_file(middle + "/data/new", "new");
    write_file(top + "/etc/os-release", "top");
    write_file(top + "/bin/sh", "shell");
    return {bottom, middle, top};
  }

  std::string temp_, layers_, root_;
};

class StorageRootfsTest : public RootfsFixture {};

class StorageRootfsMethodTest : public RootfsFixture, public ::testing::WithParamInterface<OverlayMethod> {
 protected:
  RootfsManager manager() const { return RootfsManager(root_, GetParam()); }
};

TEST_P(StorageRootfsMethodTest, MergedViewHonoursLayerOrderWhiteoutsAndOpaqueDirectories) {
  RootfsManager rootfs = manager();
  const std::string merged = rootfs.prepare("c1", make_three_layers(), false);
  EXPECT_EQ(merged, root_ + "/c1/merged");
  EXPECT_EQ(tree_of(merged), (std::set<std::string>{"bin", "bin/sh", "data", "data/new", "etc", "etc/os-release"}));
  EXPECT_EQ(read_file(merged + "/etc/os-release"), "top");
  EXPECT_EQ(read_file(merged + "/data/new"), "new");
  if (GetParam() != OverlayMethod::automatic) {
    EXPECT_EQ(recorded_method(root_, "c1"), overlay_method_name(GetParam()));
  }
  rootfs.release("c1");
}

TEST_P(StorageRootfsMethodTest, WritesLandInTheUpperDirectoryOnly) {
  RootfsManager rootfs = manager();
  const std::vector<std::string> lowers = make_three_layers();
  const std::string merged = rootfs.prepare("writer", lowers, false);
  ASSERT_EQ(try_write(merged + "/etc/os-release", "changed"), 0);
  ASSERT_EQ(try_write(merged + "/created", "fresh"), 0);
  ASSERT_EQ(::unlink((merged + "/bin/sh").c_str()), 0);

  const std::string upper = root_ + "/writer/upper";
  EXPECT_EQ(read_file(upper + "/etc/os-release"), "changed");
  EXPECT_EQ(read_file(upper + "/created"), "fresh");
  EXPECT_TRUE(is_whiteout(upper + "/bin/sh")) << "a deletion is a whiteout in upper";
  EXPECT_EQ(read_file(lowers[2] + "/etc/os-release"), "top");
  EXPECT_EQ(read_file(lowers[2] + "/bin/sh"), "shell");
  EXPECT_FALSE(fs::exists(lowers[2] + "/created"));
  EXPECT_FALSE(fs::exists(merged + "/bin/sh"));
  rootfs.release("writer");
}

TEST_P(StorageRootfsMethodTest, ContainersOnTheSameLayersDoNotSeeEachOthersWrites) {
  RootfsManager rootfs = manager();
  const std::vector<std::string> lowers = make_three_layers();
  const std::string first = rootfs.prepare("first", lowers, false);
  const std::string second = rootfs.prepare("second", lowers, false);
  ASSERT_EQ(try_write(first + "/etc/os-release", "first's"), 0);
  ASSERT_EQ(try_write(first + "/only-first", "1"), 0);
  ASSERT_EQ(::unlink((second + "/data/new").c_str()), 0);

  EXPECT_EQ(read_file(second + "/etc/os-release"), "top");
  EXPECT_FALSE(fs::exists(second + "/only-first"));
  EXPECT_TRUE(fs::exists(first + "/data/new"));
  EXPECT_FALSE(fs::exists(second + "/data/new"));
  rootfs.release("first");
  rootfs.release("second");
}

TEST_P(StorageRootfsMethodTest, ReadonlyRootRefusesWrites) {
  RootfsManager rootfs = manager();
  const std::string merged = rootfs.prepare("ro", make_three_layers(), true);
  EXPECT_EQ(read_file(merged + "/etc/os-release"), "top");
  EXPECT_EQ(try_write(merged + "/etc/os-release", "x"), EROFS);
  EXPECT_EQ(try_write(merged + "/new-file", "x"), EROFS);
  EXPECT_NE(::mkdir((merged + "/new-dir").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_EQ(tree_of(root_ + "/ro/upper"), std::set<std::string>{});
  ASSERT_EQ(rootfs.list().size(), 1u);
  EXPECT_TRUE(rootfs.list()[0].readonly);
  rootfs.release("ro");
}

// 150 layers whose absolute names alone take ~30 KB of options: lowerdir+
// has no limit, and relative to their parent the names are short.
TEST_P(StorageRootfsMethodTest, AChainOf150LayersWithLongPathsMounts) {
  std::string base = layers_;
  for (char letter : {'a', 'b', 'c'}) base += "/" + std::string(60, letter);
  std::vector<std::string> lowers;
  std::size_t absolute_bytes = 0;
  for (int i = 0; i < 150; ++i) {
    const std::string layer = base + "/layer" + std::to_string(i);
    write_file(layer + "/from/" + std::to_string(i), std::to_string(i));
    write_file(layer + "/winner", std::to_string(i));
    lowers.push_back(layer);
    absolute_bytes += layer.size() + 1;
  }
  ASSERT_GT(absolute_bytes, 4096u) << "the chain must not fit the classic options with absolute paths";

  RootfsManager rootfs = manager();
  const std::string merged = rootfs.prepare("tall", lowers, false);
  EXPECT_EQ(read_file(merged + "/winner"), "149") << "the last layer given is the top one";
  std::size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(merged + "/from")) {
    EXPECT_TRUE(entry.is_regular_file());
    ++files;
  }
  EXPECT_EQ(files, 150u);
  rootfs.release("tall");
}

TEST_P(StorageRootfsMethodTest, ReleaseUnmountsAndRemovesWhateverTheContainerWrote) {
  RootfsManager rootfs = manager();
  const std::string outside = temp_ + "/outside";
  write_file(outside + "/precious", "keep me");
  const std::string merged = rootfs.prepare("messy", make_three_layers(), false);

  // An unreadable directory holding a read-only one and a device node;
  // symlinks out of the tree; an immutable file and an append-only
  // directory (which stop even root's unlink).
  fs::create_directories(merged + "/locked/inner");
  write_file(merged + "/locked/inner/file", "x");
  ASSERT_EQ(::mknod((merged + "/locked/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod((merged + "/locked/inner").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((merged + "/locked").c_str(), 0), 0);
  fs::create_symlink(outside, merged + "/escape");
  fs::create_symlink(outside + "/precious", merged + "/escape-file");
  write_file(merged + "/immutable", "x");
  write_file(merged + "/append-only/file", "x");
  // Set on the upper directory's files (ext4) rather than through the
  // overlay: overlayfs answers EOPNOTSUPP for these flags when it mounted
  // without xattr support on the upper, which happened once in CI.
  const std::string upper = root_ + "/messy/upper";
  set_inode_flags(upper + "/immutable", kImmutableFlag);
  set_inode_flags(upper + "/append-only", kAppendOnlyFlag);
  ASSERT_NE(::unlink((merged + "/immutable").c_str()), 0) << "the flag must stand in the way";
  // A tree whose path is longer than PATH_MAX and deeper than the open file
  // limit release runs with.
  int fd = ::open(merged.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string long_name(200, 'd');
  for (int depth = 0; depth < 80 && fd >= 0; ++depth) {
    ASSERT_EQ(::mkdirat(fd, long_name.c_str(), 0755), 0);
    const int next = ::openat(fd, long_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(fd);
    fd = next;
  }
  ASSERT_GE(fd, 0);
  ::close(fd);

  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  rlimit few = files;
  few.rlim_cur = 40;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
  try {
    rootfs.release("messy");
  } catch (const StorageError& error) {
    ADD_FAILURE() << error.what();
  }
  ::setrlimit(RLIMIT_NOFILE, &files);
  EXPECT_FALSE(fs::exists(root_ + "/messy"));
  EXPECT_EQ(mounts_under(root_), std::vector<std::string>{});
  EXPECT_EQ(read_file(outside + "/precious"), "keep me");
  EXPECT_TRUE(rootfs.list().empty());
  rootfs.release("messy");  // missing is fine
}

TEST_P(StorageRootfsMethodTest, PrepareIsIdempotentAndRemountsAfterARestart) {
  RootfsManager rootfs = manager();
  const std::vector<std::string> lowers = make_three_layers();
  const std::string merged = rootfs.prepare("again", lowers, false);
  ASSERT_EQ(try_write(merged + "/kept", "written before the restart"), 0);
  EXPECT_EQ(rootfs.prepare("again", lowers, false), merged);
  EXPECT_EQ(mounts_under(merged).size(), 1u) << "a second prepare must not stack another mount";

  // A host restart loses the mount but keeps the directories.
  ASSERT_EQ(::umount2(merged.c_str(), MNT_DETACH), 0);
  EXPECT_EQ(rootfs.prepare("again", lowers, false), merged);
  EXPECT_EQ(mounts_under(merged).size(), 1u);
  EXPECT_EQ(read_file(merged + "/kept"), "written before the restart");
  EXPECT_EQ(read_file(merged + "/etc/os-release"), "top");
  rootfs.release("again");
}

TEST_P(StorageRootfsMethodTest, AnotherLayerListForAnExistingIdIsRefused) {
  RootfsManager rootfs = manager();
  const std::vector<std::string> lowers = make_three_layers();
  const std::string merged = rootfs.prepare("taken", lowers, false);
  const std::vector<std::string> fewer(lowers.begin(), lowers.end() - 1);
  const std::vector<std::string> reordered{lowers[1], lowers[0], lowers[2]};
  for (const auto& other : {fewer, reordered}) {
    try {
      rootfs.prepare("taken", other, false);
      ADD_FAILURE() << "another layer list was accepted";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), Failure::exists) << error.what();
      EXPECT_NE(std::string(error.what()).find("release it first"), std::string::npos) << error.what();
    }
  }
  try {
    rootfs.prepare("taken", lowers, true);
    ADD_FAILURE() << "a read-only prepare of a writable root was accepted";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::exists) << error.what();
  }
  EXPECT_EQ(read_file(merged + "/etc/os-release"), "top") << "the existing mount is untouched";
  EXPECT_EQ(mounts_under(merged).size(), 1u);
  rootfs.release("taken");
}

TEST_P(StorageRootfsMethodTest, FailuresLeaveNothingBehind) {
  RootfsManager rootfs = manager();
  std::vector<std::string> lowers = make_three_layers();

  // Refused before anything is made: a lower directory that does not exist.
  std::vector<std::string> missing = lowers;
  missing.insert(missing.begin() + 1, layers_ + "/never-unpacked");
  try {
    rootfs.prepare("broken", missing, false);
    ADD_FAILURE() << "a missing lower directory was accepted";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::not_found);
    EXPECT_NE(std::string(error.what()).find(layers_ + "/never-unpacked"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(root_ + "/broken"));

  // Refused by the kernel after the directories and the record exist: the
  // same layer twice overlaps itself.
  std::vector<std::string> doubled = lowers;
  doubled.push_back(lowers[0]);
  EXPECT_THROW(rootfs.prepare("broken", doubled, false), StorageError);
  EXPECT_FALSE(fs::exists(root_ + "/broken"));
  EXPECT_TRUE(rootfs.list().empty());

  // A lower that is a file, not a directory.
  write_file(layers_ + "/a-file", "x");
  try {
    rootfs.prepare("broken", {layers_ + "/a-file"}, false);
    ADD_FAILURE() << "a file as lower directory was accepted";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::invalid) << error.what();
  }
  EXPECT_FALSE(fs::exists(root_ + "/broken"));
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});

  // The id still works afterwards.
  EXPECT_EQ(read_file(rootfs.prepare("broken", lowers, false) + "/etc/os-release"), "top");
  rootfs.release("broken");
}

INSTANTIATE_TEST_SUITE_P(Methods, StorageRootfsMethodTest,
                         ::testing::Values(OverlayMethod::lowerdir_plus, OverlayMethod::relative_paths,
                                           OverlayMethod::automatic),
                         [](const ::testing::TestParamInfo<OverlayMethod>& info) { return method_label(info.param); });

TEST_F(StorageRootfsTest, RelativePathsRefuseOptionsBeyondOnePageAndLowerdirPlusTakesThem) {
  // Each layer in a directory of its own with a 60-character name: even
  // relative to their common parent the names need ~9.6 KB.
  std::vector<std::string> lowers;
  for (int i = 0; i < 150; ++i) {
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%03d", i);
    const std::string layer = layers_ + "/" + prefix + std::string(57, 'x') + "/fs";
    write_file(layer + "/file" + prefix, prefix);
    lowers.push_back(layer);
  }
  RootfsManager relative(root_, OverlayMethod::relative_paths);
  try {
    relative.prepare("wide", lowers, false);
    ADD_FAILURE() << "options over a page were accepted";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::exhausted);
    EXPECT_NE(std::string(error.what()).find("150 layers"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(root_ + "/wide"));
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});

  if (!kernel_has_lowerdir_plus(lowers[0])) GTEST_SKIP() << "this kernel has no lowerdir+";
  RootfsManager automatic(root_, OverlayMethod::automatic);
  const std::string merged = automatic.prepare("wide", lowers, false);
  EXPECT_EQ(read_file(merged + "/file149"), "149");
  automatic.release("wide");
}

TEST_F(StorageRootfsTest, AutomaticTakesWhatTheKernelOffers) {
  const std::vector<std::string> lowers = make_three_layers();
  RootfsManager rootfs(root_);
  rootfs.prepare("auto", lowers, false);
  const std::string expected = kernel_has_lowerdir_plus(lowers[0]) ? "lowerdir+" : "relative_paths";
  EXPECT_EQ(recorded_method(root_, "auto"), expected);
  std::printf("automatic picks %s on this kernel\n", expected.c_str());
  rootfs.release("auto");
}

TEST_F(StorageRootfsTest, TheClassicMountLeavesTheAgentsWorkingDirectoryAlone) {
  char before[4096];
  ASSERT_NE(::getcwd(before, sizeof before), nullptr);
  RootfsManager rootfs(root_, OverlayMethod::relative_paths);
  rootfs.prepare("cwd", make_three_layers(), false);
  char after[4096];
  ASSERT_NE(::getcwd(after, sizeof after), nullptr);
  EXPECT_STREQ(after, before);
  // And the mount really used relative names.
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, options;
  while (std::getline(mountinfo, line)) {
    if (line.find(root_ + "/cwd/merged") != std::string::npos) options = line;
  }
  EXPECT_NE(options.find("lowerdir=top:middle:bottom"), std::string::npos) << options;
  rootfs.release("cwd");
}

TEST_F(StorageRootfsTest, ListShowsEachContainerWithItsLayersBottomFirst) {
  const std::vector<std::string> lowers = make_three_layers();
  RootfsManager rootfs(root_);
  EXPECT_TRUE(rootfs.list().empty());
  rootfs.prepare("b-writable", lowers, false);
  rootfs.prepare("a-readonly", {lowers[0]}, true);
  // A container directory whose record was lost in a crash.
  fs::create_directories(root_ + "/c-torn");
  write_file(root_ + "/c-torn/rootfs.json", "");

  const std::vector<RootfsManager::Entry> entries = rootfs.list();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].container_id, "a-readonly");
  EXPECT_EQ(entries[0].lower_dirs, std::vector<std::string>{lowers[0]});
  EXPECT_TRUE(entries[0].readonly);
  EXPECT_EQ(entries[1].container_id, "b-writable");
  EXPECT_EQ(entries[1].lower_dirs, lowers);
  EXPECT_FALSE(entries[1].readonly);
  EXPECT_EQ(entries[2].container_id, "c-torn");
  EXPECT_TRUE(entries[2].lower_dirs.empty());

  try {
    rootfs.prepare("c-torn", lowers, false);
    ADD_FAILURE() << "a torn record was overwritten";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::precondition) << error.what();
  }
  for (const RootfsManager::Entry& entry : entries) rootfs.release(entry.container_id);
  EXPECT_TRUE(rootfs.list().empty());
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(StorageRootfsTest, InvalidIdsAndLayerPathsAreRefused) {
  const std::vector<std::string> lowers = make_three_layers();
  RootfsManager rootfs(root_);
  for (const std::string& id : {std::string(), std::string("-a"), std::string(".hidden"), std::string("a/b"),
                                std::string(".."), std::string(129, 'x'), std::string("a b"), std::string("é")}) {
    try {
      rootfs.prepare(id, lowers, false);
      ADD_FAILURE() << "id \"" << id << "\" was accepted";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), Failure::invalid) << id;
    }
    EXPECT_THROW(rootfs.release(id), StorageError) << id;
  }
  for (const std::string& lower : {std::string("relative/layer"), layers_ + "/../layers/top", layers_ + "//top",
                                   layers_ + "/top/", layers_ + "/./top", layers_ + "/a:b", layers_ + "/a,b"}) {
    try {
      rootfs.prepare("ok", {lower}, false);
      ADD_FAILURE() << "lower \"" << lower << "\" was accepted";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), Failure::invalid) << lower;
    }
  }
  EXPECT_THROW(rootfs.prepare("ok", {}, false), StorageError);
  EXPECT_FALSE(fs::exists(root_ + "/ok"));

  const std::string longest(128, 'x');
  EXPECT_EQ(rootfs.prepare(longest, lowers, false), root_ + "/" + longest + "/merged");
  rootfs.release(longest);
}

TEST(StorageRootfsRelativeTest, LowersAreNamedRelativeToTheDeepestCommonParent) {
  RelativeLowers same = relative_to_common_parent({"/var/lib/l/3/fs", "/var/lib/l/12/fs", "/var/lib/l/1/fs"});
  EXPECT_EQ(same.parent, "/var/lib/l");
  EXPECT_EQ(same.names, (std::vector<std::string>{"3/fs", "12/fs", "1/fs"}));

  RelativeLowers siblings = relative_to_common_parent({"/data/abc/x", "/data/abd/y"});
  EXPECT_EQ(siblings.parent, "/data") << "a shared prefix that is not a whole component does not count";
  EXPECT_EQ(siblings.names, (std::vector<std::string>{"abc/x", "abd/y"}));

  RelativeLowers nested = relative_to_common_parent({"/a/b", "/a/b/c/d"});
  EXPECT_EQ(nested.parent, "/a");
  EXPECT_EQ(nested.names, (std::vector<std::string>{"b", "b/c/d"}));

  RelativeLowers top = relative_to_common_parent({"/x", "/y/z"});
  EXPECT_EQ(top.parent, "/");
  EXPECT_EQ(top.names, (std::vector<std::string>{"x", "y/z"}));

  RelativeLowers single = relative_to_common_parent({"/layers/only"});
  EXPECT_EQ(single.parent, "/layers");
  EXPECT_EQ(single.names, std::vector<std::string>{"only"});

  EXPECT_EQ(classic_overlay_options(same, "/r/c/upper", "/r/c/work"),
            "lowerdir=3/fs:12/fs:1/fs,upperdir=/r/c/upper,workdir=/r/c/work");
}

}  // namespace
}  // namespace deckhand::storage
