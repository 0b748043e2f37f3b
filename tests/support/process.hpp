// Starting and stopping real processes from tests: commands run to completion
// with their output captured, and long-running children that are always
// stopped (by PID, never by name) when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace deckhand::test {

struct CommandResult {
  int exit_code = -1;  // 128 + signal if killed by a signal
  std::string out;
  std::string err;
};

// Runs argv, feeding `input` to its stdin; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A background child whose stdout and stderr go to files.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& stdout_path, const std::string& stderr_path);
  ~ChildProcess();  // SIGTERM, then SIGKILL after 5 s, if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Exit code (128 + signal if signalled) once it exits within `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int number);
  // SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

}  // namespace deckhand::test
