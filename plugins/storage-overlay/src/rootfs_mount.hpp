// A container's root filesystem: an overlay mount of its image's layers
// (lower, read-only, shared by every container of the image) with an upper
// and a work directory of its own.
//
//   <root>/<container_id>/merged   the mount point (the OCI root.path)
//   <root>/<container_id>/upper    the container's writes
//   <root>/<container_id>/work     overlayfs' work directory
//   <root>/<container_id>/rootfs.json  the layers it stacks (for recovery and GC)
//
// Mounting: overlayfs takes its options in one page (4 KiB). With Linux 6.8
// or newer each lower directory is added on its own ("lowerdir+" through
// fsconfig), which has no such limit. Older kernels get the classic mount
// with relative lower directory names, made from a short-lived thread that
// has its own working directory (unshare(CLONE_FS), then chdir), so the
// option string stays short and the agent's other threads are unaffected.
#pragma once

#include <string>
#include <vector>

namespace deckhand::storage {

enum class OverlayMethod { automatic, lowerdir_plus, relative_paths };

class RootfsManager {
 public:
  // method: automatic tries lowerdir+ and falls back (tests force one).
  explicit RootfsManager(std::string root, OverlayMethod method = OverlayMethod::automatic);

  // Mounts the overlay (lowers given bottom first, as an image lists its
  // layers; at least one) and returns the merged directory. readonly mounts
  // it MS_RDONLY. Idempotent for the same container and layers (returns the
  // existing mount); another layer list for an existing id is
  // StorageError(exists). Throws StorageError naming the step on failure,
  // leaving nothing behind.
  std::string prepare(const std::string& container_id, const std::vector<std::string>& lower_dirs,
                      bool readonly);

  // Unmounts and removes the container's directories. Missing is fine.
  void release(const std::string& container_id);

  // Containers with a root filesystem, and the lower directories each uses.
  struct Entry {
    std::string container_id;
    std::vector<std::string> lower_dirs;
    bool readonly = false;
  };
  std::vector<Entry> list() const;

 private:
  std::string root_;
  OverlayMethod method_;
};

}  // namespace deckhand::storage
