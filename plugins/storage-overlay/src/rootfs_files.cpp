#include "rootfs_files.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include "storage_error.hpp"

namespace deckhand::storage {

std::string errno_text(int error) { return std::generic_category().message(error); }

void FileDescriptor::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

[[noreturn]] void fail(const std::string& step, const std::string& path, int error) {
  const Failure kind = error == ENOSPC || error == EDQUOT ? Failure::exhausted : Failure::internal;
  throw StorageError(kind, "cannot " + step + " " + path + ": " + errno_text(error));
}

}  // namespace

bool make_directory(const std::string& path, mode_t mode, const std::string& what) {
  if (::mkdir(path.c_str(), mode) == 0) {
    // mkdir applies the umask; the caller asked for this exact mode.
    if (::chmod(path.c_str(), mode) != 0) fail("set the mode of " + what, path, errno);
    return true;
  }
  const int error = errno;
  struct stat status {};
  if (error == EEXIST && ::lstat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) return false;
    throw StorageError(Failure::precondition,
                       "cannot create " + what + " " + path + ": something other than a directory is there");
  }
  fail("create " + what, path, error);
}

void make_directories(const std::string& path, mode_t mode, const std::string& what) {
  // Walk down from the top so every missing component gets `mode`.
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    if (!prefix.empty()) make_directory(prefix, mode, what);
    if (slash == std::string::npos) break;
  }
}

void replace_file(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) fail("create", temporary, errno);
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t count = ::write(fd.get(), content.data() + written, content.size() - written);
      if (count < 0 && errno == EINTR) continue;
      if (count < 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        fail("write", temporary, error);
      }
      written += static_cast<std::size_t>(count);
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail("rename " + temporary + " to", path, error);
  }
}

std::optional<std::string> read_file_if_exists(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("open", path, errno);
  }
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) fail("read", path, errno);
    if (count == 0) break;
    content.append(buffer, static_cast<std::size_t>(count));
  }
  return content;
}

std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool is_mount_point(const std::string& path) {
  struct statx status {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_INO, &status) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    fail("inspect", path, errno);
  }
  if (status.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) return (status.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  // Kernels before 5.8 do not report mount roots: a mount point is on
  // another device than its parent, or is its own parent ("/").
  struct stat self {}, parent {};
  if (::lstat(path.c_str(), &self) != 0 || ::stat((path + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

void detach_mounts(const std::string& path) {
  // Someone may have mounted twice on the same directory; each umount2 takes
  // the top one. The bound only stops a loop on a kernel that misreports.
  for (int attempt = 0; attempt < 64 && is_mount_point(path); ++attempt) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL) {
      fail("unmount", path, errno);
    }
  }
  if (is_mount_point(path)) {
    throw StorageError(Failure::internal, "cannot unmount " + path + ": it stays a mount point after 64 unmounts");
  }
}

}  // namespace deckhand::storage
