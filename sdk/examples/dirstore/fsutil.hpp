// dirstore: the few file-system primitives the plugin needs, all relative to
// an open directory (openat and friends) so a name can never walk out of it.
#pragma once

#include <deckhand/plugin.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dirstore {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() noexcept;
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// strerror for errno values, thread-safe.
std::string errno_text(int err);

// "<path>: <strerror(err)>".
std::string os_error(const std::string& path, int err);

// The error a failed file-system call deserves: ENOSPC and friends are
// RESOURCE_EXHAUSTED, EACCES/EPERM/EROFS PERMISSION_DENIED, the rest INTERNAL.
deckhand::sdk::Error fs_error(const std::string& message, int err);

// A CLOCK_MONOTONIC deadline in ns (0 = none). check() throws
// DH_ERR_DEADLINE_EXCEEDED once it has passed.
struct Deadline {
  uint64_t ns = 0;
  void check(const char* doing) const;
};

// Creates path and its missing parents with `mode`. Returns 0 or an errno.
int make_dirs(const std::string& path, mode_t mode);

// Opens a directory by path (following symlinks: the admin chose the path).
// Returns an invalid Fd and sets errno on failure.
Fd open_dir(const std::string& path);

// Opens dirfd/name as a directory without following a symlink in `name`.
// Returns an invalid Fd and sets errno on failure (ELOOP: a symlink,
// ENOTDIR: not a directory).
Fd open_subdir(int dirfd, const std::string& name);

// The names in a directory, without "." and "..", unsorted. Throws
// deckhand::sdk::Error naming `path` on failure.
std::vector<std::string> list_dir(int dirfd, const std::string& path);

// Sum of the sizes of the regular files under dirfd, counted once per inode,
// never following a symlink and never crossing into another file system.
// Unreadable subdirectories are left out and counted in *skipped.
uint64_t tree_size(int dirfd, const Deadline& deadline, uint64_t* skipped);

// Replaces dirfd/name with data atomically and durably: a temporary file
// ".<name>.tmp" is written, fsynced and renamed over name, then the directory
// is fsynced. Throws deckhand::sdk::Error on failure.
void write_file_atomic(int dirfd, const std::string& dir_path, const std::string& name,
                       std::string_view data);

// Removes dirfd/name durably; a missing file is not an error. Throws on failure.
void remove_file(int dirfd, const std::string& dir_path, const std::string& name);

// Reads a small regular file dirfd/name (not following a symlink). Returns
// false and sets errno on failure.
bool read_file(int dirfd, const std::string& name, std::string* out);

}  // namespace dirstore
