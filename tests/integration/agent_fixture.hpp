// The installed agent, run as a user would run it: a config file in a private
// temporary directory, `<stage>/bin/deckhand agent --config <file>` as a child
// process, its HTTP endpoints on 127.0.0.1:<free port> and its local API on a
// unix socket inside the temporary directory. Everything it creates is removed
// and the process is stopped (SIGTERM, by PID) when the object goes away.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test {

// Where the staged install (cmake --install <build> --prefix <build>/stage) lives.
std::string stage_prefix();
std::string stage_deckhand();    // <stage>/bin/deckhand
std::string stage_plugin_dir();  // <stage>/lib/deckhand/plugins
std::string test_plugin_dir();   // the loader test plugins (libtest-<variant>.so)

// Runs the installed CLI with exactly these arguments (no --socket added).
CommandResult run_deckhand(const std::vector<std::string>& args, const std::string& input = "",
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct AgentOptions {
  // The YAML list under `plugins:`, e.g. "  - path: libdeckhand-dirstore.so\n".
  // "@TMP@" anywhere in it (or in extra_yaml) is replaced by the agent's
  // temporary directory.
  std::string plugins_yaml;
  // More top-level YAML: health_timeout_seconds, log, ...
  std::string extra_yaml;
  // plugin_dir; empty means the staged install's plugin directory.
  std::string plugin_dir;
  // true: leave plugin_dir out of the config (the agent's own default).
  bool omit_plugin_dir = false;
  // The API socket; empty means <tmp>/run/deckhand.sock.
  std::string socket;
  // false: only write the config; call start() later.
  bool start = true;
};

class AgentUnderTest {
 public:
  explicit AgentUnderTest(AgentOptions options);
  explicit AgentUnderTest(const std::string& plugins_yaml, const std::string& extra_yaml = "");
  ~AgentUnderTest();
  AgentUnderTest(const AgentUnderTest&) = delete;
  AgentUnderTest& operator=(const AgentUnderTest&) = delete;

  // Starts the agent and waits up to `timeout` until /healthz answers 200 or
  // the process exits. Returns true if it is serving.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Only launches the process (for tests where /healthz cannot be polled).
  void spawn();

  bool serving() const { return serving_; }
  bool running();
  // The exit code, if the agent exits within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, then the exit code (SIGKILL after `timeout`).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void signal(int number);
  int pid() const;

  int port() const { return port_; }
  const std::string& socket() const { return socket_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& dir() const { return dir_.path(); }
  std::string path(const std::string& name) const { return dir_ / name; }
  std::string stdout_text() const;
  std::string stderr_text() const;

  HttpResult get(const std::string& target) const { return http_get(port_, target); }
  HttpResult api(const std::string& method, const std::string& target, const std::string& body = "") const {
    return http_request_unix(socket_, method, target, body);
  }

  // `<stage>/bin/deckhand <args> --socket <socket>`.
  CommandResult cli(const std::vector<std::string>& args, const std::string& input = "") const;
  template <typename... Args>
  CommandResult cli(const std::string& first, const Args&... rest) const {
    return cli(std::vector<std::string>{first, std::string(rest)...});
  }

 private:
  TempDir dir_{"deckhand-agent"};
  AgentOptions options_;
  int port_ = 0;
  std::string socket_;
  std::string config_path_;
  std::string stdout_path_;
  std::string stderr_path_;
  bool serving_ = false;
  std::unique_ptr<ChildProcess> child_;  // declared last: stopped before dir_ goes
};

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The value of one exact Prometheus sample line ("name{labels} value"), if present.
std::optional<std::string> metric_sample(const std::string& exposition, const std::string& series);

// Lines of `text` split on whitespace.
std::vector<std::vector<std::string>> table_rows(const std::string& text);

}  // namespace deckhand::test
