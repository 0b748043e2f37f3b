// libnl RAII and namespace helpers; see netlink.hpp.
#include "netlink.hpp"

#include <linux/if_link.h>
#include <netlink/route/link/inet6.h>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

#include "network_error.hpp"

namespace deckhand::network::nl {

Socket connect() {
  Socket sock(nl_socket_alloc());
  if (!sock) throw NetworkError(Failure::internal, "cannot allocate a netlink socket");
  check(nl_connect(sock.get(), NETLINK_ROUTE), "cannot open a netlink socket");
  nl_socket_set_buffer_size(sock.get(), 1 << 20, 1 << 20);
  return sock;
}

void check(int err, const std::string& what) {
  if (err < 0) throw NetworkError(Failure::internal, what + ": " + nl_geterror(err));
}

Link find_link(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  const int err = rtnl_link_get_kernel(sock, 0, name.c_str(), &link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return nullptr;
  check(err, "cannot look up the interface " + name);
  return Link(link);
}

NlAddr make_addr(const uint8_t* bytes, bool v6, int prefix_length) {
  NlAddr addr(nl_addr_build(v6 ? AF_INET6 : AF_INET, bytes, v6 ? 16 : 4));
  if (!addr) throw NetworkError(Failure::internal, "cannot build a netlink address");
  nl_addr_set_prefixlen(addr.get(), prefix_length);
  return addr;
}

void set_up(nl_sock* sock, int ifindex, const std::string& what) {
  Link current(rtnl_link_alloc());
  Link change(rtnl_link_alloc());
  rtnl_link_set_ifindex(current.get(), ifindex);
  rtnl_link_set_flags(change.get(), IFF_UP);
  check(rtnl_link_change(sock, current.get(), change.get(), 0), "cannot set " + what + " up");
}

void disable_ipv6_autoconf(nl_sock* sock, int ifindex, const std::string& what) {
  Link current(rtnl_link_alloc());
  Link change(rtnl_link_alloc());
  rtnl_link_set_ifindex(current.get(), ifindex);
  check(rtnl_link_inet6_set_addr_gen_mode(change.get(), IN6_ADDR_GEN_MODE_NONE), "cannot ask for no IPv6 autoconf");
  const int err = rtnl_link_change(sock, current.get(), change.get(), 0);
  if (err == -NLE_AF_NOSUPPORT || err == -NLE_OPNOTSUPP) return;  // no IPv6 on this host
  check(err, "cannot turn IPv6 autoconfiguration off on " + what);
}

int open_netns(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw NetworkError(errno == ENOENT ? Failure::not_found : Failure::internal,
                       "cannot open the network namespace " + path + ": " + std::strerror(errno));
  }
  return fd;
}

void in_netns(int netns_fd, const std::function<void()>& body) {
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      // A thread of its own that ends afterwards, so no other code ever
      // runs in the pod's namespace.
      if (::setns(netns_fd, CLONE_NEWNET) != 0) {
        throw NetworkError(Failure::internal,
                           std::string("cannot enter the pod's network namespace: ") + std::strerror(errno));
      }
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

void write_sysctl(const std::string& key, const std::string& value, bool missing_ok) {
  const std::string path = "/proc/sys/" + key;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && missing_ok) return;
  if (fd < 0 || ::write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    const int saved = errno;
    if (fd >= 0) ::close(fd);
    throw NetworkError(Failure::internal, "cannot set " + key + " = " + value + ": " + std::strerror(saved));
  }
  ::close(fd);
}

}  // namespace deckhand::network::nl
