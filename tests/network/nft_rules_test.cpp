// NftRules against the real kernel. Every test runs in a network namespace it
// creates (unshare on the test thread in SetUp, back to the original one in
// TearDown); the "pod" and "outside" namespaces of the traffic test are
// made by short-lived threads and live only as long as the test holds their
// file descriptors. Nothing is added to the host's own namespace and no
// packet leaves the machine.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "network_error.hpp"
#include "nft_rules.hpp"
#include "process.hpp"

namespace deckhand::network {
namespace {

using deckhand::test::run_command;

ino_t netns_inode(const char* path) {
  struct stat st {};
  if (stat(path, &st) != 0) return 0;
  return st.st_ino;
}

// libnftables directly (not through NftRules): what the kernel really holds.
std::string nft(const std::string& command, bool json = false) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  if (json) nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
  const int rc = nft_run_cmd_from_buffer(ctx, command.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx);
  std::string err = nft_ctx_get_error_buffer(ctx);
  nft_ctx_free(ctx);
  if (rc != 0) throw std::runtime_error("nft " + command + ": " + err);
  return out;
}

// A network namespace of its own, made by a thread (so the caller's stays as
// it is); gone once `fd` is closed and nothing runs in it.
class Netns {
 public:
  Netns() {
    std::string error;
    std::thread maker([&] {
      if (unshare(CLONE_NEWNET) != 0) {
        error = std::string("unshare: ") + std::strerror(errno);
        return;
      }
      fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) error = std::string("open netns: ") + std::strerror(errno);
    });
    maker.join();
    if (!error.empty()) throw std::runtime_error(error);
  }
  ~Netns() {
    if (fd_ >= 0) close(fd_);
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  // Holds a namespace file descriptor (e.g. the calling thread's own).
  explicit Netns(int fd) : fd_(fd) {}

  // A path `ip ... netns <path>` accepts.
  std::string path() const { return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_); }

  // Runs fn on a thread inside this namespace (sockets it makes stay in it).
  void run(const std::function<void()>& fn) const {
    std::string error;
    std::thread runner([&] {
      if (setns(fd_, CLONE_NEWNET) != 0) {
        error = std::string("setns: ") + std::strerror(errno);
        return;
      }
      try {
        fn();
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    runner.join();
    if (!error.empty()) throw std::runtime_error(error);
  }

  void ip(const std::vector<std::string>& args) const {
    run([&] {
      std::vector<std::string> argv{"ip"};
      argv.insert(argv.end(), args.begin(), args.end());
      const auto result = run_command(argv);
      if (result.exit_code != 0) throw std::runtime_error("ip failed: " + result.err);
    });
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

void ip_here(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run_command(argv);
  ASSERT_EQ(result.exit_code, 0) << "ip " << args[0] << ": " << result.err;
}

void write_sysctl(const std::string& path, const std::string& value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(write(fd, value.data(), value.size()), static_cast<ssize_t>(value.size()));
  close(fd);
}

sockaddr_in address(const std::string& ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  return sa;
}

std::string peer_ip(const sockaddr_in& sa) {
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, text, sizeof text);
  return text;
}

void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A TCP and UDP server on one port inside a namespace: each TCP connection
// or UDP datagram is answered with "<the peer's address> <what it sent>".
class EchoServer {
 public:
  EchoServer(const Netns& ns, uint16_t port) {
    ns.run([&] {
      tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      const int one = 1;
      setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      auto sa = address("0.0.0.0", port);
      if (bind(tcp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(tcp_, 16) != 0 ||
          bind(udp_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        throw std::runtime_error(std::string("echo server: ") + std::strerror(errno));
      }
    });
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    close(tcp_);
    close(udp_);
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // TCP connections accepted plus UDP datagrams received so far.
  int received() const { return received_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd fds[2] = {{tcp_, POLLIN, 0}, {udp_, POLLIN, 0}};
      if (poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        const int conn = accept4(tcp_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (conn >= 0) {
          ++received_;
          set_timeouts(conn, 2000);
          char buf[256];
          const ssize_t n = recv(conn, buf, sizeof buf, 0);
          std::string reply = peer_ip(peer) + " " + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
          (void)!send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
          close(conn);
        }
      }
      if (fds[1].revents & POLLIN) {
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        char buf[256];
        const ssize_t n = recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
        if (n >= 0) {
          ++received_;
          std::string reply = peer_ip(peer) + " " + std::string(buf, static_cast<size_t>(n));
          sendto(udp_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
        }
      }
    }
  }

  int tcp_ = -1;
  int udp_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

// Connects from the calling thread's namespace, sends `message`, returns the
// answer ("" when nothing answered).
std::string tcp_call(const std::string& ip, uint16_t port, const std::string& message) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(fd, 2000);
  auto sa = address(ip, port);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      send(fd, message.data(), message.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(message.size())) {
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

std::string udp_call(const std::string& ip, uint16_t port, const std::string& message) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  set_timeouts(fd, 2000);
  auto sa = address(ip, port);
  std::string answer;
  if (sendto(fd, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ==
      static_cast<ssize_t>(message.size())) {
    char buf[256];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) answer.assign(buf, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

std::string in_ns(const Netns& ns, const std::function<std::string()>& fn) {
  std::string out;
  ns.run([&] { out = fn(); });
  return out;
}

PortMapping port(uint16_t host_port, uint16_t container_port, Protocol protocol = Protocol::tcp,
                 std::string host_ip = "") {
  PortMapping mapping;
  mapping.host_port = host_port;
  mapping.container_port = container_port;
  mapping.protocol = protocol;
  mapping.host_ip = std::move(host_ip);
  return mapping;
}

NftSettings settings(bool masquerade = true, std::string v6 = "") {
  NftSettings s;
  s.pod_cidr = "10.88.0.0/24";
  s.pod_cidr_v6 = std::move(v6);
  s.bridge = "dh-br0";
  s.masquerade = masquerade;
  return s;
}

Failure failure_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const NetworkError& e) {
    if (message != nullptr) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no NetworkError thrown";
  return Failure::internal;
}

class NftRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_, 0);
    if (unshare(CLONE_NEWNET) != 0) GTEST_SKIP() << "cannot make a network namespace: " << std::strerror(errno);
    // Never go on in the host's namespace.
    ASSERT_NE(netns_inode("/proc/thread-self/ns/net"), netns_inode("/proc/1/ns/net"));
    in_test_netns_ = true;
  }
  void TearDown() override {
    if (original_ >= 0) {
      if (in_test_netns_) {
        EXPECT_EQ(setns(original_, CLONE_NEWNET), 0) << std::strerror(errno);
      }
      close(original_);
    }
  }

  int original_ = -1;
  bool in_test_netns_ = false;
};

TEST_F(NftRulesTest, CreatesTheTableWithItsChainsAndMaps) {
  NftRules rules(settings(true, "fd00:88::/64"));
  const auto doc = nlohmann::json::parse(nft("list table inet deckhand", true));
  std::map<std::string, nlohmann::json> chains, maps;
  std::vector<std::string> rule_text;
  for (const auto& object : doc["nftables"]) {
    if (object.contains("chain")) chains[object["chain"]["name"]] = object["chain"];
    if (object.contains("map")) maps[object["map"]["name"]] = object["map"];
  }
  ASSERT_EQ(chains.size(), 5u);
  EXPECT_EQ(chains["input"]["type"], "filter");
  EXPECT_EQ(chains["input"]["hook"], "input");
  EXPECT_EQ(chains["input"]["prio"], 0);
  EXPECT_EQ(chains["prerouting"]["hook"], "prerouting");
  EXPECT_EQ(chains["prerouting"]["type"], "nat");
  EXPECT_EQ(chains["prerouting"]["prio"], -100);
  EXPECT_EQ(chains["output"]["hook"], "output");
  EXPECT_EQ(chains["output"]["prio"], -100);
  EXPECT_EQ(chains["postrouting"]["hook"], "postrouting");
  EXPECT_EQ(chains["postrouting"]["prio"], 100);
  EXPECT_FALSE(chains["hostports"].contains("hook"));
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps["hostports_ip"]["type"], nlohmann::json({"ipv4_addr", "inet_proto", "inet_service"}));
  EXPECT_EQ(maps["hostports_any"]["type"], nlohmann::json({"inet_proto", "inet_service"}));
  EXPECT_EQ(maps["hostports_any"]["map"], "ipv4_addr . inet_service");

  const std::string text = nft("list table inet deckhand");
  EXPECT_NE(text.find("dnat ip to ip daddr . meta l4proto . th dport map @hostports_ip"), std::string::npos) << text;
  EXPECT_NE(text.find("dnat ip to meta l4proto . th dport map @hostports_any"), std::string::npos) << text;
  EXPECT_NE(text.find("fib daddr type local jump hostports"), std::string::npos) << text;
  EXPECT_NE(text.find("ct status dnat ip saddr 127.0.0.0/8 oifname \"dh-br0\" masquerade"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ct status dnat ip saddr 10.88.0.0/24 ip daddr 10.88.0.0/24 masquerade"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 masquerade"), std::string::npos) << text;
  EXPECT_NE(text.find("ip6 saddr fd00:88::/64 ip6 daddr != fd00:88::/64 masquerade"), std::string::npos) << text;
  EXPECT_NE(text.find("ip daddr 127.0.0.0/8 iifname != \"lo\" ct state != { established, related } drop"),
            std::string::npos)
      << text;
  EXPECT_EQ(rules.listing(), text);
  std::cout << text;
}

TEST_F(NftRulesTest, MasqueradeOffLeavesOnlyHostPortRules) {
  NftRules rules(settings(false));
  const std::string text = rules.listing();
  EXPECT_EQ(text.find("ip daddr != 10.88.0.0/24"), std::string::npos) << text;
  EXPECT_NE(text.find("ct status dnat ip saddr 10.88.0.0/24 ip daddr 10.88.0.0/24 masquerade"), std::string::npos);
}

TEST_F(NftRulesTest, RefusesBadSettingsAndRequests) {
  auto bad = settings();
  bad.pod_cidr = "10.88.0.0/33";
  EXPECT_EQ(failure_of([&] { NftRules r(bad); }), Failure::invalid);
  bad = settings();
  bad.bridge = "br\" masquerade";
  EXPECT_EQ(failure_of([&] { NftRules r(bad); }), Failure::invalid);
  NftRules rules(settings());
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod\"x", "10.88.0.2", {port(8080, 80)}); }), Failure::invalid);
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-a", "10.88.0", {port(8080, 80)}); }), Failure::invalid);
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80, Protocol::tcp, "::1")}); }),
            Failure::invalid);
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-a", "10.88.0.2", {port(8080, 0)}); }), Failure::invalid);
  // nft keeps at most 128 characters of comment: a longer pod id cannot own ports.
  EXPECT_EQ(failure_of([&] { rules.add_ports(std::string(129, 'p'), "10.88.0.2", {port(8080, 80)}); }),
            Failure::invalid);
  EXPECT_TRUE(rules.pods_with_ports().empty());
  rules.add_ports(std::string(128, 'p'), "10.88.0.2", {port(8080, 80)});
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{std::string(128, 'p')}));
}

TEST_F(NftRulesTest, AddsAndRemovesPorts) {
  NftRules rules(settings());
  rules.add_ports("pod-a", "10.88.0.2",
                  {port(8080, 80), port(5353, 53, Protocol::udp), port(8443, 443, Protocol::tcp, "192.168.77.1"),
                   port(0, 9999)});
  rules.add_ports("pod-b", "10.88.0.3", {port(9090, 90, Protocol::tcp, "0.0.0.0")});
  const std::string text = nft("list table inet deckhand");
  EXPECT_NE(text.find("192.168.77.1 . tcp . 8443 comment \"pod-a\" : 10.88.0.2 . 443"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp . 8080 comment \"pod-a\" : 10.88.0.2 . 80"), std::string::npos) << text;
  EXPECT_NE(text.find("udp . 5353 comment \"pod-a\" : 10.88.0.2 . 53"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp . 9090 comment \"pod-b\" : 10.88.0.3 . 90"), std::string::npos) << text;
  EXPECT_EQ(text.find("9999"), std::string::npos) << text;
  EXPECT_EQ(rules.host_ports().size(), 4u);
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{"pod-a", "pod-b"}));

  rules.remove_ports("pod-a");
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{"pod-b"}));
  const auto left = rules.host_ports();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].pod_id, "pod-b");
  EXPECT_EQ(left[0].host_ip, "0.0.0.0");
  EXPECT_EQ(left[0].protocol, Protocol::tcp);
  EXPECT_EQ(left[0].host_port, 9090);
  EXPECT_EQ(left[0].pod_ip, "10.88.0.3");
  EXPECT_EQ(left[0].container_port, 90);
  rules.remove_ports("pod-a");  // missing is fine
  rules.remove_ports("pod-nobody");
  rules.remove_ports("pod-b");
  EXPECT_TRUE(rules.pods_with_ports().empty());
}

TEST_F(NftRulesTest, ConflictsAreRefusedAndNothingOfTheRequestIsAdded) {
  NftRules rules(settings());
  rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80), port(8443, 443, Protocol::tcp, "192.168.77.1")});
  // The same pod again: idempotent.
  rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80), port(8443, 443, Protocol::tcp, "192.168.77.1")});
  EXPECT_EQ(rules.host_ports().size(), 2u);

  std::string message;
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-b", "10.88.0.3", {port(7000, 70), port(8080, 81)}); }, &message),
            Failure::exists);
  EXPECT_EQ(message, "hostPort 8080/TCP on 0.0.0.0 is taken by pod pod-a");
  // All or nothing: 7000 was not added either.
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{"pod-a"}));

  // A specific hostIP against the wildcard another pod holds, and the reverse.
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-b", "10.88.0.3", {port(8080, 80, Protocol::tcp, "10.1.1.1")}); },
                       &message),
            Failure::exists);
  EXPECT_EQ(message, "hostPort 8080/TCP on 10.1.1.1 is taken by pod pod-a (it holds hostPort 8080/TCP on 0.0.0.0)");
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-b", "10.88.0.3", {port(8443, 443)}); }, &message), Failure::exists);
  EXPECT_EQ(message,
            "hostPort 8443/TCP on 0.0.0.0 is taken by pod pod-a (it holds hostPort 8443/TCP on 192.168.77.1)");
  EXPECT_EQ(failure_of([&] {
              rules.add_ports("pod-b", "10.88.0.3", {port(8443, 443, Protocol::tcp, "192.168.77.1")});
            }),
            Failure::exists);
  // Another hostIP, or another protocol, on the same port is fine.
  rules.add_ports("pod-b", "10.88.0.3",
                  {port(8443, 443, Protocol::tcp, "192.168.77.2"), port(8080, 80, Protocol::udp)});
  // The same key twice in one request, and a wildcard beside a specific one.
  EXPECT_EQ(failure_of([&] { rules.add_ports("pod-c", "10.88.0.4", {port(6000, 60), port(6000, 61)}); }),
            Failure::exists);
  EXPECT_EQ(failure_of([&] {
              rules.add_ports("pod-c", "10.88.0.4", {port(6000, 60), port(6000, 60, Protocol::tcp, "10.1.1.1")});
            }),
            Failure::exists);
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{"pod-a", "pod-b"}));

  // The same pod with a new target for a port it holds: replaced.
  rules.add_ports("pod-a", "10.88.0.9", {port(8080, 8000)});
  const std::string text = rules.listing();
  EXPECT_NE(text.find("tcp . 8080 comment \"pod-a\" : 10.88.0.9 . 8000"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.88.0.2 . 80 "), std::string::npos) << text;
}

TEST_F(NftRulesTest, AdoptingTheTableKeepsItsElements) {
  {
    NftRules rules(settings());
    rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80), port(8443, 443, Protocol::tcp, "192.168.77.1")});
  }
  // A foreign element without a comment is not ours.
  nft("add element inet deckhand hostports_any { udp . 4000 : 10.88.0.7 . 40 }");
  // The agent restarts with other settings: rules follow them, elements stay.
  NftRules again(settings(false));
  EXPECT_EQ(again.pods_with_ports(), (std::set<std::string>{"pod-a"}));
  EXPECT_EQ(again.host_ports().size(), 2u);
  const std::string text = again.listing();
  EXPECT_EQ(text.find("ip daddr != 10.88.0.0/24"), std::string::npos) << text;
  EXPECT_NE(text.find("udp . 4000 : 10.88.0.7 . 40"), std::string::npos) << text;
  // Rules are not duplicated by adoption.
  size_t count = 0;
  for (size_t at = text.find("jump hostports"); at != std::string::npos; at = text.find("jump hostports", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << text;
  EXPECT_EQ(failure_of([&] { again.add_ports("pod-b", "10.88.0.3", {port(8080, 80)}); }), Failure::exists);
  again.remove_ports("pod-a");
  EXPECT_TRUE(again.pods_with_ports().empty());
  EXPECT_NE(again.listing().find("udp . 4000 : 10.88.0.7 . 40"), std::string::npos);
}

TEST_F(NftRulesTest, RemoveAllDeletesTheTable) {
  NftRules rules(settings());
  rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80)});
  rules.remove_all();
  EXPECT_THROW(nft("list table inet deckhand"), std::runtime_error);
  rules.remove_all();  // missing is fine
  EXPECT_TRUE(rules.pods_with_ports().empty());
  rules.remove_ports("pod-a");
  // Adding again makes the table again.
  rules.add_ports("pod-a", "10.88.0.2", {port(8080, 80)});
  EXPECT_EQ(rules.pods_with_ports(), (std::set<std::string>{"pod-a"}));
  EXPECT_NE(nft("list table inet deckhand").find("fib daddr type local jump hostports"), std::string::npos);
}

// host (this test's namespace): dh-br0 10.88.0.1/24 <-> pod eth0 10.88.0.2/24
//                               dh-up0 192.168.77.1/24 <-> outside eth0 192.168.77.2/24
// The outside has no route to the pod range: only masquerade lets pods reach it.
TEST_F(NftRulesTest, TrafficReachesThePodThroughHostPorts) {
  Netns pod, outside;
  ip_here({"link", "set", "lo", "up"});
  ip_here({"link", "add", "dh-br0", "type", "veth", "peer", "name", "eth0", "netns", pod.path()});
  ip_here({"link", "add", "dh-up0", "type", "veth", "peer", "name", "eth0", "netns", outside.path()});
  ip_here({"addr", "add", "10.88.0.1/24", "dev", "dh-br0"});
  ip_here({"addr", "add", "192.168.77.1/24", "dev", "dh-up0"});
  ip_here({"link", "set", "dh-br0", "up"});
  ip_here({"link", "set", "dh-up0", "up"});
  pod.ip({"link", "set", "lo", "up"});
  pod.ip({"addr", "add", "10.88.0.2/24", "dev", "eth0"});
  pod.ip({"link", "set", "eth0", "up"});
  pod.ip({"route", "add", "default", "via", "10.88.0.1"});
  outside.ip({"link", "set", "lo", "up"});
  outside.ip({"addr", "add", "192.168.77.2/24", "dev", "eth0"});
  outside.ip({"link", "set", "eth0", "up"});
  write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
  enable_route_localnet("dh-br0");
  EXPECT_EQ(failure_of([] { enable_route_localnet("dh-nothere"); }), Failure::not_found);

  EchoServer pod_server(pod, 80);
  EchoServer outside_server(outside, 9000);
  NftRules rules(settings());
  // Before any mapping nothing listens on the host's 8080.
  EXPECT_EQ(tcp_call("192.168.77.1", 8080, "hello"), "");
  rules.add_ports("pod-a", "10.88.0.2",
                  {port(8080, 80), port(5353, 80, Protocol::udp), port(8081, 80, Protocol::tcp, "192.168.77.1")});
  std::cout << rules.listing();

  // From the host itself, to its address: DNAT in output, source kept.
  EXPECT_EQ(tcp_call("192.168.77.1", 8080, "hello"), "192.168.77.1 hello");
  // To 127.0.0.1: needs route_localnet, and the source is masqueraded to the bridge's address.
  EXPECT_EQ(tcp_call("127.0.0.1", 8080, "local"), "10.88.0.1 local");
  // A hostIP-specific port answers on that address only.
  EXPECT_EQ(tcp_call("192.168.77.1", 8081, "specific"), "192.168.77.1 specific");
  EXPECT_EQ(tcp_call("10.88.0.1", 8081, "specific"), "");
  EXPECT_EQ(tcp_call("127.0.0.1", 8081, "specific"), "");
  // UDP from the host.
  EXPECT_EQ(udp_call("192.168.77.1", 5353, "dgram"), "192.168.77.1 dgram");
  EXPECT_EQ(udp_call("127.0.0.1", 5353, "dgram"), "10.88.0.1 dgram");

  // From another host: DNAT in prerouting, the client's address seen by the pod.
  EXPECT_EQ(in_ns(outside, [] { return tcp_call("192.168.77.1", 8080, "remote"); }), "192.168.77.2 remote");
  EXPECT_EQ(in_ns(outside, [] { return tcp_call("192.168.77.1", 8081, "remote"); }), "192.168.77.2 remote");
  EXPECT_EQ(in_ns(outside, [] { return udp_call("192.168.77.1", 5353, "remote"); }), "192.168.77.2 remote");

  // Egress masquerade: the outside sees the host's address.
  EXPECT_EQ(in_ns(pod, [] { return tcp_call("192.168.77.2", 9000, "out"); }), "192.168.77.1 out");
  EXPECT_EQ(in_ns(pod, [] { return udp_call("192.168.77.2", 9000, "out"); }), "192.168.77.1 out");
  // Hairpin: the pod to its own hostPort comes back from the bridge's address.
  EXPECT_EQ(in_ns(pod, [] { return tcp_call("192.168.77.1", 8080, "hairpin"); }), "10.88.0.1 hairpin");

  // route_localnet must not open the host's 127.0.0.1 services to pods
  // (CVE-2020-8558): the pod routes 127.0.0.0/8 to the host and tries.
  const Netns host(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  EchoServer host_local(host, 7777);
  EXPECT_EQ(tcp_call("127.0.0.1", 7777, "me"), "127.0.0.1 me");
  // (The host accepts such a packet but the pod drops the answer from
  // 127.0.0.1, so count what the host's server receives, over UDP.)
  pod.ip({"route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local"});
  pod.ip({"route", "del", "local", "127.0.0.1", "dev", "lo", "table", "local"});
  pod.ip({"route", "add", "127.0.0.0/8", "via", "10.88.0.1"});
  const int before = host_local.received();
  EXPECT_EQ(in_ns(pod, [] { return udp_call("127.0.0.1", 7777, "sneak"); }), "");
  EXPECT_EQ(host_local.received(), before);
  // (Without the input rule it would get there: the check has teeth.)
  nft("flush chain inet deckhand input");
  in_ns(pod, [] { return udp_call("127.0.0.1", 7777, "sneak"); });
  EXPECT_EQ(host_local.received(), before + 1);
  NftRules adopted(settings());  // adopt again: the rule is back
  EXPECT_NE(adopted.listing().find("ip daddr 127.0.0.0/8"), std::string::npos);
  EXPECT_EQ(in_ns(pod, [] { return udp_call("127.0.0.1", 7777, "sneak"); }), "");
  EXPECT_EQ(host_local.received(), before + 1);

  // Ports removed: new connections are no longer forwarded.
  rules.remove_ports("pod-a");
  EXPECT_EQ(tcp_call("192.168.77.1", 8080, "gone"), "");
  EXPECT_EQ(in_ns(outside, [] { return tcp_call("192.168.77.1", 8080, "gone"); }), "");

  // Masquerade off: the outside cannot answer the pod (no route back to the pod range).
  NftRules no_masquerade(settings(false));
  EXPECT_EQ(in_ns(pod, [] { return tcp_call("192.168.77.2", 9000, "out"); }), "");
}

}  // namespace
}  // namespace deckhand::network
