#include "staged_agent.hpp"

#include <thread>

#include "http_client.hpp"
#include "storage_fixture.hpp"

namespace deckhand::test {

StagedAgent::StagedAgent(const std::string& config_path, int port, const std::string& log_prefix)
    : port_(port), log_prefix_(log_prefix) {
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{staged_deckhand(), "agent", "--config", config_path},
                                            log_prefix + ".stdout", log_prefix + ".stderr");
}

StagedAgent::~StagedAgent() {
  if (process_->running()) process_->stop(std::chrono::seconds(10));
}

bool StagedAgent::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) return false;
    if (http_get(port_, "/readyz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int StagedAgent::stop() { return process_->stop(std::chrono::seconds(10)); }

std::string StagedAgent::log() const { return read_file(log_prefix_ + ".stderr"); }

}  // namespace deckhand::test
