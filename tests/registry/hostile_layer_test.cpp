// Layers that try to write outside the layer (SECURITY-BASELINE 2.3): `../`
// names, absolute names, symlinks and hard links leading out, whiteouts of
// "..". Each is pushed to a real registry as a one-layer image and pulled.
//
// What is asserted, from the plugin's unpacker (layer_names.cpp,
// layer_entry_writer.cpp): such entries are REFUSED, not clamped or
// re-rooted as containerd does; absolute names included ("name is absolute;
// layer paths are relative to the layer root"). So each pull must fail with
// an error naming the entry and the reason, and leave nothing: no layer
// directory, no unpack temporary, no blob, no image record. Independently
// of the error, the `outside` directory next to the store (where every
// escape here is aimed, with a sentinel file in it) must be unchanged, and
// hard-link targets must keep their link count.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <ostream>

#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

// ../ from <root>/layers/tmp-X/diff to <root>/.. (the store's parent).
constexpr const char* kUpToStoreParent = "../../../..";

struct HostileCase {
  std::string name;
  // The layer's entries; `node` says where outside/ and the sentinel are.
  std::function<std::vector<TarEntry>(const NodeStore& node)> entries;
  std::vector<std::string> expected;  // each must appear in the error
  std::vector<std::string> host_files = {};  // must keep their size and link count
};

// gtest prints a parameter with this instead of its bytes.
void PrintTo(const HostileCase& hostile, std::ostream* out) { *out << hostile.name; }

std::vector<TarEntry> with_benign_start(std::vector<TarEntry> hostile) {
  // Something is unpacked before the hostile entry, so a refusal has to
  // clean up a layer directory that is not empty.
  std::vector<TarEntry> entries = small_tree("unpacked before the hostile entry\n");
  entries.insert(entries.end(), hostile.begin(), hostile.end());
  return entries;
}

std::string file_identity(const std::string& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return "absent";
  return "size=" + std::to_string(status.st_size) + " links=" + std::to_string(status.st_nlink) +
         " mtime=" + std::to_string(status.st_mtim.tv_sec) + "." + std::to_string(status.st_mtim.tv_nsec);
}

const std::vector<HostileCase>& hostile_cases() {
  static const std::vector<HostileCase> cases = {
      {"DotDotName",
       [](const NodeStore&) {
         return with_benign_start({TarEntry::file(std::string(kUpToStoreParent) + "/outside/pwned", "escaped\n")});
       },
       {"layer entry \"../../../../outside/pwned\" refused", "name has a \"..\" component"}},
      {"DotDotInsideName",
       [](const NodeStore&) {
         return with_benign_start({TarEntry::file("etc/../../../../../outside/pwned", "escaped\n")});
       },
       {"layer entry \"etc/../../../../../outside/pwned\" refused", "name has a \"..\" component"}},
      {"AbsoluteName",
       [](const NodeStore& node) { return with_benign_start({TarEntry::file(node.outside() + "/pwned", "escaped\n")}); },
       {"refused: name is absolute; layer paths are relative to the layer root"}},
      {"SymlinkAbsoluteThenFileThroughIt",
       [](const NodeStore& node) {
         return with_benign_start({TarEntry::symlink("escape", node.outside()), TarEntry::file("escape/pwned", "escaped\n")});
       },
       {"layer entry \"escape/pwned\" refused", "passes through a symlink"}},
      {"SymlinkUpAndOutThenFileThroughIt",
       [](const NodeStore& node) {
         return with_benign_start({TarEntry::symlink("up", "../../../../../../../../../../.." + node.outside()),
                                   TarEntry::file("up/pwned", "escaped\n")});
       },
       {"layer entry \"up/pwned\" refused", "passes through a symlink"}},
      {"SymlinkToRootThenFileThroughIt",
       [](const NodeStore& node) {
         return with_benign_start(
             {TarEntry::symlink("rootfs", "/"), TarEntry::file("rootfs" + node.outside() + "/pwned", "escaped\n")});
       },
       {"refused: its path passes through a symlink"}},
      {"SymlinkThenDirectoryThroughIt",
       [](const NodeStore& node) {
         return with_benign_start({TarEntry::symlink("etc/escape", node.outside()),
                                   TarEntry::directory("etc/escape/newdir")});
       },
       {"layer entry \"etc/escape/newdir/\" refused", "its path passes through a symlink (\"etc/escape\")"}},
      {"HardlinkAbsoluteToSentinel",
       [](const NodeStore& node) { return with_benign_start({TarEntry::hardlink("link", node.sentinel())}); },
       {"layer entry \"link\" refused: hard link target is absolute"}},
      {"HardlinkUpAndOutToSentinel",
       [](const NodeStore&) {
         return with_benign_start({TarEntry::hardlink("link", std::string(kUpToStoreParent) + "/outside/sentinel")});
       },
       {"layer entry \"link\" refused: hard link target has a \"..\" component"}},
      {"HardlinkToEtcPasswd",
       [](const NodeStore&) { return with_benign_start({TarEntry::hardlink("etc/passwd", "/etc/passwd")}); },
       {"layer entry \"etc/passwd\" refused: hard link target is absolute"},
       {"/etc/passwd"}},
      {"HardlinkThroughSymlinkToSentinel",
       [](const NodeStore& node) {
         return with_benign_start(
             {TarEntry::symlink("door", node.outside()), TarEntry::hardlink("link", "door/sentinel")});
       },
       {"layer entry \"link\" refused", "its hard link target passes through a symlink"}},
      {"HardlinkThenWriteThroughIt",
       // A link to a file of this layer is fine; the escape attempt is the
       // second hard link, to the sentinel, followed by data for it.
       [](const NodeStore& node) {
         return with_benign_start({TarEntry::hardlink("etc/hello-link", "etc/hello"),
                                   TarEntry::hardlink("etc/hello-link", node.sentinel()),
                                   TarEntry::file("etc/hello-link", "overwritten\n")});
       },
       {"layer entry \"etc/hello-link\" refused: hard link target is absolute"}},
      {"WhiteoutOfParent",
       [](const NodeStore&) { return with_benign_start({TarEntry::file("etc/.wh...", "")}); },
       {"layer entry \"etc/.wh...\" refused: whiteout of \"..\""}},
  };
  return cases;
}

// One registry per test suite: each test pushes its own repository.
class RegistrySuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { registry_ = std::make_unique<LocalRegistry>(); }
  static void TearDownTestSuite() { registry_.reset(); }
  static std::unique_ptr<LocalRegistry> registry_;
};

std::unique_ptr<LocalRegistry> RegistrySuite::registry_;

class HostileLayer : public RegistrySuite, public ::testing::WithParamInterface<HostileCase> {};
class LayerControls : public RegistrySuite {};

TEST_P(HostileLayer, IsRefusedAndLeavesNothing) {
  const HostileCase& hostile = GetParam();
  NodeStore node;
  const std::string outside_before = node.outside_snapshot();
  std::vector<std::string> host_before;
  for (const auto& path : hostile.host_files) host_before.push_back(file_identity(path));

  std::string repository = hostile.name;
  std::transform(repository.begin(), repository.end(), repository.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string reference = registry_->host() + "/hostile/" + repository + ":v1";
  push_image(reference, {hostile.entries(node)});

  const CommandResult result = node.pull(reference);
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("pull " + reference + ":"), std::string::npos) << result.err;
  for (const std::string& expected : hostile.expected) {
    EXPECT_NE(result.err.find(expected), std::string::npos) << "expected \"" << expected << "\" in:\n" << result.err;
  }
  EXPECT_EQ(node.what_is_left(), "");
  EXPECT_EQ(node.outside_snapshot(), outside_before);
  for (std::size_t i = 0; i < hostile.host_files.size(); ++i) {
    EXPECT_EQ(file_identity(hostile.host_files[i]), host_before[i]) << hostile.host_files[i];
  }
  const CommandResult listed = node.image({"ls", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  EXPECT_EQ(nlohmann::json::parse(listed.out), nlohmann::json::array()) << listed.out;
}

INSTANTIATE_TEST_SUITE_P(Escapes, HostileLayer, ::testing::ValuesIn(hostile_cases()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) { return info.param.name; });

// The checks above are not vacuous: the same pull of a harmless image does
// leave a layer, blobs and a record where they look.
TEST_F(LayerControls, ABenignImageIsWhereTheChecksLook) {
  NodeStore node;
  const std::string outside_before = node.outside_snapshot();
  const std::string reference = registry_->host() + "/benign/app:v1";
  const PushedImage image = push_image(reference, {small_tree("benign\n")});
  const CommandResult result = node.pull(reference);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(node.image_records().size(), 1u);
  EXPECT_EQ(node.layer_directories().size(), 1u);
  EXPECT_GE(node.blobs().size(), 2u);  // manifest and config
  EXPECT_NE(node.what_is_left(), "");
  EXPECT_EQ(node.leftovers(), std::vector<std::string>{});
  ASSERT_TRUE(node.diff_dir_of_blob(image.layers.at(0).descriptor.digest).has_value());
  EXPECT_EQ(node.outside_snapshot(), outside_before);
  EXPECT_NE(outside_before.find("/sentinel "), std::string::npos) << outside_before;
}

// An entry replacing a symlink that points outside replaces the symlink: it
// is not written through it (containerd's SymlinkOverridePath). The pull
// succeeds and the sentinel is untouched.
TEST_F(LayerControls, AFileReplacingAnOutwardSymlinkDoesNotWriteThroughIt) {
  NodeStore node;
  const std::string outside_before = node.outside_snapshot();
  const std::string reference = registry_->host() + "/hostile/symlink-override:v1";
  const PushedImage image = push_image(
      reference, {with_benign_start({TarEntry::symlink("etc/hosts", node.sentinel()),
                                     TarEntry::file("etc/hosts", "written into the layer\n")})});
  const CommandResult result = node.pull(reference);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const auto diff = node.diff_dir_of_blob(image.layers.at(0).descriptor.digest);
  ASSERT_TRUE(diff.has_value());
  struct stat status {};
  ASSERT_EQ(::lstat((*diff + "/etc/hosts").c_str(), &status), 0);
  EXPECT_TRUE(S_ISREG(status.st_mode));
  EXPECT_EQ(read_file(*diff + "/etc/hosts"), "written into the layer\n");
  EXPECT_EQ(node.outside_snapshot(), outside_before);
}

}  // namespace
}  // namespace deckhand::test
