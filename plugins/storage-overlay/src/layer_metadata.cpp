#include "layer_metadata.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "layer_errors.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {

namespace {

// (uid_t)-1 means "do not change" to chown(2): the largest id a layer may set.
constexpr int64_t kMaxOwnerId = 0xfffffffeLL;
// Linux keeps 12 bits of major and 20 bits of minor device number.
constexpr uint64_t kMaxDeviceMajor = 0xfff;
constexpr uint64_t kMaxDeviceMinor = 0xfffff;

bool valid_nanoseconds(const timespec& time) { return time.tv_nsec >= 0 && time.tv_nsec < 1'000'000'000; }

std::string owner_text(const LayerEntry& entry) {
  return std::to_string(entry.uid) + ":" + std::to_string(entry.gid);
}

[[noreturn]] void fail_owner(const std::string& name, const LayerEntry& entry, int error) {
  // EINVAL: the ids are not mapped in this user namespace.
  if (error == EINVAL) refuse_entry(name, "owner " + owner_text(entry) + " cannot be set here: " + std::strerror(error));
  fail_entry_syscall(name, "set the owner " + owner_text(entry), error);
}

[[noreturn]] void fail_times(const std::string& name, int error) {
  if (error == EINVAL || error == EOVERFLOW || error == ERANGE) {
    refuse_entry(name, std::string("its times are out of the range the filesystem can store: ") + std::strerror(error));
  }
  fail_entry_syscall(name, "set the times", error);
}

// Returns normally when the xattr was set or the filesystem cannot store that
// kind of xattr at all (ENOTSUP: that layer content is dropped, as containerd
// does); refuses the entry when the value itself is unacceptable.
void check_xattr_result(int result, const std::string& entry_name, const std::string& xattr_name) {
  if (result == 0) return;
  const int error = errno;
  if (error == ENOTSUP) return;
  const std::string what = "extended attribute " + quote_entry_name(xattr_name);
  switch (error) {
    case EINVAL:
    case EPERM:
    case EACCES:
      refuse_entry(entry_name, "the kernel refused its " + what + ": " + std::strerror(error));
    case ERANGE:
    case E2BIG:
    case ENOSPC:
      refuse_entry(entry_name, "its " + what + " is too large for this filesystem: " + std::strerror(error));
    default:
      fail_entry_syscall(entry_name, "set the " + what, error);
  }
}

}  // namespace

void check_entry_metadata(const LayerEntry& entry) {
  if (entry.uid < 0 || entry.uid > kMaxOwnerId || entry.gid < 0 || entry.gid > kMaxOwnerId) {
    refuse_entry(entry.name, "owner " + owner_text(entry) + " is out of range (0 to " + std::to_string(kMaxOwnerId) + ")");
  }
  if (!valid_nanoseconds(entry.mtime) || !valid_nanoseconds(entry.atime)) {
    refuse_entry(entry.name, "its times have nanoseconds out of range");
  }
  if (entry.type == EntryType::char_device || entry.type == EntryType::block_device) {
    if (entry.device_major > kMaxDeviceMajor || entry.device_minor > kMaxDeviceMinor) {
      refuse_entry(entry.name, "device number " + std::to_string(entry.device_major) + ":" +
                                   std::to_string(entry.device_minor) + " is out of range (major up to " +
                                   std::to_string(kMaxDeviceMajor) + ", minor up to " +
                                   std::to_string(kMaxDeviceMinor) + ")");
    }
  }
  for (const auto& [name, value] : entry.xattrs) {
    if (name.starts_with("trusted.overlay.")) {
      refuse_entry(entry.name, "extended attribute " + quote_entry_name(name) +
                                   " belongs to overlayfs itself; layers express it with whiteout entries");
    }
  }
}

void apply_owner(int fd, const LayerEntry& entry) {
  if (::fchown(fd, static_cast<uid_t>(entry.uid), static_cast<gid_t>(entry.gid)) != 0) {
    fail_owner(entry.name, entry, errno);
  }
}

void apply_xattrs(int fd, const LayerEntry& entry) {
  for (const auto& [name, value] : entry.xattrs) {
    check_xattr_result(::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0), entry.name, name);
  }
}

void apply_mode(int fd, uint32_t mode, const std::string& entry_name) {
  if (::fchmod(fd, static_cast<mode_t>(mode & 07777)) != 0) fail_entry_syscall(entry_name, "set the mode", errno);
}

void apply_times(int fd, const timespec& atime, const timespec& mtime, const std::string& entry_name) {
  const timespec times[2] = {atime, mtime};
  if (::futimens(fd, times) != 0) fail_times(entry_name, errno);
}

void apply_owner_at(int parent_fd, const std::string& name, const LayerEntry& entry) {
  if (::fchownat(parent_fd, name.c_str(), static_cast<uid_t>(entry.uid), static_cast<gid_t>(entry.gid),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    fail_owner(entry.name, entry, errno);
  }
}

void apply_xattrs_at(int parent_fd, const std::string& name, const LayerEntry& entry) {
  if (entry.xattrs.empty()) return;
  // The magic link names the directory we hold (already checked to be
  // inside the layer); lsetxattr does not follow the final component.
  const std::string path = "/proc/self/fd/" + std::to_string(parent_fd) + "/" + name;
  for (const auto& [xattr_name, value] : entry.xattrs) {
    if (xattr_name.starts_with("user.")) continue;
    const int result = ::lsetxattr(path.c_str(), xattr_name.c_str(), value.data(), value.size(), 0);
    if (result != 0 && errno == ENOENT) {
      throw StorageError(Failure::internal, "cannot set extended attributes of layer entry " +
                                                quote_entry_name(entry.name) + ": /proc/self/fd is not available");
    }
    check_xattr_result(result, entry.name, xattr_name);
  }
}

void apply_mode_at(int parent_fd, const std::string& name, const LayerEntry& entry) {
  // glibc implements AT_SYMLINK_NOFOLLOW through an O_PATH descriptor, and
  // refuses (EOPNOTSUPP) should the name have become a symlink.
  if (::fchmodat(parent_fd, name.c_str(), static_cast<mode_t>(entry.mode & 07777), AT_SYMLINK_NOFOLLOW) != 0) {
    fail_entry_syscall(entry.name, "set the mode", errno);
  }
}

void apply_times_at(int parent_fd, const std::string& name, const LayerEntry& entry) {
  const timespec times[2] = {entry.atime, entry.mtime};
  if (::utimensat(parent_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) fail_times(entry.name, errno);
}

}  // namespace deckhand::storage
