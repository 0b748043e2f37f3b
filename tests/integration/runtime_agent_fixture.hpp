// The runtime plugin driven through a live agent: `deckhand plugins call
// runtime-native OP JSON`, and a fixture whose agent keeps its containers in
// the RuntimeTest's OciRuntime root, so that the RuntimeTest guard also
// cleans up and checks what the agent created.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "runtime_fixture.hpp"

namespace deckhand::test {

// One `deckhand plugins call runtime-native ...`: the CLI's exit code and
// streams, and its stdout parsed as JSON (discarded if it is not JSON).
struct PluginReply {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json value;
  bool ok() const { return exit_code == 0 && !value.is_discarded(); }
};

std::string describe(const std::string& operation, const nlohmann::json& request, const PluginReply& reply);

PluginReply call_plugin(const AgentUnderTest& agent, const std::string& operation, const nlohmann::json& request,
                        std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The call's result; throws (failing the test with the CLI's output) if it fails.
nlohmann::json must(const AgentUnderTest& agent, const std::string& operation, const nlohmann::json& request,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The agent config's plugin list: runtime-native with `root` and any more
// config lines ("key: value", indented by this function).
std::string plugins_yaml(const std::string& root, const std::vector<std::string>& more_config = {});

// The hexadecimal mask of one "Name:\tvalue" line of /proc/<pid>/status.
uint64_t status_mask(pid_t pid, const std::string& name);

class RuntimeAgentTest : public RuntimeTest {
 protected:
  void SetUp() override;
  // More plugin config lines for the agent (sandbox settings, ...).
  virtual std::vector<std::string> more_config() const { return {}; }

  nlohmann::json must(const std::string& operation, const nlohmann::json& request,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  PluginReply call(const std::string& operation, const nlohmann::json& request,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

  // create (tracked for cleanup first) and start; returns the init's host pid.
  pid_t run_detached(const BusyboxBundle& bundle, const std::string& id,
                     nlohmann::json extra = nlohmann::json::object());

  // exec with captured output.
  PluginReply exec(const std::string& id, const std::vector<std::string>& args) const;

  std::unique_ptr<AgentUnderTest> agent_;
};

}  // namespace deckhand::test
