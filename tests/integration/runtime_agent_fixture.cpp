#include "runtime_agent_fixture.hpp"

#include <gmock/gmock.h>

#include <sstream>
#include <stdexcept>

namespace deckhand::test {

using ::testing::AnyOf;
using nlohmann::json;
using namespace std::chrono_literals;

std::string describe(const std::string& operation, const json& request, const PluginReply& reply) {
  return "plugins call runtime-native " + operation + " " + request.dump() + " -> exit " +
         std::to_string(reply.exit_code) + ", stdout: " + reply.out + ", stderr: " + reply.err;
}

PluginReply call_plugin(const AgentUnderTest& agent, const std::string& operation, const json& request,
                        std::chrono::milliseconds timeout) {
  const CommandResult result = run_deckhand(
      {"plugins", "call", "runtime-native", operation, request.dump(), "--socket", agent.socket()}, "", timeout);
  PluginReply reply;
  reply.exit_code = result.exit_code;
  reply.out = result.out;
  reply.err = result.err;
  reply.value = json::parse(result.out, nullptr, false);
  return reply;
}

json must(const AgentUnderTest& agent, const std::string& operation, const json& request,
          std::chrono::milliseconds timeout) {
  const PluginReply reply = call_plugin(agent, operation, request, timeout);
  if (!reply.ok()) throw std::runtime_error(describe(operation, request, reply));
  return reply.value;
}

std::string plugins_yaml(const std::string& root, const std::vector<std::string>& more_config) {
  std::string yaml = "  - path: libdeckhand-runtime-native.so\n    config:\n      root: " + root + "\n";
  for (const auto& line : more_config) yaml += "      " + line + "\n";
  return yaml;
}

uint64_t status_mask(pid_t pid, const std::string& name) {
  std::istringstream lines(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + ":", 0) == 0) return std::stoull(line.substr(name.size() + 1), nullptr, 16);
  }
  return 0;
}

void RuntimeAgentTest::SetUp() {
  RuntimeTest::SetUp();
  if (IsSkipped()) return;
  // The agent's runtime-native plugin keeps its containers in runtime_.root().
  agent_ = std::make_unique<AgentUnderTest>(plugins_yaml(runtime_.root(), more_config()));
  ASSERT_TRUE(agent_->serving()) << agent_->stderr_text();
}

json RuntimeAgentTest::must(const std::string& operation, const json& request, std::chrono::milliseconds timeout) const {
  return deckhand::test::must(*agent_, operation, request, timeout);
}

PluginReply RuntimeAgentTest::call(const std::string& operation, const json& request,
                                   std::chrono::milliseconds timeout) const {
  return call_plugin(*agent_, operation, request, timeout);
}

pid_t RuntimeAgentTest::run_detached(const BusyboxBundle& bundle, const std::string& id, json extra) {
  runtime_.track(id);
  json request = {{"id", id}, {"bundle", bundle.path()}};
  request.update(extra);
  const json created = must("create", request);
  EXPECT_EQ(created.value("status", ""), "created") << created.dump();
  // A short-lived process may already be gone when start reports.
  const json started = must("start", {{"id", id}});
  EXPECT_THAT(started.value("status", ""), AnyOf("running", "stopped")) << started.dump();
  return created.value("pid", 0);
}

PluginReply RuntimeAgentTest::exec(const std::string& id, const std::vector<std::string>& args) const {
  return call("exec", {{"id", id}, {"process", {{"args", args}}}, {"stdio", "capture"}});
}

}  // namespace deckhand::test
