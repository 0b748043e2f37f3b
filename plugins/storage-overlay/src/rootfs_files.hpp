// Small file system steps that root filesystems (rootfs_mount.cpp) and pod
// volumes (volumes.cpp) share: directories with an exact mode, record files
// replaced atomically, and telling or undoing a mount point.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace deckhand::storage {

// Owns a file descriptor: closed on every path out of a scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_;
};

// "No such file or directory" for ENOENT (thread-safe, unlike strerror).
std::string errno_text(int error);

// mkdir with exactly `mode` (the agent's umask does not apply). Returns true
// when it made the directory, false when a directory is already there (its
// mode untouched). Anything else there, or a failure, is StorageError
// naming `what` (e.g. "the upper directory").
bool make_directory(const std::string& path, mode_t mode, const std::string& what);

// mkdir -p: missing components are made with `mode` (exactly), existing ones
// are kept as they are.
void make_directories(const std::string& path, mode_t mode, const std::string& what);

// Writes `content` to a temporary file beside `path` and renames it over
// `path`, so a reader sees the old record or the new one, never half of it.
void replace_file(const std::string& path, const std::string& content);

// The whole file, or nullopt when it does not exist. Other failures throw.
std::optional<std::string> read_file_if_exists(const std::string& path);

// Whether `path` is the root of a mount (a directory something is mounted
// on). Missing is false. Does not follow a final symlink.
bool is_mount_point(const std::string& path);

// Lazily unmounts everything mounted on `path` (MNT_DETACH, also stacked
// mounts). Not mounted is fine.
void detach_mounts(const std::string& path);

// "/a/b/c" -> "/a/b"; "/a" -> "/".
std::string parent_directory(const std::string& path);

}  // namespace deckhand::storage
