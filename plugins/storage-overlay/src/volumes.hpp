// Pod volumes: emptyDir (on disk, or medium Memory as a tmpfs with
// sizeLimit), hostPath (with Kubernetes' type checks), and projected files
// written atomically the way the kubelet's AtomicWriter does for configMap
// and secret volumes.
//
//   <root>/<pod_id>/volumes/<name>/     an emptyDir (a tmpfs mount for Memory)
//   <root>/<pod_id>/volumes/<name>/     a projected volume:
//       ..2026_11_28_01_02_03.123456789/  the current files
//       ..data -> ..2026_11_28_01_02_03.123456789
//       <file> -> ..data/<file>         what the container sees
//   <root>/<pod_id>/volumes/<name>.json  what was prepared (source, medium,
//       sizeLimit in bytes, hostPath), for idempotence, release and eviction
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace deckhand::storage {

// Kubernetes quantities as sizes in bytes: "128974848", "129e6", "129M",
// "123Mi", "1Gi", "500k", "0.5Gi" (rounded up to a whole byte). Throws
// StorageError(invalid) naming the text for anything else, or a negative or
// overflowing value.
uint64_t parse_quantity_bytes(const std::string& text);

struct ProjectedFile {
  std::string content;  // bytes
  uint32_t mode = 0644;
};

class Volumes {
 public:
  explicit Volumes(std::string root);

  // Prepares one volume of a pod from its core/v1 Volume object and returns
  // the host path to bind into containers. Supported: emptyDir {medium: ""
  // or "Memory", sizeLimit}, hostPath {path, type: "", Directory,
  // DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice, BlockDevice}.
  // Anything else (another volume source, an unknown field, a relative or
  // non-normalised hostPath) is StorageError(invalid) naming it; a hostPath
  // of the wrong type is StorageError(invalid) in Kubernetes' words
  // ("hostPath type check failed: /x is not a directory"). Idempotent.
  std::string prepare(const std::string& pod_id, const nlohmann::json& volume);

  // Removes an emptyDir (unmounting its tmpfs) or a projected volume;
  // leaves a hostPath alone. Missing is fine.
  void release(const std::string& pod_id, const std::string& name);
  // Every volume of the pod, then its directory.
  void release_pod(const std::string& pod_id);

  // Replaces the files of a projected volume at once: a reader sees the old
  // set or the new one, never a mix. Names are relative paths without ".."
  // (subdirectories allowed). Returns the volume's host path.
  std::string project(const std::string& pod_id, const std::string& name,
                      const std::map<std::string, ProjectedFile>& files);

 private:
  std::string root_;
};

}  // namespace deckhand::storage
