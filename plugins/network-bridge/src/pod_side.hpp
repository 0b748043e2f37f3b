// The pod end of the network, configured and inspected from inside the pod's
// network namespace: lo up, the interface up with its address(es) and the
// default route(s) via the bridge's gateway.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "address.hpp"

namespace deckhand::network {

struct PodAddress {
  Prefix range;                      // the pod range (for the prefix length)
  std::array<uint8_t, 16> address{};
  std::array<uint8_t, 16> gateway{};
};

// Runs in the pod's namespace (see nl::in_netns). Returns the interface's MAC.
std::string configure_pod_side(const std::string& ifname, const PodAddress& v4, const std::optional<PodAddress>& v6);

// What is wrong with the pod's side, one line per problem (empty = intact).
// Runs in the pod's namespace.
std::vector<std::string> inspect_pod_side(const std::string& ifname, const PodAddress& v4,
                                          const std::optional<PodAddress>& v6);

}  // namespace deckhand::network
