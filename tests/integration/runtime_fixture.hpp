// Real containers through the installed `deckhand oci` CLI: a busybox bundle
// per test (copied from one built by tests/fixtures/make-busybox-bundle.sh),
// a private --root per test, and a guard that force-deletes every container a
// test created and then checks that nothing of it is left: no <root>/<id>, no
// cgroup directory in any controller, no process in its cgroup, no monitor.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test {

// An OCI bundle of its own: <dir>/config.json (what `runc spec` writes, with
// process.args set and terminal false) and <dir>/rootfs (busybox-static).
class BusyboxBundle {
 public:
  explicit BusyboxBundle(const std::vector<std::string>& args);
  BusyboxBundle(const BusyboxBundle&) = delete;
  BusyboxBundle& operator=(const BusyboxBundle&) = delete;

  const std::string& path() const { return path_; }
  std::string rootfs() const { return path_ + "/rootfs"; }
  std::string config_path() const { return path_ + "/config.json"; }

  nlohmann::json config() const;
  void save(const nlohmann::json& config) const;
  // Reads config.json, lets `change` modify it, writes it back.
  template <typename Change>
  void edit(Change change) const {
    nlohmann::json value = config();
    change(value);
    save(value);
  }
  void set_args(const std::vector<std::string>& args) const;

 private:
  TempDir dir_{"deckhand-bundle"};
  std::string path_;
};

// A container id unique to this test process (cgroup paths are host-wide).
std::string unique_id(const std::string& name);

// The cgroup v1/v2 directories /sys/fs/cgroup/<hierarchy>/deckhand/<id> (or
// /sys/fs/cgroup/deckhand/<id> on v2) that exist now.
std::vector<std::string> cgroup_dirs(const std::string& id);
// The host directory of `controller` ("memory", "pids", "cpu", ...) for the
// container's default cgroup, whether or not it exists.
std::string cgroup_dir(const std::string& controller, const std::string& id);
// PIDs of host processes whose /proc/<pid>/cgroup puts them in deckhand/<id>.
std::vector<pid_t> processes_in_cgroup(const std::string& id);
bool process_exists(pid_t pid);
// "Z" etc.: the state letter of /proc/<pid>/stat, empty if gone.
std::string process_state(pid_t pid);
// Lines of /proc/self/mountinfo (the test's own mount namespace) containing `text`.
std::vector<std::string> host_mounts_containing(const std::string& text);

// `deckhand oci --root <private dir>`, with every created id remembered and
// force-deleted when the object goes away (also after a failed assertion).
class OciRuntime {
 public:
  OciRuntime();
  ~OciRuntime();
  OciRuntime(const OciRuntime&) = delete;
  OciRuntime& operator=(const OciRuntime&) = delete;

  const std::string& root() const { return root_; }
  std::string container_dir(const std::string& id) const { return root_ + "/" + id; }

  // Commands that start no container (state, start, kill, delete, list): the
  // CLI's stdout and stderr through pipes.
  CommandResult oci(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  // `run --bundle B [extra] ID` in the foreground: the container's stdout and
  // stderr are the CLI's. The id is tracked.
  CommandResult run(const std::string& bundle, const std::string& id, const std::vector<std::string>& extra = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // `create --bundle B [extra] ID`. The container inherits the CLI's stdout
  // and stderr, so they go to files (a pipe would stay open as long as the
  // container lives): container_stdout(id) / container_stderr(id) read them.
  CommandResult create(const std::string& bundle, const std::string& id, const std::vector<std::string>& extra = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string container_stdout(const std::string& id) const;
  std::string container_stderr(const std::string& id) const;

  // `state ID` parsed; nullopt (with the error in *error) if it fails.
  std::optional<nlohmann::json> state(const std::string& id, std::string* error = nullptr) const;
  std::string status(const std::string& id) const;  // "" if state fails
  // Polls state until status == `status` (and, for "stopped", the state has
  // its "exit"); returns the last state.
  std::optional<nlohmann::json> wait_for_status(const std::string& id, const std::string& status,
                                                std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Stops tracking (the test deleted it itself).
  void forget(const std::string& id) { ids_.erase(id); }
  void track(const std::string& id) { ids_.insert(id); }

  // What is left of a container: "<root>/<id>", cgroup dirs, "pid N in the
  // cgroup", "monitor pid N". Empty when it is completely gone.
  std::vector<std::string> leftovers(const std::string& id) const;
  // `delete --force` of every tracked id, then leftovers() of each, which
  // should be empty. Called by the destructor too (without asserting).
  std::vector<std::string> cleanup();

 private:
  TempDir dir_{"deckhand-oci"};
  std::string root_;
  std::set<std::string> ids_;
};

// Runs `args` in a fresh container (`deckhand oci run`) of `bundle`, which
// keeps all its other settings.
CommandResult run_in(OciRuntime& runtime, const BusyboxBundle& bundle, const std::string& id,
                     const std::vector<std::string>& args);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool poll_until(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    ::usleep(20000);
  }
}

std::string join_lines(const std::vector<std::string>& lines);

// Base of the runtime suites: a private OciRuntime per test, and after the
// test every container it created is deleted and must have left nothing.
class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "containers need root";
  }
  void TearDown() override {
    for (const auto& left : runtime_.cleanup()) ADD_FAILURE() << "left behind: " << left;
  }
  OciRuntime runtime_;
};

}  // namespace deckhand::test
