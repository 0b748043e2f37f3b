// Bare netlink veth + bridge port, the kernel floor of an attach; see veth_floor.hpp.
#include "veth_floor.hpp"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <linux/if_link.h>
#include <netlink/route/link/inet6.h>
#include <sched.h>

#include <exception>
#include <memory>
#include <stdexcept>
#include <thread>

namespace deckhand::bench {
namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkFree {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};

std::unique_ptr<nl_sock, SockFree> connect() {
  std::unique_ptr<nl_sock, SockFree> made(nl_socket_alloc());
  if (!made || nl_connect(made.get(), NETLINK_ROUTE) < 0) throw std::runtime_error("floor: cannot open netlink");
  return made;
}

// One connected socket per thread: the benchmark calls from its host namespace thread.
nl_sock* sock() {
  thread_local std::unique_ptr<nl_sock, SockFree> s = connect();
  return s.get();
}

void check(int err, const std::string& what) {
  if (err < 0) throw std::runtime_error("floor: " + what + ": " + nl_geterror(err));
}

// Sets the link up, after turning IPv6 autoconfiguration off when asked.
void set_up(nl_sock* s, int ifindex, bool no_ipv6_autoconf, const std::string& what) {
  std::unique_ptr<rtnl_link, LinkFree> current(rtnl_link_alloc());
  rtnl_link_set_ifindex(current.get(), ifindex);
  if (no_ipv6_autoconf) {
    std::unique_ptr<rtnl_link, LinkFree> change(rtnl_link_alloc());
    rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE);
    check(rtnl_link_change(s, current.get(), change.get(), 0), "turn IPv6 autoconf off on " + what);
  }
  std::unique_ptr<rtnl_link, LinkFree> change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  check(rtnl_link_change(s, current.get(), change.get(), 0), "set " + what + " up");
}

}  // namespace

int link_index(const std::string& name) {
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) throw std::runtime_error("floor: no interface " + name);
  return static_cast<int>(index);
}

void create_floor_veth(const std::string& host_name, int bridge_ifindex, int pod_netns_fd) {
  std::unique_ptr<rtnl_link, LinkFree> veth(rtnl_link_veth_alloc());
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
  rtnl_link_set_name(veth.get(), host_name.c_str());
  rtnl_link_set_master(veth.get(), bridge_ifindex);
  rtnl_link_set_name(peer, "eth0");
  rtnl_link_set_ns_fd(peer, pod_netns_fd);
  rtnl_link_put(peer);
  check(rtnl_link_add(sock(), veth.get(), NLM_F_CREATE | NLM_F_EXCL), "create " + host_name);
  set_up(sock(), link_index(host_name), false, host_name);
  // The pod side comes up too (its carrier is what enables the bridge port),
  // from a thread in the pod's namespace, as any plugin must.
  std::exception_ptr failure;
  std::thread in_pod([&] {
    try {
      if (::setns(pod_netns_fd, CLONE_NEWNET) != 0) throw std::runtime_error("floor: cannot enter the pod namespace");
      auto pod_sock = connect();
      set_up(pod_sock.get(), link_index("eth0"), true, "the pod's eth0");
    } catch (...) {
      failure = std::current_exception();
    }
  });
  in_pod.join();
  if (failure) std::rethrow_exception(failure);
}

void delete_floor_veth(const std::string& host_name) {
  std::unique_ptr<rtnl_link, LinkFree> link(rtnl_link_alloc());
  rtnl_link_set_name(link.get(), host_name.c_str());
  check(rtnl_link_delete(sock(), link.get()), "delete " + host_name);
}

}  // namespace deckhand::bench
