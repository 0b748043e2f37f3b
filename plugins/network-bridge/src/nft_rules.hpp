// Host ports and egress masquerade with nftables, through libnftables (no
// `nft` or `iptables` process). Everything lives in one table the plugin
// owns, `table inet deckhand`, so removing the table removes every rule:
//
//   - host ports: DNAT of (hostIP, protocol, hostPort) to (podIP,
//     containerPort) for traffic arriving from other hosts (prerouting) and
//     from this host itself (output), 127.0.0.1 included when the hostIP
//     allows it (route_localnet on the bridge, and a masquerade of that
//     traffic so the pod can answer);
//   - masquerade: traffic from the pod range to addresses outside it leaves
//     with the node's address (switchable);
//   - hairpin: a pod reaching its own or a neighbour's hostPort is
//     masqueraded so the answer comes back through the host.
//
// Port mappings are elements of nft maps keyed per protocol and port, so
// adding or removing a pod's ports is O(its ports), never a rebuild of the
// ruleset, and the pod that owns each element is recorded in its comment.
//
// The table (pod range 10.88.0.0/24, bridge deckhand0, masquerade on):
//
//   table inet deckhand {
//     map hostports_ip {    # hostIP given: (hostIP, proto, hostPort) -> (podIP, containerPort)
//       type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
//       elements = { 192.168.1.5 . tcp . 8080 comment "<pod id>" : 10.88.0.2 . 80 }
//     }
//     map hostports_any {   # hostIP "" or 0.0.0.0: (proto, hostPort) -> (podIP, containerPort)
//       type inet_proto . inet_service : ipv4_addr . inet_service
//     }
//     chain hostports {     # the specific hostIP wins over the wildcard
//       dnat ip to ip daddr . meta l4proto . th dport map @hostports_ip
//       meta nfproto ipv4 dnat ip to meta l4proto . th dport map @hostports_any
//     }
//     chain prerouting {    # from other hosts and from pods
//       type nat hook prerouting priority dstnat; policy accept;
//       fib daddr type local jump hostports
//     }
//     chain output {        # from this host, 127.0.0.1 included
//       type nat hook output priority -100; policy accept;
//       fib daddr type local jump hostports
//     }
//     chain postrouting {
//       type nat hook postrouting priority srcnat; policy accept;
//       ct status dnat ip saddr 127.0.0.0/8 oifname "deckhand0" masquerade      # localhost -> hostPort
//       ct status dnat ip saddr 10.88.0.0/24 ip daddr 10.88.0.0/24 masquerade   # hairpin
//       ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 masquerade               # egress (when on)
//       ip6 saddr fd00::/64 ip6 daddr != fd00::/64 masquerade                   # egress v6 (when a v6 range is set)
//     }
//     chain input {         # route_localnet must not expose the host's 127.0.0.1 services to pods
//       type filter hook input priority filter; policy accept;
//       iif != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } drop
//     }
//   }
//
// Rules of the game:
//   - State lives in the kernel only: the owner of each element is its
//     comment, so remove_ports() and pods_with_ports() read the maps back
//     (no file of our own to go stale). Elements without a comment are not
//     ours and are left alone. nft limits a comment to 128 characters, so
//     add_ports() refuses (invalid) a pod id longer than that.
//   - Creating or adopting the table is one transaction: `add` table, maps
//     and chains (no-ops when they exist, elements kept), `flush` the chains
//     and add the rules for the current settings, so a changed pod range or
//     masquerade switch is applied on restart without losing host ports.
//   - One add_ports() call is one transaction (one buffer of `create element`
//     commands): all of a pod's ports are published or none is. A taken
//     (hostIP, proto, port), and a wildcard hostIP against a specific one on
//     the same proto/port (or the reverse), held by another pod is
//     NetworkError(exists) before anything is sent; the kernel refuses a
//     `create` of an existing key too, so a race with another writer cannot
//     overwrite a mapping.
//   - add_ports() is additive and idempotent: the same pod and ports again
//     is a no-op, a port of the same pod with a new target (pod IP or
//     containerPort) is replaced in the same transaction; the pod's other
//     ports stay. PortMappings with hostPort 0 are not published.
//   - 127.0.0.1:hostPort (wildcard hostIP, or hostIP 127.0.0.1) works only
//     when net.ipv4.conf.<bridge>.route_localnet=1 (a packet with a loopback
//     source may not otherwise be routed out of the bridge);
//     enable_route_localnet() sets it. The masquerade rule then gives those
//     packets the bridge's address so the pod can answer. route_localnet
//     would also let a pod reach the host's services bound to 127.0.0.1
//     (CVE-2020-8558, the pod routes 127.0.0.0/8 to the bridge); the input
//     chain drops new packets to 127.0.0.0/8 that did not arrive on lo.
//   - Host ports are IPv4 only; with pod_cidr_v6 set, pods' IPv6 egress is
//     masqueraded too.
//   - The host's own filter rules (a forward chain with policy drop, e.g.
//     from Docker) may still drop forwarded pod traffic: not handled here.
//   - libnftables is called with a context made per call, in the calling
//     thread's network namespace, under one process-wide mutex.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace deckhand::network {

enum class Protocol { tcp, udp };

struct PortMapping {
  uint16_t container_port = 0;
  uint16_t host_port = 0;
  std::string host_ip;  // "" or "0.0.0.0": every address of the host; else one IPv4 address
  Protocol protocol = Protocol::tcp;
};

// A host port as the kernel holds it (an element of one of the maps).
struct HostPortEntry {
  std::string pod_id;   // the element's comment
  std::string host_ip;  // "0.0.0.0" for the wildcard map
  Protocol protocol = Protocol::tcp;
  uint16_t host_port = 0;
  std::string pod_ip;
  uint16_t container_port = 0;
};

struct NftSettings {
  std::string pod_cidr;     // e.g. "10.88.0.0/24"
  std::string pod_cidr_v6;  // "" when the node has no IPv6 pod range
  std::string bridge;       // the bridge's name (for route_localnet and hairpin)
  bool masquerade = true;
};

class NftRules {
 public:
  // Creates `table inet deckhand` with its chains, maps and the masquerade
  // rule, or adopts the table when it exists (its port elements are kept:
  // they belong to pods that may still run). Throws NetworkError(internal)
  // with libnftables' own message when the kernel refuses.
  explicit NftRules(NftSettings settings);

  // Publishes a pod's host ports. A (hostIP, protocol, hostPort) that another
  // pod holds, or that the same request lists twice, is NetworkError(exists)
  // naming it, and nothing of the request is added. Idempotent for the same
  // pod and ports.
  void add_ports(const std::string& pod_id, const std::string& pod_ip, const std::vector<PortMapping>& ports);
  // Removes every element the pod added. Missing is fine.
  void remove_ports(const std::string& pod_id);
  // Pods that hold host ports now (for removing leftovers at start-up).
  std::set<std::string> pods_with_ports() const;
  // Every host port the maps hold now, in the maps' order.
  std::vector<HostPortEntry> host_ports() const;
  // Deletes the whole table (tests, uninstall). Missing is fine.
  void remove_all();
  // `list table inet deckhand` as nft prints it (diagnostics, tests).
  std::string listing() const;

  static constexpr const char* table_family = "inet";
  static constexpr const char* table_name = "deckhand";

 private:
  NftSettings settings_;
};

// Sets net.ipv4.conf.<interface>.route_localnet=1 in the calling thread's
// network namespace, so 127.0.0.1:hostPort can be DNAT'd to a pod behind it.
// Throws NetworkError(invalid) for a bad name, (not_found) when there is no
// such interface, (internal) when the write fails.
void enable_route_localnet(const std::string& interface);

}  // namespace deckhand::network
