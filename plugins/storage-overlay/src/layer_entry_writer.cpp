#include "layer_entry_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "layer_errors.hpp"
#include "layer_metadata.hpp"
#include "safe_paths.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {

namespace {

// Implied parents are made as Docker makes them: root-owned, mode 0755.
constexpr mode_t kImpliedDirectoryMode = 0755;

std::string join(const std::string& directory, const std::string& name) {
  return directory.empty() ? name : directory + "/" + name;
}

int errno_of(bool succeeded) { return succeeded ? 0 : errno; }

[[noreturn]] void refuse_unresolvable(int error, const std::string& entry_name, const std::string& what,
                                      const std::string& path) {
  switch (error) {
    case ELOOP:
      refuse_entry(entry_name, what + " passes through a symlink (" + quote_entry_name(path) +
                                   "); entries are never written or linked through symlinks");
    case ENOTDIR:
      refuse_entry(entry_name, what + " has a component that is not a directory (" + quote_entry_name(path) + ")");
    case EXDEV:
      refuse_entry(entry_name, what + " leaves the layer (" + quote_entry_name(path) + ")");
    default:
      fail_entry_syscall(entry_name, "resolve " + what + " " + quote_entry_name(path), error);
  }
}

void write_all(int fd, std::string_view data, uint64_t offset, const std::string& entry_name) {
  while (!data.empty()) {
    const ssize_t written = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_entry_syscall(entry_name, "write the file's data", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(written));
    offset += static_cast<uint64_t>(written);
  }
}

std::size_t depth_of(const std::string& path) {
  return path.empty() ? 0 : 1 + static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

LayerEntryWriter::LayerEntryWriter(int root_fd, uint64_t max_bytes, std::atomic<uint64_t>* image_bytes)
    : root_fd_(root_fd), max_bytes_(max_bytes), image_bytes_(image_bytes) {}

void LayerEntryWriter::apply(const LayerEntry& entry, const DataReader& read_data) {
  const EntryPath path = parse_entry_path(entry.name, entry.name, "name");
  check_entry_metadata(entry);
  if (path.is_root()) {
    apply_root(entry);
    return;
  }
  const ClassifiedName classified = classify_entry_path(path, entry.name);
  const Fd parent = open_parent(path, entry.name);
  switch (classified.kind) {
    case NameKind::opaque_marker:
      mark_opaque(parent.get(), entry.name);
      return;
    case NameKind::whiteout:
      write_whiteout(parent.get(), path, classified.hidden, entry.name);
      return;
    case NameKind::ordinary:
      break;
  }
  switch (entry.type) {
    case EntryType::directory:
      write_directory(parent.get(), path, entry);
      return;
    case EntryType::regular:
      write_regular(parent.get(), path, entry, read_data);
      return;
    case EntryType::symlink:
      write_symlink(parent.get(), path, entry);
      return;
    case EntryType::hardlink:
      write_hardlink(parent.get(), path, entry);
      return;
    case EntryType::char_device:
    case EntryType::block_device:
    case EntryType::fifo:
      write_special(parent.get(), path, entry);
      return;
  }
}

void LayerEntryWriter::finish() {
  std::vector<std::pair<const std::string*, const DirectoryTimesAndMode*>> ordered;
  ordered.reserve(directories_.size());
  for (const auto& [path, metadata] : directories_) ordered.emplace_back(&path, &metadata);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return depth_of(*a.first) > depth_of(*b.first); });
  for (const auto& [path, metadata] : ordered) {
    const int opened = open_beneath(root_fd_, *path, O_RDONLY | O_DIRECTORY);
    if (opened < 0) fail_entry_syscall(metadata->entry_name, "reopen the directory to set its mode and times", -opened);
    const Fd directory(opened);
    apply_mode(directory.get(), metadata->mode, metadata->entry_name);
    apply_times(directory.get(), metadata->atime, metadata->mtime, metadata->entry_name);
  }
  directories_.clear();
}

Fd LayerEntryWriter::open_parent(const EntryPath& path, const std::string& entry_name) {
  const std::string parent = path.parent_joined();
  const int opened = open_beneath(root_fd_, parent, O_PATH | O_DIRECTORY);
  if (opened >= 0) return Fd(opened);
  if (opened != -ENOENT) refuse_unresolvable(-opened, entry_name, "its path", parent);

  // Some parent is missing: walk down from the root, creating what is missing.
  const int root_copy = open_beneath(root_fd_, "", O_PATH | O_DIRECTORY);
  if (root_copy < 0) fail_entry_syscall(entry_name, "reopen the layer root", -root_copy);
  Fd current(root_copy);
  std::string walked;
  for (std::size_t i = 0; i + 1 < path.components.size(); ++i) {
    const std::string& component = path.components[i];
    walked = join(walked, component);
    int next = open_beneath(current.get(), component, O_PATH | O_DIRECTORY);
    if (next == -ENOENT) {
      create_implied_directory(current.get(), component, entry_name);
      next = open_beneath(current.get(), component, O_PATH | O_DIRECTORY);
    }
    if (next < 0) refuse_unresolvable(-next, entry_name, "its path", walked);
    current = Fd(next);
  }
  return current;
}

void LayerEntryWriter::create_implied_directory(int parent_fd, const std::string& name,
                                                const std::string& entry_name) {
  if (::mkdirat(parent_fd, name.c_str(), kImpliedDirectoryMode) != 0 && errno != EEXIST) {
    fail_entry_syscall(entry_name, "create the implied parent directory " + quote_entry_name(name), errno);
  }
  const Fd directory(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!directory.valid()) refuse_unresolvable(errno, entry_name, "its path", name);
  // Explicit, whatever the umask or a setgid parent would have made of it.
  if (::fchown(directory.get(), 0, 0) != 0) fail_entry_syscall(entry_name, "set the owner of an implied parent", errno);
  apply_mode(directory.get(), kImpliedDirectoryMode, entry_name);
}

void LayerEntryWriter::create_replacing(int parent_fd, const std::string& relative_path, const std::string& name,
                                        const std::string& entry_name, const std::string& action,
                                        const std::function<int()>& create) {
  int error = create();
  if (error == EEXIST) {
    // An existing entry is replaced (its directories included), as tar does.
    remove_existing(parent_fd, relative_path, name, entry_name);
    error = create();
  }
  if (error != 0) fail_entry_syscall(entry_name, action, error);
}

void LayerEntryWriter::remove_existing(int parent_fd, const std::string& relative_path, const std::string& name,
                                       const std::string& entry_name) {
  struct stat existing {};
  if (::fstatat(parent_fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    fail_entry_syscall(entry_name, "inspect the entry it replaces", errno);
  }
  if (S_ISDIR(existing.st_mode)) {
    const int removed = remove_tree_beneath(root_fd_, relative_path);
    if (removed < 0) fail_entry_syscall(entry_name, "remove the directory it replaces", -removed);
    forget_directories_under(relative_path);
  } else if (::unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    fail_entry_syscall(entry_name, "remove the entry it replaces", errno);
  }
}

void LayerEntryWriter::forget_directories_under(const std::string& relative_path) {
  directories_.erase(relative_path);
  // Every key below "a/b" starts with "a/b/" and sorts before "a/b0" ('0' follows '/').
  directories_.erase(directories_.lower_bound(relative_path + "/"), directories_.lower_bound(relative_path + "0"));
}

void LayerEntryWriter::apply_root(const LayerEntry& entry) {
  if (entry.type != EntryType::directory) {
    refuse_entry(entry.name, std::string("names the layer root itself but is a ") + entry_type_name(entry.type) +
                                 "; only a directory entry may set the root's metadata");
  }
  apply_owner(root_fd_, entry);
  apply_xattrs(root_fd_, entry);
  directories_[""] = {entry.name, entry.mode, entry.atime, entry.mtime};
}

void LayerEntryWriter::mark_opaque(int directory_fd, const std::string& entry_name) {
  const Fd directory(::openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.valid()) fail_entry_syscall(entry_name, "open the directory it marks opaque", errno);
  if (::fsetxattr(directory.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
    fail_entry_syscall(entry_name, "mark its directory opaque (trusted.overlay.opaque)", errno);
  }
}

void LayerEntryWriter::write_whiteout(int parent_fd, const EntryPath& path, const std::string& hidden,
                                      const std::string& entry_name) {
  // overlayfs's whiteout: a character device 0/0 under the hidden name.
  create_replacing(parent_fd, join(path.parent_joined(), hidden), hidden, entry_name, "create the whiteout device",
                   [&] { return errno_of(::mknodat(parent_fd, hidden.c_str(), S_IFCHR, makedev(0, 0)) == 0); });
}

void LayerEntryWriter::write_directory(int parent_fd, const EntryPath& path, const LayerEntry& entry) {
  const std::string& name = path.base();
  // 0700 until finish() sets the layer's mode.
  if (::mkdirat(parent_fd, name.c_str(), 0700) != 0) {
    if (errno != EEXIST) fail_entry_syscall(entry.name, "create the directory", errno);
    struct stat existing {};
    if (::fstatat(parent_fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) != 0) {
      fail_entry_syscall(entry.name, "inspect the entry it replaces", errno);
    }
    // Directory over directory keeps the contents and takes the new metadata.
    if (!S_ISDIR(existing.st_mode)) {
      remove_existing(parent_fd, path.joined(), name, entry.name);
      if (::mkdirat(parent_fd, name.c_str(), 0700) != 0) fail_entry_syscall(entry.name, "create the directory", errno);
    }
  }
  const Fd directory(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!directory.valid()) fail_entry_syscall(entry.name, "open the directory", errno);
  apply_owner(directory.get(), entry);
  apply_xattrs(directory.get(), entry);
  directories_[path.joined()] = {entry.name, entry.mode, entry.atime, entry.mtime};
}

void LayerEntryWriter::write_regular(int parent_fd, const EntryPath& path, const LayerEntry& entry,
                                     const DataReader& read_data) {
  // The whole declared size is charged before the first byte is written, so a
  // bomb stops at its header; each chunk is then kept within that charge.
  if (entry.size > max_bytes_ - unpacked_bytes_) {
    throw StorageError(Failure::exhausted, "layer entry " + quote_entry_name(entry.name) + " (" +
                                               std::to_string(entry.size) + " bytes) would bring the unpacked size to " +
                                               "more than the limit of " + std::to_string(max_bytes_) + " bytes");
  }
  if (image_bytes_ != nullptr) {
    // Charged before the write, so the layers unpacking in parallel cannot
    // together write more than the image's limit.
    const uint64_t before = image_bytes_->fetch_add(entry.size);
    if (before + entry.size < before || before + entry.size > max_bytes_) {
      image_bytes_->fetch_sub(entry.size);
      throw StorageError(Failure::exhausted, "layer entry " + quote_entry_name(entry.name) + " (" +
                                                 std::to_string(entry.size) +
                                                 " bytes) would bring the image's unpacked size to more than the "
                                                 "limit of " + std::to_string(max_bytes_) + " bytes");
    }
  }
  unpacked_bytes_ += entry.size;
  const std::string& name = path.base();
  int opened = -1;
  create_replacing(parent_fd, path.joined(), name, entry.name, "create the file", [&] {
    opened = ::openat(parent_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return errno_of(opened >= 0);
  });
  const Fd file(opened);
  uint64_t end = 0;
  read_data([&](uint64_t offset, std::string_view data) {
    if (offset > entry.size || data.size() > entry.size - offset) {
      refuse_entry(entry.name, "its data runs past its declared size of " + std::to_string(entry.size) + " bytes");
    }
    write_all(file.get(), data, offset, entry.name);
    end = std::max(end, offset + data.size());
  });
  // A sparse file may end in a hole, which no data block covers.
  if (end < entry.size && ::ftruncate(file.get(), static_cast<off_t>(entry.size)) != 0) {
    fail_entry_syscall(entry.name, "extend the sparse file to its size", errno);
  }
  apply_owner(file.get(), entry);
  apply_xattrs(file.get(), entry);
  apply_mode(file.get(), entry.mode, entry.name);
  apply_times(file.get(), entry.atime, entry.mtime, entry.name);
}

void LayerEntryWriter::write_symlink(int parent_fd, const EntryPath& path, const LayerEntry& entry) {
  if (entry.link_target.empty()) refuse_entry(entry.name, "symlink with an empty target");
  const std::string& name = path.base();
  // The target is stored as-is: it is resolved later, inside the container.
  create_replacing(parent_fd, path.joined(), name, entry.name, "create the symlink", [&] {
    return errno_of(::symlinkat(entry.link_target.c_str(), parent_fd, name.c_str()) == 0);
  });
  apply_owner_at(parent_fd, name, entry);
  apply_xattrs_at(parent_fd, name, entry);
  apply_times_at(parent_fd, name, entry);
}

void LayerEntryWriter::write_hardlink(int parent_fd, const EntryPath& path, const LayerEntry& entry) {
  const EntryPath target = parse_entry_path(entry.link_target, entry.name, "hard link target");
  const std::string target_text = quote_entry_name(entry.link_target);
  if (target.is_root()) refuse_entry(entry.name, "hard link to the layer root, a directory");
  if (target.joined().starts_with(path.joined() + "/")) {
    refuse_entry(entry.name, "hard link target " + target_text + " lies inside the entry the link replaces");
  }
  const int opened = open_beneath(root_fd_, target.parent_joined(), O_PATH | O_DIRECTORY);
  if (opened == -ENOENT || opened == -ENOTDIR) {
    refuse_entry(entry.name, "hard link target " + target_text + " does not exist (yet) in this layer");
  }
  if (opened < 0) refuse_unresolvable(-opened, entry.name, "its hard link target", entry.link_target);
  const Fd target_parent(opened);
  struct stat target_status {};
  if (::fstatat(target_parent.get(), target.base().c_str(), &target_status, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      refuse_entry(entry.name, "hard link target " + target_text + " does not exist (yet) in this layer");
    }
    fail_entry_syscall(entry.name, "inspect its hard link target", errno);
  }
  if (S_ISDIR(target_status.st_mode)) refuse_entry(entry.name, "hard link target " + target_text + " is a directory");

  const std::string& name = path.base();
  struct stat existing {};
  if (::fstatat(parent_fd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
      existing.st_dev == target_status.st_dev && existing.st_ino == target_status.st_ino) {
    return;  // already a link to that file
  }
  // Flags 0: a target that is a symlink is linked itself, never followed.
  // The link shares the target's inode, so the entry's own owner, mode and
  // times are not applied: they would change the target (and containerd's
  // CVE-2021-32760 was a chmod through such a link).
  create_replacing(parent_fd, path.joined(), name, entry.name, "create the hard link", [&] {
    return errno_of(::linkat(target_parent.get(), target.base().c_str(), parent_fd, name.c_str(), 0) == 0);
  });
}

void LayerEntryWriter::write_special(int parent_fd, const EntryPath& path, const LayerEntry& entry) {
  mode_t type = S_IFIFO;
  dev_t device = 0;
  if (entry.type == EntryType::char_device || entry.type == EntryType::block_device) {
    type = entry.type == EntryType::char_device ? S_IFCHR : S_IFBLK;
    device = makedev(static_cast<unsigned>(entry.device_major), static_cast<unsigned>(entry.device_minor));
  }
  const std::string& name = path.base();
  create_replacing(parent_fd, path.joined(), name, entry.name,
                   std::string("create the ") + entry_type_name(entry.type),
                   [&] { return errno_of(::mknodat(parent_fd, name.c_str(), type | 0600, device) == 0); });
  apply_owner_at(parent_fd, name, entry);
  apply_xattrs_at(parent_fd, name, entry);
  apply_mode_at(parent_fd, name, entry);
  apply_times_at(parent_fd, name, entry);
}

}  // namespace deckhand::storage
