// Pod networking through the staged network-bridge plugin, on the real
// kernel, each test inside "host" namespaces of its own (see
// network_fixture.hpp): pods talking to each other, to the host and back,
// host ports, egress masquerade, routes between two nodes, IPAM across a
// SIGKILL, 250 pods, pool exhaustion and a conflicting bridge.
#include <deckhand/plugin.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "network_fixture.hpp"
#include "process.hpp"

namespace deckhand::test::net {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr bool kTcp = true;
constexpr bool kUdp = false;

json port(int container_port, int host_port, const std::string& protocol = "TCP", const std::string& host_ip = "") {
  json p{{"containerPort", container_port}, {"hostPort", host_port}, {"protocol", protocol}};
  if (!host_ip.empty()) p["hostIP"] = host_ip;
  return p;
}

// The interfaces and IPv4 addresses inside a pod's namespace.
std::pair<std::vector<std::string>, std::vector<std::string>> pod_view(const std::string& pin) {
  auto thread = NetnsThread::join(pin);
  return thread->run([] { return std::make_pair(link_names(), ipv4_addresses()); });
}

// ---------------------------------------------------------------------------------
// Pods on one node

TEST_F(NetworkTest, AttachReturnsACniResultAndConfiguresThePod) {
  Node& node = add_node("a");
  const json result = attach(node, "pod-a");
  EXPECT_EQ(result.at("cniVersion"), "1.0.0");
  ASSERT_EQ(result.at("ips").size(), 1u) << result.dump();
  EXPECT_EQ(result["ips"][0].at("address"), "10.88.0.2/24");
  EXPECT_EQ(result["ips"][0].at("gateway"), "10.88.0.1");
  // The interface the IP is on is the pod's eth0, inside the pod's namespace.
  const int index = result["ips"][0].at("interface").get<int>();
  const json& iface = result.at("interfaces").at(index);
  EXPECT_EQ(iface.at("name"), "eth0");
  EXPECT_EQ(iface.at("sandbox"), pod_pin(node, "pod-a"));
  EXPECT_EQ(iface.at("mac"), "0a:58:0a:58:00:02");  // 0a:58 + the address, stable
  // The kernel agrees: eth0 with the address, lo up (127.0.0.1), a default route via the gateway.
  const auto [links, addresses] = pod_view(pod_pin(node, "pod-a"));
  EXPECT_EQ(std::set<std::string>(links.begin(), links.end()), (std::set<std::string>{"lo", "eth0"}));
  EXPECT_EQ(std::set<std::string>(addresses.begin(), addresses.end()),
            (std::set<std::string>{"127.0.0.1/8", "10.88.0.2/24"}));
  const std::string routes = must_run_in(pod_pin(node, "pod-a"), {"ip", "-4", "route", "show", "default"});
  EXPECT_EQ(routes, "default via 10.88.0.1 dev eth0 proto static \n");
  // On the host: the bridge with the gateway address and one veth on it, hairpin on.
  const std::string bridge = must_run_in(node.host_pin, {"ip", "-4", "-o", "addr", "show", "dev", "deckhand0"});
  EXPECT_NE(bridge.find("inet 10.88.0.1/24"), std::string::npos) << bridge;
  const std::string ports = must_run_in(node.host_pin, {"ip", "-o", "link", "show", "master", "deckhand0"});
  EXPECT_EQ(std::count(ports.begin(), ports.end(), '\n'), 1) << ports;
  const std::string hairpin = must_run_in(node.host_pin, {"bridge", "-d", "link", "show"});
  EXPECT_NE(hairpin.find("hairpin on"), std::string::npos) << hairpin;
  // check: intact.
  const CallResult check = call(node, "check", {{"pod_id", "pod-a"}, {"netns", pod_pin(node, "pod-a")}, {"ifname", "eth0"}});
  EXPECT_TRUE(check.ok()) << check.error;
}

TEST_F(NetworkTest, TwoPodsTalkOverTcpUdpAndPing) {
  Node& node = add_node("a");
  const std::string a = pod_ip(attach(node, "pod-a"));
  const std::string b = pod_ip(attach(node, "pod-b"));
  ASSERT_NE(a, b);
  const std::string pin_a = pod_pin(node, "pod-a"), pin_b = pod_pin(node, "pod-b");

  const Talk tcp = talk(kTcp, pin_b, 8080, pin_a, b, 8080, "over-tcp");
  ASSERT_TRUE(tcp.client.ok) << tcp.client.error;
  EXPECT_EQ(tcp.client.reply, "over-tcp|" + a);  // b saw a's own address: no NAT on the bridge
  EXPECT_EQ(tcp.client.local, a);

  const Talk udp = talk(kUdp, pin_a, 5353, pin_b, a, 5353, "over-udp");
  ASSERT_TRUE(udp.client.ok) << udp.client.error;
  EXPECT_EQ(udp.client.reply, "over-udp|" + b);

  EXPECT_TRUE(ping_from(pin_a, b));
  EXPECT_TRUE(ping_from(pin_b, a));
}

TEST_F(NetworkTest, PodReachesTheHostAndTheHostReachesThePod) {
  Node& node = add_node("a");
  const std::string ip = pod_ip(attach(node, "pod-a"));
  const std::string pin = pod_pin(node, "pod-a");

  const Talk up = talk(kTcp, node.host_pin, 7001, pin, "10.88.0.1", 7001, "to-host");
  ASSERT_TRUE(up.client.ok) << up.client.error;
  EXPECT_EQ(up.client.reply, "to-host|" + ip);

  const Talk down = talk(kTcp, pin, 7002, node.host_pin, ip, 7002, "to-pod");
  ASSERT_TRUE(down.client.ok) << down.client.error;
  EXPECT_EQ(down.client.reply, "to-pod|10.88.0.1");

  const Talk udp = talk(kUdp, pin, 7003, node.host_pin, ip, 7003, "udp-to-pod");
  ASSERT_TRUE(udp.client.ok) << udp.client.error;
  EXPECT_EQ(udp.client.reply, "udp-to-pod|10.88.0.1");

  EXPECT_TRUE(ping_from(pin, "10.88.0.1"));
  EXPECT_TRUE(ping_from(node.host_pin, ip));
}

TEST_F(NetworkTest, DetachRemovesThePodsNetworkAndIsIdempotent) {
  Node& node = add_node("a");
  attach(node, "pod-a", json::array({port(80, 30080)}));
  const std::string pin = pod_pin(node, "pod-a");
  const json request{{"pod_id", "pod-a"}, {"netns", pin}, {"ifname", "eth0"}};
  ASSERT_TRUE(call(node, "detach", request).ok());
  EXPECT_EQ(pod_view(pin).first, std::vector<std::string>{"lo"});
  EXPECT_EQ(node.host->run([] { return link_names(); }), (std::vector<std::string>{"lo", "deckhand0"}));
  EXPECT_EQ(node.host->run([] { return nft_counts().elements; }), 0);
  EXPECT_TRUE(fs::is_empty(node.state_dir + "/ipam"));
  // Again, without the netns, and for a pod never attached.
  const CallResult again = call(node, "detach", request);
  EXPECT_TRUE(again.ok()) << again.error;
  const CallResult no_netns = call(node, "detach", {{"pod_id", "pod-a"}});
  EXPECT_TRUE(no_netns.ok()) << no_netns.error;
  const CallResult never = call(node, "detach", {{"pod_id", "never-attached"}});
  EXPECT_TRUE(never.ok()) << never.error;
  node.pods.erase("pod-a");
  remove_pin(pin);
}

TEST_F(NetworkTest, CheckReportsWhatIsBroken) {
  Node& node = add_node("a");
  const std::string ip = pod_ip(attach(node, "pod-a"));
  const std::string pin = pod_pin(node, "pod-a");
  const json request{{"pod_id", "pod-a"}, {"netns", pin}, {"ifname", "eth0"}};
  ASSERT_TRUE(call(node, "check", request).ok());
  must_run_in(pin, {"ip", "addr", "del", ip + "/24", "dev", "eth0"});
  const CallResult broken = call(node, "check", request);
  EXPECT_EQ(broken.status, DH_ERR_FAILED_PRECONDITION);
  EXPECT_NE(broken.error.find(ip), std::string::npos) << broken.error;
  must_run_in(pin, {"ip", "link", "del", "eth0"});
  const CallResult gone = call(node, "check", request);
  EXPECT_EQ(gone.status, DH_ERR_FAILED_PRECONDITION);
  EXPECT_NE(gone.error.find("eth0"), std::string::npos) << gone.error;
}

// ---------------------------------------------------------------------------------
// Host ports

TEST_F(NetworkTest, HostPortsReachableFromAnotherHostTheHostAndLoopback) {
  Node& node = add_node("a");
  // A second "host" on the node's network: 192.168.77.0/24 over a veth.
  const std::string other = add_namespace("other-host");
  connect_veth(node.host_pin, "uplink0", "192.168.77.1/24", other, "uplink1", "192.168.77.2/24");
  node.test_links.insert("uplink0");

  const std::string web = pod_ip(attach(node, "web", json::array({port(8080, 30080), port(8053, 30053, "UDP")})));
  const std::string local = pod_ip(attach(node, "local", json::array({port(3000, 3000, "TCP", "127.0.0.1")})));
  const std::string pin_web = pod_pin(node, "web"), pin_local = pod_pin(node, "local");

  // From the other host, to the node's address: the pod sees the real client.
  Talk t = talk(kTcp, pin_web, 8080, other, "192.168.77.1", 30080, "remote-tcp");
  ASSERT_TRUE(t.client.ok) << t.client.error;
  EXPECT_EQ(t.client.reply, "remote-tcp|192.168.77.2");
  t = talk(kUdp, pin_web, 8053, other, "192.168.77.1", 30053, "remote-udp");
  ASSERT_TRUE(t.client.ok) << t.client.error;
  EXPECT_EQ(t.client.reply, "remote-udp|192.168.77.2");

  // From the host itself, to its own address and to the bridge's.
  t = talk(kTcp, pin_web, 8080, node.host_pin, "192.168.77.1", 30080, "host-tcp");
  EXPECT_TRUE(t.client.ok) << t.client.error;
  t = talk(kTcp, pin_web, 8080, node.host_pin, "10.88.0.1", 30080, "gateway-tcp");
  EXPECT_TRUE(t.client.ok) << t.client.error;
  // hostIP "" (every address) includes 127.0.0.1.
  t = talk(kTcp, pin_web, 8080, node.host_pin, "127.0.0.1", 30080, "loopback-any");
  EXPECT_TRUE(t.client.ok) << t.client.error;
  t = talk(kUdp, pin_web, 8053, node.host_pin, "127.0.0.1", 30053, "loopback-udp");
  EXPECT_TRUE(t.client.ok) << t.client.error;

  // hostIP 127.0.0.1 (docker run -p 127.0.0.1:3000:3000): loopback only.
  t = talk(kTcp, pin_local, 3000, node.host_pin, "127.0.0.1", 3000, "loopback-only");
  EXPECT_TRUE(t.client.ok) << t.client.error;
  t = talk(kTcp, pin_local, 3000, other, "192.168.77.1", 3000, "must-not-arrive", 1500ms);
  EXPECT_FALSE(t.client.ok) << "127.0.0.1:3000 was reachable from another host: " << t.client.reply;
  EXPECT_TRUE(t.peers.empty());

  // A pod reaches a neighbour's host port through the node's address (hairpin NAT).
  t = talk(kTcp, pin_web, 8080, pin_local, "192.168.77.1", 30080, "neighbour");
  EXPECT_TRUE(t.client.ok) << t.client.error;
  t = talk(kTcp, pin_web, 8080, pin_web, "192.168.77.1", 30080, "itself");
  EXPECT_TRUE(t.client.ok) << t.client.error;

  // The port taken: refused by name, nothing of the pod left.
  const CallResult taken = try_attach(node, "late", json::array({port(80, 30080)}));
  EXPECT_EQ(taken.status, DH_ERR_ALREADY_EXISTS);
  EXPECT_NE(taken.error.find("30080"), std::string::npos) << taken.error;
  EXPECT_EQ(pod_view(pod_pin(node, "late")).first, std::vector<std::string>{"lo"});
  // The same port for UDP is another port.
  EXPECT_TRUE(try_attach(node, "udp-too", json::array({port(80, 30080, "UDP")})).ok());

  // Detach removes the pod's ports: no longer answered.
  detach(node, "web");
  t = talk(kTcp, node.host_pin, 30080, other, "192.168.77.1", 30080, "host-itself");
  EXPECT_TRUE(t.client.ok) << "after detach, 30080 should be the host's own again: " << t.client.error;
  (void)web;
  (void)local;
}

// ---------------------------------------------------------------------------------
// Egress masquerade

class MasqueradeTest : public NetworkTest, public ::testing::WithParamInterface<bool> {};

TEST_P(MasqueradeTest, EgressSourceIsTheNodeWhenOn) {
  const bool masquerade = GetParam();
  Node& node = add_node("a", {{"masquerade", masquerade}});
  const std::string outside = add_namespace("outside");
  connect_veth(node.host_pin, "uplink0", "192.168.77.1/24", outside, "uplink1", "192.168.77.2/24");
  node.test_links.insert("uplink0");
  // The outside knows the way back to the pods (so that, without
  // masquerade, the answer can come back at all).
  must_run_in(outside, {"ip", "route", "add", "10.88.0.0/24", "via", "192.168.77.1"});
  const std::string ip = pod_ip(attach(node, "pod-a"));

  const Talk t = talk(kTcp, outside, 9000, pod_pin(node, "pod-a"), "192.168.77.2", 9000, "egress");
  ASSERT_TRUE(t.client.ok) << t.client.error;
  ASSERT_EQ(t.peers.size(), 1u);
  EXPECT_EQ(t.peers[0], masquerade ? "192.168.77.1" : ip);
  // Inside the pod range nothing is rewritten, either way.
  const std::string ip_b = pod_ip(attach(node, "pod-b"));
  const Talk inside = talk(kTcp, pod_pin(node, "pod-b"), 9001, pod_pin(node, "pod-a"), ip_b, 9001);
  ASSERT_TRUE(inside.client.ok) << inside.client.error;
  EXPECT_EQ(inside.peers.at(0), ip);
}

INSTANTIATE_TEST_SUITE_P(Network, MasqueradeTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

// ---------------------------------------------------------------------------------
// Two nodes

TEST_F(NetworkTest, TwoNodesRoutePodToPodThroughNodeRoutes) {
  Node& a = add_node("node-a", {{"pod_cidr", "10.88.1.0/24"}, {"masquerade", false}});
  Node& b = add_node("node-b", {{"pod_cidr", "10.88.2.0/24"}, {"masquerade", false}});
  connect_veth(a.host_pin, "under0", "192.168.78.1/24", b.host_pin, "under1", "192.168.78.2/24");
  a.test_links.insert("under0");
  b.test_links.insert("under1");
  const std::string ip_a = pod_ip(attach(a, "pod-a"));
  const std::string ip_b = pod_ip(attach(b, "pod-b"));
  EXPECT_EQ(ip_a, "10.88.1.2");
  EXPECT_EQ(ip_b, "10.88.2.2");
  const std::string pin_a = pod_pin(a, "pod-a"), pin_b = pod_pin(b, "pod-b");

  // No route yet.
  EXPECT_FALSE(talk(kTcp, pin_b, 8080, pin_a, ip_b, 8080, "no-route", 1s).client.ok);

  const json routes_a{{"routes", json::array({{{"cidr", "10.88.2.0/24"}, {"via", "192.168.78.2"}}})}};
  const json routes_b{{"routes", json::array({{{"cidr", "10.88.1.0/24"}, {"via", "192.168.78.1"}}})}};
  for (int round = 0; round < 2; ++round) {  // the second time changes nothing
    const CallResult ra = call(a, "set_node_routes", routes_a);
    ASSERT_TRUE(ra.ok()) << ra.error;
    const CallResult rb = call(b, "set_node_routes", routes_b);
    ASSERT_TRUE(rb.ok()) << rb.error;
    EXPECT_EQ(must_run_in(a.host_pin, {"ip", "-4", "route", "show", "10.88.2.0/24"}),
              "10.88.2.0/24 via 192.168.78.2 dev under0 proto 221 \n");
  }

  Talk t = talk(kTcp, pin_b, 8080, pin_a, ip_b, 8080, "across");
  ASSERT_TRUE(t.client.ok) << t.client.error;
  EXPECT_EQ(t.client.reply, "across|" + ip_a);  // no NAT between pods
  t = talk(kUdp, pin_a, 5353, pin_b, ip_a, 5353, "across-udp");
  ASSERT_TRUE(t.client.ok) << t.client.error;
  EXPECT_EQ(t.client.reply, "across-udp|" + ip_b);
  EXPECT_TRUE(ping_from(pin_a, ip_b));

  // The whole set: an empty one removes the route (and only the plugin's).
  ASSERT_TRUE(call(a, "set_node_routes", {{"routes", json::array()}}).ok());
  EXPECT_EQ(must_run_in(a.host_pin, {"ip", "-4", "route", "show", "10.88.2.0/24"}), "");
  EXPECT_NE(must_run_in(a.host_pin, {"ip", "-4", "route", "show", "192.168.78.0/24"}), "");
  EXPECT_FALSE(talk(kTcp, pin_b, 8080, pin_a, ip_b, 8080, "removed", 1s).client.ok);
  ASSERT_TRUE(call(b, "set_node_routes", {{"routes", json::array()}}).ok());
}

// ---------------------------------------------------------------------------------
// IPAM across a SIGKILL

// The child side of IpamSurvivesSigkillMidAttach: run by the test as
// `<this binary> --gtest_also_run_disabled_tests --gtest_filter=... --net-child=FILE`.
std::string child_arg() {
  std::ifstream cmdline("/proc/self/cmdline");
  std::string arg;
  while (std::getline(cmdline, arg, '\0')) {
    if (arg.rfind("--net-child=", 0) == 0) return arg.substr(12);
  }
  return "";
}

TEST(NetworkChild, DISABLED_AttachLoop) {
  const std::string file = child_arg();
  if (file.empty()) GTEST_SKIP() << "only run by IpamSurvivesSigkillMidAttach";
  std::ifstream in(file);
  const json args = json::parse(in);
  // Into the test's host namespace before anything else, or nothing at all.
  const std::string host = args.at("host_ns");
  const int fd = ::open(host.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0 || current_netns_inode() != netns_inode(host)) _exit(97);
  ::close(fd);
  NetPlugin plugin(args.at("config"), args.at("loader_dir"));
  const auto pods = args.at("pods").get<std::vector<std::string>>();
  const std::string netns_dir = args.at("netns_dir");
  for (const auto& pod : pods) plugin.must("attach", {{"pod_id", pod}, {"netns", netns_dir + "/" + pod}, {"ifname", "eth0"}});
  std::ofstream(args.at("ready").get<std::string>()) << "ready\n";
  for (std::size_t i = 0;; i = (i + 1) % pods.size()) {  // until SIGKILL
    const json request{{"pod_id", pods[i]}, {"netns", netns_dir + "/" + pods[i]}, {"ifname", "eth0"}};
    plugin.must("detach", request);
    plugin.must("attach", request);
  }
}

TEST_F(NetworkTest, IpamSurvivesSigkillMidAttach) {
  // 10.88.0.0/27: 29 addresses for pods (32 minus network, gateway, broadcast).
  constexpr int kPool = 29;
  constexpr int kPods = 20;
  Node& node = add_node("a", {{"pod_cidr", "10.88.0.0/27"}}, false);
  std::vector<std::string> pods;
  for (int i = 0; i < kPods; ++i) {
    pods.push_back("pod-" + std::to_string(i));
    create_pinned_netns(pod_pin(node, pods.back()));
    node.pods.insert(pods.back());
  }
  const json args{{"host_ns", node.host_pin},       {"config", node.config}, {"loader_dir", node.loader_dir},
                  {"netns_dir", node.netns_dir},    {"pods", pods},          {"ready", dir_ / "child.ready"}};
  std::ofstream(dir_ / "child.json") << args.dump();
  {
    ChildProcess child({"/proc/self/exe", "--gtest_also_run_disabled_tests", "--gtest_filter=NetworkChild.DISABLED_AttachLoop",
                        "--net-child=" + (dir_ / "child.json")},
                       dir_ / "child.out", dir_ / "child.err");
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!fs::exists(dir_ / "child.ready") && child.running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(fs::exists(dir_ / "child.ready")) << read_file(dir_ / "child.out") << read_file(dir_ / "child.err");
    // Somewhere in the detach/attach loop.
    std::mt19937 random(std::random_device{}());
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 80));
    child.signal(SIGKILL);
    EXPECT_EQ(child.wait(10s), 128 + SIGKILL);
  }
  // Half the pods are gone (their namespaces removed while the agent was down).
  for (int i = 0; i < kPods / 2; ++i) {
    remove_pin(pod_pin(node, pods[i]));
    node.pods.erase(pods[i]);
  }
  // What the live pods hold now, according to their own namespaces.
  std::map<std::string, std::string> holders;  // address -> pod
  for (int i = kPods / 2; i < kPods; ++i) {
    for (const std::string& a : pod_view(pod_pin(node, pods[i])).second) {
      if (a.rfind("127.", 0) == 0) continue;
      EXPECT_TRUE(holders.emplace(a.substr(0, a.find('/')), pods[i]).second) << a << " held twice";
    }
  }
  // Start-up: the addresses of the gone pods come back; live ones are honoured.
  load(node);
  int added = 0;
  for (int i = 0; i <= kPool; ++i) {
    const CallResult r = try_attach(node, "new-" + std::to_string(i));
    if (!r.ok()) {
      EXPECT_EQ(r.status, DH_ERR_RESOURCE_EXHAUSTED) << r.error;
      break;
    }
    const std::string ip = pod_ip(json::parse(r.output));
    EXPECT_TRUE(holders.emplace(ip, "new-" + std::to_string(i)).second)
        << ip << " given to new-" << i << " is held by " << holders[ip];
    ++added;
  }
  // Every address not held by a live pod was handed out again: at least the
  // pool minus the 10 live pods (one more if the kill fell between a detach
  // and its attach), never more than the pool minus the addresses live pods show.
  const int live_with_address = static_cast<int>(holders.size()) - added;
  std::printf("  after the SIGKILL: %d live pods show an address, %d new pods got one (pool %d)\n", live_with_address,
              added, kPool);
  EXPECT_GE(added, kPool - kPods / 2);
  EXPECT_LE(added, kPool - live_with_address);
  // The live pods are whole again after an attach (idempotent for a pod that holds an address).
  for (int i = kPods / 2; i < kPods; ++i) {
    const CallResult r = try_attach(node, pods[i]);
    if (r.ok()) {
      const std::string ip = pod_ip(json::parse(r.output));
      const auto held = holders.find(ip);
      EXPECT_TRUE(held == holders.end() || held->second == pods[i]) << ip << " of " << pods[i] << " is also " << held->second;
    } else {
      EXPECT_EQ(r.status, DH_ERR_RESOURCE_EXHAUSTED) << pods[i] << ": " << r.error;
    }
  }
}

// ---------------------------------------------------------------------------------
// Scale, exhaustion, conflicts

TEST_F(NetworkTest, TwoHundredFiftyPodsAttachAndDetachLeavingNothing) {
  constexpr int kPods = 250;
  Node& node = add_node("a");
  std::set<std::string> addresses;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kPods; ++i) {
    const json result = attach(node, "pod-" + std::to_string(i), json::array({port(80, 20000 + i)}));
    addresses.insert(pod_ip(result));
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kPods));
  const auto [links, nft] = node.host->run([] { return std::make_pair(link_names(), nft_counts()); });
  EXPECT_EQ(links.size(), static_cast<size_t>(kPods + 2));  // lo, the bridge, one veth per pod
  EXPECT_GE(nft.elements, kPods);
  EXPECT_EQ(std::distance(fs::directory_iterator(node.state_dir + "/ipam"), fs::directory_iterator()), kPods);
  // Every pod answers.
  EXPECT_TRUE(ping_from(node.host_pin, "10.88.0.251"));
  const auto attached = std::chrono::steady_clock::now();
  for (int i = 0; i < kPods; ++i) detach(node, "pod-" + std::to_string(i));
  std::printf("  %d pods: pin + attach %.1f s, detach + unpin %.1f s\n", kPods,
              std::chrono::duration<double>(attached - started).count(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - attached).count());
  const auto [after_links, after_nft] = node.host->run([] { return std::make_pair(link_names(), nft_counts()); });
  EXPECT_EQ(after_links, (std::vector<std::string>{"lo", "deckhand0"}));
  EXPECT_EQ(after_nft.elements, 0);
  EXPECT_EQ(after_nft.rules, node.baseline_rules);
  EXPECT_TRUE(fs::is_empty(node.state_dir + "/ipam"));
  EXPECT_TRUE(fs::is_empty(node.state_dir + "/pods"));
  EXPECT_TRUE(fs::is_empty(node.netns_dir));
  const std::string addrs = must_run_in(node.host_pin, {"ip", "-4", "-o", "addr"});
  EXPECT_EQ(std::count(addrs.begin(), addrs.end(), '\n'), 2) << addrs;  // 127.0.0.1 and the gateway
}

TEST_F(NetworkTest, APoolOfFourAddressesIsExhaustedByTheFifthPod) {
  Node& node = add_node("a", {{"range_start", "10.88.0.10"}, {"range_end", "10.88.0.13"}});
  std::set<std::string> given;
  for (int i = 0; i < 4; ++i) given.insert(pod_ip(attach(node, "pod-" + std::to_string(i))));
  EXPECT_EQ(given, (std::set<std::string>{"10.88.0.10", "10.88.0.11", "10.88.0.12", "10.88.0.13"}));
  const CallResult full = try_attach(node, "pod-4", json::array({port(80, 30080)}));
  EXPECT_EQ(full.status, DH_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(full.error.find("has no free address: its pool 10.88.0.10 .. 10.88.0.13 holds 4, all in use"),
            std::string::npos)
      << full.error;
  // The refused pod got nothing.
  EXPECT_EQ(pod_view(pod_pin(node, "pod-4")).first, std::vector<std::string>{"lo"});
  EXPECT_EQ(node.host->run([] { return link_names().size(); }), 6u);  // lo, bridge, 4 veths
  EXPECT_EQ(node.host->run([] { return nft_counts().elements; }), 0);
  EXPECT_FALSE(fs::exists(node.state_dir + "/pods/pod-4.json"));
  // A freed address is given again.
  detach(node, "pod-1");
  EXPECT_EQ(pod_ip(attach(node, "pod-4")), "10.88.0.11");
}

TEST_F(NetworkTest, AWholeSmallRangeIsExhaustedAfterItsLastHostAddress) {
  // A /29 has 8 addresses: network, gateway and broadcast leave 5 for pods.
  Node& node = add_node("a", {{"pod_cidr", "10.88.0.0/29"}});
  for (int i = 0; i < 5; ++i) attach(node, "pod-" + std::to_string(i));
  const CallResult full = try_attach(node, "pod-5");
  EXPECT_EQ(full.status, DH_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(full.error.find("10.88.0.0/29 has no free address: its pool 10.88.0.2 .. 10.88.0.6 holds 5"),
            std::string::npos)
      << full.error;
}

TEST_F(NetworkTest, ConflictingBridgeIsRefused) {
  Node& node = add_node("a", json::object(), false);
  must_run_in(node.host_pin, {"ip", "link", "add", "deckhand0", "type", "bridge"});
  must_run_in(node.host_pin, {"ip", "addr", "add", "10.99.0.1/24", "dev", "deckhand0"});
  std::string error;
  try {
    load(node);
    const CallResult r = try_attach(node, "pod-a");
    EXPECT_EQ(r.status, DH_ERR_FAILED_PRECONDITION);
    error = r.error;
  } catch (const std::exception& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("the bridge deckhand0 exists with the address 10.99.0.1/24, not the gateway 10.88.0.1/24 "
                       "of the pod range 10.88.0.0/24"),
            std::string::npos)
      << error;
  // Left as it was.
  const std::string addrs = must_run_in(node.host_pin, {"ip", "-4", "-o", "addr", "show", "dev", "deckhand0"});
  EXPECT_NE(addrs.find("10.99.0.1/24"), std::string::npos);
  EXPECT_EQ(addrs.find("10.88.0.1"), std::string::npos) << addrs;
  EXPECT_EQ(node.host->run([] { return link_names().size(); }), 2u);
  if (!node.plugin) {
    // TearDown loads the plugin to clean up: give it a bridge it accepts.
    must_run_in(node.host_pin, {"ip", "link", "del", "deckhand0"});
  }
}

TEST_F(NetworkTest, MatchingBridgeIsAdopted) {
  Node& node = add_node("a", json::object(), false);
  must_run_in(node.host_pin, {"ip", "link", "add", "deckhand0", "type", "bridge"});
  must_run_in(node.host_pin, {"ip", "addr", "add", "10.88.0.1/24", "dev", "deckhand0"});
  load(node);
  EXPECT_EQ(pod_ip(attach(node, "pod-a")), "10.88.0.2");
  EXPECT_TRUE(ping_from(pod_pin(node, "pod-a"), "10.88.0.1"));
}

}  // namespace
}  // namespace deckhand::test::net
