// The runtime's operations on containers under one state root, as the plugin
// and `deckhand oci` use them. Results are OCI state documents.
#pragma once

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "cgroups/cgroup.hpp"
#include "container_state.hpp"
#include "runtime_error.hpp"
#include "sandbox.hpp"

namespace deckhand::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle;
  std::string stdio = "null";  // "null": /dev/null; "inherit": the caller's stdin/stdout/stderr;
                               // "log": stdout and stderr to log_path in the CRI format
  std::string log_path;
  uint64_t log_max_bytes = 10u << 20;  // the kubelet's containerLogMaxSize
  unsigned log_max_files = 5;          // the kubelet's containerLogMaxFiles
  std::string pid_file;        // written with the init's pid, as runc --pid-file
};

// Where an exec'd process's stdin, stdout and stderr go. mode "capture": a
// pipe each for stdout and stderr, returned in the result (stdin /dev/null);
// "inherit": the caller's own 0, 1 and 2; "fds": the caller's descriptors
// stdin_fd, stdout_fd and stderr_fd (all three required; for a process with
// process.terminal true, one pty slave as all three).
struct ExecStdio {
  std::string mode = "capture";
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct RuntimeConfig {
  std::string root;          // the state root: <root>/<id> per container, <root>/.sandboxes
  std::string monitor_path;  // deckhand-monitor
  std::string cgroup_root = "/sys/fs/cgroup";  // where the hierarchies are mounted (v1 or v2 is detected there)
  std::string netns_dir = "/run/deckhand/netns";  // pods' pinned network namespaces
  std::string cgroup_parent = "kubepods";         // pods' cgroups, by QoS class
};

class Runtime {
 public:
  explicit Runtime(RuntimeConfig config);

  nlohmann::json create(const CreateOptions& options);
  nlohmann::json start(const std::string& id);
  nlohmann::json state(const std::string& id);
  void kill(const std::string& id, int signal);
  void remove(const std::string& id, bool force);
  // Blocks until the container exits (deadline_ns: CLOCK_MONOTONIC, 0 = none).
  ExitInfo wait(const std::string& id, uint64_t deadline_ns = 0);
  nlohmann::json list();
  // Runs a process inside a running container (process: an OCI process
  // object; missing fields come from the container; process.terminal true
  // makes stdin the process's controlling terminal). See ExecStdio; capture
  // keeps 1 MiB of each stream at most. Blocks until the process exits.
  // Returns {exit_code[, stdout, stderr]}.
  nlohmann::json exec(const std::string& id, const nlohmann::json& process, const ExecStdio& stdio);
  // CPU, memory and pids of the container's cgroup (the kubelet's figures).
  nlohmann::json stats(const std::string& id);

  // Pod sandboxes: pinned shared namespaces and the pod's cgroup.
  Sandboxes& sandboxes() { return sandboxes_; }

  const std::string& root() const { return root_; }

 private:
  std::string dir(const std::string& id) const;
  ContainerState load(const std::string& id) const;
  std::string status(const ContainerState& state) const;
  nlohmann::json oci_state(const ContainerState& state) const;
  pid_t spawn_monitor(const CreateOptions& options, int report_fd, int setup_fd) const;
  // The driver for the container's cgroup root (the state remembers it).
  std::shared_ptr<CgroupDriver> cgroups_for(const ContainerState& state) const;

  std::string root_;
  std::string monitor_path_;
  std::string cgroup_root_;
  std::shared_ptr<CgroupDriver> cgroups_;
  Sandboxes sandboxes_;
};

// "KILL", "SIGKILL" or "9" → 9; throws RuntimeError(invalid) for anything else.
int parse_signal(const std::string& text);

}  // namespace deckhand::runtime
