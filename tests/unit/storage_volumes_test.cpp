// Pod volumes: emptyDir on disk and in memory (a sized tmpfs), every
// hostPath type both ways with the kubelet's messages, refused sources and
// fields, Kubernetes quantities, projected files written the AtomicWriter
// way (checked by a reader racing 200 swaps), and releases that leave
// nothing mounted and nothing on disk. Needs root (tmpfs, device nodes);
// the quantity tests run as anyone.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage_error.hpp"
#include "volumes.hpp"

namespace deckhand::storage {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> mounts_under(const std::string& prefix) {
  std::vector<std::string> found;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    if (point == prefix || point.rfind(prefix + "/", 0) == 0) found.push_back(point);
  }
  return found;
}

// The mount options mountinfo shows for `point` (per-mount and super block).
std::string mount_options_of(const std::string& point) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    if (line.find(" " + point + " ") != std::string::npos) return line;
  }
  return "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

mode_t mode_of(const std::string& path) {
  struct stat status {};
  EXPECT_EQ(::stat(path.c_str(), &status), 0) << path;
  return status.st_mode & 07777;
}

// Keeps a umask for one scope: the agent may run with any, and the modes
// the kubelet sets must not depend on it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : previous_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(previous_); }

 private:
  mode_t previous_;
};

// The message and kind of what `call` throws ("" and internal when it does
// not throw a StorageError).
template <typename Call>
std::pair<std::string, Failure> failure_of(Call call) {
  try {
    call();
  } catch (const StorageError& error) {
    return {error.what(), error.kind()};
  }
  return {"", Failure::internal};
}

class StorageVolumesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for tmpfs mounts and device nodes";
    char pattern[] = "/tmp/deckhand-volumes-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    temp_ = pattern;
    root_ = temp_ + "/pods";
    host_ = temp_ + "/host";
    fs::create_directories(host_);
  }

  void TearDown() override {
    if (temp_.empty()) return;
    EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{}) << "a test left mounts behind";
    std::vector<std::string> leftovers = mounts_under(temp_);
    std::sort(leftovers.rbegin(), leftovers.rend());
    for (const std::string& point : leftovers) ::umount2(point.c_str(), MNT_DETACH);
    std::error_code ignored;
    fs::remove_all(temp_, ignored);
  }

  std::string record_of(const std::string& pod, const std::string& name) const {
    return read_file(root_ + "/" + pod + "/volumes/" + name + ".json");
  }

  std::string temp_, root_, host_;
};

TEST_F(StorageVolumesTest, EmptyDirOnDiskIsAWorldWritableDirectoryWhateverTheUmask) {
  Volumes volumes(root_);
  const ScopedUmask strict(077);
  const std::string path = volumes.prepare("pod-1", json{{"name", "cache"}, {"emptyDir", json::object()}});
  EXPECT_EQ(path, root_ + "/pod-1/volumes/cache");
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_EQ(mode_of(path), 0777u);
  struct statfs filesystem {};
  ASSERT_EQ(::statfs(path.c_str(), &filesystem), 0);
  EXPECT_NE(filesystem.f_type, static_cast<decltype(filesystem.f_type)>(TMPFS_MAGIC));

  write_file(path + "/kept", "data");
  EXPECT_EQ(volumes.prepare("pod-1", json{{"name", "cache"}, {"emptyDir", json::object()}}), path);
  EXPECT_EQ(read_file(path + "/kept"), "data") << "a second prepare keeps the contents";

  // A size limit on disk is accepted and recorded for whoever evicts.
  const std::string scratch =
      volumes.prepare("pod-1", json{{"name", "scratch"}, {"emptyDir", {{"medium", ""}, {"sizeLimit", "1Gi"}}}});
  EXPECT_TRUE(fs::is_directory(scratch));
  EXPECT_EQ(json::parse(record_of("pod-1", "scratch"))["size_limit_bytes"], 1073741824u);
  EXPECT_TRUE(json::parse(record_of("pod-1", "cache"))["size_limit_bytes"].is_null());
  volumes.release_pod("pod-1");
  EXPECT_FALSE(fs::exists(root_ + "/pod-1"));
}

TEST_F(StorageVolumesTest, EmptyDirInMemoryIsATmpfsOfTheLimitsSize) {
  Volumes volumes(root_);
  const json volume = {{"name", "shm"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "1Mi"}}}};
  const std::string path = volumes.prepare("pod-1", volume);
  EXPECT_EQ(path, root_ + "/pod-1/volumes/shm");
  struct statfs filesystem {};
  ASSERT_EQ(::statfs(path.c_str(), &filesystem), 0);
  EXPECT_EQ(filesystem.f_type, static_cast<decltype(filesystem.f_type)>(TMPFS_MAGIC));
  EXPECT_EQ(static_cast<uint64_t>(filesystem.f_blocks) * filesystem.f_bsize, 1048576u);
  EXPECT_EQ(mode_of(path), 0777u);
  const std::string options = mount_options_of(path);
  EXPECT_NE(options.find("nosuid"), std::string::npos) << options;
  EXPECT_NE(options.find("nodev"), std::string::npos) << options;

  // Filling it: 768 KiB fit, the next 512 KiB do not.
  const std::string block(256 * 1024, 'x');
  const int fd = ::open((path + "/fill").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(::write(fd, block.data(), block.size()), static_cast<ssize_t>(block.size()));
  int error = 0;
  for (int i = 0; i < 2 && error == 0; ++i) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) error = errno;
  }
  ::close(fd);
  EXPECT_EQ(error, ENOSPC);

  EXPECT_EQ(volumes.prepare("pod-1", volume), path);
  EXPECT_EQ(mounts_under(path).size(), 1u) << "a second prepare must not mount again";
  volumes.release("pod-1", "shm");
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(root_ + "/pod-1/volumes/shm.json"));
  volumes.release("pod-1", "shm");  // missing is fine
}

TEST_F(StorageVolumesTest, EmptyDirInMemoryWithoutALimitHasNoSizeOption) {
  Volumes volumes(root_);
  const std::string path = volumes.prepare("pod-1", json{{"name", "shm"}, {"emptyDir", {{"medium", "Memory"}}}});
  struct statfs filesystem {};
  ASSERT_EQ(::statfs(path.c_str(), &filesystem), 0);
  EXPECT_EQ(filesystem.f_type, static_cast<decltype(filesystem.f_type)>(TMPFS_MAGIC));
  // tmpfs' own default: half of the memory, far more than any test limit.
  EXPECT_GT(static_cast<uint64_t>(filesystem.f_blocks) * filesystem.f_bsize, 64u << 20);
  volumes.release_pod("pod-1");
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});
}

TEST_F(StorageVolumesTest, HostPathTypesAreCheckedInTheKubeletsWords) {
  // One of each kind of file.
  const std::string directory = host_ + "/dir", file = host_ + "/file", socket_path = host_ + "/sock",
                    character = host_ + "/chr", block = host_ + "/blk", fifo = host_ + "/fifo",
                    link_to_directory = host_ + "/link", missing = host_ + "/missing";
  fs::create_directories(directory);
  write_file(file, "x");
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::mknod(character.c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
  ASSERT_EQ(::mknod(block.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  fs::create_directory_symlink(directory, link_to_directory);

  struct Case {
    std::string type, path, problem;  // problem "" = accepted
  };
  const std::vector<Case> cases = {
      {"", missing, ""},
      {"Directory", directory, ""},
      {"Directory", link_to_directory, ""},
      {"Directory", file, " is not a directory"},
      {"Directory", missing, " is not a directory"},
      {"File", file, ""},
      {"File", directory, " is not a file"},
      {"File", fifo, " is not a file"},
      {"File", missing, " is not a file"},
      {"Socket", socket_path, ""},
      {"Socket", file, " is not a socket file"},
      {"CharDevice", character, ""},
      {"CharDevice", block, " is not a character device"},
      {"BlockDevice", block, ""},
      {"BlockDevice", character, " is not a block device"},
      {"DirectoryOrCreate", directory, ""},
      {"DirectoryOrCreate", file, " is not a directory"},
      {"FileOrCreate", file, ""},
      {"FileOrCreate", directory, " is not a file"},
  };
  Volumes volumes(root_);
  for (const Case& test : cases) {
    const json volume = {{"name", "host"}, {"hostPath", {{"path", test.path}, {"type", test.type}}}};
    if (test.problem.empty()) {
      EXPECT_EQ(volumes.prepare("pod-1", volume), test.path) << test.type << " " << test.path;
    } else {
      const auto [message, kind] = failure_of([&] { volumes.prepare("pod-1", volume); });
      EXPECT_EQ(message, "volume \"host\": hostPath type check failed: " + test.path + test.problem) << test.type;
      EXPECT_EQ(kind, Failure::invalid);
    }
    volumes.release("pod-1", "host");
  }
  ::close(listener);
  EXPECT_FALSE(fs::exists(missing)) << "type \"\" checks nothing and creates nothing";
  EXPECT_TRUE(fs::exists(file)) << "releasing a hostPath leaves the host's file alone";
}

TEST_F(StorageVolumesTest, HostPathOrCreateTypesMakeWhatIsMissing) {
  Volumes volumes(root_);
  const ScopedUmask strict(077);
  const std::string nested = host_ + "/made/a/b";
  EXPECT_EQ(volumes.prepare("pod-1", json{{"name", "d"}, {"hostPath", {{"path", nested}, {"type", "DirectoryOrCreate"}}}}),
            nested);
  for (const std::string& made : {host_ + "/made", host_ + "/made/a", nested}) {
    EXPECT_TRUE(fs::is_directory(made)) << made;
    EXPECT_EQ(mode_of(made), 0755u) << made;
  }
  const std::string created = host_ + "/new-file";
  EXPECT_EQ(volumes.prepare("pod-1", json{{"name", "f"}, {"hostPath", {{"path", created}, {"type", "FileOrCreate"}}}}),
            created);
  EXPECT_TRUE(fs::is_regular_file(created));
  EXPECT_EQ(fs::file_size(created), 0u);
  EXPECT_EQ(mode_of(created), 0644u);

  const std::string orphan = host_ + "/no-such-dir/file";
  const auto [message, kind] = failure_of([&] {
    volumes.prepare("pod-1", json{{"name", "o"}, {"hostPath", {{"path", orphan}, {"type", "FileOrCreate"}}}});
  });
  EXPECT_EQ(message, "volume \"o\": hostPath type check failed: cannot create file " + orphan +
                         ": No such file or directory (its directory " + host_ + "/no-such-dir must exist)");
  EXPECT_EQ(kind, Failure::invalid);
  EXPECT_FALSE(fs::exists(host_ + "/no-such-dir"));

  volumes.release_pod("pod-1");
  EXPECT_TRUE(fs::is_directory(nested)) << "a hostPath outlives the pod";
  EXPECT_TRUE(fs::is_regular_file(created));
}

TEST_F(StorageVolumesTest, HostPathsMustBeAbsoluteAndNormalised) {
  Volumes volumes(root_);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"relative/dir", "volume \"h\": hostPath.path \"relative/dir\" must be an absolute path"},
      {"", "volume \"h\": hostPath.path \"\" must be an absolute path"},
      {"/var/../etc", "volume \"h\": hostPath.path \"/var/../etc\" must not contain \"..\""},
      {"/var//log", "volume \"h\": hostPath.path \"/var//log\" must be normalised (no empty or \".\" components, "
                    "no trailing /)"},
      {"/var/log/", "volume \"h\": hostPath.path \"/var/log/\" must be normalised (no empty or \".\" components, "
                    "no trailing /)"},
      {"/var/./log", "volume \"h\": hostPath.path \"/var/./log\" must be normalised (no empty or \".\" components, "
                     "no trailing /)"},
  };
  for (const auto& [path, expected] : refused) {
    const auto [message, kind] =
        failure_of([&] { volumes.prepare("pod-1", json{{"name", "h"}, {"hostPath", {{"path", path}}}}); });
    EXPECT_EQ(message, expected);
    EXPECT_EQ(kind, Failure::invalid);
  }
  EXPECT_EQ(failure_of([&] { volumes.prepare("pod-1", json{{"name", "h"}, {"hostPath", json::object()}}); }).first,
            "volume \"h\": hostPath.path is required (a string)");
  EXPECT_EQ(volumes.prepare("pod-1", json{{"name", "h"}, {"hostPath", {{"path", "/"}}}}), "/");
  EXPECT_NE(failure_of([&] {
              volumes.prepare("pod-1", json{{"name", "t"}, {"hostPath", {{"path", "/"}, {"type", "Dir"}}}});
            }).first.find("hostPath.type \"Dir\" is not one of"),
            std::string::npos);
  volumes.release_pod("pod-1");
}

TEST_F(StorageVolumesTest, UnsupportedSourcesUnknownFieldsAndBadNamesAreRefused) {
  Volumes volumes(root_);
  const std::vector<std::pair<json, std::string>> refused = {
      {{{"name", "x"}, {"configMap", {{"name", "settings"}}}},
       "volume \"x\": configMap volumes are not supported by this plugin; use project()"},
      {{{"name", "x"}, {"secret", {{"secretName", "s"}}}},
       "volume \"x\": secret volumes are not supported by this plugin; use project()"},
      {{{"name", "x"}, {"downwardAPI", json::object()}},
       "volume \"x\": downwardAPI volumes are not supported by this plugin; use project()"},
      {{{"name", "x"}, {"projected", json::object()}},
       "volume \"x\": projected volumes are not supported by this plugin; use project()"},
      {{{"name", "x"}, {"persistentVolumeClaim", {{"claimName", "c"}}}},
       "volume \"x\": persistentVolumeClaim volumes are not supported by this plugin (it supports emptyDir and "
       "hostPath)"},
      {{{"name", "x"}, {"nfs", {{"server", "s"}, {"path", "/"}}}},
       "volume \"x\": nfs volumes are not supported by this plugin (it supports emptyDir and hostPath)"},
      {{{"name", "x"}, {"emptyDir", json::object()}, {"readOnly", true}}, "volume \"x\": unknown field \"readOnly\""},
      {{{"name", "x"}, {"emptyDir", {{"medium", ""}, {"size", "1Gi"}}}},
       "volume \"x\": unknown field \"emptyDir.size\""},
      {{{"name", "x"}, {"hostPath", {{"path", "/tmp"}, {"readOnly", true}}}},
       "volume \"x\": unknown field \"hostPath.readOnly\""},
      {{{"name", "x"}, {"emptyDir", {{"medium", "HugePages"}}}},
       "volume \"x\": emptyDir.medium \"HugePages\" is not supported (expected \"\" for the node's disk or "
       "\"Memory\" for a tmpfs)"},
      {{{"name", "x"}, {"emptyDir", json::object()}, {"hostPath", {{"path", "/tmp"}}}},
       "volume \"x\": more than one volume source (emptyDir, hostPath); a volume has exactly one"},
      {{{"name", "x"}}, "volume \"x\": no volume source; this plugin takes emptyDir or hostPath"},
      {{{"name", "x"}, {"emptyDir", nullptr}}, "volume \"x\": no volume source; this plugin takes emptyDir or hostPath"},
      {{{"name", "x"}, {"emptyDir", {{"sizeLimit", "lots"}}}},
       "invalid quantity \"lots\": expected a number with an optional suffix: k M G T P E (powers of 1000), Ki Mi "
       "Gi Ti Pi Ei (powers of 1024), m (thousandths) or an exponent such as e6"},
      {{{"name", "x"}, {"emptyDir", {{"sizeLimit", "-1Gi"}}}}, "invalid quantity \"-1Gi\": a size cannot be negative"},
      {{{"emptyDir", json::object()}}, "a volume needs a \"name\" (a string)"},
      {json::array(), "a volume must be a JSON object"},
  };
  for (const auto& [volume, expected] : refused) {
    const auto [message, kind] = failure_of([&] { volumes.prepare("pod-1", volume); });
    EXPECT_EQ(message, expected) << volume.dump();
    EXPECT_EQ(kind, Failure::invalid) << volume.dump();
  }
  for (const std::string& name :
       {std::string("Upper"), std::string("-x"), std::string("x-"), std::string("a_b"), std::string("a.b"),
        std::string(64, 'a'), std::string()}) {
    const auto [message, kind] =
        failure_of([&] { volumes.prepare("pod-1", json{{"name", name}, {"emptyDir", json::object()}}); });
    EXPECT_EQ(message, "volume name \"" + name +
                           "\" is not a DNS-1123 label (at most 63 of a-z 0-9 and '-', starting and ending with a "
                           "letter or digit)");
    EXPECT_EQ(kind, Failure::invalid);
  }
  EXPECT_FALSE(fs::exists(root_)) << "nothing is made for a refused volume";
  EXPECT_EQ(volumes.prepare("pod-1", json{{"name", std::string(63, 'a')}, {"emptyDir", json::object()}}),
            root_ + "/pod-1/volumes/" + std::string(63, 'a'));
  volumes.release_pod("pod-1");
}

TEST_F(StorageVolumesTest, AnotherSourceForAnExistingVolumeIsRefused) {
  Volumes volumes(root_);
  volumes.prepare("pod-1", json{{"name", "data"}, {"emptyDir", json::object()}});
  for (const json& other : {json{{"name", "data"}, {"hostPath", {{"path", "/tmp"}}}},
                            json{{"name", "data"}, {"emptyDir", {{"medium", "Memory"}}}},
                            json{{"name", "data"}, {"emptyDir", {{"sizeLimit", "1Gi"}}}}}) {
    const auto [message, kind] = failure_of([&] { volumes.prepare("pod-1", other); });
    EXPECT_EQ(message, "volume \"data\" of pod pod-1 exists with another source or settings; release it first");
    EXPECT_EQ(kind, Failure::exists);
  }
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});
  volumes.prepare("pod-1", json{{"name", "host"}, {"hostPath", {{"path", "/tmp"}}}});
  EXPECT_EQ(failure_of([&] { volumes.project("pod-1", "host", {}); }).second, Failure::exists);
  volumes.release_pod("pod-1");
}

TEST_F(StorageVolumesTest, InvalidPodIdsAreRefused) {
  Volumes volumes(root_);
  for (const std::string& pod : {std::string(), std::string("-p"), std::string("../p"), std::string("p/q"),
                                 std::string(129, 'p'), std::string(".p")}) {
    EXPECT_EQ(failure_of([&] { volumes.prepare(pod, json{{"name", "a"}, {"emptyDir", json::object()}}); }).second,
              Failure::invalid)
        << pod;
    EXPECT_EQ(failure_of([&] { volumes.release_pod(pod); }).second, Failure::invalid) << pod;
    EXPECT_EQ(failure_of([&] { volumes.project(pod, "a", {}); }).second, Failure::invalid) << pod;
  }
  EXPECT_EQ(failure_of([&] { volumes.release("pod-1", "Bad"); }).second, Failure::invalid);
  EXPECT_EQ(failure_of([&] { volumes.project("pod-1", "../x", {}); }).second, Failure::invalid);
  EXPECT_FALSE(fs::exists(root_));
}

TEST(StorageQuantityTest, SizesParseExactlyAndRoundUp) {
  const std::vector<std::pair<std::string, uint64_t>> sizes = {
      {"0", 0},
      {"1", 1},
      {"128974848", 128974848},
      {"129e6", 129000000},
      {"129E6", 129000000},
      {"129M", 129000000},
      {"123Mi", 128974848},
      {"1Gi", 1073741824},
      {"500k", 500000},
      {"0.5Gi", 536870912},
      {"1.5Ki", 1536},
      {"0.1Ki", 103},  // 102.4 bytes, rounded up
      {"1T", 1000000000000},
      {"1P", 1000000000000000},
      {"1E", 1000000000000000000},
      {"1Ti", 1ull << 40},
      {"1Pi", 1ull << 50},
      {"1Ei", 1ull << 60},
      {"15Ei", 15ull << 60},
      {"18446744073709551615", UINT64_MAX},
      {"1e19", 10000000000000000000ull},
      {"500m", 1},  // half a byte
      {"1500m", 2},
      {"1e-3", 1},
      {"1e-999", 1},
      {"0e999", 0},
      {"-0", 0},
      {"+5", 5},
      {".5k", 500},
      {"5.", 5},
      {"2.5e2", 250},
      {"1e+2", 100},
      {"0.000001Ki", 1},
      {"000123", 123},
      {"1.000000000000000000000000001", 2},
  };
  for (const auto& [text, bytes] : sizes) {
    try {
      EXPECT_EQ(parse_quantity_bytes(text), bytes) << text;
    } catch (const StorageError& error) {
      ADD_FAILURE() << text << ": " << error.what();
    }
  }
}

TEST(StorageQuantityTest, GarbageNegativeAndOverflowingSizesAreRefused) {
  const std::vector<std::string> refused = {
      "",   "-1",   "-1Gi", "-0.5", "abc",  "1KB",  "1K",    "1ki", "1 Gi",  " 1",  "1 ",   "1.2.3",
      "Gi", ".",    "1e",   "1e+",  "e3",   "1Mi1", "0x10",  "1,000", "1e1.5", "1Gib", "16Ei", "2e19",
      "18446744073709551616", "99999999999999999999999", std::string(101, '1'), "1\n", "\xe2\x88\x9e"};
  for (const std::string& text : refused) {
    try {
      parse_quantity_bytes(text);
      ADD_FAILURE() << "\"" << text << "\" was accepted";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), Failure::invalid) << text;
      EXPECT_EQ(std::string(error.what()).rfind("invalid quantity \"", 0), 0u) << error.what();
    }
  }
}

// What a projected volume holds: generation directories, ..data and the
// user-visible names.
std::set<std::string> entries_of(const std::string& directory) {
  std::set<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::vector<std::string> generations_in(const std::string& directory) {
  std::vector<std::string> generations;
  for (const std::string& name : entries_of(directory)) {
    // "..2026_11_28_01_02_03.123456789": d stands for a digit.
    static const std::string kShape = "..dddd_dd_dd_dd_dd_dd.ddddddddd";
    bool matches = name.size() == kShape.size();
    for (std::size_t i = 0; matches && i < name.size(); ++i) {
      matches = kShape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(name[i])) != 0 : name[i] == kShape[i];
    }
    if (matches) generations.push_back(name);
  }
  return generations;
}

TEST_F(StorageVolumesTest, ProjectWritesFilesWithTheirModesBehindDataSymlinks) {
  Volumes volumes(root_);
  const ScopedUmask strict(077);
  const std::map<std::string, ProjectedFile> files = {
      {"config.yaml", {"a: 1\n", 0644}},
      {"bin/run.sh", {"#!/bin/sh\n", 0755}},
      {"secrets/db/password", {"hunter2", 0400}},
      {".hidden", {"", 0600}},
  };
  const std::string path = volumes.project("pod-1", "config", files);
  EXPECT_EQ(path, root_ + "/pod-1/volumes/config");
  const std::vector<std::string> generations = generations_in(path);
  ASSERT_EQ(generations.size(), 1u);
  EXPECT_EQ(entries_of(path),
            (std::set<std::string>{"..data", generations[0], ".hidden", "bin", "config.yaml", "secrets"}));
  EXPECT_EQ(fs::read_symlink(path + "/..data").string(), generations[0]);
  EXPECT_EQ(fs::read_symlink(path + "/config.yaml").string(), "..data/config.yaml");
  EXPECT_EQ(fs::read_symlink(path + "/secrets").string(), "..data/secrets");
  EXPECT_EQ(mode_of(path + "/" + generations[0]), 0755u);

  for (const auto& [name, file] : files) {
    EXPECT_EQ(read_file(path + "/" + name), file.content) << name;
    EXPECT_EQ(mode_of(path + "/" + name), file.mode) << name;
  }
  EXPECT_EQ(mode_of(path + "/secrets/db"), 0755u);

  // The same files again change nothing.
  volumes.project("pod-1", "config", files);
  EXPECT_EQ(generations_in(path), generations);
  // Only a mode changed: a new generation.
  std::map<std::string, ProjectedFile> stricter = files;
  stricter["config.yaml"].mode = 0600;
  volumes.project("pod-1", "config", stricter);
  ASSERT_EQ(generations_in(path).size(), 1u);
  EXPECT_NE(generations_in(path), generations);
  EXPECT_EQ(mode_of(path + "/config.yaml"), 0600u);
  volumes.release("pod-1", "config");
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(StorageVolumesTest, ProjectRemovesNamesNoLongerInTheSet) {
  Volumes volumes(root_);
  const std::string path =
      volumes.project("pod-1", "config", {{"a", {"1", 0644}}, {"b", {"2", 0644}}, {"dir/c", {"3", 0644}}});
  volumes.project("pod-1", "config", {{"b", {"22", 0644}}});
  const std::vector<std::string> generations = generations_in(path);
  ASSERT_EQ(generations.size(), 1u);
  EXPECT_EQ(entries_of(path), (std::set<std::string>{"..data", generations[0], "b"}));
  EXPECT_EQ(read_file(path + "/b"), "22");

  volumes.project("pod-1", "config", {});
  EXPECT_EQ(entries_of(path), (std::set<std::string>{"..data", generations_in(path).at(0)}));
  volumes.release_pod("pod-1");
}

TEST_F(StorageVolumesTest, ProjectRefusesUnusableNamesAndModes) {
  Volumes volumes(root_);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"", "must not be empty"},
      {"/etc/passwd", "must be a relative path"},
      {"../escape", "must not start with \"..\" (those names are the writer's own)"},
      {"..data", "must not start with \"..\" (those names are the writer's own)"},
      {"a/../../b", "must not contain \"..\""},
      {"a//b", "must not have empty components (\"//\" or a trailing /)"},
      {"a/", "must not have empty components (\"//\" or a trailing /)"},
      {"./a", "must not contain \".\" components"},
      {std::string(256, 'n'), "a component is longer than 255 bytes"},
  };
  for (const auto& [name, why] : refused) {
    const auto [message, kind] = failure_of([&] { volumes.project("pod-1", "v", {{name, {"x", 0644}}}); });
    // Names are cut at 200 bytes in messages.
    EXPECT_EQ(message, "invalid projected file name \"" + name.substr(0, 200) + "\": " + why);
    EXPECT_EQ(kind, Failure::invalid);
  }
  EXPECT_EQ(failure_of([&] { volumes.project("pod-1", "v", {{"a", {"x", 04755}}}); }).first,
            "invalid projected file name \"a\": mode 04755 is above 0777");
  EXPECT_EQ(failure_of([&] { volumes.project("pod-1", "v", {{"a", {"x", 0644}}, {"a/b", {"y", 0644}}}); }).first,
            "invalid projected files: \"a\" is both a file and a directory");
  EXPECT_FALSE(fs::exists(root_)) << "nothing is made for refused files";
}

// A reader that opens ..data once and reads both files relative to it must
// always see one generation, while the writer swaps 200 times. Files of an
// old generation may vanish under the reader (it retries then), but never
// change.
TEST_F(StorageVolumesTest, ProjectReplacesTheSetAtomically) {
  Volumes volumes(root_);
  const auto generation = [](int number) {
    std::map<std::string, ProjectedFile> files = {{"first", {"generation " + std::to_string(number), 0644}},
                                                  {"second", {"generation " + std::to_string(number), 0644}}};
    // Names that come and go between generations.
    files[number % 2 == 0 ? "even" : "odd/nested"] = {"x", 0644};
    return files;
  };
  const std::string path = volumes.project("pod-1", "config", generation(0));

  std::atomic<bool> writing{true};
  std::atomic<long> consistent{0}, vanished{0}, mixed{0};
  std::thread reader([&] {
    while (writing.load()) {
      const int data = ::open((path + "/..data").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (data < 0) {
        ++vanished;
        continue;
      }
      std::string contents[2];
      bool complete = true;
      const char* names[2] = {"first", "second"};
      for (int i = 0; i < 2; ++i) {
        const int fd = ::openat(data, names[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
          complete = false;
          break;
        }
        char buffer[64];
        const ssize_t count = ::read(fd, buffer, sizeof buffer);
        ::close(fd);
        if (count <= 0) {
          complete = false;
          break;
        }
        contents[i].assign(buffer, static_cast<std::size_t>(count));
      }
      ::close(data);
      if (!complete) {
        ++vanished;
      } else if (contents[0] == contents[1]) {
        ++consistent;
      } else {
        ++mixed;
      }
    }
  });
  for (int number = 1; number <= 200; ++number) volumes.project("pod-1", "config", generation(number));
  writing = false;
  reader.join();

  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(consistent.load(), 0);
  std::printf("reader: %ld consistent reads, %ld retried after a generation vanished, %ld mixed\n",
              consistent.load(), vanished.load(), mixed.load());
  EXPECT_EQ(read_file(path + "/first"), "generation 200");
  const std::vector<std::string> generations = generations_in(path);
  EXPECT_EQ(generations.size(), 1u) << "old generations are removed";
  EXPECT_EQ(entries_of(path), (std::set<std::string>{"..data", generations.at(0), "even", "first", "second"}));
  volumes.release_pod("pod-1");
}

TEST_F(StorageVolumesTest, ReleasePodLeavesNothingMountedAndNothingOnDisk) {
  Volumes volumes(root_);
  const std::string host_directory = host_ + "/kept";
  fs::create_directories(host_directory);
  volumes.prepare("pod-1", json{{"name", "disk"}, {"emptyDir", json::object()}});
  const std::string memory =
      volumes.prepare("pod-1", json{{"name", "memory"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "4Mi"}}}});
  volumes.prepare("pod-1", json{{"name", "host"}, {"hostPath", {{"path", host_directory}, {"type", "Directory"}}}});
  volumes.project("pod-1", "config", {{"a", {"1", 0644}}});
  // A secret kept in memory: files projected into the Memory emptyDir.
  volumes.project("pod-1", "memory", {{"token", {"t", 0600}}});
  EXPECT_EQ(read_file(memory + "/token"), "t");
  // Whatever a container left: a read-only directory, a symlink out.
  fs::create_directories(root_ + "/pod-1/volumes/disk/ro/inner");
  fs::permissions(root_ + "/pod-1/volumes/disk/ro", fs::perms::owner_read | fs::perms::owner_exec);
  fs::create_directory_symlink(host_directory, root_ + "/pod-1/volumes/disk/out");
  write_file(host_directory + "/precious", "keep");
  // Another pod is not touched.
  const std::string other = volumes.prepare("pod-2", json{{"name", "disk"}, {"emptyDir", json::object()}});

  ASSERT_EQ(mounts_under(root_).size(), 1u);
  volumes.release_pod("pod-1");
  EXPECT_EQ(mounts_under(temp_), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(root_ + "/pod-1"));
  EXPECT_EQ(read_file(host_directory + "/precious"), "keep");
  EXPECT_TRUE(fs::is_directory(other));
  volumes.release_pod("pod-1");  // missing is fine
  volumes.release("pod-1", "disk");
  volumes.release_pod("pod-2");
  EXPECT_TRUE(fs::is_empty(root_));
}

}  // namespace
}  // namespace deckhand::storage
