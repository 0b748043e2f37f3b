// Starting a container's init: clone() with the new namespaces, then, in the
// child, the whole setup up to execve. Everything that could allocate a lot or
// fail in interesting ways (seccomp compilation, capability parsing) is
// prepared in the monitor before clone; the child runs only this file's code.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "capabilities.hpp"
#include "cgroups/cgroup.hpp"
#include "seccomp.hpp"
#include "spec.hpp"

namespace deckhand::runtime {

struct LaunchPlan {
  Spec spec;
  PreparedCapabilities capabilities;
  std::optional<SeccompProgram> seccomp;
  std::string start_fifo;    // host path; the init waits on it after setup ("create")
  std::string cgroups_path;  // the container's cgroup, also for a cgroup mount inside
  CgroupDriver* cgroups = nullptr;
  // The cgroup exists (the creator made it). >= 0: a directory fd of it; the
  // init is cloned into it (clone3 CLONE_INTO_CGROUP, cgroup v2). -1: the
  // init moves itself in first thing (cgroup v1's cheap path, cgroup.hpp).
  int clone_into_cgroup_fd = -1;
  // >= 0: a new network namespace the creator made while the monitor started
  // (it costs most of a clone); the init joins it instead of cloning one.
  int netns_fd = -1;
};

// Pipes from the init to the monitor:
//   report_write: the init writes "R" when set up and waiting for start, or
//                 "E<message>" when setup or execve failed; close-on-exec, so
//                 end-of-file after "R" means execve succeeded.
struct LaunchPipes {
  int report_write = -1;
  int stdout_write = -1;  // >= 0: the init's stdout and stderr (stdin becomes /dev/null)
  int stderr_write = -1;
};

// Clones the init into the plan's new namespaces; returns its pid (in the
// monitor's pid namespace). Throws std::runtime_error if clone fails.
pid_t clone_container(const LaunchPlan& plan, const LaunchPipes& pipes);

// fork(2), but the child starts in the cgroup `cgroup_fd` names (a v2
// directory) and in the new namespaces of `namespace_flags` (clone3 with
// CLONE_INTO_CGROUP). Returns 0 in the child, as fork does. The caller must
// be single-threaded: the child runs on a copy of its stack.
long fork_into_cgroup(int cgroup_fd, uint64_t namespace_flags = 0);

// The program execve will run: args[0] if it has a '/', else found on the
// container's PATH (after pivot_root). Empty if not found.
std::string find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace deckhand::runtime
