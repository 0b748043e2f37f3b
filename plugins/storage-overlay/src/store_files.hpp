// Filesystem tools shared by the content store and the image store: an owned
// descriptor, system errors turned into StorageError, unguessable names,
// directory creation and fsync, bounded reads and atomic (durable) writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deckhand::storage {

// Owns one descriptor and closes it; movable, not copyable.
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  ~OwnedFd() { reset(); }
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();
  // Closes now and reports close()'s own error (a delayed write error on
  // some filesystems), which the destructor has to ignore.
  int close_checked();

 private:
  int fd_;
};

// Throws StorageError for a failed system call: exhausted when the disk or
// the quota is full (ENOSPC, EDQUOT), so that the caller can tell a full node
// from a bug; internal otherwise. The message is "<what>: <strerror>".
[[noreturn]] void throw_system_error(const std::string& what, int error);

// `bytes` random bytes (getrandom) as lowercase hex: names for temporary
// files that neither collide between threads nor can be guessed.
std::string random_hex(std::size_t bytes);

// mkdir -p: creates `path` and any missing parent with `mode`; existing
// directories are left as they are.
void make_directories(const std::string& path, mode_t mode);

OwnedFd open_directory(const std::string& path);

// Makes the directory's entries (a rename, a new or removed name) durable.
void fsync_directory(const std::string& path);

// Writes all of `data`, retrying short writes and EINTR.
void write_all(int fd, const void* data, std::size_t size, const std::string& what);

// The names in a directory, without "." and "..".
std::vector<std::string> directory_entries(const std::string& path);

// The whole file, or nullopt if it does not exist. Throws
// StorageError(exhausted) if it is longer than max_bytes.
std::optional<std::string> read_file_if_exists(const std::string& path, std::size_t max_bytes);

// Replaces <directory>/<name> with `content` so that a crash leaves either
// the old or the new file, never a mix: a temporary ".tmp-<random>" in the
// same directory (mode 0600), fsync, rename, fsync of the directory. The
// temporary is removed on failure; one left by a crash starts with ".tmp-".
void write_file_atomically(const std::string& directory, const std::string& name, std::string_view content);

inline constexpr std::string_view kTemporaryFilePrefix = ".tmp-";

}  // namespace deckhand::storage
