// The per-container monitor: a small single-threaded process that starts the
// container's init and outlives the agent. It places the init in its cgroup,
// tells the creator the init's pid (or why it failed), reaps it and records
// its exit in exit.json. A restarted agent finds both through state.json.
#pragma once

#include <string>

namespace deckhand::runtime {

struct MonitorArgs {
  std::string root;  // the runtime's state root
  std::string id;    // the container, <root>/<id>
  int report_fd = 3; // one JSON line to the creator: {"pid":N,"monitorPid":M} or {"error":"..."}
};

// Runs the monitor (after the double fork); returns the process exit code.
int run_monitor(const MonitorArgs& args);

}  // namespace deckhand::runtime
