// The staged agent (`<stage>/bin/deckhand agent --config F`) run on a
// StorageTest's config file, stopped by PID when the object goes away.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "process.hpp"

namespace deckhand::test {

class StagedAgent {
 public:
  // Starts the agent; its stdout and stderr go to <log_prefix>.stdout/.stderr.
  StagedAgent(const std::string& config_path, int port, const std::string& log_prefix);
  ~StagedAgent();
  StagedAgent(const StagedAgent&) = delete;
  StagedAgent& operator=(const StagedAgent&) = delete;

  // Waits until /readyz answers 200 (false if the agent exits or time runs out).
  bool wait_ready(std::chrono::milliseconds timeout);
  int stop();
  std::string log() const;  // its stderr so far

 private:
  int port_;
  std::string log_prefix_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace deckhand::test
