// Pod-side configuration and checks over netlink; see pod_side.hpp.
#include "pod_side.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>

#include "netlink.hpp"
#include "network_error.hpp"

namespace deckhand::network {
namespace {

void add_address(nl_sock* sock, int ifindex, const PodAddress& pod, const std::string& ifname) {
  nl::Addr addr(rtnl_addr_alloc());
  nl::NlAddr local = nl::make_addr(pod.address.data(), pod.range.v6, pod.range.length);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  nl::check(rtnl_addr_set_local(addr.get(), local.get()), "cannot set an address");
  if (pod.range.v6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  nl::check(rtnl_addr_add(sock, addr.get(), NLM_F_CREATE | NLM_F_REPLACE),
            "cannot add " + format_address(pod.address, pod.range.v6) + " to the pod's " + ifname);
}

void add_default_route(nl_sock* sock, int ifindex, const PodAddress& pod) {
  nl::Route route(rtnl_route_alloc());
  const std::array<uint8_t, 16> zero{};
  nl::NlAddr dst = nl::make_addr(zero.data(), pod.range.v6, 0);
  nl::NlAddr gateway = nl::make_addr(pod.gateway.data(), pod.range.v6, pod.range.v6 ? 128 : 32);
  rtnl_route_set_family(route.get(), pod.range.v6 ? AF_INET6 : AF_INET);
  nl::check(rtnl_route_set_dst(route.get(), dst.get()), "cannot set a route's destination");
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_nexthop* hop = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(hop, ifindex);
  rtnl_route_nh_set_gateway(hop, gateway.get());
  rtnl_route_add_nexthop(route.get(), hop);  // the route owns it now
  nl::check(rtnl_route_add(sock, route.get(), NLM_F_CREATE | NLM_F_REPLACE),
            "cannot add the pod's default route via " + format_address(pod.gateway, pod.range.v6));
}

bool has_address(nl_cache* addrs, int ifindex, const PodAddress& pod) {
  nl::NlAddr want = nl::make_addr(pod.address.data(), pod.range.v6, pod.range.length);
  for (nl_object* o = nl_cache_get_first(addrs); o != nullptr; o = nl_cache_get_next(o)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(o);
    nl_addr* local = rtnl_addr_get_local(addr);
    if (rtnl_addr_get_ifindex(addr) == ifindex && local != nullptr && nl_addr_cmp(local, want.get()) == 0 &&
        nl_addr_get_prefixlen(local) == static_cast<unsigned>(pod.range.length)) {
      return true;
    }
  }
  return false;
}

bool has_default_route(nl_sock* sock, int ifindex, const PodAddress& pod) {
  nl_cache* raw = nullptr;
  nl::check(rtnl_route_alloc_cache(sock, pod.range.v6 ? AF_INET6 : AF_INET, 0, &raw), "cannot list routes");
  nl::Cache routes(raw);
  nl::NlAddr gateway = nl::make_addr(pod.gateway.data(), pod.range.v6, pod.range.v6 ? 128 : 32);
  for (nl_object* o = nl_cache_get_first(routes.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* route = reinterpret_cast<rtnl_route*>(o);
    nl_addr* dst = rtnl_route_get_dst(route);
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN || dst == nullptr || nl_addr_get_prefixlen(dst) != 0) continue;
    if (rtnl_route_get_nnexthops(route) < 1) continue;
    rtnl_nexthop* hop = rtnl_route_nexthop_n(route, 0);
    nl_addr* via = rtnl_route_nh_get_gateway(hop);
    if (rtnl_route_nh_get_ifindex(hop) == ifindex && via != nullptr && nl_addr_cmp_prefix(via, gateway.get()) == 0 &&
        nl_addr_get_len(via) == nl_addr_get_len(gateway.get())) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string configure_pod_side(const std::string& ifname, const PodAddress& v4, const std::optional<PodAddress>& v6) {
  nl::Socket sock = nl::connect();
  if (nl::Link lo = nl::find_link(sock.get(), "lo"); lo && !(rtnl_link_get_flags(lo.get()) & IFF_UP)) {
    nl::set_up(sock.get(), rtnl_link_get_ifindex(lo.get()), "the pod's lo");
  }
  nl::Link link = nl::find_link(sock.get(), ifname);
  if (!link) throw NetworkError(Failure::internal, "the pod's " + ifname + " is missing right after its creation");
  const int ifindex = rtnl_link_get_ifindex(link.get());
  if (v6) {
    // The address is added without duplicate detection (it is ours alone).
    nl::write_sysctl("net/ipv6/conf/" + ifname + "/accept_dad", "0");
  } else {
    // An IPv4-only pod gets no IPv6 address on its interface, not even a
    // link-local one: else its duplicate detection, router solicitations and
    // MLD reports go out at once, and the bridge floods each of those
    // multicasts to every other pod, so one more pod would cost O(pods).
    // Netlink, not the disable_ipv6 sysctl: every pod's "eth0" sits in one
    // dcache hash chain under /proc/sys/net/ipv6/conf, so that path lookup
    // is O(pods) as well.
    nl::disable_ipv6_autoconf(sock.get(), ifindex, "the pod's " + ifname);
  }
  nl::set_up(sock.get(), ifindex, "the pod's " + ifname);
  add_address(sock.get(), ifindex, v4, ifname);
  add_default_route(sock.get(), ifindex, v4);
  if (v6) {
    add_address(sock.get(), ifindex, *v6, ifname);
    add_default_route(sock.get(), ifindex, *v6);
  }
  char text[32] = "";
  if (nl_addr* addr = rtnl_link_get_addr(link.get())) nl_addr2str(addr, text, sizeof text);
  return text;
}

std::vector<std::string> inspect_pod_side(const std::string& ifname, const PodAddress& v4,
                                          const std::optional<PodAddress>& v6) {
  std::vector<std::string> problems;
  nl::Socket sock = nl::connect();
  nl::Link link = nl::find_link(sock.get(), ifname);
  if (!link) return {"the interface " + ifname + " is missing from the pod's namespace"};
  const int ifindex = rtnl_link_get_ifindex(link.get());
  if (!(rtnl_link_get_flags(link.get()) & IFF_UP)) problems.push_back("the pod's " + ifname + " is down");
  nl_cache* raw = nullptr;
  nl::check(rtnl_addr_alloc_cache(sock.get(), &raw), "cannot list the pod's addresses");
  nl::Cache addrs(raw);
  for (const PodAddress* pod : {&v4, v6 ? &*v6 : nullptr}) {
    if (pod == nullptr) continue;
    const std::string address = format_address(pod->address, pod->range.v6);
    if (!has_address(addrs.get(), ifindex, *pod)) {
      problems.push_back("the address " + address + "/" + std::to_string(pod->range.length) + " is missing from " +
                         ifname);
    }
    if (!has_default_route(sock.get(), ifindex, *pod)) {
      problems.push_back(std::string("the ") + (pod->range.v6 ? "IPv6" : "IPv4") + " default route via " +
                         format_address(pod->gateway, pod->range.v6) + " is missing");
    }
  }
  return problems;
}

}  // namespace deckhand::network
