// The host side of pod networking, over netlink in the plugin's own network
// namespace: the bridge (ensured: created, adopted or refused) and the pods'
// veth pairs (created with the pod end already inside the pod's namespace,
// the host end on the bridge with hairpin mode).
#pragma once

#include <array>
#include <optional>
#include <string>

#include "address.hpp"
#include "netlink.hpp"

namespace deckhand::network {

struct BridgeSpec {
  std::string name;
  uint32_t mtu = 1500;
  Prefix v4;                  // the pod range; the gateway is its first host address
  std::optional<Prefix> v6;   // dual-stack: the gateway is prefix::1
};

// Makes sure the bridge exists, is up, has the MTU and the gateway
// address(es). Throws NetworkError(precondition) naming the conflict when an
// interface of that name is not a bridge, has another MTU or another IPv4
// address. Also turns on forwarding and route_localnet on the bridge.
// Returns the bridge's ifindex.
int ensure_bridge(nl_sock* sock, const BridgeSpec& spec);

struct VethSpec {
  std::string host_name;            // on the bridge, in this namespace
  std::string pod_name;             // inside the pod ("eth0")
  int pod_netns_fd = -1;
  std::array<uint8_t, 6> pod_mac{};
  uint32_t mtu = 1500;
  int bridge_ifindex = 0;
  bool hairpin = true;
};

// Creates the pair in one request, the pod end directly inside the pod's
// namespace (so its name never clashes with the host's), the host end up and
// on the bridge, then hairpin mode on the port. Throws NetworkError(exists)
// when the host name or the pod name is taken. Returns the host end's MAC.
std::string create_veth(nl_sock* sock, const VethSpec& spec);
// Deletes a link by name (and so its veth peer). False when there is none.
bool delete_link(nl_sock* sock, const std::string& name);
// The ifindex of the link's bridge master, 0 when none; nullopt when the link is missing.
std::optional<int> master_of(nl_sock* sock, const std::string& name);

}  // namespace deckhand::network
