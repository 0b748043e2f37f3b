// Starting a container's init: clone() with the new namespaces, then, in the
// child, the whole setup up to execve. Everything that could allocate a lot or
// fail in interesting ways (seccomp compilation, capability parsing) is
// prepared in the monitor before clone; the child runs only this file's code.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "capabilities.hpp"
#include "seccomp.hpp"
#include "spec.hpp"

namespace deckhand::runtime {

struct LaunchPlan {
  Spec spec;
  PreparedCapabilities capabilities;
  std::optional<SeccompProgram> seccomp;
  std::string start_fifo;   // host path; the init waits on it after setup ("create")
  std::string cgroups_path; // for a cgroup mount inside the container
};

// Pipes between the monitor and the init:
//   go_read:      the init waits for one byte (the monitor put it in its cgroup)
//   report_write: the init writes "R" when set up and waiting for start, or
//                 "E<message>" when setup or execve failed; close-on-exec, so
//                 end-of-file after "R" means execve succeeded.
struct LaunchPipes {
  int go_read = -1;
  int report_write = -1;
  int stdout_write = -1;  // >= 0: the init's stdout and stderr (stdin becomes /dev/null)
  int stderr_write = -1;
};

// Clones the init into the plan's new namespaces; returns its pid (in the
// monitor's pid namespace). Throws std::runtime_error if clone fails.
pid_t clone_container(const LaunchPlan& plan, const LaunchPipes& pipes);

// The program execve will run: args[0] if it has a '/', else found on the
// container's PATH (after pivot_root). Empty if not found.
std::string find_executable(const std::string& name, const std::vector<std::string>& env);

}  // namespace deckhand::runtime
