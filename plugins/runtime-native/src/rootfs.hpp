// The container's filesystem view, built in its init process inside the new
// mount namespace: mounts onto fd-resolved targets, /dev, pivot_root, masked
// and read-only paths, sysctls. Throws std::runtime_error naming the step.
#pragma once

#include <string>

#include "cgroups/cgroup.hpp"
#include "spec.hpp"

namespace deckhand::runtime {

// The container's cgroup, for a cgroup mount.
struct CgroupMountInfo {
  const CgroupDriver* driver = nullptr;
  std::string cgroups_path;
};

// Everything before pivot_root: propagation, the root bind, every mount, /dev.
void prepare_rootfs(const Spec& spec, const CgroupMountInfo& cgroup);

// pivot_root into spec.root_path and detach the old root.
void pivot_into_rootfs(const Spec& spec);

// After pivot_root: masked paths, read-only paths, read-only root, sysctls.
void finish_rootfs(const Spec& spec);

}  // namespace deckhand::runtime
