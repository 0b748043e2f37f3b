#include "volumes.hpp"

#include <dirent.h>
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>

#include "object_id.hpp"
#include "rootfs_files.hpp"
#include "remove_tree.hpp"
#include "storage_error.hpp"
#include "volume_atomic_writer.hpp"
#include "volume_host_path.hpp"
#include "volume_source.hpp"

namespace deckhand::storage {
namespace {

constexpr const char* kRecordSuffix = ".json";

void require_volume_name(const std::string& name) {
  if (!valid_volume_name(name)) {
    throw StorageError(Failure::invalid, "volume name \"" + name.substr(0, 200) +
                                             "\" is not a DNS-1123 label (at most 63 of a-z 0-9 and '-', starting "
                                             "and ending with a letter or digit)");
  }
}

// One pod's pieces. Volume names are DNS labels (no '.'), so a record
// "<name>.json" never shares a name with a volume directory.
struct PodPaths {
  std::string pod, volumes;
  std::string volume(const std::string& name) const { return volumes + "/" + name; }
  std::string record(const std::string& name) const { return volumes + "/" + name + kRecordSuffix; }
};

PodPaths paths_for(const std::string& root, const std::string& pod_id) {
  const std::string pod = root + "/" + pod_id;
  return {pod, pod + "/volumes"};
}

// Calls for one pod are serialised; different pods do not wait for each
// other (a fixed set of locks picked by hash, nothing to clean up).
std::mutex& lock_for(const std::string& pod_directory) {
  static std::mutex locks[64];
  return locks[std::hash<std::string>{}(pod_directory) % 64];
}

std::optional<VolumeSpec> read_record(const PodPaths& paths, const std::string& name) {
  const std::optional<std::string> text = read_file_if_exists(paths.record(name));
  if (!text) return std::nullopt;
  std::optional<VolumeSpec> spec = parse_volume_record(*text);
  if (!spec) {
    throw StorageError(Failure::precondition, "the record " + paths.record(name) +
                                                  " cannot be read (an interrupted prepare?); release the volume "
                                                  "and prepare it again");
  }
  return spec;
}

void write_record(const PodPaths& paths, const VolumeSpec& spec) {
  make_directories(paths.volumes, 0750, "the pod's volume directory");
  replace_file(paths.record(spec.name), volume_record(spec).dump() + "\n");
}

// A tmpfs of its own for medium Memory, as the kubelet mounts it: the size
// limit when one is set (0 means none, as for the kubelet), world-writable
// root, and neither setuid programs nor device nodes honoured.
void mount_memory_volume(const std::string& directory, const VolumeSpec& spec) {
  std::string options = "mode=0777";
  if (spec.size_limit_bytes && *spec.size_limit_bytes > 0) {
    options += ",size=" + std::to_string(*spec.size_limit_bytes);
  }
  if (::mount("tmpfs", directory.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    const int error = errno;
    throw StorageError(error == ENOMEM ? Failure::exhausted : Failure::internal,
                       "volume \"" + spec.name + "\": cannot mount a tmpfs (medium Memory) on " + directory + " -o " +
                           options + ": " + errno_text(error));
  }
}

std::string prepare_empty_dir(const PodPaths& paths, const VolumeSpec& spec) {
  const std::string directory = paths.volume(spec.name);
  make_directories(paths.volumes, 0750, "the pod's volume directory");
  // 0777 as the kubelet makes it: any user of any container may write.
  const bool created = make_directory(directory, 0777, "the emptyDir");
  bool mounted = false;
  try {
    if (spec.memory && !is_mount_point(directory)) {
      mount_memory_volume(directory, spec);
      mounted = true;
    }
    write_record(paths, spec);
  } catch (...) {
    try {
      if (mounted) detach_mounts(directory);
      if (created) remove_tree(directory);
    } catch (const StorageError&) {
      // The first failure is the one to report; a release retries this.
    }
    throw;
  }
  return directory;
}

void release_volume(const PodPaths& paths, const std::string& name) {
  const std::string directory = paths.volume(name);
  detach_mounts(directory);
  remove_tree(directory);
  for (const std::string& record : {paths.record(name), paths.record(name) + ".tmp"}) {
    if (::unlink(record.c_str()) != 0 && errno != ENOENT) {
      throw StorageError(Failure::internal, "cannot remove " + record + ": " + errno_text(errno));
    }
  }
}

// The volumes a pod has: its directories and its records (a hostPath has
// only a record).
std::set<std::string> volume_names(const PodPaths& paths) {
  std::set<std::string> names;
  DIR* directory = ::opendir(paths.volumes.c_str());
  if (directory == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return names;
    throw StorageError(Failure::internal, "cannot list " + paths.volumes + ": " + errno_text(errno));
  }
  while (const dirent* entry = ::readdir(directory)) {
    std::string name = entry->d_name;
    for (const std::string& suffix : {std::string(kRecordSuffix), std::string(kRecordSuffix) + ".tmp"}) {
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.resize(name.size() - suffix.size());
        break;
      }
    }
    if (valid_volume_name(name)) names.insert(name);
  }
  ::closedir(directory);
  return names;
}

}  // namespace

Volumes::Volumes(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_.size() < 2 || root_[0] != '/') {
    throw StorageError(Failure::invalid, "the volume root \"" + root_ + "\" must be an absolute path below /");
  }
}

std::string Volumes::prepare(const std::string& pod_id, const nlohmann::json& volume) {
  require_object_id(pod_id, "pod");
  const VolumeSpec spec = parse_volume(volume);
  const PodPaths paths = paths_for(root_, pod_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.pod));

  if (const std::optional<VolumeSpec> recorded = read_record(paths, spec.name); recorded && *recorded != spec) {
    throw StorageError(Failure::exists, "volume \"" + spec.name + "\" of pod " + pod_id +
                                            " exists with another source or settings; release it first");
  }
  if (spec.kind == VolumeSpec::Kind::host_path) {
    try {
      check_host_path_type(spec.host_path, spec.host_path_type);
    } catch (const StorageError& error) {
      throw StorageError(error.kind(), "volume \"" + spec.name + "\": " + error.what());
    }
    write_record(paths, spec);
    return spec.host_path;
  }
  return prepare_empty_dir(paths, spec);
}

void Volumes::release(const std::string& pod_id, const std::string& name) {
  require_object_id(pod_id, "pod");
  require_volume_name(name);
  const PodPaths paths = paths_for(root_, pod_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.pod));
  release_volume(paths, name);
}

void Volumes::release_pod(const std::string& pod_id) {
  require_object_id(pod_id, "pod");
  const PodPaths paths = paths_for(root_, pod_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.pod));
  for (const std::string& name : volume_names(paths)) release_volume(paths, name);
  // Whatever else is left; remove_tree refuses to enter a mount, so a
  // forgotten one is reported rather than emptied.
  remove_tree(paths.pod);
}

std::string Volumes::project(const std::string& pod_id, const std::string& name,
                             const std::map<std::string, ProjectedFile>& files) {
  require_object_id(pod_id, "pod");
  require_volume_name(name);
  check_projected_files(files);
  const PodPaths paths = paths_for(root_, pod_id);
  const std::lock_guard<std::mutex> guard(lock_for(paths.pod));

  // Files may also go into an emptyDir (a secret kept on a Memory tmpfs);
  // a hostPath belongs to the host.
  const std::optional<VolumeSpec> recorded = read_record(paths, name);
  if (recorded && recorded->kind == VolumeSpec::Kind::host_path) {
    throw StorageError(Failure::exists, "volume \"" + name + "\" of pod " + pod_id +
                                            " is a hostPath; projected files cannot be written into it");
  }
  const std::string directory = paths.volume(name);
  make_directories(paths.volumes, 0750, "the pod's volume directory");
  make_directory(directory, 0755, "the projected volume");
  if (!recorded) {
    VolumeSpec spec;
    spec.name = name;
    spec.kind = VolumeSpec::Kind::projected;
    write_record(paths, spec);
  }
  write_projection(directory, files);
  return directory;
}

}  // namespace deckhand::storage
