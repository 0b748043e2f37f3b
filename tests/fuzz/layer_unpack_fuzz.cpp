// libFuzzer target: the image layer unpacker (decompression, libarchive's tar
// reader, and the entry writer) on arbitrary bytes, as containerd's FuzzApply
// does. Each input is unpacked into a fresh target/ inside a sandbox dir that
// also holds a sentinel file. Acceptable outcomes: an unpacked layer or a
// StorageError. Any other exception, a crash, a sanitizer report, a changed
// sentinel or sandbox dir, or a new name next to target/ is a bug: the
// process aborts so libFuzzer keeps the input. Run it as root (device nodes,
// owners, trusted.* xattrs), like the agent.
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "layer_unpack.hpp"
#include "storage_error.hpp"

namespace {

namespace fs = std::filesystem;

[[noreturn]] void escaped(const std::string& what) {
  std::fprintf(stderr, "layer_unpack_fuzz: %s\n", what.c_str());
  std::abort();
}

// All an escape could change about a node: type, mode, owner, link count,
// ctime (chmod, chown, link and xattr changes move it), size, content, xattrs.
std::string describe(const std::string& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) return "missing: " + std::string(std::strerror(errno));
  std::string text = std::to_string(status.st_mode) + " " + std::to_string(status.st_uid) + ":" +
                     std::to_string(status.st_gid) + " nlink=" + std::to_string(status.st_nlink) +
                     " ctime=" + std::to_string(status.st_ctim.tv_sec) + "." + std::to_string(status.st_ctim.tv_nsec);
  char names[1024];
  const ssize_t listed = ::llistxattr(path.c_str(), names, sizeof(names));
  text += " xattrs=" + (listed > 0 ? std::string(names, static_cast<std::size_t>(listed)) : std::string());
  if (S_ISREG(status.st_mode)) {
    std::ifstream in(path, std::ios::binary);
    text += " content=" + std::string(std::istreambuf_iterator<char>(in), {});
  }
  return text;
}

std::set<std::string> names_in(const std::string& directory) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.insert(entry.path().filename().string());
  return names;
}

struct Sandbox {
  std::string dir;
  std::string target;
  std::string sentinel;
  std::string dir_state;
  std::string sentinel_state;

  Sandbox() {
    char pattern[] = "/tmp/layer_unpack_fuzz.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) escaped("cannot make the sandbox dir");
    dir = pattern;
    target = dir + "/target";
    sentinel = dir + "/sentinel";
    std::ofstream(sentinel, std::ios::binary) << "unbroken";
    ::chmod(sentinel.c_str(), 0400);
    sentinel_state = describe(sentinel);
    dir_state = state_of_dir();
  }

  // The dir's own mode, owner and xattrs (not its times: target/ comes and goes).
  std::string state_of_dir() const {
    struct stat status {};
    ::lstat(dir.c_str(), &status);
    char names[1024];
    const ssize_t listed = ::llistxattr(dir.c_str(), names, sizeof(names));
    return std::to_string(status.st_mode) + " " + std::to_string(status.st_uid) + ":" + std::to_string(status.st_gid) +
           " " + (listed > 0 ? std::string(names, static_cast<std::size_t>(listed)) : std::string());
  }
};

Sandbox& sandbox() {
  static Sandbox instance;
  static const bool cleanup_registered = [] {
    return std::atexit([] {
      std::error_code ignored;
      fs::remove_all(instance.dir, ignored);
    }) == 0;
  }();
  (void)cleanup_registered;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Sandbox& box = sandbox();
  if (::mkdir(box.target.c_str(), 0755) != 0) escaped("cannot make " + box.target + ": " + std::strerror(errno));

  std::size_t offset = 0;
  const deckhand::storage::ByteSource source = [&](char* buffer, std::size_t capacity) {
    const std::size_t piece = std::min(capacity, size - offset);
    std::memcpy(buffer, data + offset, piece);
    offset += piece;
    return piece;
  };
  // Small caps keep a bomb in the input from costing more than a moment.
  const deckhand::storage::UnpackLimits limits{.max_bytes = 16 << 20, .max_entries = 10'000};
  try {
    deckhand::storage::unpack_layer(source, box.target, limits);
  } catch (const deckhand::storage::StorageError&) {
    // expected for most inputs
  }

  if (describe(box.sentinel) != box.sentinel_state) escaped("the sentinel outside the layer changed");
  if (box.state_of_dir() != box.dir_state) escaped("the sandbox dir's mode, owner or xattrs changed");
  const std::set<std::string> expected = {"sentinel", "target"};
  if (names_in(box.dir) != expected) escaped("a name appeared next to the layer directory");
  std::error_code error;
  fs::remove_all(box.target, error);  // symlinks are removed, never followed
  if (error) escaped("cannot remove " + box.target + ": " + error.message());
  return 0;
}
