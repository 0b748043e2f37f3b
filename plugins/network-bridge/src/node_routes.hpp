// Routes to other nodes' pod ranges (host-gateway style) in the plugin's own
// namespace. Every route the plugin adds carries the route protocol
// kRouteProtocol (0xdd), so the whole set is listed by that mark and routes
// of anyone else are never touched.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "address.hpp"
#include "netlink.hpp"

namespace deckhand::network {

inline constexpr uint8_t kRouteProtocol = 0xdd;

struct NodeRoute {
  Prefix cidr;                    // a remote node's pod range
  std::array<uint8_t, 16> via{};  // that node's address, same family
};

// Parses {routes: [{cidr, via}]} strictly; throws NetworkError(invalid).
std::vector<NodeRoute> parse_node_routes(const nlohmann::json& request);

struct RouteChanges {
  std::size_t set = 0;      // added or replaced
  std::size_t removed = 0;  // ours, no longer listed
};

// Makes the plugin's routes exactly `routes`: add or replace each, remove
// the ones it added before that are not listed.
RouteChanges apply_node_routes(nl_sock* sock, const std::vector<NodeRoute>& routes);

}  // namespace deckhand::network
