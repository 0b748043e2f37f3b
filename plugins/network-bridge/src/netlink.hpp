// Thin RAII over libnl-route-3 (sockets, links, addresses, routes) and the
// two namespace tools the plugin needs: running code inside a pod's network
// namespace (on a short-lived thread that joins it, so the caller's thread
// never changes namespace) and writing sysctls through /proc/sys (which
// resolves net.* against the writing thread's namespace).
#pragma once

#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <functional>
#include <memory>
#include <string>

namespace deckhand::network::nl {

struct SocketFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkFree {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrFree {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RouteFree {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
struct NlAddrFree {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Socket = std::unique_ptr<nl_sock, SocketFree>;
using Link = std::unique_ptr<rtnl_link, LinkFree>;
using Addr = std::unique_ptr<rtnl_addr, AddrFree>;
using Route = std::unique_ptr<rtnl_route, RouteFree>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrFree>;
using Cache = std::unique_ptr<nl_cache, CacheFree>;

// A NETLINK_ROUTE socket in the calling thread's network namespace.
Socket connect();
// Throws NetworkError(internal) "<what>: <libnl's message>" when err < 0.
void check(int err, const std::string& what);
// The link named `name`, or null when there is none.
Link find_link(nl_sock* sock, const std::string& name);
// nl_addr from bytes (4 or 16) with a prefix length.
NlAddr make_addr(const uint8_t* bytes, bool v6, int prefix_length);
// Sets a link up (IFF_UP), by index.
void set_up(nl_sock* sock, int ifindex, const std::string& what);
// Stops the kernel from giving the interface IPv6 addresses of its own (its
// link-local one): no duplicate detection, router solicitation or MLD report
// goes out. Over netlink by index; a host without IPv6 is not an error.
void disable_ipv6_autoconf(nl_sock* sock, int ifindex, const std::string& what);

// Opens a pinned netns file; throws NetworkError(not_found) when it is gone.
int open_netns(const std::string& path);
// Runs `body` on a thread inside the namespace `netns_fd`; rethrows what it throws.
void in_netns(int netns_fd, const std::function<void()>& body);
// Writes `value` to /proc/sys/<key> ("net/ipv4/ip_forward") in the calling
// thread's namespace; throws NetworkError(internal) on failure.
// missing_ok: a key that does not exist (IPv6 compiled out or disabled at
// boot) is skipped rather than an error.
void write_sysctl(const std::string& key, const std::string& value, bool missing_ok = false);

}  // namespace deckhand::network::nl
