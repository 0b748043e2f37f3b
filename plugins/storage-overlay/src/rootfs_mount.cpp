#include "rootfs_mount.hpp"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "object_id.hpp"
#include "rootfs_files.hpp"
#include "rootfs_overlay.hpp"
#include "remove_tree.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

// Where one container's pieces live.
struct ContainerPaths {
  std::string directory, merged, upper, work, record;
};

ContainerPaths paths_for(const std::string& root, const std::string& container_id) {
  const std::string directory = root + "/" + container_id;
  return {directory, directory + "/merged", directory + "/upper", directory + "/work", directory + "/rootfs.json"};
}

// Absolute and without ".", ".." or empty components, so that the lexical
// common parent (relative_paths) is the real one; and without the characters
// the classic option string uses as separators, so both methods accept the
// same layers.
void require_usable_path(const std::string& path, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    throw StorageError(Failure::invalid, what + " \"" + path.substr(0, 300) + "\" " + why);
  };
  if (path.size() < 2 || path[0] != '/') refuse("is not an absolute path below /");
  if (path.find_first_of(",:\\\n") != std::string::npos) {
    refuse("contains one of , : \\ or a newline, which overlay mount options cannot carry");
  }
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") {
      refuse("is not normalised (an empty, \".\" or \"..\" component, or a trailing /)");
    }
    start = end + 1;
  }
}

void require_directory(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    const int error = errno;
    if (error == ENOENT) throw StorageError(Failure::not_found, "lower directory " + path + " does not exist");
    throw StorageError(Failure::internal, "cannot inspect lower directory " + path + ": " + errno_text(error));
  }
  if (!S_ISDIR(status.st_mode)) throw StorageError(Failure::invalid, "lower directory " + path + " is not a directory");
}

// Concurrent calls for one container would race on its directory; calls for
// different containers need not wait for each other. A fixed set of locks,
// picked by hashing the directory, keeps that without a table to clean up.
std::mutex& lock_for(const std::string& directory) {
  static std::mutex locks[64];
  return locks[std::hash<std::string>{}(directory) % 64];
}

nlohmann::json record_of(const std::string& container_id, const std::vector<std::string>& lower_dirs, bool readonly,
                         OverlayMethod method) {
  return {{"container_id", container_id},
          {"lower_dirs", lower_dirs},
          {"readonly", readonly},
          {"method", overlay_method_name(method)}};
}

// The recorded layers and flag, or nullopt for a record that cannot be read
// (a crash between creating it and writing it).
std::optional<RootfsManager::Entry> parse_record(const std::string& container_id, const std::string& text) {
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("lower_dirs") || !record["lower_dirs"].is_array()) return std::nullopt;
  RootfsManager::Entry entry;
  entry.container_id = container_id;
  for (const nlohmann::json& lower : record["lower_dirs"]) {
    if (!lower.is_string()) return std::nullopt;
    entry.lower_dirs.push_back(lower.get<std::string>());
  }
  entry.readonly = record.value("readonly", false);
  return entry;
}

// The upper directory is the merged root's own inode, so it takes the
// image's root directory owner and mode (normally root, 0755) from the top
// layer, as containerd's snapshotter does.
void match_top_layer_root(const std::string& upper, const std::string& top_lower) {
  struct stat top {};
  if (::stat(top_lower.c_str(), &top) != 0) return;
  if (::chown(upper.c_str(), top.st_uid, top.st_gid) != 0 || ::chmod(upper.c_str(), top.st_mode & 07777) != 0) {
    throw StorageError(Failure::internal, "cannot give the upper directory " + upper +
                                              " the owner and mode of the image's root: " + errno_text(errno));
  }
}

}  // namespace

RootfsManager::RootfsManager(std::string root, OverlayMethod method) : root_(std::move(root)), method_(method) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  require_usable_path(root_, "the root file system directory");
}

std::string RootfsManager::prepare(const std::string& container_id, const std::vector<std::string>& lower_dirs,
                                   bool readonly) {
  require_object_id(container_id, "container");
  if (lower_dirs.empty()) {
    throw StorageError(Failure::invalid, "container " + container_id + ": a root file system needs at least one layer");
  }
  for (const std::string& lower : lower_dirs) require_usable_path(lower, "lower directory");
  const ContainerPaths paths = paths_for(root_, container_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.directory));

  OverlayLayers layers{{lower_dirs.rbegin(), lower_dirs.rend()}, paths.upper, paths.work, paths.merged, readonly};
  if (const std::optional<std::string> text = read_file_if_exists(paths.record)) {
    const std::optional<Entry> recorded = parse_record(container_id, *text);
    if (!recorded) {
      throw StorageError(Failure::precondition, "container " + container_id + ": " + paths.record +
                                                    " cannot be read (an interrupted prepare?); release the "
                                                    "container and prepare it again");
    }
    if (recorded->lower_dirs != lower_dirs || recorded->readonly != readonly) {
      throw StorageError(Failure::exists, "container " + container_id +
                                              " already has a root file system with other layers or another "
                                              "read-only setting; release it first");
    }
    if (is_mount_point(paths.merged)) return paths.merged;
    // Recorded but not mounted (the host restarted): mount again over the
    // same upper directory, which keeps what the container wrote. A failure
    // leaves the directories as they were.
    for (const std::string& lower : lower_dirs) require_directory(lower);
    mount_overlay(layers, method_);
    return paths.merged;
  }
  struct stat existing {};
  if (::lstat(paths.directory.c_str(), &existing) == 0) {
    throw StorageError(Failure::precondition, "container " + container_id + ": " + paths.directory +
                                                  " exists without a rootfs.json (an interrupted prepare?); "
                                                  "release the container and prepare it again");
  }

  for (const std::string& lower : lower_dirs) require_directory(lower);
  // 0711: the runtime (also from a user namespace) can reach merged by its
  // path, but no one else can list the containers or read their upper dirs.
  make_directories(root_, 0711, "the root file system directory");
  if (!make_directory(paths.directory, 0711, "the container's directory")) {
    throw StorageError(Failure::precondition, "container " + container_id + ": " + paths.directory +
                                                  " appeared while it was being prepared");
  }
  try {
    make_directory(paths.upper, 0755, "the upper directory");
    match_top_layer_root(paths.upper, layers.lowers_top_first.front());
    make_directory(paths.work, 0700, "the work directory");
    make_directory(paths.merged, 0755, "the merged directory");
    // The record comes first: list() must show every container that might
    // hold a mount, so a crash in between is cleaned up by a release.
    const OverlayMethod chosen =
        method_ == OverlayMethod::automatic
            ? (kernel_has_lowerdir_plus(layers.lowers_top_first.front()) ? OverlayMethod::lowerdir_plus
                                                                         : OverlayMethod::relative_paths)
            : method_;
    replace_file(paths.record, record_of(container_id, lower_dirs, readonly, chosen).dump() + "\n");
    mount_overlay(layers, chosen);
  } catch (...) {
    try {
      detach_mounts(paths.merged);
      remove_tree(paths.directory);
    } catch (const StorageError&) {
      // The original failure is what the caller must see; a release later
      // retries the cleanup.
    }
    throw;
  }
  return paths.merged;
}

void RootfsManager::release(const std::string& container_id) {
  require_object_id(container_id, "container");
  const ContainerPaths paths = paths_for(root_, container_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.directory));
  struct stat existing {};
  if (::lstat(paths.directory.c_str(), &existing) != 0) {
    if (errno == ENOENT) return;
    throw StorageError(Failure::internal, "cannot inspect " + paths.directory + ": " + errno_text(errno));
  }
  if (S_ISDIR(existing.st_mode)) detach_mounts(paths.merged);
  remove_tree(paths.directory);
}

std::vector<RootfsManager::Entry> RootfsManager::list() const {
  std::vector<Entry> entries;
  DIR* directory = ::opendir(root_.c_str());
  if (directory == nullptr) {
    if (errno == ENOENT) return entries;
    throw StorageError(Failure::internal, "cannot list " + root_ + ": " + errno_text(errno));
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(directory)) {
    if (valid_object_id(entry->d_name)) names.emplace_back(entry->d_name);
  }
  ::closedir(directory);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const ContainerPaths paths = paths_for(root_, name);
    struct stat status {};
    if (::lstat(paths.directory.c_str(), &status) != 0 || !S_ISDIR(status.st_mode)) continue;
    // A directory without a readable record is still listed (with no
    // layers), so that whoever collects garbage can release it.
    const std::optional<std::string> text = read_file_if_exists(paths.record);
    std::optional<Entry> recorded = text ? parse_record(name, *text) : std::nullopt;
    entries.push_back(recorded ? std::move(*recorded) : Entry{name, {}, false});
  }
  return entries;
}

}  // namespace deckhand::storage
