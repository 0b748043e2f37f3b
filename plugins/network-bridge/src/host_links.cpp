// Bridge and veth management with libnl; see host_links.hpp.
#include "host_links.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include <vector>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

std::string link_type(rtnl_link* link) {
  const char* type = rtnl_link_get_type(link);
  return type != nullptr ? type : "a plain device";
}

// The addresses of a family on an interface, as "a.b.c.d/n".
std::vector<std::string> addresses_on(nl_sock* sock, int ifindex, int family) {
  nl_cache* raw = nullptr;
  nl::check(rtnl_addr_alloc_cache(sock, &raw), "cannot list addresses");
  nl::Cache cache(raw);
  std::vector<std::string> out;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(object);
    if (rtnl_addr_get_ifindex(addr) != ifindex || rtnl_addr_get_family(addr) != family) continue;
    nl_addr* local = rtnl_addr_get_local(addr);
    if (local == nullptr) continue;
    // fe80::/10 link-local addresses are the kernel's own.
    const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(local));
    if (family == AF_INET6 && bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) continue;
    char text[128];
    out.push_back(nl_addr2str(local, text, sizeof text));
  }
  return out;
}

void add_address(nl_sock* sock, int ifindex, const std::array<uint8_t, 16>& bytes, const Prefix& prefix,
                 const std::string& what) {
  nl::Addr addr(rtnl_addr_alloc());
  nl::NlAddr local = nl::make_addr(bytes.data(), prefix.v6, prefix.length);
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  nl::check(rtnl_addr_set_local(addr.get(), local.get()), "cannot set an address");
  if (prefix.v6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  const int err = rtnl_addr_add(sock, addr.get(), NLM_F_CREATE | NLM_F_REPLACE);
  nl::check(err, "cannot add " + format_address(bytes, prefix.v6) + " to " + what);
}

}  // namespace

int ensure_bridge(nl_sock* sock, const BridgeSpec& spec) {
  nl::Link link = nl::find_link(sock, spec.name);
  if (!link) {
    nl::Link bridge(rtnl_link_bridge_alloc());
    rtnl_link_set_name(bridge.get(), spec.name.c_str());
    rtnl_link_set_mtu(bridge.get(), spec.mtu);
    const int err = rtnl_link_add(sock, bridge.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err != -NLE_EXIST) nl::check(err, "cannot create the bridge " + spec.name);
    link = nl::find_link(sock, spec.name);
    if (!link) throw NetworkError(Failure::internal, "the bridge " + spec.name + " vanished after its creation");
  }
  if (!rtnl_link_is_bridge(link.get())) {
    throw NetworkError(Failure::precondition, "the interface " + spec.name + " exists and is not a bridge (it is " +
                                                  link_type(link.get()) +
                                                  "); remove it or configure another \"bridge\" name");
  }
  if (rtnl_link_get_mtu(link.get()) != spec.mtu) {
    throw NetworkError(Failure::precondition,
                       "the bridge " + spec.name + " exists with MTU " + std::to_string(rtnl_link_get_mtu(link.get())) +
                           ", the config says " + std::to_string(spec.mtu));
  }
  const int ifindex = rtnl_link_get_ifindex(link.get());
  const auto check_family = [&](const Prefix& range) {
    const std::string gateway = format_address(range.at(1), range.v6) + "/" + std::to_string(range.length);
    bool found = false;
    for (const std::string& present : addresses_on(sock, ifindex, range.v6 ? AF_INET6 : AF_INET)) {
      if (present == gateway) {
        found = true;
      } else {
        throw NetworkError(Failure::precondition, "the bridge " + spec.name + " exists with the address " + present +
                                                      ", not the gateway " + gateway + " of the pod range " +
                                                      range.string() + "; it belongs to another network");
      }
    }
    if (!found) add_address(sock, ifindex, range.at(1), range, "the bridge " + spec.name);
  };
  check_family(spec.v4);
  if (spec.v6) check_family(*spec.v6);
  if (!(rtnl_link_get_flags(link.get()) & IFF_UP)) nl::set_up(sock, ifindex, "the bridge " + spec.name);
  nl::write_sysctl("net/ipv4/ip_forward", "1");
  nl::write_sysctl("net/ipv4/conf/" + spec.name + "/route_localnet", "1");
  if (spec.v6) nl::write_sysctl("net/ipv6/conf/all/forwarding", "1");
  return ifindex;
}

std::string create_veth(nl_sock* sock, const VethSpec& spec) {
  nl::Link veth(rtnl_link_veth_alloc());
  if (!veth) throw NetworkError(Failure::internal, "cannot allocate a veth");
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
  rtnl_link_set_name(veth.get(), spec.host_name.c_str());
  rtnl_link_set_mtu(veth.get(), spec.mtu);
  rtnl_link_set_master(veth.get(), spec.bridge_ifindex);
  // Created down: the host end is a bridge port and needs no IPv6 address,
  // and an IPv6 link-local address would have the kernel send DAD and MLD
  // multicast that the bridge floods to every pod (measurable with hundreds
  // of pods). IPv6 is turned off on it before it goes up.
  rtnl_link_set_name(peer, spec.pod_name.c_str());
  rtnl_link_set_mtu(peer, spec.mtu);
  rtnl_link_set_ns_fd(peer, spec.pod_netns_fd);
  nl::NlAddr mac(nl_addr_build(AF_LLC, spec.pod_mac.data(), spec.pod_mac.size()));
  rtnl_link_set_addr(peer, mac.get());
  rtnl_link_put(peer);
  const int err = rtnl_link_add(sock, veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (err == -NLE_EXIST) {
    throw NetworkError(Failure::exists, "cannot create the veth " + spec.host_name + "/" + spec.pod_name +
                                            ": the host already has " + spec.host_name +
                                            " or the pod's namespace already has " + spec.pod_name);
  }
  nl::check(err, "cannot create the veth pair " + spec.host_name + "/" + spec.pod_name);
  nl::Link created = nl::find_link(sock, spec.host_name);
  if (!created) throw NetworkError(Failure::internal, "the veth " + spec.host_name + " vanished after its creation");
  if (spec.hairpin) {
    // A bridge-family RTM_SETLINK with the port's flags (IFLA_PROTINFO).
    nl::Link current(rtnl_link_alloc());
    nl::Link port(rtnl_link_alloc());
    for (rtnl_link* l : {current.get(), port.get()}) {
      rtnl_link_set_ifindex(l, rtnl_link_get_ifindex(created.get()));
      rtnl_link_set_family(l, AF_BRIDGE);
    }
    nl::check(rtnl_link_bridge_set_flags(port.get(), RTNL_BRIDGE_HAIRPIN_MODE), "cannot ask for hairpin mode");
    nl::check(rtnl_link_change(sock, current.get(), port.get(), 0),
              "cannot turn hairpin mode on for " + spec.host_name);
  }
  nl::write_sysctl("net/ipv6/conf/" + spec.host_name + "/disable_ipv6", "1", /*missing_ok=*/true);
  nl::set_up(sock, rtnl_link_get_ifindex(created.get()), "the veth " + spec.host_name);
  char text[32] = "";
  if (nl_addr* addr = rtnl_link_get_addr(created.get())) nl_addr2str(addr, text, sizeof text);
  return text;
}

bool delete_link(nl_sock* sock, const std::string& name) {
  nl::Link link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), name.c_str());
  const int err = rtnl_link_delete(sock, link.get());
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return false;
  nl::check(err, "cannot delete the interface " + name);
  return true;
}

std::optional<int> master_of(nl_sock* sock, const std::string& name) {
  nl::Link link = nl::find_link(sock, name);
  if (!link) return std::nullopt;
  return rtnl_link_get_master(link.get());
}

}  // namespace deckhand::network
