// The kernel's share of a pod attach, for the network benchmark: one veth
// pair made over netlink with its host side enslaved to the bridge, its
// other side created in the pod's namespace (IPv6 autoconf off, as the
// plugin does), both up; then deleted. No IPAM,
// address, route, record or nftables: what any bridge plugin must pay, so the
// benchmark can tell the plugin's growth with the pod count from the kernel's.
#pragma once

#include <string>

namespace deckhand::bench {

// Both in the calling thread's network namespace (the benchmark's host);
// throw std::runtime_error naming the step that failed.
void create_floor_veth(const std::string& host_name, int bridge_ifindex, int pod_netns_fd);
void delete_floor_veth(const std::string& host_name);
int link_index(const std::string& name);

}  // namespace deckhand::bench
