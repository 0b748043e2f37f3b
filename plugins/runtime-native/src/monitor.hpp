// The per-container monitor: a small single-threaded process that starts the
// container's init and outlives the agent. It clones the init (into its
// cgroup on v2; on v1 the init moves itself), tells the creator the init's
// pid (or why it failed), reaps it and records its exit in exit.json. A
// restarted agent finds both through state.json.
#pragma once

#include <string>

namespace deckhand::runtime {

struct MonitorArgs {
  std::string root;  // the runtime's state root
  std::string id;    // the container, <root>/<id>
  int report_fd = 3; // one JSON line to the creator: {"pid":N,"monitorPid":M} or {"error":"..."}
  int setup_fd = 4;   // unix socket: "r" from the creator once the cgroup exists, with a new
                      // network namespace's fd when the spec asks for one (EOF: it failed)
};

// Runs the monitor (after the double fork); returns the process exit code.
int run_monitor(const MonitorArgs& args);

}  // namespace deckhand::runtime
