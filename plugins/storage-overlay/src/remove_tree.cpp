#include "remove_tree.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>  // FS_IOC_GETFLAGS; <sys/mount.h> is not included here, so no clash with <linux/mount.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "rootfs_files.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

[[noreturn]] void fail(const std::string& step, const std::string& path, int error) {
  throw StorageError(Failure::internal, "cannot " + step + " " + path + ": " + errno_text(error));
}

// One directory on the way down: its name in its parent, its identity (to
// check that ".." leads back to where we came from), and the entries still
// to remove, so coming back up never lists a directory again.
struct Level {
  std::string name;
  dev_t device;
  ino_t inode;
  std::vector<std::string> pending;
};


// Clears immutable and append-only, which stop even root from unlinking.
void clear_blocking_flags(int fd) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return;
  if ((flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)) == 0) return;
  flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
  ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

// unlinkat, then once more after removing what stood in the way: a directory
// without write permission (EACCES, when the agent lacks CAP_DAC_OVERRIDE),
// or an immutable / append-only entry or directory (EPERM). Only regular
// files and directories are opened to clear flags: opening a device node
// would talk to the device.
void remove_entry(int directory_fd, const std::string& name, mode_t type, const std::string& path) {
  const int flags = S_ISDIR(type) ? AT_REMOVEDIR : 0;
  if (::unlinkat(directory_fd, name.c_str(), flags) == 0 || errno == ENOENT) return;
  const int error = errno;
  if (error == EACCES) {
    ::fchmod(directory_fd, 0700);
  } else if (error == EPERM) {
    clear_blocking_flags(directory_fd);
    if (S_ISREG(type) || S_ISDIR(type)) {
      FileDescriptor entry(::openat(directory_fd, name.c_str(),
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
      if (entry.get() >= 0) clear_blocking_flags(entry.get());
    }
  } else {
    fail("remove", path, error);
  }
  if (::unlinkat(directory_fd, name.c_str(), flags) != 0 && errno != ENOENT) fail("remove", path, errno);
}

int open_directory(int parent_fd, const std::string& name, const std::string& path) {
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(parent_fd, name.c_str(), flags);
  if (fd < 0 && errno == EACCES) {
    // A directory made unreadable (mode 0000) by its writer.
    ::fchmodat(parent_fd, name.c_str(), 0700, 0);
    fd = ::openat(parent_fd, name.c_str(), flags);
  }
  if (fd < 0) fail("open", path, errno);
  return fd;
}

std::string path_of(const std::string& top, const std::vector<Level>& stack, const std::string& name) {
  std::string path = top;
  for (std::size_t i = 1; i < stack.size(); ++i) path += "/" + stack[i].name;
  return name.empty() ? path : path + "/" + name;
}

[[noreturn]] void refuse_mount_point(const std::string& top, const std::string& path) {
  throw StorageError(Failure::precondition, "not removing " + top + ": " + path +
                                                " is a mount point (unmount it first; nothing below a mount is "
                                                "ever deleted)");
}

}  // namespace

std::vector<std::string> list_directory(int directory_fd, const std::string& path) {
  // readdir consumes its descriptor's offset; a duplicate keeps ours intact.
  const int duplicate = ::fcntl(directory_fd, F_DUPFD_CLOEXEC, 0);
  if (duplicate < 0) fail("open", path, errno);
  DIR* directory = ::fdopendir(duplicate);
  if (directory == nullptr) {
    const int error = errno;
    ::close(duplicate);
    fail("list", path, error);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
    errno = 0;
  }
  const int error = errno;
  ::closedir(directory);
  if (error != 0) fail("list", path, error);
  return names;
}

void remove_tree(const std::string& path) {
  if (path.empty() || path == "/") throw StorageError(Failure::internal, "refusing to remove \"" + path + "\"");
  const std::string top_name = path.substr(path.find_last_of('/') + 1);
  const std::string top_parent = parent_directory(path);
  FileDescriptor parent(::open(top_parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (parent.get() < 0) {
    if (errno == ENOENT) return;
    fail("open", top_parent, errno);
  }
  struct statx status {};
  if (::statx(parent.get(), top_name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_INO,
              &status) != 0) {
    if (errno == ENOENT) return;
    fail("inspect", path, errno);
  }
  if (status.stx_attributes & STATX_ATTR_MOUNT_ROOT) refuse_mount_point(path, path);
  if (!S_ISDIR(status.stx_mode)) {
    remove_entry(parent.get(), top_name, status.stx_mode, path);
    return;
  }

  FileDescriptor current(open_directory(parent.get(), top_name, path));
  struct stat top_status {};
  if (::fstat(current.get(), &top_status) != 0) fail("inspect", path, errno);
  const dev_t device = top_status.st_dev;
  std::vector<Level> stack;
  stack.push_back(Level{top_name, top_status.st_dev, top_status.st_ino, list_directory(current.get(), path)});

  while (!stack.empty()) {
    Level& level = stack.back();
    if (level.pending.empty()) {
      // This directory is empty now: go up and remove it.
      const std::string emptied = path_of(path, stack, "");
      if (stack.size() == 1) {
        current.reset();
        remove_entry(parent.get(), top_name, S_IFDIR, path);
        break;
      }
      const Level& above = stack[stack.size() - 2];
      FileDescriptor up(::openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      struct stat up_status {};
      if (up.get() < 0 || ::fstat(up.get(), &up_status) != 0) fail("open the parent of", emptied, errno);
      if (up_status.st_dev != above.device || up_status.st_ino != above.inode) {
        throw StorageError(Failure::internal,
                           "not removing " + path + ": " + emptied + " was moved while it was being removed");
      }
      current.reset(up.release());
      const std::string name = level.name;
      stack.pop_back();
      remove_entry(current.get(), name, S_IFDIR, emptied);
      continue;
    }

    const std::string name = level.pending.back();
    level.pending.pop_back();
    const std::string entry_path = path_of(path, stack, name);
    struct statx entry {};
    if (::statx(current.get(), name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_INO,
                &entry) != 0) {
      if (errno == ENOENT) continue;
      fail("inspect", entry_path, errno);
    }
    if (entry.stx_attributes & STATX_ATTR_MOUNT_ROOT) refuse_mount_point(path, entry_path);
    if (!S_ISDIR(entry.stx_mode)) {
      remove_entry(current.get(), name, entry.stx_mode, entry_path);
      continue;
    }
    // Most directories are empty by now or were always empty.
    if (::unlinkat(current.get(), name.c_str(), AT_REMOVEDIR) == 0) continue;

    FileDescriptor child(open_directory(current.get(), name, entry_path));
    struct stat child_status {};
    if (::fstat(child.get(), &child_status) != 0) fail("inspect", entry_path, errno);
    // Kernels before 5.8 do not mark mount roots; another device is one.
    if (child_status.st_dev != device) refuse_mount_point(path, entry_path);
    std::vector<std::string> entries = list_directory(child.get(), entry_path);
    current.reset(child.release());
    stack.push_back(Level{name, child_status.st_dev, child_status.st_ino, std::move(entries)});
  }
}

}  // namespace deckhand::storage
