// The installed `deckhand` CLI against a running agent, and the raw local API
// it talks to.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent_fixture.hpp"
#include "abi_version.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using nlohmann::json;

const char* const kDirstore =
    "  - name: dirstore\n"
    "    path: libdeckhand-dirstore.so\n"
    "    config:\n"
    "      root: @TMP@/rootfs\n";

// One agent for the read-only CLI checks of this suite.
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      agent_ = new AgentUnderTest(kDirstore);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete agent_;
    agent_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(agent_, nullptr) << setup_error_;
    ASSERT_TRUE(agent_->serving()) << agent_->stderr_text();
  }
  static AgentUnderTest& agent() { return *agent_; }

 private:
  static AgentUnderTest* agent_;
  static std::string setup_error_;
};
AgentUnderTest* CliTest::agent_ = nullptr;
std::string CliTest::setup_error_;

TEST(Cli, HelpListsTheCommands) {
  const CommandResult result = run_deckhand({"--help"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Usage:\n  deckhand <command> [options]"));
  for (const char* command : {"\n  agent ", "\n  version ", "\n  plugins ", "\n  help "}) {
    EXPECT_THAT(result.out, HasSubstr(command));
  }
  EXPECT_EQ(result.err, "");
}

TEST(Cli, CommandHelpGoesToStdout) {
  for (const char* command : {"agent", "version", "plugins"}) {
    const CommandResult result = run_deckhand({command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command << ": " << result.err;
    EXPECT_THAT(result.out, HasSubstr(std::string("deckhand ") + command)) << command;
    const CommandResult via_help = run_deckhand({"help", command});
    EXPECT_EQ(via_help.exit_code, 0);
    EXPECT_EQ(via_help.out, result.out) << command;
  }
}

TEST(Cli, NoCommandPrintsUsageAndFails) {
  const CommandResult result = run_deckhand({});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("Usage:"));
  EXPECT_EQ(result.out, "");
}

TEST(Cli, UnknownCommandFails) {
  const CommandResult result = run_deckhand({"frobnicate"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("error: unknown command \"frobnicate\" for \"deckhand\""));
  EXPECT_EQ(result.out, "");
  const CommandResult topic = run_deckhand({"help", "frobnicate"});
  EXPECT_EQ(topic.exit_code, 1);
  EXPECT_THAT(topic.err, HasSubstr("unknown command \"frobnicate\""));
  const CommandResult option = run_deckhand({"version", "--frobnicate"});
  EXPECT_EQ(option.exit_code, 1);
  EXPECT_THAT(option.err, HasSubstr("error: "));
  EXPECT_THAT(option.err, HasSubstr("frobnicate"));
}

TEST(Cli, VersionClientWorksWithoutAnAgent) {
  TempDir dir("deckhand-cli");
  const CommandResult result = run_deckhand({"version", "--client", "--socket", dir / "none.sock"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, StartsWith("Client Version: 0.1.0 (commit "));
  EXPECT_THAT(result.out, HasSubstr("\nPlugin ABI: " + abi_version() + " (deckhand-abi=1 "));
  EXPECT_THAT(result.out, Not(HasSubstr("Server Version")));
  EXPECT_EQ(result.err, "");
}

TEST(Cli, VersionWithoutAnAgentNamesTheSocket) {
  TempDir dir("deckhand-cli");
  const std::string socket = dir / "none.sock";
  const CommandResult result = run_deckhand({"version", "--socket", socket});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(socket));
  EXPECT_THAT(result.err, HasSubstr("is the agent running"));
  // The client's half is still printed.
  EXPECT_THAT(result.out, HasSubstr("Client Version: 0.1.0"));
  EXPECT_THAT(result.out, Not(HasSubstr("Server Version")));
}

TEST(Cli, SocketComesFromTheEnvironment) {
  TempDir dir("deckhand-cli");
  const std::string socket = dir / "from-env.sock";
  const CommandResult result =
      run_command({"env", "DECKHAND_SOCKET=" + socket, stage_deckhand(), "plugins"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(socket));
}

TEST_F(CliTest, VersionShowsClientServerAndAbi) {
  const CommandResult result = agent().cli("version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Client Version: 0.1.0"));
  EXPECT_THAT(result.out, HasSubstr("Server Version: 0.1.0"));
  EXPECT_THAT(result.out, HasSubstr("Plugin ABI: " + abi_version()));
  EXPECT_THAT(result.out, HasSubstr("Server Plugin ABI: " + abi_version()));
  EXPECT_EQ(result.err, "");
}

TEST_F(CliTest, VersionJson) {
  const CommandResult result = agent().cli("version", "-o", "json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json body = json::parse(result.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result.out;
  EXPECT_EQ(body["clientVersion"]["abi"], abi_version());
  EXPECT_EQ(body["clientVersion"]["version"], "0.1.0");
  EXPECT_EQ(body["serverVersion"]["abi"], abi_version());
  EXPECT_EQ(body["serverVersion"]["fingerprint"], body["clientVersion"]["fingerprint"]);
  const CommandResult bad = agent().cli("version", "-o", "yaml");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("unknown output format \"yaml\""));
}

TEST_F(CliTest, PluginsTable) {
  const CommandResult result = agent().cli("plugins");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto rows = table_rows(result.out);
  ASSERT_EQ(rows.size(), 2u) << result.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"NAME", "KIND", "VERSION", "ABI", "REQUIRED", "HEALTH", "PATH"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"dirstore", "storage", "1.0.0", abi_version(), "yes", "healthy",
                                               stage_plugin_dir() + "/libdeckhand-dirstore.so"}));
  // Columns line up: every value starts where its header does.
  const std::string header = result.out.substr(0, result.out.find('\n'));
  const std::string row = result.out.substr(header.size() + 1);
  EXPECT_EQ(row.find("storage"), header.find("KIND"));
  EXPECT_EQ(row.find("healthy"), header.find("HEALTH"));

  const CommandResult wide = agent().cli("plugins", "-o", "wide");
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  EXPECT_THAT(wide.out, HasSubstr("MESSAGE"));
}

TEST_F(CliTest, PluginsJson) {
  const CommandResult result = agent().cli("plugins", "-o", "json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json body = json::parse(result.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result.out;
  EXPECT_EQ(body["ready"], true);
  EXPECT_EQ(body["degraded"], false);
  ASSERT_EQ(body["plugins"].size(), 1u);
  const json& plugin = body["plugins"][0];
  EXPECT_EQ(plugin["name"], "dirstore");
  EXPECT_EQ(plugin["kind"], "storage");
  EXPECT_EQ(plugin["loaded"], true);
  EXPECT_EQ(plugin["healthy"], true);
  EXPECT_EQ(plugin["operations"],
            json::array({"image_status", "list_images", "prepare_rootfs", "release_rootfs"}));
}

TEST_F(CliTest, PluginsRejectsUnknownOutputAndSubcommand) {
  const CommandResult output = agent().cli("plugins", "-o", "yaml");
  EXPECT_EQ(output.exit_code, 1);
  EXPECT_THAT(output.err, HasSubstr("unknown output format \"yaml\""));
  const CommandResult sub = agent().cli("plugins", "ls");
  EXPECT_EQ(sub.exit_code, 1);
  EXPECT_THAT(sub.err, HasSubstr("unknown plugins subcommand \"ls\""));
  const CommandResult short_call = agent().cli("plugins", "call", "dirstore");
  EXPECT_EQ(short_call.exit_code, 1);
  EXPECT_THAT(short_call.err, HasSubstr("usage: deckhand plugins call NAME OPERATION"));
}

TEST_F(CliTest, CallListImages) {
  const std::string image = agent().path("rootfs/alpine");
  std::filesystem::create_directories(image);
  write_file(image + "/hello.txt", "12345");
  const CommandResult result = agent().cli("plugins", "call", "dirstore", "list_images");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const json body = json::parse(result.out, nullptr, false);
  ASSERT_TRUE(body.is_object()) << result.out;
  ASSERT_EQ(body["images"].size(), 1u) << result.out;
  EXPECT_EQ(body["images"][0]["ref"], "alpine");
  EXPECT_EQ(body["images"][0]["path"], image);
  EXPECT_EQ(body["images"][0]["size"], 5);
  std::filesystem::remove_all(image);
}

TEST_F(CliTest, CallReadsTheRequestFromStdin) {
  const CommandResult result =
      agent().cli({"plugins", "call", "dirstore", "image_status", "-"}, R"({"ref": "nosuch"})");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("image nosuch not found in " + agent().path("rootfs")));
}

TEST_F(CliTest, CallWithMissingImageFailsWithThePluginsMessage) {
  const CommandResult result = agent().cli("plugins", "call", "dirstore", "prepare_rootfs",
                                           R"({"container_id":"c1","image":"missing","readonly":true})");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_THAT(result.err, HasSubstr("error: dirstore prepare_rootfs: image missing not found in " +
                                    agent().path("rootfs")));
}

TEST_F(CliTest, CallRequestMustBeAJsonObject) {
  for (const char* request : {"[1,2]", "not json", "\"text\"", "42"}) {
    const CommandResult result = agent().cli("plugins", "call", "dirstore", "list_images", request);
    EXPECT_EQ(result.exit_code, 1) << request;
    EXPECT_THAT(result.err, HasSubstr("the request must be a JSON object")) << request;
  }
}

TEST_F(CliTest, CallUnknownPlugin) {
  const CommandResult result = agent().cli("plugins", "call", "nosuch", "list_images");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("plugin \"nosuch\" is not configured"));
}

TEST_F(CliTest, CallUnimplementedOperation) {
  const CommandResult result = agent().cli("plugins", "call", "dirstore", "pull_image", R"({"ref":"x"})");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("does not implement pull_image"));
}

TEST_F(CliTest, RawApiPluginCall) {
  const HttpResult ok = agent().api("POST", "/v1/plugins/dirstore/list_images", "{}");
  EXPECT_EQ(ok.status, 200) << ok.body;
  const json images = json::parse(ok.body, nullptr, false);
  ASSERT_TRUE(images.is_object()) << ok.body;
  EXPECT_TRUE(images.contains("images"));
  EXPECT_THAT(ok.headers, HasSubstr("application/json"));

  // No body at all means {}.
  EXPECT_EQ(agent().api("POST", "/v1/plugins/dirstore/list_images").status, 200);

  const HttpResult get = agent().api("GET", "/v1/plugins/dirstore/list_images");
  EXPECT_EQ(get.status, 405);
  const json not_allowed = json::parse(get.body, nullptr, false);
  ASSERT_TRUE(not_allowed.is_object()) << get.body;
  EXPECT_EQ(not_allowed["kind"], "Status");
  EXPECT_EQ(not_allowed["code"], 405);
  EXPECT_EQ(not_allowed["reason"], "MethodNotAllowed");

  const HttpResult array = agent().api("POST", "/v1/plugins/dirstore/list_images", "[1]");
  EXPECT_EQ(array.status, 400);
  const json bad = json::parse(array.body, nullptr, false);
  ASSERT_TRUE(bad.is_object()) << array.body;
  EXPECT_EQ(bad["kind"], "Status");
  EXPECT_EQ(bad["code"], 400);
  EXPECT_EQ(bad["message"], "the request body must be a JSON object");

  const HttpResult missing = agent().api("GET", "/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body, nullptr, false)["kind"], "Status");

  const HttpResult unknown = agent().api("POST", "/v1/plugins/nosuch/list_images", "{}");
  EXPECT_EQ(unknown.status, 404);
}

// Writes `bytes` to the unix socket (stopping quietly if the agent closes
// early) and reads whatever it answers until it closes.
std::string raw_unix_exchange(const std::string& socket_path, const std::string& bytes) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

TEST_F(CliTest, RawApiRefusesOversizedBody) {
  // A valid JSON object of 2 MiB; the API takes at most 1 MiB.
  const std::string body = "{\"pad\":\"" + std::string(2u << 20, 'x') + "\"}";
  const std::string request = "POST /v1/plugins/dirstore/list_images HTTP/1.1\r\nHost: localhost\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string answer = raw_unix_exchange(agent().socket(), request);
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 413 ")) << answer.substr(0, 200);
  // The agent is unharmed.
  EXPECT_EQ(agent().api("GET", "/healthz").status, 200);
}

TEST_F(CliTest, RawApiVersionAndList) {
  const HttpResult version = agent().api("GET", "/v1/version");
  ASSERT_EQ(version.status, 200);
  EXPECT_EQ(json::parse(version.body)["abi"], abi_version());
  const HttpResult list = agent().api("GET", "/v1/plugins");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(json::parse(list.body)["plugins"][0]["name"], "dirstore");
}

TEST_F(CliTest, LocalApiRefusesNobody) {
  const CommandResult result =
      run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", stage_deckhand(), "plugins",
                   "--socket", agent().socket()});
  EXPECT_NE(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.err, HasSubstr(agent().socket()));
  EXPECT_EQ(result.out, "");
}

// Even if an administrator loosens the socket's permissions, the agent itself
// refuses peers that are neither root nor its own user.
TEST(CliPeerCheck, AgentRefusesNonRootPeerOnAWorldWritableSocket) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  ASSERT_EQ(chmod(agent.dir().c_str(), 0711), 0);
  ASSERT_EQ(chmod(agent.path("run").c_str(), 0711), 0);
  ASSERT_EQ(chmod(agent.socket().c_str(), 0666), 0);
  const CommandResult result =
      run_command({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", stage_deckhand(), "plugins",
                   "--socket", agent.socket()});
  EXPECT_NE(result.exit_code, 0) << result.out;
  EXPECT_THAT(result.out, Not(HasSubstr("dirstore")));
  EXPECT_THAT(result.err, HasSubstr(agent.socket()));
  EXPECT_TRUE(eventually([&] { return agent.stderr_text().find("local API connection refused") != std::string::npos; }))
      << agent.stderr_text();
  EXPECT_THAT(agent.stderr_text(), HasSubstr("uid=65534"));
  // Root still gets in.
  EXPECT_EQ(agent.cli("plugins").exit_code, 0);
}

TEST(CliAgent, BadConfigNamesFileLineColumnAndKey) {
  TempDir dir("deckhand-cli");
  const std::string config = dir / "bad.yaml";
  write_file(config,
             "listen: 127.0.0.1:1\n"
             "plugins:\n"
             "  - path: libdeckhand-dirstore.so\n"
             "    requird: true\n");
  const CommandResult result = run_deckhand({"agent", "--config", config}, "", 10s);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr(config + ":4:5: plugins[0].requird: unknown key"));
  EXPECT_EQ(result.out, "");

  write_file(config, "health_timeout_seconds: soon\n");
  const CommandResult type = run_deckhand({"agent", "--check", "--config", config}, "", 10s);
  EXPECT_EQ(type.exit_code, 1);
  EXPECT_THAT(type.err, HasSubstr(config + ":1:25: health_timeout_seconds: expected a number, got \"soon\""));

  write_file(config, "plugins: [\n");
  const CommandResult yaml = run_deckhand({"agent", "--check", "--config", config}, "", 10s);
  EXPECT_EQ(yaml.exit_code, 1);
  EXPECT_THAT(yaml.err, HasSubstr(config + ":"));
  EXPECT_THAT(yaml.err, HasSubstr("invalid YAML"));

  const CommandResult missing = run_deckhand({"agent", "--config", dir / "absent.yaml"}, "", 10s);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr(dir / "absent.yaml"));
  EXPECT_THAT(missing.err, HasSubstr("cannot read the configuration file"));
}

TEST(CliAgent, CheckValidatesWithoutStarting) {
  AgentOptions options;
  options.plugins_yaml = kDirstore;
  options.start = false;
  AgentUnderTest agent(options);
  const CommandResult result = run_deckhand({"agent", "--check", "--config", agent.config_path()}, "", 10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, agent.config_path() + ": configuration is valid\n");
  EXPECT_FALSE(std::filesystem::exists(agent.socket()));
  EXPECT_FALSE(std::filesystem::exists(agent.path("state")));
  EXPECT_EQ(agent.get("/healthz").status, 0);
}

TEST(CliAgent, InstalledDefaultConfigIsValid) {
  const std::string config = stage_prefix() + "/etc/deckhand/config.yaml";
  ASSERT_TRUE(std::filesystem::exists(config));
  const CommandResult result = run_deckhand({"agent", "--check", "--config", config}, "", 10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, config + ": configuration is valid\n");
  // Without --config the agent reads the config installed next to it.
  const CommandResult implicit = run_deckhand({"agent", "--check"}, "", 10s);
  EXPECT_EQ(implicit.exit_code, 0) << implicit.err;
  EXPECT_EQ(implicit.out, config + ": configuration is valid\n");
  const CommandResult help = run_deckhand({"agent", "--help"});
  EXPECT_THAT(help.out, HasSubstr("Without --config it reads " + config));
}

TEST(CliAgent, DefaultPluginDirIsNextToTheInstalledAgent) {
  AgentOptions options;
  options.plugins_yaml = "  - path: libdeckhand-dirstore.so\n    config:\n      root: @TMP@/rootfs\n";
  options.omit_plugin_dir = true;
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const CommandResult result = agent.cli("plugins");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto rows = table_rows(result.out);
  ASSERT_EQ(rows.size(), 2u) << result.out;
  EXPECT_EQ(rows[1][0], "dirstore");
  EXPECT_EQ(rows[1].back(), stage_plugin_dir() + "/libdeckhand-dirstore.so");
}

TEST(CliAgent, LogFileInAMissingDirectoryIsReported) {
  AgentOptions options;
  options.extra_yaml = "log:\n  file: @TMP@/no/such/dir/agent.log\n";
  options.start = false;
  AgentUnderTest agent(options);
  EXPECT_FALSE(agent.start());
  EXPECT_EQ(agent.wait_exit(5s), std::optional<int>(1));
  EXPECT_THAT(agent.stderr_text(), HasSubstr(agent.path("no/such/dir/agent.log")));
  EXPECT_FALSE(std::filesystem::exists(agent.socket()));
}

}  // namespace
}  // namespace deckhand::test
