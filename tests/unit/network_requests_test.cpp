// network-bridge names and documents: the host veth name, the pod MAC, pod
// id checks, the attach/detach and node-route requests (strict, Kubernetes
// ContainerPort names) and the CNI 1.0 result of an attach.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "attach_request.hpp"
#include "cni_result.hpp"
#include "network_error.hpp"
#include "node_routes.hpp"
#include "pod_names.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

template <class F>
std::string invalid_message(F&& body) {
  try {
    body();
  } catch (const NetworkError& e) {
    EXPECT_EQ(e.kind(), Failure::invalid);
    return e.what();
  }
  return "";
}

TEST(NetworkNames, HostVethNameIsDeterministicShortAndOurs) {
  const std::string name = host_veth_name("default_web-0_1234");
  EXPECT_EQ(name.size(), 13u);
  EXPECT_EQ(name.substr(0, 2), "dh");
  EXPECT_EQ(name, host_veth_name("default_web-0_1234"));
  // sha256("pod1") = 5ea618a82d3...
  EXPECT_EQ(host_veth_name("pod1"), "dh5ea618a82d3");
  EXPECT_TRUE(is_host_veth_name(name));
  EXPECT_FALSE(is_host_veth_name("dhcp0"));
  EXPECT_FALSE(is_host_veth_name("eth0"));
  EXPECT_FALSE(is_host_veth_name("dh5EA618A82D3"));
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) names.insert(host_veth_name("pod-" + std::to_string(i)));
  EXPECT_EQ(names.size(), 1000u);
}

TEST(NetworkNames, PodMacIsDerivedFromTheAddress) {
  const auto address = parse_address("10.88.0.5", false, "a");
  EXPECT_EQ(format_mac(pod_mac(address)), "0a:58:0a:58:00:05");
}

TEST(NetworkNames, PodIdsAndInterfaceNamesAreChecked) {
  EXPECT_EQ(invalid_message([] { check_pod_id("ns_name-0.abc_123"); }), "");
  EXPECT_NE(invalid_message([] { check_pod_id("../etc"); }), "");
  EXPECT_NE(invalid_message([] { check_pod_id("a/b"); }), "");
  EXPECT_NE(invalid_message([] { check_pod_id(""); }), "");
  EXPECT_NE(invalid_message([] { check_pod_id(std::string(254, 'a')); }), "");
  EXPECT_NE(invalid_message([] { check_ifname("eth0:1", "ifname"); }), "");
  EXPECT_NE(invalid_message([] { check_ifname("abcdefghijklmnop", "ifname"); }), "");
}

TEST(NetworkRequests, AttachReadsKubernetesContainerPorts) {
  const AttachRequest request = parse_attach_request(json::parse(R"({
    "pod_id": "web", "netns": "/run/deckhand/netns/web",
    "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1", "protocol": "TCP"},
              {"containerPort": 53, "hostPort": 5353, "protocol": "UDP"},
              {"containerPort": 9090},
              {"containerPort": 9091, "hostPort": 0, "hostIP": "0.0.0.0"}]})"));
  EXPECT_EQ(request.pod_id, "web");
  EXPECT_EQ(request.ifname, "eth0");
  ASSERT_EQ(request.ports.size(), 2u);  // only the published ones
  EXPECT_EQ(request.ports[0].container_port, 80);
  EXPECT_EQ(request.ports[0].host_port, 8080);
  EXPECT_EQ(request.ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(request.ports[0].protocol, Protocol::tcp);
  EXPECT_EQ(request.ports[1].protocol, Protocol::udp);
  EXPECT_EQ(request.ports[1].host_ip, "");
}

TEST(NetworkRequests, AttachIsStrict) {
  const auto attach = [](const char* text) {
    return invalid_message([&] { parse_attach_request(json::parse(text)); });
  };
  EXPECT_NE(attach(R"({"netns": "/x"})").find("\"pod_id\" is required"), std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p"})").find("\"netns\" is required"), std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "x"})").find("absolute"), std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "portz": []})").find("unknown field \"portz\""),
            std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "ports": [{"containerPort": 80, "protocol": "SCTP"}]})")
                .find("ports[0].protocol must be \"TCP\" or \"UDP\", not \"SCTP\""),
            std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "ports": [{"containerPort": 70000}]})")
                .find("ports[0].containerPort must be a port number"),
            std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "ports": [{"hostPort": 80}]})")
                .find("ports[0].containerPort is required"),
            std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "ports": [{"containerPort": 80, "hostIP": "::1"}]})")
                .find("ports[0].hostIP"),
            std::string::npos);
  EXPECT_NE(attach(R"({"pod_id": "p", "netns": "/x", "ports": [{"containerPort": 80, "hostport": 1}]})")
                .find("unknown field \"hostport\""),
            std::string::npos);
}

TEST(NetworkRequests, DetachNeedsOnlyThePod) {
  const AttachRequest request = parse_pod_request(json{{"pod_id", "p"}});
  EXPECT_EQ(request.pod_id, "p");
  EXPECT_EQ(request.netns, "");
  EXPECT_NE(invalid_message([] { parse_pod_request(json{{"pod_id", "p"}, {"ports", json::array()}}); }), "");
}

TEST(NetworkRequests, NodeRoutesAreStrictAndFamilyAware) {
  const auto routes = parse_node_routes(json::parse(
      R"({"routes": [{"cidr": "10.88.1.0/24", "via": "192.168.1.11"}, {"cidr": "fd00:88:1::/64", "via": "fd00::11"}]})"));
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].cidr.string(), "10.88.1.0/24");
  EXPECT_FALSE(routes[0].cidr.v6);
  EXPECT_TRUE(routes[1].cidr.v6);
  EXPECT_EQ(format_address(routes[1].via, true), "fd00::11");
  EXPECT_TRUE(parse_node_routes(json{{"routes", json::array()}}).empty());
  const auto bad = [](const char* text) {
    return invalid_message([&] { parse_node_routes(json::parse(text)); });
  };
  EXPECT_NE(bad(R"({})").find("\"routes\""), std::string::npos);
  EXPECT_NE(bad(R"({"routes": [{"cidr": "10.88.1.0/24", "via": "fd00::1"}]})").find("routes[0].via"),
            std::string::npos);
  EXPECT_NE(bad(R"({"routes": [{"cidr": "10.88.1.0/24", "via": "1.2.3.4", "dev": "eth0"}]})")
                .find("unknown field \"dev\""),
            std::string::npos);
  EXPECT_NE(bad(R"({"routes": [{"cidr": "10.88.1.0/24", "via": "1.2.3.4"}, {"cidr": "10.88.1.0/24", "via": "1.2.3.5"}]})")
                .find("listed twice"),
            std::string::npos);
}

TEST(NetworkResult, AttachAnswersACni100Result) {
  AttachResult result;
  result.host_veth = "dh5ea618a82d3";
  result.host_mac = "86:61:3d:63:53:25";
  result.ifname = "eth0";
  result.pod_mac = "0a:58:0a:58:00:05";
  result.netns = "/run/deckhand/netns/pod1";
  const Prefix v4 = parse_prefix("10.88.0.0/24", false, "v4");
  const Prefix v6 = parse_prefix("fd00:88::/64", true, "v6");
  result.v4 = {v4, v4.at(5), v4.at(1)};
  result.v6 = PodAddress{v6, v6.at(5), v6.at(1)};
  EXPECT_EQ(cni_result(result), json::parse(R"({
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "dh5ea618a82d3", "mac": "86:61:3d:63:53:25"},
                   {"name": "eth0", "mac": "0a:58:0a:58:00:05", "sandbox": "/run/deckhand/netns/pod1"}],
    "ips": [{"address": "10.88.0.5/24", "gateway": "10.88.0.1", "interface": 1},
            {"address": "fd00:88::5/64", "gateway": "fd00:88::1", "interface": 1}],
    "routes": [{"dst": "0.0.0.0/0", "gw": "10.88.0.1"}, {"dst": "::/0", "gw": "fd00:88::1"}]})"));
  result.v6.reset();
  EXPECT_EQ(cni_result(result)["ips"].size(), 1u);
}

}  // namespace
}  // namespace deckhand::network
