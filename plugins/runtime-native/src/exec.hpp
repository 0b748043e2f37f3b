// A new process inside a running container (`runc exec`): run by the monitor
// binary in exec mode, a single-threaded helper, never by the agent itself.
#pragma once

#include <string>

namespace deckhand::runtime {

struct ExecArgs {
  std::string root;
  std::string id;
  std::string process_json;  // an OCI "process" object; absent fields come from the container's
  int report_fd = 3;         // {"pid":N} once started, or {"error":"..."}
};

// Joins the container's namespaces and cgroup, takes its user, capabilities,
// no_new_privs and seccomp profile, runs the process and waits for it.
// Returns its exit code (128 + signal), or 255 after reporting an error.
int run_exec(const ExecArgs& args);

}  // namespace deckhand::runtime
