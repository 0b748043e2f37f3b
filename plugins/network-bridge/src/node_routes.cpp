// Cross-node pod routes; see node_routes.hpp.
#include "node_routes.hpp"

#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>

#include <set>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& problem) { throw NetworkError(Failure::invalid, problem); }

}  // namespace

std::vector<NodeRoute> parse_node_routes(const json& request) {
  if (!request.is_object()) bad("the request must be a JSON object");
  for (const auto& item : request.items()) {
    if (item.key() != "routes") bad("unknown request field \"" + item.key() + "\"");
  }
  if (!request.contains("routes") || !request["routes"].is_array()) bad("\"routes\" must be a list of {cidr, via}");
  std::vector<NodeRoute> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < request["routes"].size(); ++i) {
    const json& item = request["routes"][i];
    const std::string where = "routes[" + std::to_string(i) + "]";
    if (!item.is_object()) bad(where + " must be an object {cidr, via}");
    for (const auto& field : item.items()) {
      if (field.key() != "cidr" && field.key() != "via") bad(where + ": unknown field \"" + field.key() + "\"");
    }
    if (!item.contains("cidr") || !item["cidr"].is_string()) bad(where + ".cidr must be a CIDR string");
    if (!item.contains("via") || !item["via"].is_string()) bad(where + ".via must be an address string");
    const std::string cidr = item["cidr"].get<std::string>();
    const bool v6 = cidr.find(':') != std::string::npos;
    NodeRoute route;
    route.cidr = parse_prefix(cidr, v6, where + ".cidr");
    route.via = parse_address(item["via"].get<std::string>(), v6, where + ".via");
    if (!seen.insert(route.cidr.string()).second) bad(where + ": " + route.cidr.string() + " is listed twice");
    out.push_back(route);
  }
  return out;
}

RouteChanges apply_node_routes(nl_sock* sock, const std::vector<NodeRoute>& routes) {
  RouteChanges changes;
  std::set<std::string> wanted;
  for (const NodeRoute& want : routes) {
    wanted.insert(want.cidr.string());
    nl::Route route(rtnl_route_alloc());
    nl::NlAddr dst = nl::make_addr(want.cidr.bytes.data(), want.cidr.v6, want.cidr.length);
    nl::NlAddr via = nl::make_addr(want.via.data(), want.cidr.v6, want.cidr.v6 ? 128 : 32);
    rtnl_route_set_family(route.get(), want.cidr.v6 ? AF_INET6 : AF_INET);
    nl::check(rtnl_route_set_dst(route.get(), dst.get()), "cannot set a route's destination");
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(route.get(), kRouteProtocol);
    rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
    rtnl_nexthop* hop = rtnl_route_nh_alloc();
    rtnl_route_nh_set_gateway(hop, via.get());
    rtnl_route_add_nexthop(route.get(), hop);
    const int err = rtnl_route_add(sock, route.get(), NLM_F_CREATE | NLM_F_REPLACE);
    if (err == -NLE_NOADDR || err == -NLE_INVAL || err == -NLE_NODEV) {
      throw NetworkError(Failure::precondition, "cannot route " + want.cidr.string() + " via " +
                                                    format_address(want.via, want.cidr.v6) + ": " + nl_geterror(err) +
                                                    " (is the address on a directly connected network?)");
    }
    nl::check(err, "cannot route " + want.cidr.string() + " via " + format_address(want.via, want.cidr.v6));
    ++changes.set;
  }
  for (const int family : {AF_INET, AF_INET6}) {
    nl_cache* raw = nullptr;
    nl::check(rtnl_route_alloc_cache(sock, family, 0, &raw), "cannot list routes");
    nl::Cache cache(raw);
    for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
      auto* route = reinterpret_cast<rtnl_route*>(o);
      if (rtnl_route_get_protocol(route) != kRouteProtocol || rtnl_route_get_table(route) != RT_TABLE_MAIN) continue;
      nl_addr* dst = rtnl_route_get_dst(route);
      if (dst == nullptr) continue;
      Prefix prefix;
      prefix.v6 = family == AF_INET6;
      prefix.length = static_cast<int>(nl_addr_get_prefixlen(dst));
      std::copy_n(static_cast<const uint8_t*>(nl_addr_get_binary_addr(dst)), prefix.v6 ? 16 : 4, prefix.bytes.begin());
      if (wanted.count(prefix.string())) continue;
      const int err = rtnl_route_delete(sock, route, 0);
      if (err != -NLE_OBJ_NOTFOUND) nl::check(err, "cannot remove the route to " + prefix.string());
      ++changes.removed;
    }
  }
  return changes;
}

}  // namespace deckhand::network
