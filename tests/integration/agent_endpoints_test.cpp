// The installed agent with its bundled dirstore plugin: the HTTP endpoints
// (/healthz, /readyz, /metrics), the local API socket, and signals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent_fixture.hpp"
#include "abi_version.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const char* const kDirstore =
    "  - name: dirstore\n"
    "    path: libdeckhand-dirstore.so\n"
    "    config:\n"
    "      root: @TMP@/rootfs\n";

bool file_exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Sends raw bytes to 127.0.0.1:port and reads until the agent closes the
// connection (or 5 s pass).
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) answer.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return answer;
}

TEST(AgentEndpoints, HealthzAnswersOk) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const HttpResult result = agent.get("/healthz");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "ok\n");
}

TEST(AgentEndpoints, ReadyzListsThePluginAndPasses) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const HttpResult result = agent.get("/readyz");
  EXPECT_EQ(result.status, 200) << result.body;
  EXPECT_THAT(result.body, HasSubstr("[+]plugin dirstore ok\n"));
  EXPECT_THAT(result.body, HasSubstr("readyz check passed\n"));
  EXPECT_THAT(result.body, Not(HasSubstr("degraded")));
}

TEST(AgentEndpoints, UnknownPathIs404AndProbesAreReadOnly) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const HttpResult missing = agent.get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr("/nope"));
  // A query string does not change which probe answers.
  EXPECT_EQ(agent.get("/healthz?verbose=1").status, 200);
  // The local API is not served on the TCP port.
  EXPECT_EQ(agent.get("/v1/plugins").status, 404);
  // The probes only read.
  const std::string post = raw_exchange(agent.port(),
                                        "POST /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                        "Content-Length: 2\r\n\r\n{}");
  EXPECT_THAT(post, ::testing::StartsWith("HTTP/1.1 405 ")) << post;
}

// Whatever the status, a response to HEAD carries no content (RFC 9110,
// 9.3.2): otherwise those bytes are read as the start of the next response
// on a kept-alive connection.
TEST(AgentEndpoints, HeadIsAnsweredWithoutABody) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const std::string answer = raw_exchange(agent.port(),
                                          "HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  ASSERT_THAT(answer, ::testing::StartsWith("HTTP/1.1 ")) << answer;
  const auto end_of_head = answer.find("\r\n\r\n");
  ASSERT_NE(end_of_head, std::string::npos) << answer;
  // The GET's response follows the HEAD response's header block immediately.
  EXPECT_EQ(answer.substr(end_of_head + 4, 16), "HTTP/1.1 200 OK\r") << answer;
  EXPECT_TRUE(answer.size() >= 3 && answer.compare(answer.size() - 3, 3, "ok\n") == 0) << answer;
}

TEST(AgentEndpoints, KeepAliveServesSeveralRequests) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const std::string answer = raw_exchange(agent.port(),
                                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                          "GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  std::size_t responses = 0;
  for (auto at = answer.find("HTTP/1.1 200 OK"); at != std::string::npos; at = answer.find("HTTP/1.1 200 OK", at + 1)) {
    ++responses;
  }
  EXPECT_EQ(responses, 3u) << answer;
  EXPECT_THAT(answer, HasSubstr("readyz check passed"));
}

TEST(AgentEndpoints, MetricsPassPromtoolAndDescribeTheAgent) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  ASSERT_EQ(agent.get("/readyz").status, 200);  // one health round: deckhand_ready is set
  const HttpResult result = agent.get("/metrics");
  ASSERT_EQ(result.status, 200);
  EXPECT_THAT(result.headers, HasSubstr("text/plain; version=0.0.4"));

  const CommandResult lint = run_command({"promtool", "check", "metrics"}, result.body);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  EXPECT_EQ(lint.out, "");
  EXPECT_EQ(lint.err, "");

  EXPECT_EQ(metric_sample(result.body,
                          "deckhand_plugin_info{abi=\"" + abi_version() + R"(",kind="storage",name="dirstore",version="1.0.0"})"),
            "1")
      << result.body;
  EXPECT_EQ(metric_sample(result.body, R"(deckhand_plugin_loaded{name="dirstore"})"), "1");
  EXPECT_EQ(metric_sample(result.body, R"(deckhand_plugin_healthy{name="dirstore"})"), "1");
  EXPECT_EQ(metric_sample(result.body, "deckhand_ready"), "1");
  EXPECT_THAT(result.body, HasSubstr("deckhand_build_info{"));
  EXPECT_THAT(result.body, HasSubstr("abi=\"" + abi_version() + "\""));
  EXPECT_THAT(result.body, HasSubstr(R"(version="0.1.0")"));
  EXPECT_THAT(result.body, HasSubstr("\nprocess_resident_memory_bytes "));
  EXPECT_THAT(result.body, HasSubstr("\nprocess_open_fds "));
  // Health checks are plugin calls too; no operation has been called yet.
  EXPECT_THAT(result.body, HasSubstr(R"(deckhand_plugin_calls_total{operation="health",plugin="dirstore",result="ok"} )"));
  EXPECT_THAT(result.body, Not(HasSubstr(R"(deckhand_plugin_calls_total{operation="list_images")")));
}

TEST(AgentEndpoints, ProcessMetricsMatchTheProcess) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const std::string body = agent.get("/metrics").body;
  const auto rss = metric_sample(body, "process_resident_memory_bytes");
  const auto fds = metric_sample(body, "process_open_fds");
  ASSERT_TRUE(rss && fds) << body;
  EXPECT_GT(std::stod(*rss), 1024.0 * 1024.0);  // a running C++ agent uses more than 1 MiB
  std::size_t open_now = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(agent.pid()) + "/fd")) {
    ++open_now;
  }
  // The scrape itself holds one connection more or less than our count.
  EXPECT_NEAR(std::stod(*fds), static_cast<double>(open_now), 3.0);
}

TEST(AgentEndpoints, PluginCallsAreCountedByOperation) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const CommandResult ok = agent.cli("plugins", "call", "dirstore", "list_images");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const CommandResult failed =
      agent.cli("plugins", "call", "dirstore", "image_status", R"({"ref":"absent"})");
  ASSERT_EQ(failed.exit_code, 1) << failed.out;

  const HttpResult result = agent.get("/metrics");
  ASSERT_EQ(result.status, 200);
  EXPECT_EQ(metric_sample(result.body,
                          R"(deckhand_plugin_calls_total{operation="list_images",plugin="dirstore",result="ok"})"),
            "1")
      << result.body;
  EXPECT_EQ(metric_sample(result.body,
                          R"(deckhand_plugin_calls_total{operation="image_status",plugin="dirstore",result="error"})"),
            "1");
  EXPECT_EQ(metric_sample(result.body,
                          R"(deckhand_plugin_call_duration_seconds_count{operation="list_images",plugin="dirstore"})"),
            "1");
  const CommandResult lint = run_command({"promtool", "check", "metrics"}, result.body);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

TEST(AgentEndpoints, SocketIsPrivateToRoot) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  struct stat st {};
  ASSERT_EQ(lstat(agent.socket().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  struct stat dir {};
  ASSERT_EQ(stat(agent.path("run").c_str(), &dir), 0);
  EXPECT_EQ(dir.st_mode & 07777, 0700u);  // the agent created the socket's directory
  struct stat state {};
  ASSERT_EQ(stat(agent.path("state").c_str(), &state), 0);
  EXPECT_EQ(state.st_mode & 07777, 0700u);
  EXPECT_EQ(agent.api("GET", "/healthz").status, 200);
}

TEST(AgentEndpoints, SecondAgentOnTheSameSocketRefusesToStart) {
  AgentUnderTest first(kDirstore);
  ASSERT_TRUE(first.serving()) << first.stderr_text();

  AgentOptions options;
  options.plugins_yaml = kDirstore;
  options.socket = first.socket();
  AgentUnderTest second(options);
  EXPECT_FALSE(second.serving());
  const auto code = second.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the second agent kept running";
  EXPECT_NE(*code, 0);
  EXPECT_THAT(second.stderr_text(), HasSubstr("another agent is already serving " + first.socket()));

  // The first agent's socket is untouched and still answers.
  EXPECT_TRUE(first.running());
  EXPECT_EQ(first.api("GET", "/healthz").status, 200);
  const CommandResult version = first.cli("version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
}

TEST(AgentEndpoints, StaleSocketFileIsReplaced) {
  AgentOptions options;
  options.plugins_yaml = kDirstore;
  options.start = false;
  AgentUnderTest agent(options);
  ASSERT_EQ(mkdir(agent.path("run").c_str(), 0700), 0);
  // A socket file nobody listens on: what a crashed agent leaves behind.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, agent.socket().c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
  close(fd);
  struct stat before {};
  ASSERT_EQ(lstat(agent.socket().c_str(), &before), 0);
  ASSERT_TRUE(S_ISSOCK(before.st_mode));
  ASSERT_EQ(agent.api("GET", "/healthz").status, 0);  // nothing answers yet

  ASSERT_TRUE(agent.start()) << agent.stderr_text();
  EXPECT_EQ(agent.api("GET", "/healthz").status, 200);
  EXPECT_THAT(agent.stderr_text(), HasSubstr("removed stale socket path=" + agent.socket()));
  const CommandResult plugins = agent.cli("plugins");
  EXPECT_EQ(plugins.exit_code, 0) << plugins.err;
}

TEST(AgentEndpoints, RefusesToReplaceAFileThatIsNotASocket) {
  AgentOptions options;
  options.plugins_yaml = kDirstore;
  options.start = false;
  AgentUnderTest agent(options);
  ASSERT_EQ(mkdir(agent.path("run").c_str(), 0700), 0);
  write_file(agent.socket(), "precious\n");
  EXPECT_FALSE(agent.start());
  const auto code = agent.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(agent.stderr_text(), HasSubstr(agent.socket() + " exists and is not a socket"));
  EXPECT_EQ(read_file(agent.socket()), "precious\n");
}

TEST(AgentEndpoints, SigtermStopsCleanlyAndRemovesTheSocket) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  ASSERT_TRUE(file_exists(agent.socket()));
  agent.signal(SIGTERM);
  const auto code = agent.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the agent did not stop within 10 s";
  EXPECT_EQ(*code, 0) << agent.stderr_text();
  EXPECT_FALSE(file_exists(agent.socket()));
  EXPECT_EQ(agent.get("/healthz").status, 0);
  EXPECT_THAT(agent.stderr_text(), HasSubstr("agent stopping signal=SIGTERM"));
  EXPECT_THAT(agent.stderr_text(), HasSubstr("agent stopped"));
}

TEST(AgentEndpoints, SigintStopsCleanlyToo) {
  AgentUnderTest agent(kDirstore);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  agent.signal(SIGINT);
  const auto code = agent.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << agent.stderr_text();
  EXPECT_FALSE(file_exists(agent.socket()));
  EXPECT_THAT(agent.stderr_text(), HasSubstr("agent stopping signal=SIGINT"));
}

TEST(AgentEndpoints, SighupReopensTheLogFile) {
  AgentUnderTest agent(kDirstore, "log:\n  file: @TMP@/agent.log\n");
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const std::string log = agent.path("agent.log");
  const std::string rotated = agent.path("agent.log.1");
  ASSERT_THAT(read_file(log), HasSubstr("agent serving"));
  EXPECT_EQ(agent.stderr_text(), "");  // everything goes to the file

  ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
  agent.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return read_file(log).find("log file reopened") != std::string::npos; }))
      << "new log: " << read_file(log);
  EXPECT_THAT(read_file(rotated), Not(HasSubstr("log file reopened")));
  struct stat st {};
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // SIGHUP does not stop it, and later lines go to the new file.
  EXPECT_TRUE(agent.running());
  EXPECT_EQ(agent.stop(), 0);
  EXPECT_THAT(read_file(log), HasSubstr("agent stopped"));
  EXPECT_THAT(read_file(rotated), Not(HasSubstr("agent stopped")));
}

TEST(AgentEndpoints, ListenAddressInUseStopsTheAgent) {
  AgentOptions options;
  options.plugins_yaml = kDirstore;
  options.start = false;
  AgentUnderTest agent(options);
  // Someone else holds the agent's port.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(agent.port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
  ASSERT_EQ(listen(fd, 1), 0);
  agent.spawn();  // not start(): /healthz would reach our listener, which never answers
  const auto code = agent.wait_exit(5s);
  close(fd);
  ASSERT_TRUE(code.has_value()) << "the agent kept running";
  EXPECT_EQ(*code, 1);
  EXPECT_THAT(agent.stderr_text(), HasSubstr("agent cannot start: "));
  EXPECT_THAT(agent.stderr_text(), HasSubstr("in use"));
  EXPECT_FALSE(file_exists(agent.socket()));
}

TEST(AgentEndpoints, JsonLogLinesAreJson) {
  AgentUnderTest agent(kDirstore, "log:\n  format: json\n  level: debug\n");
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  ASSERT_EQ(agent.stop(), 0);
  std::istringstream lines(agent.stderr_text());
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << "not JSON: " << line;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("msg")) << line;
    ++count;
  }
  EXPECT_GE(count, 3);  // starting, plugin loaded, serving, stopping, stopped
  EXPECT_THAT(agent.stderr_text(), HasSubstr(R"("msg":"agent stopped")"));
}

TEST(AgentEndpoints, PluginLogLinesStayOneLine) {
  // The test plugin "cnet" logs "cnet ready\nsecond line" from create().
  AgentOptions options;
  options.plugin_dir = test_plugin_dir();
  options.plugins_yaml = "  - path: libtest-good.so\n";
  AgentUnderTest agent(options);
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const std::string err = agent.stderr_text();
  EXPECT_THAT(err, HasSubstr("plugin=cnet cnet ready\\nsecond line\n"));
  EXPECT_THAT(err, Not(HasSubstr("\nsecond line")));
}

}  // namespace
}  // namespace deckhand::test
