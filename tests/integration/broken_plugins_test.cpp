// Plugins that cannot load, or load and then misbehave: as a required plugin
// they stop the agent with the loader's exact message; as an optional one the
// agent runs degraded and says so on /readyz, /metrics and `deckhand plugins`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>

#include <functional>
#include <nlohmann/json.hpp>

#include "agent_fixture.hpp"
#include "abi_version.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using nlohmann::json;

std::string test_plugin(const std::string& file) { return test_plugin_dir() + "/" + file; }

// The agent's build fingerprint, as its CLI reports it.
std::string agent_fingerprint() {
  const CommandResult result = run_deckhand({"version", "--client", "-o", "json"});
  if (result.exit_code != 0) return "(deckhand version failed: " + result.err + ")";
  return json::parse(result.out)["clientVersion"]["fingerprint"].get<std::string>();
}

struct BrokenCase {
  std::string label;
  std::string file;  // under the test plugin directory
  std::string name;  // the config's name:, empty = none (the file stem names it)
  std::function<std::string(const std::string& path)> message;

  std::string entry_name() const {
    if (!name.empty()) return name;
    return file.substr(0, file.rfind(".so"));
  }
};

std::vector<BrokenCase> broken_cases() {
  return {
      {"missing_file", "libtest-missing.so", "missing",
       [](const std::string& path) { return "plugin " + path + ": file not found"; }},
      {"not_elf", "libtest-not_elf.so", "notelf",
       [](const std::string& path) {
         return "plugin " + path + ": not a shared object (the file has no ELF header)";
       }},
      {"no_entry", "libtest-no_entry.so", "noentry",
       [](const std::string& path) {
         return "plugin " + path + ": does not export deckhand_plugin_entry, so it is not a deckhand plugin";
       }},
      {"abi_major2", "libtest-abi_major2.so", "abimajor",
       [](const std::string& path) {
         return "plugin " + path +
                ": built for plugin ABI " + abi_version(2) + " but this agent speaks ABI " + abi_version() +
                " (the major versions must match)";
       }},
      {"abi_minor99", "libtest-abi_minor99.so", "abiminor",
       [](const std::string& path) {
         return "plugin " + path +
                ": built for plugin ABI 1.99, newer than this agent's " + abi_version() + "; upgrade the agent or build the plugin "
                "with an older SDK";
       }},
      {"fingerprint", "libtest-fingerprint.so", "fingerprint",
       [](const std::string& path) {
         return "plugin " + path +
                ": build fingerprint \"deckhand-abi=1 arch=sparc64 os=linux ptr=8 endian=big\" does not match the "
                "agent's \"" +
                agent_fingerprint() + "\"";
       }},
      {"init_fails", "libtest-init_fails.so", "initfails",
       [](const std::string& path) {
         return "plugin " + path + ": plugin \"initfails\" failed to initialise: config key \"token\" is required";
       }},
      {"name_mismatch", "libtest-unhealthy.so", "wrongname",
       [](const std::string& path) {
         return "plugin " + path + ": the file is plugin \"unhealthy\", but the config expects \"wrongname\"";
       }},
      // The good plugin configured a second time.
      {"same_file", "libtest-good.so", "again",
       [](const std::string& path) { return "plugin " + path + ": the same file is already loaded as " + path; }},
      // No name: in the config, so the failed entry is named after the file.
      {"duplicate_name", "libtest-duplicate.so", "",
       [](const std::string& path) {
         return "plugin " + path + ": plugin name \"cnet\" is already taken by " + test_plugin("libtest-good.so");
       }},
  };
}

// gtest prints the parameter in test names and failures: its label says it all.
void PrintTo(const BrokenCase& c, std::ostream* out) { *out << c.label; }

// The good plugin ("cnet", required) first, then the broken one.
AgentOptions options_for(const BrokenCase& c, bool required) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - name: cnet\n    path: libtest-good.so\n";
  if (!c.name.empty()) {
    options.plugins_yaml += "  - name: " + c.name + "\n    path: " + c.file + "\n";
  } else {
    options.plugins_yaml += "  - path: " + c.file + "\n";
  }
  options.plugins_yaml += std::string("    required: ") + (required ? "true" : "false") + "\n";
  return options;
}

class BrokenPlugin : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenPlugin, RequiredStopsTheAgentWithTheLoaderMessage) {
  const BrokenCase& c = GetParam();
  const std::string message = c.message(test_plugin(c.file));
  const auto started = std::chrono::steady_clock::now();
  AgentUnderTest agent(options_for(c, true));
  EXPECT_FALSE(agent.serving());
  const auto code = agent.wait_exit(5s);
  ASSERT_TRUE(code.has_value()) << "the agent kept running";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(*code, 1);
  const std::string err = agent.stderr_text();
  EXPECT_THAT(err, HasSubstr("required plugin failed: " + message + "\n")) << err;
  EXPECT_THAT(err, HasSubstr("agent cannot start: a required plugin failed to load: " + message + "\n"));
  struct stat st {};
  EXPECT_NE(lstat(agent.socket().c_str(), &st), 0) << "the failed agent left a socket behind";
}

TEST_P(BrokenPlugin, OptionalRunsTheAgentDegraded) {
  const BrokenCase& c = GetParam();
  const std::string message = c.message(test_plugin(c.file));
  const std::string name = c.entry_name();
  AgentUnderTest agent(options_for(c, false));
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  EXPECT_THAT(agent.stderr_text(), HasSubstr("optional plugin failed, running degraded: " + message + "\n"));

  const HttpResult ready = agent.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[+]plugin cnet ok\n"));
  EXPECT_THAT(ready.body, HasSubstr("[-]plugin " + name + " (optional) failed: not loaded: " + message + "\n"));
  EXPECT_THAT(ready.body, HasSubstr("readyz check passed (degraded"));

  const HttpResult metrics = agent.get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_loaded{name=\"" + name + "\"}"), "0") << metrics.body;
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_loaded{name=\"cnet\"}"), "1") << metrics.body;
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_healthy{name=\"" + name + "\"}"), "0");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_ready"), "1");

  const CommandResult table = agent.cli("plugins");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  bool found = false;
  for (const auto& row : table_rows(table.out)) {
    if (row.empty() || row[0] != name) continue;
    found = true;
    // NAME KIND VERSION ABI REQUIRED HEALTH PATH: nothing is known of a plugin that did not load.
    ASSERT_EQ(row.size(), 7u) << table.out;
    EXPECT_EQ(row[1], "-");
    EXPECT_EQ(row[4], "no");
    EXPECT_EQ(row[5], "failed");
    EXPECT_EQ(row[6], test_plugin(c.file));
  }
  EXPECT_TRUE(found) << table.out;

  const CommandResult listed = agent.cli("plugins", "-o", "json");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json body = json::parse(listed.out);
  EXPECT_EQ(body["ready"], true);
  EXPECT_EQ(body["degraded"], true);
  ASSERT_EQ(body["plugins"].size(), 2u);
  EXPECT_EQ(body["plugins"][1]["name"], name);
  EXPECT_EQ(body["plugins"][1]["loaded"], false);
  EXPECT_EQ(body["plugins"][1]["error"], message);

  // Calling it says why it is not there.
  const CommandResult call = agent.cli("plugins", "call", name, "check");
  EXPECT_EQ(call.exit_code, 1);
  EXPECT_THAT(call.err, HasSubstr("plugin \"" + name + "\" is not loaded: " + message));
}

INSTANTIATE_TEST_SUITE_P(Loader, BrokenPlugin, ::testing::ValuesIn(broken_cases()),
                         [](const ::testing::TestParamInfo<BrokenCase>& info) { return info.param.label; });

// Two entries that claim one name are a config error, found before anything loads.
TEST(BrokenPlugins, DuplicateConfigNamesAreRefused) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml =
      "  - name: cnet\n    path: libtest-good.so\n"
      "  - name: cnet\n    path: libtest-duplicate.so\n    required: false\n";
  AgentUnderTest agent(options);
  EXPECT_FALSE(agent.serving());
  EXPECT_THAT(agent.stderr_text(), HasSubstr(":8:11: plugins[1].name: \"cnet\" is already the name of an earlier plugin"));
}

// A failed entry whose file name matches a loaded plugin's name is renamed by
// its place in the list, so the working "cnet" still reads as loaded.
TEST(BrokenPlugins, FailedDuplicateDoesNotHideTheLoadedPlugin) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml =
      "  - path: libtest-good.so\n"
      "  - path: cnet.so\n    required: false\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const CommandResult call = agent.cli("plugins", "call", "cnet", "check", R"({"x":1})");
  EXPECT_EQ(call.exit_code, 0) << call.err;
  const HttpResult ready = agent.get("/readyz");
  ASSERT_EQ(ready.status, 200);
  EXPECT_THAT(ready.body, HasSubstr("[-]plugin plugins[1] (optional) failed: not loaded: plugin " + test_plugin_dir() +
                                    "/cnet.so: file not found\n"));
  const HttpResult metrics = agent.get("/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("deckhand_plugin_info{abi=\"" + abi_version() + R"(",kind="network",name="cnet",version="0.0.1"} 1)"));
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_loaded{name=\"cnet\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_healthy{name=\"cnet\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_loaded{name=\"plugins[1]\"}"), "0");
}

// A failed entry listed first under the name a later plugin loads as: calls
// to that name must reach the loaded plugin.
TEST(BrokenPlugins, FailedEntryDoesNotShadowALoadedPluginOfTheSameName) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml =
      "  - path: cnet.so\n    required: false\n"
      "  - path: libtest-good.so\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const HttpResult ready = agent.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[+]plugin cnet ok\n"));
  const CommandResult call = agent.cli("plugins", "call", "cnet", "check", R"({"x":1})");
  EXPECT_EQ(call.exit_code, 0) << call.err;
  EXPECT_EQ(json::parse(call.out, nullptr, false), json({{"x", 1}})) << call.out;
  const HttpResult raw = agent.api("POST", "/v1/plugins/cnet/check", "{}");
  EXPECT_EQ(raw.status, 200) << raw.body;
}

TEST(BrokenPlugins, RequiredUnhealthyPluginMakesTheAgentNotReady) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - name: unhealthy\n    path: libtest-unhealthy.so\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  EXPECT_TRUE(agent.running());

  const HttpResult ready = agent.get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[-]plugin unhealthy failed: backend unreachable\n"));
  EXPECT_THAT(ready.body, HasSubstr("readyz check failed\n"));
  EXPECT_EQ(agent.get("/healthz").status, 200);  // alive, only not ready

  const HttpResult metrics = agent.get("/metrics");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_ready"), "0") << metrics.body;
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_loaded{name=\"unhealthy\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_plugin_healthy{name=\"unhealthy\"}"), "0");
  EXPECT_THAT(agent.stderr_text(), HasSubstr("agent not ready:"));

  const CommandResult table = agent.cli("plugins", "-o", "wide");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("unhealthy"));
  const auto rows = table_rows(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_EQ(rows[1][5], "unhealthy");
  EXPECT_THAT(table.out, HasSubstr("backend unreachable"));

  // Its operations still answer: health gates readiness, not calls.
  const CommandResult call = agent.cli("plugins", "call", "unhealthy", "check", R"({"ping":1})");
  EXPECT_EQ(call.exit_code, 0) << call.err;
  EXPECT_EQ(json::parse(call.out), json({{"ping", 1}}));
}

AgentOptions slow_health_options() {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - name: slowhealth\n    path: libtest-slow_health.so\n";
  options.extra_yaml = "health_timeout_seconds: 0.2\n";
  return options;
}

// The health call takes 3 s and the timeout is 0.2 s: the very first /readyz
// must say so within about a second.
TEST(BrokenPlugins, SlowHealthFirstReadyzNamesTheTimeout) {
  AgentUnderTest agent(slow_health_options());
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const auto asked = std::chrono::steady_clock::now();
  const HttpResult ready = agent.get("/readyz");
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 1s);
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[-]plugin slowhealth failed: the plugin did not answer within 0.2s\n"));
  EXPECT_THAT(ready.body, HasSubstr("readyz check failed\n"));
}

// Polls: whatever each answer says, it is quick and not ready, and the
// timeout is named once the start-up health call has returned.
TEST(BrokenPlugins, SlowHealthTimesOutOnReadyz) {
  AgentUnderTest agent(slow_health_options());
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();

  // Every answer comes within a second and says not ready. While the plugin
  // is still stuck in the agent's own start-up health call (3 s), /readyz
  // says so; after that a fresh check names the timeout.
  bool saw_timeout = false;
  int answers = 0;
  const auto deadline = std::chrono::steady_clock::now() + 6s;
  while (!saw_timeout && std::chrono::steady_clock::now() < deadline) {
    const auto asked = std::chrono::steady_clock::now();
    const HttpResult ready = agent.get("/readyz");
    ++answers;
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 1s) << "answer " << answers;
    ASSERT_EQ(ready.status, 503) << ready.body;
    EXPECT_THAT(ready.body, HasSubstr("[-]plugin slowhealth failed: "));
    EXPECT_THAT(ready.body, HasSubstr("readyz check failed\n"));
    saw_timeout = ready.body.find("[-]plugin slowhealth failed: the plugin did not answer within 0.2s\n") !=
                  std::string::npos;
    if (!saw_timeout) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(saw_timeout) << "after " << answers << " answers";
  EXPECT_EQ(metric_sample(agent.get("/metrics").body, "deckhand_ready"), "0");
  EXPECT_EQ(metric_sample(agent.get("/metrics").body, "deckhand_plugin_healthy{name=\"slowhealth\"}"), "0");
}

TEST(BrokenPlugins, ResultThatIsNotJsonIsAnError) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - name: badoutput\n    path: libtest-bad_output.so\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const CommandResult call = agent.cli("plugins", "call", "badoutput", "check");
  EXPECT_EQ(call.exit_code, 1);
  EXPECT_EQ(call.out, "");
  EXPECT_THAT(call.err, HasSubstr("plugin badoutput returned a result from check that is not valid JSON"));
  const HttpResult raw = agent.api("POST", "/v1/plugins/badoutput/check", "{}");
  EXPECT_EQ(raw.status, 500);
  EXPECT_THAT(raw.body, Not(HasSubstr("this is not json")));
  EXPECT_TRUE(agent.running());
}

TEST(BrokenPlugins, PluginErrorsMapToHttpStatus) {
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - name: cnet\n    path: libtest-good.so\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  // The plugin's INVALID_ARGUMENT is a 400 with its message.
  const HttpResult attach = agent.api("POST", "/v1/plugins/cnet/attach", "{}");
  EXPECT_EQ(attach.status, 400);
  const json status = json::parse(attach.body, nullptr, false);
  ASSERT_TRUE(status.is_object()) << attach.body;
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["reason"], "BadRequest");
  EXPECT_EQ(status["message"], "cnet attach: attach: netns is required");
  // An operation the plugin's kind has but it does not implement: 501.
  const HttpResult detach = agent.api("POST", "/v1/plugins/cnet/detach", "{}");
  EXPECT_EQ(detach.status, 501) << detach.body;
  // An operation no network plugin has.
  const HttpResult bogus = agent.api("POST", "/v1/plugins/cnet/list_images", "{}");
  EXPECT_EQ(bogus.status, 501) << bogus.body;
  EXPECT_THAT(bogus.body, HasSubstr("a network plugin has no operation \\\"list_images\\\""));
}

std::string sha256_of(const std::string& path) {
  const CommandResult result = run_command({"sha256sum", path});
  if (result.exit_code != 0) return "(sha256sum failed)";
  return result.out.substr(0, 64);
}

TEST(PluginIntegrity, Sha256IsChecked) {
  const std::string good = test_plugin("libtest-good.so");
  const std::string actual = sha256_of(good);
  ASSERT_EQ(actual.size(), 64u);
  std::string upper = actual;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  AgentOptions matching;
  matching.plugin_dir = test_plugin_dir();
  matching.plugins_yaml = "  - path: libtest-good.so\n    sha256: " + upper + "\n";
  AgentUnderTest loads(matching);
  EXPECT_TRUE(loads.serving()) << loads.stderr_text();

  const std::string zeros(64, '0');
  AgentOptions wrong = matching;
  wrong.plugins_yaml = "  - path: libtest-good.so\n    sha256: " + zeros + "\n";
  AgentUnderTest refused(wrong);
  EXPECT_FALSE(refused.serving());
  EXPECT_EQ(refused.wait_exit(5s), std::optional<int>(1));
  EXPECT_THAT(refused.stderr_text(), HasSubstr("plugin " + good + ": sha256 mismatch: the config expects " + zeros +
                                               ", the file has " + actual + "\n"));

  AgentOptions malformed = matching;
  malformed.plugins_yaml = "  - path: libtest-good.so\n    sha256: abc123\n";
  AgentUnderTest invalid(malformed);
  EXPECT_FALSE(invalid.serving());
  EXPECT_EQ(invalid.wait_exit(5s), std::optional<int>(1));
  // The plugins list starts on line 6 of the fixture's config; sha256 is its second line.
  EXPECT_THAT(invalid.stderr_text(),
              HasSubstr(invalid.config_path() + ":7:13: plugins[0].sha256: expected 64 hexadecimal digits"));
}

// A plugin runs with the agent's privileges: a file, or any directory above
// it, that another user could write or owns is refused.
// Layout: <tmp>/outer/plugins/libtest-good.so.
TEST(PluginIntegrity, UntrustedFilesAreRefused) {
  struct Case {
    std::string label;
    mode_t outer_mode;
    mode_t dir_mode;
    mode_t file_mode;
    uid_t file_owner;
    std::string message;  // after "plugin <path>: "; @OUTER@/@DIR@ stand for the directories; empty = it loads
  };
  const std::vector<Case> cases = {
      {"group-writable file", 0755, 0755, 0664, 0,
       "refusing to load: the file is writable by group or others (mode 0664)"},
      {"world-writable directory", 0755, 0777, 0755, 0,
       "refusing to load: the directory @DIR@ is writable by group or others (mode 0777)"},
      {"world-writable ancestor directory", 0777, 0755, 0755, 0,
       "refusing to load: the directory @OUTER@ is writable by group or others (mode 0777)"},
      {"file owned by nobody", 0755, 0755, 0755, 65534,
       "refusing to load: the file is owned by uid 65534, not by root or the agent's user"},
      {"sticky shared directory", 0755, 01777, 0755, 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    AgentOptions options;
    options.plugins_yaml = "  - path: @TMP@/outer/plugins/libtest-good.so\n";
    options.start = false;
    AgentUnderTest agent(options);
    const std::string outer = agent.path("outer");
    const std::string dir = outer + "/plugins";
    const std::string file = dir + "/libtest-good.so";
    ASSERT_TRUE(std::filesystem::create_directories(dir));
    std::filesystem::copy_file(test_plugin("libtest-good.so"), file);
    ASSERT_EQ(chmod(file.c_str(), c.file_mode), 0);
    ASSERT_EQ(chown(file.c_str(), c.file_owner, 0), 0);
    ASSERT_EQ(chmod(dir.c_str(), c.dir_mode), 0);
    ASSERT_EQ(chmod(outer.c_str(), c.outer_mode), 0);
    const bool serving = agent.start();
    if (c.message.empty()) {
      EXPECT_TRUE(serving) << agent.stderr_text();
      continue;
    }
    std::string message = c.message;
    if (auto at = message.find("@DIR@"); at != std::string::npos) message.replace(at, 5, dir);
    if (auto at = message.find("@OUTER@"); at != std::string::npos) message.replace(at, 7, outer);
    EXPECT_FALSE(serving);
    EXPECT_EQ(agent.wait_exit(5s), std::optional<int>(1));
    EXPECT_THAT(agent.stderr_text(), HasSubstr("plugin " + file + ": " + message + "\n"));
  }
}

// A symlink in a trusted place does not launder a file in an untrusted one:
// what is checked is the file that would really be loaded.
TEST(PluginIntegrity, SymlinkToAnUntrustedDirectoryIsRefused) {
  AgentOptions options;
  options.plugins_yaml = "  - path: @TMP@/trusted/libtest-good.so\n";
  options.start = false;
  AgentUnderTest agent(options);
  const std::string trusted = agent.path("trusted");
  const std::string open_dir = agent.path("open");
  ASSERT_TRUE(std::filesystem::create_directories(trusted));
  ASSERT_TRUE(std::filesystem::create_directories(open_dir));
  std::filesystem::copy_file(test_plugin("libtest-good.so"), open_dir + "/libtest-good.so");
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  std::filesystem::create_symlink(open_dir + "/libtest-good.so", trusted + "/libtest-good.so");
  EXPECT_FALSE(agent.start());
  EXPECT_EQ(agent.wait_exit(5s), std::optional<int>(1));
  EXPECT_THAT(agent.stderr_text(), HasSubstr("refusing to load: the directory " + open_dir +
                                             " is writable by group or others (mode 0777)"));
}

}  // namespace
}  // namespace deckhand::test
