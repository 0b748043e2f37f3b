// Networked pods end to end: the installed agent with the runtime-native,
// storage-overlay and network-bridge plugins runs busybox pods that are not
// hostNetwork; the test talks to them over their pod IPs and host ports,
// watches a host-port clash get refused, and checks that a deleted pod
// leaves nothing (veth, address claim, nft elements).
//
// Network safety: every test runs in a network namespace it makes. SetUp
// saves the gtest thread's namespace, moves the thread into a fresh one
// (unshare(CLONE_NEWNET), lo up), and only then starts the agent, which
// inherits it (posix_spawn from this thread), as do the CLI and ip(8) the
// test runs. The bridge, pod range 10.88.0.0/24, veths and nft table exist
// only in there; TearDown stops the agent and returns the thread to the
// saved namespace, and the new one vanishes with its last user.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "pod_test_support.hpp"

namespace deckhand::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using pods::PodAgent;

constexpr const char* kPodCidrPrefix = "10.88.0.";

// One TCP exchange with address:port from the calling thread's namespace:
// connect, send `request`, read until the peer closes (or `timeout`).
// Empty when it cannot connect.
std::string tcp_exchange(const std::string& address, uint16_t port, const std::string& request,
                         std::chrono::milliseconds timeout = 3s) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "";
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &to.sin_addr);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
  };
  std::string answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return "";
  }
  pollfd p{fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof error;
  if (::poll(&p, 1, left_ms()) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    ::close(fd);
    return "";
  }
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  char buffer[4096];
  while (true) {
    p = {fd, POLLIN, 0};
    if (::poll(&p, 1, left_ms()) != 1) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::string http_get_body(const std::string& address, uint16_t port) {
  const std::string answer = tcp_exchange(address, port, "GET / HTTP/1.0\r\nHost: pod\r\n\r\n");
  const auto body = answer.find("\r\n\r\n");
  return answer.rfind("HTTP/1.", 0) == 0 && body != std::string::npos ? answer.substr(body + 4) : "";
}

// `nft list table inet deckhand` in the calling thread's namespace, through
// libnftables (loaded at run time: there is no nft(8) on every machine, and
// the integration tests do not link it). Empty when there is no such table.
std::string nft_table_text() {
  void* library = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) throw std::runtime_error(std::string("dlopen libnftables.so.1: ") + ::dlerror());
  using New = void* (*)(uint32_t);
  using Free = void (*)(void*);
  using Buffer = int (*)(void*);
  using Run = int (*)(void*, const char*);
  using Get = const char* (*)(void*);
  auto nft_new = reinterpret_cast<New>(::dlsym(library, "nft_ctx_new"));
  auto nft_free = reinterpret_cast<Free>(::dlsym(library, "nft_ctx_free"));
  auto buffer_output = reinterpret_cast<Buffer>(::dlsym(library, "nft_ctx_buffer_output"));
  auto buffer_error = reinterpret_cast<Buffer>(::dlsym(library, "nft_ctx_buffer_error"));
  auto run = reinterpret_cast<Run>(::dlsym(library, "nft_run_cmd_from_buffer"));
  auto output = reinterpret_cast<Get>(::dlsym(library, "nft_ctx_get_output_buffer"));
  if (!nft_new || !nft_free || !buffer_output || !buffer_error || !run || !output) {
    ::dlclose(library);
    throw std::runtime_error("libnftables.so.1 lacks a function the test needs");
  }
  void* ctx = nft_new(0);
  buffer_output(ctx);
  buffer_error(ctx);
  const int rc = run(ctx, "list table inet deckhand");
  std::string text = rc == 0 ? output(ctx) : "";
  nft_free(ctx);
  ::dlclose(library);
  return text;
}

// The host ends of pod veths in the calling thread's namespace ("dh" + 11 hex digits).
std::vector<std::string> pod_veths() {
  const CommandResult links = run_command({"ip", "-o", "link", "show"});
  if (links.exit_code != 0) throw std::runtime_error("ip -o link: " + links.err);
  std::vector<std::string> found;
  const std::regex veth(R"(^\d+: (dh[0-9a-f]{11})[@:])");
  std::istringstream lines(links.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, veth)) found.push_back(m[1]);
  }
  return found;
}

class PodNetworkE2ETest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "pods and network namespaces need root";
    saved_netns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(saved_netns_, 0) << "open /proc/thread-self/ns/net: " << std::strerror(errno);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    in_private_netns_ = true;
    const CommandResult lo = run_command({"ip", "link", "set", "lo", "up"});
    ASSERT_EQ(lo.exit_code, 0) << lo.err;
    // The agent is spawned from this thread: it, its plugins and the pods'
    // host side live in the private namespace.
    agent_ = std::make_unique<PodAgent>(
        "  - path: libdeckhand-network-bridge.so\n    config:\n      bridge: deckhand0\n      pod_cidr: 10.88.0.0/24\n"
        "      state_dir: @TMP@/network\n      netns_dir: @TMP@/netns\n");
    ASSERT_TRUE(agent().serving()) << agent().stderr_text();
    const CommandResult loaded = agent_->load_busybox();
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  }

  void TearDown() override {
    if (agent_) {
      agent_->delete_everything();
      // What the network plugin made for the pods is gone with them.
      EXPECT_EQ(pod_veths(), std::vector<std::string>{}) << "pod veths left behind";
      EXPECT_EQ(ipam_claims(), std::vector<std::string>{}) << "addresses left allocated";
      EXPECT_THAT(nft_table_text(), ::testing::Not(::testing::ContainsRegex("elements = \\{ [^}]*[0-9]"))) << nft_table_text();
      agent().stop();
      agent_.reset();
    }
    if (in_private_netns_) {
      // Back to where the test process started; the private namespace goes
      // with its last user.
      EXPECT_EQ(::setns(saved_netns_, CLONE_NEWNET), 0) << "setns back: " << std::strerror(errno);
      in_private_netns_ = false;
      struct stat saved {}, now {};
      ::fstat(saved_netns_, &saved);
      ::stat("/proc/thread-self/ns/net", &now);
      EXPECT_EQ(now.st_ino, saved.st_ino) << "the test thread is not back in its own network namespace";
    }
    if (saved_netns_ >= 0) ::close(saved_netns_);
    saved_netns_ = -1;
  }

  AgentUnderTest& agent() { return agent_->agent(); }

  // The addresses the plugin's IPAM holds (its files under state_dir/ipam).
  std::vector<std::string> ipam_claims() {
    std::vector<std::string> claims;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(agent().path("network/ipam"), error)) {
      claims.push_back(entry.path().filename().string());
    }
    std::sort(claims.begin(), claims.end());
    return claims;
  }

  // A busybox pod serving "hello from <its hostname>" over HTTP on 8080
  // (a pod off the host network has its own UTS namespace, named after the
  // pod); `ports` is the container's ports list in flow style.
  static std::string web_pod(const std::string& name, const std::string& ports = "[{containerPort: 8080}]") {
    const std::string script = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && "
                               "httpd -p 8080 -h /www && trap 'exit 0' TERM && while true; do sleep 0.1; done";
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  terminationGracePeriodSeconds: 5\n"
           "  containers:\n  - name: web\n    image: local/busybox:1\n    command: [\"sh\", \"-c\", " + json(script).dump() +
           "]\n    ports: " + ports + "\n";
  }

  // Running, and its server answers on the pod IP.
  void expect_serving(const std::string& name, const std::string& ip) {
    EXPECT_TRUE(eventually([&] { return http_get_body(ip, 8080) == "hello from " + name + "\n"; }, 10s))
        << name << " at " << ip << ": " << tcp_exchange(ip, 8080, "GET / HTTP/1.0\r\n\r\n");
  }

  std::unique_ptr<PodAgent> agent_;
  int saved_netns_ = -1;
  bool in_private_netns_ = false;
};

TEST_F(PodNetworkE2ETest, APodGetsAnAddressInThePodRangeAndAnswersOnIt) {
  ASSERT_EQ(agent_->apply(web_pod("web")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("web")) << agent_->pod("web").dump(1) << agent().stderr_text();

  const json status = agent_->pod("web")["status"];
  const std::string ip = status.value("podIP", "");
  EXPECT_EQ(ip.rfind(kPodCidrPrefix, 0), 0u) << status.dump(1);
  EXPECT_NE(ip, "10.88.0.1") << "the gateway is the bridge's";
  ASSERT_TRUE(status.contains("podIPs")) << status.dump(1);
  EXPECT_EQ(status["podIPs"], json::array({{{"ip", ip}}}));
  EXPECT_EQ(status.value("hostIP", ""), "127.0.0.1");
  EXPECT_EQ(ipam_claims(), std::vector<std::string>{ip});
  EXPECT_EQ(pod_veths().size(), 1u);

  // `get pods -o wide` shows the pod's own address.
  const CommandResult wide = agent().cli("get", "pods", "-o", "wide");
  EXPECT_THAT(wide.out, ::testing::ContainsRegex("web +1/1 +Running +0 +[0-9]+s +" + std::regex_replace(ip, std::regex("\\."), "\\.") +
                                                 " +test-node"))
      << wide.err << agent().stderr_text();

  // The test's thread is in the agent's namespace: the pod is reachable
  // through the bridge, as from the node.
  expect_serving("web", ip);

}

TEST_F(PodNetworkE2ETest, HostPortsAnswerOnTheNodeLikeDockerRunP) {
  ASSERT_EQ(agent_->apply(web_pod("web", "[{containerPort: 8080, hostPort: 18080}]")).exit_code, 0);
  ASSERT_EQ(agent_->apply(web_pod("local", "[{containerPort: 8080, hostPort: 18081, hostIP: 127.0.0.1}]")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("web")) << agent_->pod("web").dump(1);
  ASSERT_TRUE(agent_->eventually_running("local")) << agent_->pod("local").dump(1);

  EXPECT_TRUE(eventually([&] { return http_get_body("127.0.0.1", 18080) == "hello from web\n"; }, 10s))
      << tcp_exchange("127.0.0.1", 18080, "GET / HTTP/1.0\r\n\r\n") << "\n" << nft_table_text();
  EXPECT_TRUE(eventually([&] { return http_get_body("127.0.0.1", 18081) == "hello from local\n"; }, 10s))
      << tcp_exchange("127.0.0.1", 18081, "GET / HTTP/1.0\r\n\r\n") << "\n" << nft_table_text();
  EXPECT_THAT(nft_table_text(), HasSubstr("18080"));
  EXPECT_THAT(nft_table_text(), HasSubstr("18081"));

  // Deleting one pod takes its port with it and leaves the other's.
  ASSERT_EQ(agent().cli("delete", "pod", "web").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->pod_names() == std::vector<std::string>{"local"}; }, 30s));
  EXPECT_THAT(nft_table_text(), ::testing::Not(HasSubstr("18080")));
  EXPECT_EQ(tcp_exchange("127.0.0.1", 18080, "GET / HTTP/1.0\r\n\r\n", 1s), "");
  EXPECT_EQ(http_get_body("127.0.0.1", 18081), "hello from local\n");
  EXPECT_EQ(pod_veths().size(), 1u);
  EXPECT_EQ(ipam_claims().size(), 1u);
}

TEST_F(PodNetworkE2ETest, ASecondPodAskingForATakenHostPortWaitsWithTheReasonAndTheFirstKeepsWorking) {
  ASSERT_EQ(agent_->apply(web_pod("first", "[{containerPort: 8080, hostPort: 18080}]")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("first")) << agent_->pod("first").dump(1);
  ASSERT_EQ(agent_->apply(web_pod("second", "[{containerPort: 8080, hostPort: 18080}]")).exit_code, 0);

  // The kubelet's way for a sandbox whose network cannot be set up: the pod
  // stays Pending, its container waits in ContainerCreating, and an
  // FailedCreatePodSandBox event says why (here: which port, held by whom).
  ASSERT_TRUE(eventually([&] { return !agent_->event_messages("second", "FailedCreatePodSandBox").empty(); }, 30s))
      << agent_->pod("second").dump(1);
  const std::string message = agent_->event_messages("second", "FailedCreatePodSandBox").front();
  EXPECT_THAT(message, HasSubstr("Failed to create pod sandbox: "));
  // The port and who holds it (the plugin knows pods by their uid).
  EXPECT_THAT(message, HasSubstr("hostPort 18080/TCP"));
  EXPECT_THAT(message, HasSubstr("is taken by pod " + agent_->pod("first")["metadata"].value("uid", "?")));
  const json second = agent_->pod("second");
  EXPECT_EQ(PodAgent::phase(second), "Pending") << second.dump(1);
  EXPECT_EQ(second["status"]["containerStatuses"][0]["state"]["waiting"].value("reason", ""), "ContainerCreating")
      << second.dump(1);
  EXPECT_FALSE(second["status"].contains("podIP")) << "a pod whose network failed has no address";
  EXPECT_THAT(agent().cli("describe", "pod", "second").out, HasSubstr("FailedCreatePodSandBox"));

  // The first pod is untouched and still owns the port; the failed attach
  // left no address, veth or port behind.
  EXPECT_EQ(PodAgent::phase(agent_->pod("first")), "Running");
  EXPECT_EQ(http_get_body("127.0.0.1", 18080), "hello from first\n");
  EXPECT_EQ(ipam_claims().size(), 1u);
  EXPECT_EQ(pod_veths().size(), 1u);

  // Once the first pod is gone, the second gets the port at its next try.
  ASSERT_EQ(agent().cli("delete", "pod", "first").exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("second", 40s)) << agent_->pod("second").dump(1);
  EXPECT_TRUE(eventually([&] { return http_get_body("127.0.0.1", 18080) == "hello from second\n"; }, 10s));
}

TEST_F(PodNetworkE2ETest, AnAgentKilledWithSigkillGivesItsPodsTheirNetworkBack) {
  ASSERT_EQ(agent_->apply(web_pod("web", "[{containerPort: 8080, hostPort: 18080}]")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("web")) << agent_->pod("web").dump(1);
  const json before = agent_->pod("web");
  const std::string ip = before["status"].value("podIP", "");
  expect_serving("web", ip);

  agent().signal(SIGKILL);
  ASSERT_TRUE(agent().wait_exit(5s).has_value());
  // Started from this thread again: in the same namespace, where the bridge,
  // the veth and the port rules stayed.
  ASSERT_TRUE(agent().start()) << agent().stderr_text();
  ASSERT_TRUE(agent_->eventually_running("web")) << agent_->pod("web").dump(1) << agent().stderr_text();
  const json after = agent_->pod("web");
  EXPECT_EQ(after["status"].value("podIP", ""), ip);
  EXPECT_EQ(after["status"]["containerStatuses"][0].value("containerID", ""),
            before["status"]["containerStatuses"][0].value("containerID", ""));
  EXPECT_EQ(after["status"]["containerStatuses"][0].value("restartCount", -1), 0);
  expect_serving("web", ip);
  EXPECT_EQ(http_get_body("127.0.0.1", 18080), "hello from web\n");
  EXPECT_EQ(pod_veths().size(), 1u);
  EXPECT_EQ(ipam_claims(), std::vector<std::string>{ip});
}

TEST_F(PodNetworkE2ETest, DeleteLeavesNoVethNoAddressClaimAndNoPortRule) {
  ASSERT_EQ(agent_->apply(web_pod("web", "[{containerPort: 8080, hostPort: 18080}]")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("web")) << agent_->pod("web").dump(1);
  const std::string ip = agent_->pod("web")["status"].value("podIP", "");
  expect_serving("web", ip);
  ASSERT_EQ(pod_veths().size(), 1u);
  ASSERT_EQ(ipam_claims(), std::vector<std::string>{ip});
  ASSERT_THAT(nft_table_text(), HasSubstr("18080"));

  ASSERT_EQ(agent().cli("delete", "pod", "web").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->pod_names().empty(); }, 30s));
  EXPECT_EQ(pod_veths(), std::vector<std::string>{});
  EXPECT_EQ(ipam_claims(), std::vector<std::string>{});
  EXPECT_THAT(nft_table_text(), ::testing::Not(HasSubstr("18080")));
  std::error_code error;
  EXPECT_EQ(std::distance(fs::directory_iterator(agent().path("network/pods"), error), fs::directory_iterator{}), 0)
      << "pod records left";
  EXPECT_EQ(std::distance(fs::directory_iterator(agent().path("netns"), error), fs::directory_iterator{}), 0)
      << "netns pins left";
  EXPECT_EQ(tcp_exchange(ip, 8080, "GET / HTTP/1.0\r\n\r\n", 1s), "");
}

}  // namespace
}  // namespace deckhand::test
