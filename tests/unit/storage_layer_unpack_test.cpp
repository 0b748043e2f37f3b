// unpack_layer: what a layer keeps, how whiteouts land, what hostile layers
// (containerd's TestBreakouts, SECURITY-BASELINE 2.3) are refused or kept
// inside the layer directory, the caps, diff_id, and broken streams. Each
// test unpacks into target/ of a private temp dir that also holds files
// outside the target; after every unpack the outside must be unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "layer_unpack.hpp"
#include "storage_error.hpp"
#include "storage_layer_test_tars.hpp"

namespace deckhand::storage {
namespace {

namespace fs = std::filesystem;
using namespace test_tars;
using ::testing::HasSubstr;

std::string sha256_hex(std::string_view data) {
  // Straight from OpenSSL, independent of the Hasher under test.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::ostringstream hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex << "0123456789abcdef"[digest[i] >> 4] << "0123456789abcdef"[digest[i] & 15];
  }
  return hex.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), mode);
}

struct stat lstat_of(const std::string& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) ADD_FAILURE() << "lstat " << path << ": " << std::strerror(errno);
  return status;
}

bool exists(const std::string& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0;
}

std::string xattr_of(const std::string& path, const std::string& name) {
  char value[256];
  const ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
  return size < 0 ? "<" + std::string(std::strerror(errno)) + ">" : std::string(value, static_cast<std::size_t>(size));
}

std::string xattrs_of(const std::string& path) {
  char names[4096];
  const ssize_t size = ::llistxattr(path.c_str(), names, sizeof(names));
  std::string all;
  for (ssize_t at = 0; size > 0 && at < size; at += static_cast<ssize_t>(std::strlen(names + at)) + 1) {
    all += std::string(names + at) + "=" + xattr_of(path, names + at) + ";";
  }
  return all;
}

// Everything about one node that an escape could change: content, type,
// mode, owner, link count (a hard link made to it), ctime (any chmod, chown,
// link or xattr change), xattrs, symlink target.
std::string describe(const std::string& path) {
  const struct stat status = lstat_of(path);
  std::ostringstream out;
  out << std::oct << status.st_mode << std::dec << " " << status.st_uid << ":" << status.st_gid
      << " size=" << status.st_size << " nlink=" << status.st_nlink << " ino=" << status.st_ino
      << " mtime=" << status.st_mtim.tv_sec << "." << status.st_mtim.tv_nsec << " ctime=" << status.st_ctim.tv_sec
      << "." << status.st_ctim.tv_nsec << " xattrs=" << xattrs_of(path);
  if (S_ISREG(status.st_mode)) out << " content=" << read_file(path);
  if (S_ISLNK(status.st_mode)) out << " target=" << fs::read_symlink(path).string();
  return out.str();
}

struct SourceBroke {
  int code;
};

ByteSource failing_after(const std::string& bytes, std::size_t limit) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&bytes, limit, offset](char* buffer, std::size_t capacity) -> std::size_t {
    if (*offset >= limit) throw SourceBroke{42};
    const std::size_t size = std::min({capacity, limit - *offset, bytes.size() - *offset});
    std::memcpy(buffer, bytes.data() + *offset, size);
    *offset += size;
    return size;
  };
}

// A v2 security.capability granting cap_net_bind_service (bit 10),
// effective: magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE.
const std::string kNetBindCapability("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                                     20);

class LayerUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "unpacking layers needs root (owners, devices, trusted.* xattrs)";
    char pattern[] = "/tmp/deckhand-layer-unpack.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    parent_ = pattern;
    target_ = parent_ + "/target";
    outside_ = parent_ + "/outside";
    ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((outside_ + "/etc").c_str(), 0755), 0);
    write_file(outside_ + "/etc/passwd", "outside passwd", 0644);
    write_file(outside_ + "/etc/unbroken", "unbroken", 0644);
    write_file(outside_ + "/perm400", "...", 0400);
    write_file(parent_ + "/sentinel", "unbroken", 0400);
    before_ = snapshot_outside();
  }

  void TearDown() override {
    std::error_code ignored;
    if (!parent_.empty()) fs::remove_all(parent_, ignored);  // device nodes and fifos too
  }

  // The parent dir's mode, owner and xattrs, and every node below it except
  // target/ (a new name anywhere shows up as a new line).
  std::map<std::string, std::string> snapshot_outside() const {
    std::map<std::string, std::string> nodes;
    const struct stat parent = lstat_of(parent_);
    nodes["."] = std::to_string(parent.st_mode) + " " + std::to_string(parent.st_uid) + ":" +
                 std::to_string(parent.st_gid) + " " + xattrs_of(parent_);
    for (auto it = fs::recursive_directory_iterator(parent_); it != fs::recursive_directory_iterator(); ++it) {
      if (it->path() == target_) {
        it.disable_recursion_pending();
        continue;
      }
      nodes[it->path().string()] = describe(it->path().string());
    }
    return nodes;
  }

  void expect_outside_untouched() const { EXPECT_EQ(snapshot_outside(), before_) << "something outside target/ changed"; }

  std::string at(const std::string& relative) const { return target_ + "/" + relative; }

  UnpackResult unpack(const std::string& bytes, const UnpackLimits& limits = UnpackLimits{}) {
    return unpack_layer(memory_source(bytes), target_, limits);
  }

  // Unpacks a layer that must succeed, and checks the outside is unchanged.
  UnpackResult unpack_contained(const std::vector<TarEntry>& entries) {
    const UnpackResult result = unpack(pax_tar(entries));
    expect_outside_untouched();
    return result;
  }

  // Unpacks a layer that must fail with `kind` and a message containing
  // `fragment`, and checks the outside is unchanged.
  void expect_failure(const std::string& bytes, Failure kind, const std::string& fragment,
                      const UnpackLimits& limits = UnpackLimits{}) {
    try {
      unpack(bytes, limits);
      ADD_FAILURE() << "unpacked, expected a failure mentioning \"" << fragment << "\"";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), kind) << error.what();
      EXPECT_THAT(error.what(), HasSubstr(fragment));
    }
    expect_outside_untouched();
  }

  void expect_refused(const std::vector<TarEntry>& entries, const std::string& fragment) {
    expect_failure(pax_tar(entries), Failure::corrupt, fragment);
  }

  // For tests that try several layers: an empty target again.
  void reset_target() {
    fs::remove_all(target_);
    ASSERT_EQ(::mkdir(target_.c_str(), 0755), 0);
  }

  std::string parent_;
  std::string target_;
  std::string outside_;
  std::map<std::string, std::string> before_;
};

// ---------------------------------------------------------------- what is kept

TEST_F(LayerUnpackTest, RegularFileKeepsContentOwnerModeAndMtime) {
  const UnpackResult result = unpack_contained({
      file("hello.txt", "hello, layer\n", 0640).owned_by(1234, 5678).modified_at(1'234'567'890, 123'456'789),
      file("empty", "", 0600),
  });
  EXPECT_EQ(read_file(at("hello.txt")), "hello, layer\n");
  const struct stat status = lstat_of(at("hello.txt"));
  EXPECT_TRUE(S_ISREG(status.st_mode));
  EXPECT_EQ(status.st_mode & 07777, 0640u);
  EXPECT_EQ(status.st_uid, 1234u);
  EXPECT_EQ(status.st_gid, 5678u);
  EXPECT_EQ(status.st_mtim.tv_sec, 1'234'567'890);
  EXPECT_EQ(status.st_mtim.tv_nsec, 123'456'789);
  EXPECT_EQ(lstat_of(at("empty")).st_size, 0);
  EXPECT_EQ(result.entries, 2u);
  EXPECT_EQ(result.unpacked_bytes, 13u);
}

TEST_F(LayerUnpackTest, SetuidSetgidAndStickyBitsSurviveTheOwnerChange) {
  unpack_contained({
      file("setuid", "x", 04755).owned_by(1000, 1000),
      file("setgid", "x", 02755).owned_by(0, 50),
      dir("sticky", 01777),
      dir("setgid-dir", 02775).owned_by(0, 50),
  });
  EXPECT_EQ(lstat_of(at("setuid")).st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(at("setuid")).st_uid, 1000u);
  EXPECT_EQ(lstat_of(at("setgid")).st_mode & 07777, 02755u);
  EXPECT_EQ(lstat_of(at("sticky")).st_mode & 07777, 01777u);
  EXPECT_EQ(lstat_of(at("setgid-dir")).st_mode & 07777, 02775u);
}

TEST_F(LayerUnpackTest, DirectoryModesAndTimesAreAppliedAfterTheirContents) {
  unpack_contained({
      dir("ro", 0555).owned_by(10, 20).modified_at(1'000'000'000, 5),
      dir("ro/deeper", 0500).modified_at(1'100'000'000),
      file("ro/deeper/file", "inside a read-only directory"),
      file("ro/file", "also inside"),
  });
  const struct stat ro = lstat_of(at("ro"));
  EXPECT_EQ(ro.st_mode & 07777, 0555u);
  EXPECT_EQ(ro.st_uid, 10u);
  EXPECT_EQ(ro.st_gid, 20u);
  EXPECT_EQ(ro.st_mtim.tv_sec, 1'000'000'000);  // not moved by the entries created in it
  EXPECT_EQ(ro.st_mtim.tv_nsec, 5);
  EXPECT_EQ(lstat_of(at("ro/deeper")).st_mode & 07777, 0500u);
  EXPECT_EQ(lstat_of(at("ro/deeper")).st_mtim.tv_sec, 1'100'000'000);
  EXPECT_EQ(read_file(at("ro/deeper/file")), "inside a read-only directory");
}

TEST_F(LayerUnpackTest, SymlinksKeepTheirTargetsAsStored) {
  unpack_contained({
      symlink("relative", "../somewhere/else").owned_by(7, 8).modified_at(1'500'000'000, 42),
      symlink("absolute", "/etc/passwd"),
      symlink("dangling", "does-not-exist"),
  });
  EXPECT_EQ(fs::read_symlink(at("relative")), "../somewhere/else");
  EXPECT_EQ(fs::read_symlink(at("absolute")), "/etc/passwd");
  EXPECT_EQ(fs::read_symlink(at("dangling")), "does-not-exist");
  const struct stat link = lstat_of(at("relative"));
  EXPECT_TRUE(S_ISLNK(link.st_mode));
  EXPECT_EQ(link.st_uid, 7u);
  EXPECT_EQ(link.st_gid, 8u);
  EXPECT_EQ(link.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(link.st_mtim.tv_nsec, 42);
}

TEST_F(LayerUnpackTest, HardLinksShareTheInodeOfAnEarlierEntry) {
  unpack_contained({
      dir("bin"),
      file("bin/tool", "#!/bin/sh\n", 0755).owned_by(3, 4),
      hardlink("bin/alias", "bin/tool").with_mode(0600).owned_by(9, 9),
      symlink("bin/link", "tool"),
      hardlink("bin/link-twin", "bin/link"),
      hardlink("top-level", "./bin/tool"),
  });
  const struct stat tool = lstat_of(at("bin/tool"));
  EXPECT_EQ(tool.st_ino, lstat_of(at("bin/alias")).st_ino);
  EXPECT_EQ(tool.st_ino, lstat_of(at("top-level")).st_ino);
  EXPECT_EQ(tool.st_nlink, 3u);
  // The link's own header metadata is not applied to the shared inode.
  EXPECT_EQ(tool.st_mode & 07777, 0755u);
  EXPECT_EQ(tool.st_uid, 3u);
  // A link to a symlink is that symlink, not what it points to.
  EXPECT_TRUE(S_ISLNK(lstat_of(at("bin/link-twin")).st_mode));
  EXPECT_EQ(lstat_of(at("bin/link-twin")).st_ino, lstat_of(at("bin/link")).st_ino);
}

TEST_F(LayerUnpackTest, DevicesAndFifos) {
  unpack_contained({
      char_device("dev/null", 1, 3).with_mode(0666).owned_by(0, 5),
      block_device("dev/sda", 8, 0).with_mode(0660).owned_by(0, 6),
      char_device("dev/big", 4095, 1048575).with_mode(0600),
      fifo("run/pipe").with_mode(0620).owned_by(11, 12).modified_at(1'300'000'000),
  });
  const struct stat null = lstat_of(at("dev/null"));
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(major(null.st_rdev), 1u);
  EXPECT_EQ(minor(null.st_rdev), 3u);
  EXPECT_EQ(null.st_mode & 07777, 0666u);
  EXPECT_EQ(null.st_gid, 5u);
  const struct stat sda = lstat_of(at("dev/sda"));
  EXPECT_TRUE(S_ISBLK(sda.st_mode));
  EXPECT_EQ(major(sda.st_rdev), 8u);
  EXPECT_EQ(sda.st_mode & 07777, 0660u);
  EXPECT_EQ(major(lstat_of(at("dev/big")).st_rdev), 4095u);
  EXPECT_EQ(minor(lstat_of(at("dev/big")).st_rdev), 1048575u);
  const struct stat pipe = lstat_of(at("run/pipe"));
  EXPECT_TRUE(S_ISFIFO(pipe.st_mode));
  EXPECT_EQ(pipe.st_mode & 07777, 0620u);
  EXPECT_EQ(pipe.st_uid, 11u);
  EXPECT_EQ(pipe.st_mtim.tv_sec, 1'300'000'000);
}

TEST_F(LayerUnpackTest, ExtendedAttributesIncludingFileCapabilities) {
  unpack_contained({
      dir("d").with_xattr("user.purpose", "config"),
      // Owned by a non-root user: chown would clear security.capability had
      // it been set before the owner.
      file("d/ping", "ELF", 0755).owned_by(1000, 1000).with_xattr("security.capability", kNetBindCapability)
          .with_xattr("user.note", std::string("binary\0value", 12)),
      symlink("d/link", "ping").with_xattr("trusted.deckhand", "on a symlink").with_xattr("user.skipped", "x"),
      fifo("d/fifo").with_xattr("trusted.deckhand", "on a fifo"),
  });
  EXPECT_EQ(xattr_of(at("d"), "user.purpose"), "config");
  EXPECT_EQ(xattr_of(at("d/ping"), "security.capability"), kNetBindCapability);
  EXPECT_EQ(xattr_of(at("d/ping"), "user.note"), std::string("binary\0value", 12));
  EXPECT_EQ(lstat_of(at("d/ping")).st_uid, 1000u);
  EXPECT_EQ(xattr_of(at("d/link"), "trusted.deckhand"), "on a symlink");
  // The kernel allows user.* only on regular files and directories.
  EXPECT_EQ(xattr_of(at("d/link"), "user.skipped"), "<" + std::string(std::strerror(ENODATA)) + ">");
  EXPECT_EQ(xattr_of(at("d/fifo"), "trusted.deckhand"), "on a fifo");
}

TEST_F(LayerUnpackTest, ImpliedParentsAreRootOwned0755) {
  ::umask(077);  // must not matter
  unpack_contained({file("a/b/c/file", "deep", 0600).owned_by(1000, 1000)});
  ::umask(022);
  for (const char* implied : {"a", "a/b", "a/b/c"}) {
    const struct stat status = lstat_of(at(implied));
    EXPECT_TRUE(S_ISDIR(status.st_mode)) << implied;
    EXPECT_EQ(status.st_mode & 07777, 0755u) << implied;
    EXPECT_EQ(status.st_uid, 0u) << implied;
    EXPECT_EQ(status.st_gid, 0u) << implied;
  }
  EXPECT_EQ(read_file(at("a/b/c/file")), "deep");
}

TEST_F(LayerUnpackTest, ReplacesExistingEntriesUnlessBothAreDirectories) {
  unpack_contained({
      file("a", "one"),
      hardlink("keep", "a"),
      file("a", "two"),  // a new file: the earlier link keeps the old content
      file("d", "a file first"),
      dir("d"),
      file("d/x", "then a directory"),
      dir("s"),
      file("s/child", "gone with its directory"),
      symlink("s", "elsewhere"),
      symlink("l", "x"),
      file("l", "now a file"),
      dir("m", 0700).owned_by(1, 1),
      file("m/kept", "kept"),
      dir("m", 0751).owned_by(2, 2).modified_at(1'400'000'000),
  });
  EXPECT_EQ(read_file(at("a")), "two");
  EXPECT_EQ(read_file(at("keep")), "one");
  EXPECT_NE(lstat_of(at("a")).st_ino, lstat_of(at("keep")).st_ino);
  EXPECT_EQ(read_file(at("d/x")), "then a directory");
  EXPECT_TRUE(S_ISLNK(lstat_of(at("s")).st_mode));
  EXPECT_EQ(fs::read_symlink(at("s")), "elsewhere");
  EXPECT_TRUE(S_ISREG(lstat_of(at("l")).st_mode));
  EXPECT_EQ(read_file(at("m/kept")), "kept");
  EXPECT_EQ(lstat_of(at("m")).st_mode & 07777, 0751u);
  EXPECT_EQ(lstat_of(at("m")).st_uid, 2u);
  EXPECT_EQ(lstat_of(at("m")).st_mtim.tv_sec, 1'400'000'000);
}

TEST_F(LayerUnpackTest, AnEntryNamingTheRootSetsOnlyTheRootsMetadata) {
  unpack_contained({dir("./", 0711).owned_by(7, 8).modified_at(1'100'000'000), file("./inside", "x")});
  const struct stat root = lstat_of(target_);
  EXPECT_EQ(root.st_mode & 07777, 0711u);
  EXPECT_EQ(root.st_uid, 7u);
  EXPECT_EQ(root.st_mtim.tv_sec, 1'100'000'000);
  EXPECT_EQ(read_file(at("inside")), "x");

  reset_target();
  expect_refused({file(".", "a file cannot be the root")}, "names the layer root");
  reset_target();
  expect_refused({symlink("./", "/")}, "names the layer root");
}

TEST_F(LayerUnpackTest, NamesAreNormalisedAndKeptAsBytes) {
  unpack_contained({file("./x//y/./z", "normalised"), file("caf\xc3\xa9/na\xc3\xafve", "utf-8 through pax")});
  EXPECT_EQ(read_file(at("x/y/z")), "normalised");
  EXPECT_EQ(read_file(at("caf\xc3\xa9/na\xc3\xafve")), "utf-8 through pax");

  reset_target();
  // Names that are not UTF-8 (old ustar archives) are kept byte for byte.
  unpack(ustar_header("latin1-caf\xe9", '0', 3) + padded("abc") + end_of_archive());
  EXPECT_EQ(read_file(at("latin1-caf\xe9")), "abc");
  expect_outside_untouched();
}

TEST_F(LayerUnpackTest, SparseFilesReadBackWithTheirHoles) {
  // GNU tar's old sparse format ('S'), written by hand: 5000 bytes, data
  // "ABC" at 0 and "XYZ" at 4096.
  std::string header = ustar_header("sparse", 'S', 1024);
  std::memcpy(&header[257], "ustar  \0", 8);  // GNU magic, for the sparse map at 386
  auto octal12 = [](char* field, unsigned long long value) { std::snprintf(field, 12, "%011llo", value); };
  octal12(&header[386], 0);
  octal12(&header[398], 512);
  octal12(&header[410], 4096);
  octal12(&header[422], 512);
  octal12(&header[483], 5000);  // real size
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char byte : header) sum += byte;
  std::snprintf(&header[148], 8, "%06o", sum);
  header[155] = ' ';
  unpack(header + padded("ABC") + padded("XYZ") + end_of_archive());
  std::string expected(5000, '\0');
  expected.replace(0, 3, "ABC");
  expected.replace(4096, 3, "XYZ");
  EXPECT_EQ(read_file(at("sparse")), expected);
  expect_outside_untouched();
}

// ---------------------------------------------------------------- whiteouts

TEST_F(LayerUnpackTest, WhiteoutBecomesACharacterDevice00) {
  unpack_contained({dir("etc"), file(".wh.removed"), file("etc/.wh..profile"), file("x/y/.wh.z")});
  for (const char* hidden : {"removed", "etc/.profile", "x/y/z"}) {
    const struct stat status = lstat_of(at(hidden));
    EXPECT_TRUE(S_ISCHR(status.st_mode)) << hidden;
    EXPECT_EQ(status.st_rdev, makedev(0, 0)) << hidden;
  }
  for (const auto& node : fs::recursive_directory_iterator(target_)) {
    EXPECT_FALSE(node.path().filename().string().starts_with(".wh.")) << node.path();
  }
}

TEST_F(LayerUnpackTest, OpaqueMarkerSetsTheOverlayXattr) {
  unpack_contained({dir("etc"), file("etc/.wh..wh..opq"), file("etc/new", "new"), file("implied/.wh..wh..opq")});
  EXPECT_EQ(xattr_of(at("etc"), "trusted.overlay.opaque"), "y");
  EXPECT_EQ(xattr_of(at("implied"), "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(exists(at("etc/.wh..wh..opq")));
  EXPECT_EQ(read_file(at("etc/new")), "new");
}

TEST_F(LayerUnpackTest, WhiteoutReplacesAnEntryOfTheSameLayer) {
  unpack_contained({dir("gone"), file("gone/child"), file(".wh.gone"), file("f"), file(".wh.f")});
  EXPECT_TRUE(S_ISCHR(lstat_of(at("gone")).st_mode));
  EXPECT_TRUE(S_ISCHR(lstat_of(at("f")).st_mode));
}

TEST_F(LayerUnpackTest, InvalidWhiteoutsAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {".wh.", "whiteout with no name"},
      {"etc/.wh.", "whiteout with no name"},
      {".wh..", "whiteout of \".\""},
      {"etc/.wh..", "whiteout of \".\""},
      {".wh...", "whiteout of \"..\""},
      {"etc/.wh...", "whiteout of \"..\""},
      {".wh..wh.plnk", "reserved"},
      {"etc/.wh..wh.aufs", "reserved"},
      {".wh.etc/somefile", "used as a directory"},
      {"a/.wh..wh..opq/b", "used as a directory"},
  };
  for (const auto& [name, fragment] : cases) {
    SCOPED_TRACE(name);
    reset_target();
    expect_refused({dir("etc"), file(name, "whiteout")}, fragment);
  }
}

// ---------------------------------------------------------------- names refused

TEST_F(LayerUnpackTest, AbsoluteNamesAreRefused) {
  expect_refused({file("/etc/unbroken", "broken")}, "is absolute");
  reset_target();
  expect_refused({dir("/tmp")}, "is absolute");
}

TEST_F(LayerUnpackTest, DotDotComponentsAreRefused) {
  for (const std::string name : {"../sentinel", "a/../../sentinel", "a/..", "..", "a/b/../c"}) {
    SCOPED_TRACE(name);
    reset_target();
    expect_refused({dir("a"), file(name, "broken")}, "has a \"..\" component");
  }
}

TEST_F(LayerUnpackTest, EmptyNameIsRefused) {
  expect_failure(ustar_header("", '2', 0, "/etc") + end_of_archive(), Failure::corrupt, "empty name");
}

TEST_F(LayerUnpackTest, AParentThatIsNotADirectoryIsRefused) {
  expect_refused({file("a", "file"), file("a/b", "below a file")}, "not a directory");
}

TEST_F(LayerUnpackTest, HardLinksMustPointToAnEarlierEntryInside) {
  const std::vector<std::pair<std::vector<TarEntry>, std::string>> cases = {
      {{hardlink("l", "/etc/passwd")}, "hard link target is absolute"},
      {{file("f"), hardlink("l", "d/../f")}, "hard link target has a \"..\""},
      {{hardlink("l", "missing")}, "does not exist (yet)"},
      {{hardlink("l", "later"), file("later")}, "does not exist (yet)"},
      {{hardlink("l", "nowhere/file")}, "does not exist (yet)"},
      {{dir("d"), hardlink("l", "d")}, "is a directory"},
      {{hardlink("l", ".")}, "layer root"},
      {{dir("d"), file("d/f"), hardlink("d", "d/f")}, "inside the entry the link replaces"},
  };
  for (const auto& [entries, fragment] : cases) {
    SCOPED_TRACE(fragment);
    reset_target();
    expect_refused(entries, fragment);
  }
}

TEST_F(LayerUnpackTest, OutOfRangeValuesAreRefused) {
  expect_refused({char_device("dev/x", 4096, 0)}, "device number 4096:0 is out of range");
  reset_target();
  expect_refused({block_device("dev/x", 0, 1 << 20)}, "out of range");
  reset_target();
  expect_refused({file("f").owned_by(4294967295LL, 0)}, "owner 4294967295:0 is out of range");
  reset_target();
  expect_refused({file("f").owned_by(0, 1LL << 40)}, "is out of range");
  reset_target();
  expect_refused({symlink("empty-target", "")}, "empty target");
  reset_target();
  expect_refused({dir("d").with_xattr("trusted.overlay.redirect", "/elsewhere")}, "belongs to overlayfs");
}

// ------------------------------------ containerd TestBreakouts (SECURITY-BASELINE 2.3)
// Absolute symlink targets point at outside/ in the test's temp dir, never at
// the real /etc, so a failure would show up in the snapshot, not on the host.

TEST_F(LayerUnpackTest, BreakoutSymlinkAbsolute) {
  expect_refused({dir("etc"), symlink("localetc", outside_ + "/etc"), file("localetc/unbroken", "broken")},
                 "passes through a symlink");
  reset_target();
  expect_refused({dir("etc"), symlink("localetc", outside_ + "/etc"), file("/localetc/unbroken", "broken")},
                 "is absolute");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkUpAndOut) {
  expect_refused({dir("etc"), dir("dummy"), symlink("localetc", "dummy/../../outside/etc"),
                  file("localetc/unbroken", "broken")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkMultipleAbsolute) {
  expect_refused({dir("etc"), dir("dummy"), symlink("dummy/etc", outside_ + "/etc"),
                  symlink("localetc", target_ + "/dummy/etc"), file("dummy/etc/unbroken", "broken")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkMultipleRelative) {
  expect_refused({dir("etc"), dir("dummy"), symlink("dummy/etc", "../../outside/etc"),
                  symlink("localetc", "./dummy/etc"), file("localetc/unbroken", "broken")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkEmptyFile) {
  // Refused even though this symlink points inside the layer.
  expect_refused({dir("etc"), file("etc/emptied", "notempty"), symlink("localetc", "etc"),
                  file("localetc/emptied", "")},
                 "passes through a symlink");
  reset_target();
  expect_refused({dir("etc"), symlink("localetc", outside_ + "/etc"), file("localetc/unbroken", "")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkParentDirectory) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), symlink("..", outside_ + "/etc"),
                  hardlink("localpasswd", "etc/passwd")},
                 "has a \"..\" component");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkEmptyFilename) {
  expect_failure(ustar_header("etc", '5', 0) + ustar_header("etc/passwd", '0', 6) + padded("inside") +
                     ustar_header("", '2', 0, outside_ + "/etc") + ustar_header("localpasswd", '1', 0, "etc/passwd") +
                     end_of_archive(),
                 Failure::corrupt, "empty name");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkParentRelative) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), symlink("localetc/sub/..", outside_ + "/etc"),
                  hardlink("localetc/localpasswd", "etc/passwd")},
                 "has a \"..\" component");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkSlashEnded) {
  unpack_contained({dir("etc", 0770), file("etc/passwd", "inside"), dir("localetc/", 0770),
                    hardlink("localetc/localpasswd", "etc/passwd")});
  EXPECT_TRUE(S_ISDIR(lstat_of(at("localetc")).st_mode));
  EXPECT_EQ(lstat_of(at("localetc/localpasswd")).st_ino, lstat_of(at("etc/passwd")).st_ino);
}

TEST_F(LayerUnpackTest, BreakoutSymlinkOverrideDirectory) {
  // The directory (and what was in it) is replaced by the symlink; the link
  // through it is then refused. Nothing outside is followed or removed.
  expect_refused({dir("etc"), file("etc/passwd", "inside"), dir("localetc"), file("localetc/old", "old"),
                  symlink("localetc", outside_ + "/etc"), hardlink("localetc/localpasswd", "etc/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkOverrideDirectoryRelative) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), dir("localetc"), symlink("localetc", "../outside/etc"),
                  hardlink("localetc/localpasswd", "etc/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutDirectoryOverrideSymlink) {
  // The directory replaces the symlink itself; the symlink is not followed.
  unpack_contained({dir("etc"), file("etc/passwd", "inside"), symlink("localetc", outside_ + "/etc"),
                    dir("localetc/"), hardlink("localetc/localpasswd", "etc/passwd")});
  EXPECT_TRUE(S_ISDIR(lstat_of(at("localetc")).st_mode));
  EXPECT_EQ(lstat_of(at("localetc/localpasswd")).st_ino, lstat_of(at("etc/passwd")).st_ino);
}

TEST_F(LayerUnpackTest, BreakoutDirectoryOverrideSymlinkAndHardlink) {
  unpack_contained({dir("etc"), file("etc/passwd", "inside"), symlink("localetc", "etc"), dir("localetc/"),
                    file("localetc/localpasswd", "different")});
  EXPECT_NE(lstat_of(at("localetc/localpasswd")).st_ino, lstat_of(at("etc/passwd")).st_ino);
  EXPECT_EQ(read_file(at("etc/passwd")), "inside");
}

TEST_F(LayerUnpackTest, BreakoutSymlinkOverridePath) {
  // A directory path replaced by a symlink, then written below again.
  expect_refused({dir("a/b"), file("a/b/c", "inside"), symlink("a", outside_), file("a/b/c", "broken")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkRelative) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), dir("breakouts"),
                  symlink("breakouts/d1", "../../outside/etc"), hardlink("breakouts/mypasswd", "breakouts/d1/passwd")},
                 "hard link target passes through a symlink");
  reset_target();
  expect_refused({dir("breakouts"), symlink("breakouts/d1", "../../outside/etc"),
                  hardlink("breakouts/mypasswd", "/breakouts/d1/passwd")},
                 "hard link target is absolute");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkDownAndOut) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), dir("breakouts"), dir("downandout"),
                  symlink("breakouts/d1", "../downandout/../../outside/etc"),
                  hardlink("breakouts/mypasswd", "breakouts/d1/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkAbsolute) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), symlink("localetc", outside_ + "/etc"),
                  hardlink("localpasswd", "localetc/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkRelativeLong) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), symlink("localetc", "../../../../../../.." + outside_ + "/etc"),
                  hardlink("localpasswd", "localetc/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkRelativeUpAndOut) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), symlink("localetc", "upandout/../../../outside/etc"),
                  hardlink("localpasswd", "localetc/passwd")},
                 "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkDirectRelative) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), hardlink("localpasswd", "../outside/etc/passwd")},
                 "has a \"..\" component");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkDirectAbsolute) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), hardlink("localpasswd", outside_ + "/etc/passwd")},
                 "is absolute");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkSymlinkBeforeCreateTarget) {
  // The link is to the symlink itself (linkat without following), so the
  // outside file gains no link and the symlink is stored as-is.
  unpack_contained({dir("etc"), symlink("localpasswd", outside_ + "/etc/passwd"),
                    hardlink("localpasswd-dup", "localpasswd"), file("etc/passwd", "after")});
  EXPECT_TRUE(S_ISLNK(lstat_of(at("localpasswd-dup")).st_mode));
  EXPECT_EQ(lstat_of(at("localpasswd-dup")).st_ino, lstat_of(at("localpasswd")).st_ino);
  EXPECT_EQ(read_file(at("etc/passwd")), "after");
}

TEST_F(LayerUnpackTest, BreakoutHardlinkSymlinkRelative) {
  const std::string up_and_out = "../../../../../.." + outside_ + "/etc/passwd";
  unpack_contained({dir("etc"), file("etc/passwd", "inside"), symlink("passwdlink", up_and_out),
                    hardlink("localpasswd", "passwdlink")});
  EXPECT_EQ(fs::read_symlink(at("localpasswd")), up_and_out);
  EXPECT_EQ(lstat_of(at("localpasswd")).st_ino, lstat_of(at("passwdlink")).st_ino);
}

TEST_F(LayerUnpackTest, BreakoutHardlinkSymlinkAbsolute) {
  unpack_contained({dir("etc"), file("etc/passwd", "inside"), symlink("passwdlink", outside_ + "/etc/passwd"),
                    hardlink("localpasswd", "passwdlink")});
  EXPECT_EQ(fs::read_symlink(at("localpasswd")), outside_ + "/etc/passwd");
  EXPECT_EQ(lstat_of(at("localpasswd")).st_ino, lstat_of(at("passwdlink")).st_ino);
}

TEST_F(LayerUnpackTest, BreakoutHardlinkSymlinkChmod) {
  // The hard link's header asks for 0777; outside/perm400 keeps 0400 and its
  // ctime (the snapshot checks both).
  unpack_contained({symlink("also-exists-outside-root", outside_ + "/perm400"),
                    hardlink("sketchylink", "also-exists-outside-root").with_mode(0777).owned_by(1, 1)});
  EXPECT_TRUE(S_ISLNK(lstat_of(at("sketchylink")).st_mode));
  reset_target();
  expect_refused({hardlink("sketchylink", outside_ + "/perm400").with_mode(0777)}, "is absolute");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutRootParent) { expect_refused({file(".wh...")}, "whiteout of \"..\""); }

TEST_F(LayerUnpackTest, BreakoutWhiteoutParent) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), file("etc/.wh...")}, "whiteout of \"..\"");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutRoot) { expect_refused({file(".wh..")}, "whiteout of \".\""); }

TEST_F(LayerUnpackTest, BreakoutWhiteoutCurrentDirectory) {
  expect_refused({dir("etc"), file("etc/passwd", "inside"), file("etc/.wh..")}, "whiteout of \".\"");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutSymlink) {
  // The whiteout replaces the symlink itself; its target is not touched.
  unpack_contained({symlink("localetc", outside_ + "/etc"), file(".wh.localetc")});
  EXPECT_TRUE(S_ISCHR(lstat_of(at("localetc")).st_mode));
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutSymlinkPath) {
  expect_refused({symlink("localetc", outside_ + "/etc"), file("localetc/.wh.unbroken")}, "passes through a symlink");
  reset_target();
  expect_refused({symlink("localetc", outside_ + "/etc"), file("localetc/.wh..wh..opq")}, "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutDirectoryName) {
  expect_refused({file(".wh.etc/somefile", "non-empty")}, "used as a directory");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutDeadSymlinkParent) {
  expect_refused({symlink("localetc", "/dne"), file("localetc/.wh.etc")}, "passes through a symlink");
}

TEST_F(LayerUnpackTest, BreakoutWhiteoutRelativePath) {
  expect_refused({symlink("localetc", "/dne"), file("dne/../.wh.etc")}, "has a \"..\" component");
}

// ---------------------------------------------------------------- caps

// Plain tar bytes made on demand: `files` entries of `file_size` zero bytes
// each, the end marker, then `trailing_zeros` more zeros. Everything but the
// headers is zeros, so each byte follows from its position alone.
class ZeroFilesTar {
 public:
  ZeroFilesTar(uint64_t files, uint64_t file_size, uint64_t trailing_zeros)
      : file_size_(file_size),
        record_(512 + (file_size + 511) / 512 * 512),
        files_end_(files * record_),
        total_(files_end_ + 1024 + trailing_zeros) {}

  std::size_t operator()(char* buffer, std::size_t capacity) {
    std::size_t filled = 0;
    while (filled < capacity && position_ < total_) {
      const uint64_t in_record = position_ % record_;
      std::size_t take = 0;
      if (position_ < files_end_ && in_record < 512) {
        const std::string header = ustar_header("bomb/" + std::to_string(position_ / record_), '0', file_size_);
        take = static_cast<std::size_t>(std::min<uint64_t>(512 - in_record, capacity - filled));
        std::memcpy(buffer + filled, header.data() + in_record, take);
      } else {
        const uint64_t zeros_end = position_ < files_end_ ? position_ - in_record + record_ : total_;
        take = static_cast<std::size_t>(std::min<uint64_t>(zeros_end - position_, capacity - filled));
        std::memset(buffer + filled, 0, take);
      }
      filled += take;
      position_ += take;
    }
    return filled;
  }

 private:
  uint64_t file_size_;
  uint64_t record_;
  uint64_t files_end_;
  uint64_t total_;
  uint64_t position_ = 0;
};

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1 << 30;

uint64_t bytes_in_tree(const std::string& root) {
  uint64_t total = 0;
  for (const auto& node : fs::recursive_directory_iterator(root)) {
    if (node.is_regular_file()) total += node.file_size();
  }
  return total;
}

TEST_F(LayerUnpackTest, GzipBombOfOneHugeFileStopsAtItsHeader) {
  StreamingGzip bomb(ZeroFilesTar(1, 2 * kGiB, 0));
  const auto started = std::chrono::steady_clock::now();
  try {
    unpack_layer(bomb.source(), target_, UnpackLimits{.max_bytes = 1 * kGiB});
    ADD_FAILURE() << "a 2 GiB file unpacked under a 1 GiB cap";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::exhausted) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("\"bomb/0\" (2147483648 bytes)"));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ bomb     ] 2 GiB file refused after %.1f MiB of zeros were compressed, in %.3f s\n",
              static_cast<double>(bomb.plain_bytes_produced()) / kMiB, seconds);
  EXPECT_LT(bomb.plain_bytes_produced(), 64 * kMiB);
  EXPECT_EQ(bytes_in_tree(target_), 0u);
  expect_outside_untouched();
}

TEST_F(LayerUnpackTest, GzipBombOfManyFilesStopsAtMaxBytes) {
  // 2 GiB of zeros in 1 MiB files; the cap is 64 MiB.
  StreamingGzip bomb(ZeroFilesTar(2048, kMiB, 0));
  const auto started = std::chrono::steady_clock::now();
  try {
    unpack_layer(bomb.source(), target_, UnpackLimits{.max_bytes = 64 * kMiB});
    ADD_FAILURE() << "2 GiB unpacked under a 64 MiB cap";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::exhausted) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("\"bomb/64\""));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ bomb     ] stopped after %.1f MiB of 2048 MiB of zeros, in %.3f s\n",
              static_cast<double>(bomb.plain_bytes_produced()) / kMiB, seconds);
  EXPECT_LE(bytes_in_tree(target_), 64 * kMiB);
  EXPECT_LT(bomb.plain_bytes_produced(), 80 * kMiB);
  expect_outside_untouched();
}

TEST_F(LayerUnpackTest, ZerosAfterTheEndMarkerCannotDecompressWithoutBound) {
  StreamingGzip bomb(ZeroFilesTar(1, 4096, 2 * kGiB));
  try {
    unpack_layer(bomb.source(), target_, UnpackLimits{.max_bytes = 16 * kMiB});
    ADD_FAILURE() << "2 GiB after the end marker drained under a 16 MiB cap";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::exhausted) << error.what();
    EXPECT_THAT(error.what(), HasSubstr("uncompressed stream passed"));
  }
  EXPECT_LT(bomb.plain_bytes_produced(), 32 * kMiB);
  expect_outside_untouched();
}

TEST_F(LayerUnpackTest, MaxBytesIsTheSumOfRegularFileSizes) {
  const std::string tar = pax_tar({file("a", std::string(600, 'a')), file("b", std::string(400, 'b')),
                                   symlink("s", "a"), hardlink("h", "a")});
  EXPECT_EQ(unpack(tar, UnpackLimits{.max_bytes = 1000}).unpacked_bytes, 1000u);  // exactly at the cap
  reset_target();
  expect_failure(tar, Failure::exhausted, "layer entry \"b\" (400 bytes)", UnpackLimits{.max_bytes = 999});
}

TEST_F(LayerUnpackTest, ASharedCounterMakesMaxBytesHoldForTheWholeImage) {
  // Two layers of one image, 600 bytes each, against a limit of 1000: the
  // second is refused at its file, and the refused charge is given back.
  std::atomic<uint64_t> image_bytes{0};
  const UnpackLimits limits{.max_bytes = 1000, .image_bytes = &image_bytes};
  const std::string tar = pax_tar({file("a", std::string(600, 'a'))});
  EXPECT_EQ(unpack(tar, limits).unpacked_bytes, 600u);
  EXPECT_EQ(image_bytes.load(), 600u);
  reset_target();
  expect_failure(tar, Failure::exhausted, "layer entry \"a\" (600 bytes) would bring the image's unpacked size", limits);
  EXPECT_EQ(image_bytes.load(), 600u);
}

TEST_F(LayerUnpackTest, MaxEntries) {
  std::vector<TarEntry> entries;
  for (int i = 0; i < 10; ++i) entries.push_back(file("f" + std::to_string(i)));
  const std::string tar = pax_tar(entries);
  EXPECT_EQ(unpack(tar, UnpackLimits{.max_entries = 10}).entries, 10u);
  reset_target();
  expect_failure(tar, Failure::exhausted, "more than 9 entries (the limit) at entry \"f9\"",
                 UnpackLimits{.max_entries = 9});
}

// ---------------------------------------------------------------- diff_id

class DiffIdTest : public LayerUnpackTest {
 protected:
  // A tar with more zero blocks and bytes after libarchive's end marker:
  // diff_id covers the whole stream, not just what the tar reader needed.
  std::string tar_with_trailer() const {
    return pax_tar({dir("etc"), file("etc/hosts", "127.0.0.1 localhost\n"), symlink("link", "etc/hosts"),
                    file("big", std::string(300'000, 'x'))}) +
           std::string(8192, '\0') + "trailing bytes after the end-of-archive marker";
  }

  void expect_diff_id(const std::string& stream, const std::string& plain_tar) {
    const UnpackResult result = unpack(stream);
    EXPECT_EQ(result.diff_id.algorithm, "sha256");
    EXPECT_EQ(result.diff_id.hex, sha256_hex(plain_tar));
    EXPECT_EQ(read_file(at("etc/hosts")), "127.0.0.1 localhost\n");
    EXPECT_EQ(result.entries, 4u);
    expect_outside_untouched();
  }
};

TEST_F(DiffIdTest, Plain) {
  const std::string tar = tar_with_trailer();
  expect_diff_id(tar, tar);
}

TEST_F(DiffIdTest, Gzip) {
  const std::string tar = tar_with_trailer();
  expect_diff_id(gzip(tar), tar);
}

TEST_F(DiffIdTest, MultiMemberGzip) {
  const std::string tar = tar_with_trailer();
  const std::string members =
      gzip(tar.substr(0, 1000)) + gzip(tar.substr(1000, 200'000), 1) + gzip(tar.substr(201'000), 9);
  expect_diff_id(members, tar);
}

TEST_F(DiffIdTest, Zstd) {
  const std::string tar = tar_with_trailer();
  expect_diff_id(zstd(tar), tar);
}

TEST_F(DiffIdTest, MultiFrameZstd) {
  const std::string tar = tar_with_trailer();
  expect_diff_id(zstd(tar.substr(0, 70'000)) + zstd(tar.substr(70'000), 19), tar);
}

TEST_F(DiffIdTest, SourceGivingAFewBytesAtATime) {
  const std::string tar = tar_with_trailer();
  for (const std::string& stream : {tar, gzip(tar), zstd(tar)}) {
    reset_target();
    const UnpackResult result = unpack_layer(memory_source(stream, 7), target_);
    EXPECT_EQ(result.diff_id.hex, sha256_hex(tar));
    EXPECT_EQ(read_file(at("big")), std::string(300'000, 'x'));
  }
}

// ---------------------------------------------------------------- broken streams

TEST_F(LayerUnpackTest, TruncatedGzipIsCorrupt) {
  const std::string gz = gzip(pax_tar({file("f", std::string(100'000, 'y'))}));
  expect_failure(gz.substr(0, gz.size() / 2), Failure::corrupt, "gzip stream is truncated");
  reset_target();
  expect_failure(gz.substr(0, gz.size() - 4), Failure::corrupt, "gzip stream is truncated");  // trailer cut
}

TEST_F(LayerUnpackTest, GzipChecksumMismatchIsCorrupt) {
  std::string gz = gzip(pax_tar({file("f", "content")}));
  gz[gz.size() - 6] ^= 0x55;  // inside the CRC-32 of the trailer
  expect_failure(gz, Failure::corrupt, "incorrect data check");
}

TEST_F(LayerUnpackTest, BytesAfterAGzipMemberMustBeAnotherMember) {
  const std::string gz = gzip(pax_tar({file("f", "content")}));
  expect_failure(gz + "not gzip", Failure::corrupt, "must be another gzip member");
}

TEST_F(LayerUnpackTest, TruncatedTarIsCorrupt) {
  const std::string tar = ustar_header("f", '0', 10'000) + padded(std::string(10'000, 'z')) +
                          ustar_header("g", '0', 4) + padded("more") + end_of_archive();
  expect_failure(tar.substr(0, 512 + 4000), Failure::corrupt, "broken inside the data of entry \"f\"");
  reset_target();
  expect_failure(tar.substr(0, 512 + 10'240 + 300), Failure::corrupt, "Truncated tar archive");  // in g's header
}

TEST_F(LayerUnpackTest, DamagedTarHeaderIsCorrupt) {
  std::string tar = ustar_header("f", '0', 7) + padded("content") + ustar_header("g", '0', 4) + padded("more") +
                    end_of_archive();
  tar[1024 + 1] ^= 0x01;  // a byte of g's name: the header checksum no longer matches
  expect_failure(tar, Failure::corrupt, "Damaged tar archive");
}

TEST_F(LayerUnpackTest, GarbageIsCorrupt) {
  std::string garbage(4096, '\0');
  uint32_t state = 12345;
  for (char& byte : garbage) {
    state = state * 1103515245 + 12345;
    byte = static_cast<char>(state >> 24);
  }
  expect_failure(garbage, Failure::corrupt, "not a tar archive");
  reset_target();
  expect_failure("", Failure::corrupt, "not a tar archive");
}

TEST_F(LayerUnpackTest, ZstdFrameCutShortIsCorrupt) {
  const std::string zst = zstd(pax_tar({file("f", std::string(200'000, 'q'))}));
  expect_failure(zst.substr(0, zst.size() - 10), Failure::corrupt, "zstd stream is truncated");
  reset_target();
  // Without a content checksum zstd may decode a damaged frame into other
  // bytes; then the tar reader refuses them instead. Either way: corrupt.
  std::string damaged = zst;
  damaged[damaged.size() / 2] ^= 0x7f;
  expect_failure(damaged, Failure::corrupt, "layer");
}

TEST_F(LayerUnpackTest, OtherCompressionsAreNamed) {
  expect_failure(std::string("\xfd" "7zXZ\0\0\0\0\0\0\0", 12), Failure::corrupt, "xz-compressed");
  reset_target();
  expect_failure(std::string("BZh91AY&SY\0\0\0\0", 14), Failure::corrupt, "bzip2-compressed");
}

// ---------------------------------------------------------------- the source and the target

TEST_F(LayerUnpackTest, ExceptionsFromTheSourcePassThroughUnchanged) {
  const std::string tar = pax_tar({file("f", std::string(50'000, 'f'))});
  const std::string gz = gzip(tar);
  const std::vector<std::pair<const std::string*, std::size_t>> cases = {
      {&tar, 0},            // while sniffing the compression
      {&tar, 2000},         // inside libarchive's read callback
      {&tar, tar.size()},   // at the very end, instead of returning 0
      {&gz, gz.size() / 3}, // inside the gzip stream
      {&gz, gz.size()},
  };
  for (const auto& [bytes, limit] : cases) {
    SCOPED_TRACE(limit);
    reset_target();
    try {
      unpack_layer(failing_after(*bytes, limit), target_);
      ADD_FAILURE() << "the source's exception was lost";
    } catch (const SourceBroke& broke) {
      EXPECT_EQ(broke.code, 42);
    }
  }
  expect_outside_untouched();
}

TEST_F(LayerUnpackTest, TheTargetMustExistAndBeEmpty) {
  write_file(at("existing"), "x", 0644);
  expect_failure(pax_tar({file("f")}), Failure::precondition, "is not empty");
  try {
    unpack_layer(memory_source(pax_tar({file("f")})), parent_ + "/missing");
    ADD_FAILURE() << "unpacked into a missing directory";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::not_found);
  }
}

// ---------------------------------------------------------------- throughput

TEST_F(LayerUnpackTest, LargeIncompressibleLayerThroughput) {
  // 200 MiB from xorshift64*: incompressible, so deflate stores it (as it
  // would a layer of already-compressed files) and every byte is inflated,
  // CRC-checked, hashed and written. Huffman-only is just the quickest way
  // for the test to let deflate make that choice.
  constexpr std::size_t kSize = 200 * kMiB;
  std::string data(kSize, '\0');
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < kSize; i += 8) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    const uint64_t word = state * 0x2545f4914f6cdd1dULL;
    std::memcpy(&data[i], &word, 8);
  }
  const std::string tar = pax_tar({dir("data"), file("data/blob", std::move(data))});
  const std::string gz = gzip(tar, 1, Z_HUFFMAN_ONLY);
  ASSERT_GE(gz.size(), tar.size() - tar.size() / 1000) << "the data was not incompressible";

  // unpack_layer runs on this thread, so the thread's CPU time is its own:
  // on a busy machine the wall time also counts waiting for a core.
  const auto cpu_seconds = [] {
    rusage usage{};
    ::getrusage(RUSAGE_THREAD, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  };
  const double cpu_before = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  const UnpackResult result = unpack(gz);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = cpu_seconds() - cpu_before;
  std::printf("[ speed    ] 200 MiB incompressible gzip layer (%.1f MiB compressed): %.3f s wall (%.0f MiB/s), "
              "%.3f s CPU (%.0f MiB/s)\n",
              static_cast<double>(gz.size()) / kMiB, seconds, 200.0 / seconds, cpu, 200.0 / cpu);
  EXPECT_EQ(result.diff_id.hex, sha256_hex(tar));
  EXPECT_EQ(result.unpacked_bytes, kSize);
  EXPECT_EQ(lstat_of(at("data/blob")).st_size, static_cast<off_t>(kSize));
}

}  // namespace
}  // namespace deckhand::storage
