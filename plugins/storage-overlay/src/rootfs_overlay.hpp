// Mounting one overlay, by either method rootfs_mount.hpp describes:
// "lowerdir+" through the new mount API (Linux 6.8+, no length limit), or
// the classic mount(2) whose options must fit in one page, made shorter by
// naming the lower directories relative to their common parent.
#pragma once

#include <string>
#include <vector>

#include "rootfs_mount.hpp"

namespace deckhand::storage {

// overlayfs refuses more lower layers than this (OVL_MAX_STACK).
inline constexpr std::size_t kMaxOverlayLowers = 500;

struct OverlayLayers {
  std::vector<std::string> lowers_top_first;  // absolute, normalised; overlayfs' order
  std::string upper;
  std::string work;
  std::string merged;  // the mount point
  bool readonly = false;
};

// Mounts `layers` on layers.merged. automatic takes lowerdir+ when the
// kernel has it (kernel_has_lowerdir_plus) and the classic mount otherwise.
// Returns the method used (never automatic). Throws StorageError naming the
// step and the kernel's own explanation; nothing is mounted then.
OverlayMethod mount_overlay(const OverlayLayers& layers, OverlayMethod method);

// Whether this kernel's overlayfs takes "lowerdir+". Asked once per process
// (with `sample_lower`, an existing directory the key can be tried with,
// without mounting anything) and remembered.
bool kernel_has_lowerdir_plus(const std::string& sample_lower);

// The classic method's working directory and the lower names relative to it.
struct RelativeLowers {
  std::string parent;               // the deepest directory holding every lower
  std::vector<std::string> names;   // in the order given, each relative to parent
};
RelativeLowers relative_to_common_parent(const std::vector<std::string>& lowers);

// "lowerdir=a:b,upperdir=/u,workdir=/w": what mount(2) gets.
std::string classic_overlay_options(const RelativeLowers& lowers, const std::string& upper,
                                    const std::string& work);

// "lowerdir+" or "relative_paths", as recorded and reported.
const char* overlay_method_name(OverlayMethod method);

}  // namespace deckhand::storage
