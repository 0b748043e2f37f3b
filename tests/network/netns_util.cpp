#include "netns_util.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace deckhand::test::net {
namespace {

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string address_text(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
  return text;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

// --- NetnsThread -----------------------------------------------------------

// The thread runs `enter` first; if it throws, the thread ends without
// running anything (never outside a namespace of its own) and spawn throws.
std::unique_ptr<NetnsThread> NetnsThread::spawn(const std::function<void()>& enter) {
  std::unique_ptr<NetnsThread> t(new NetnsThread());
  std::promise<void> entered;
  auto done = entered.get_future();
  t->thread_ = std::thread([self = t.get(), &entered, &enter] {
    try {
      enter();
      self->inode_ = current_netns_inode();
      self->tid_ = static_cast<int>(::syscall(SYS_gettid));
    } catch (...) {
      entered.set_exception(std::current_exception());
      return;
    }
    entered.set_value();
    self->loop();
  });
  try {
    done.get();
  } catch (...) {
    t->thread_.join();
    t->stopping_ = true;
    throw;
  }
  return t;
}

std::unique_ptr<NetnsThread> NetnsThread::fresh(bool lo_up) {
  const unsigned long origin = current_netns_inode();
  return spawn([lo_up, origin] {
    if (::unshare(CLONE_NEWNET) != 0) throw sys_error("unshare(CLONE_NEWNET)");
    if (current_netns_inode() == origin) throw std::runtime_error("still in the original network namespace");
    if (lo_up) set_link_up("lo");
  });
}

std::unique_ptr<NetnsThread> NetnsThread::join(const std::string& path) {
  return spawn([&path] {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw sys_error("open " + path);
    if (::setns(fd.get(), CLONE_NEWNET) != 0) throw sys_error("setns " + path);
    if (current_netns_inode() != netns_inode(path)) throw std::runtime_error("setns did not enter " + path);
  });
}

NetnsThread::~NetnsThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NetnsThread::post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) throw std::runtime_error("the namespace thread has stopped");
    queue_.push_back(std::move(work));
  }
  wake_.notify_all();
}

void NetnsThread::loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

std::string NetnsThread::proc_path() const {
  return "/proc/" + std::to_string(::getpid()) + "/task/" + std::to_string(tid_) + "/ns/net";
}

// --- pins --------------------------------------------------------------------

unsigned long current_netns_inode() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) throw sys_error("stat /proc/thread-self/ns/net");
  return st.st_ino;
}

unsigned long netns_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw sys_error("stat " + path);
  return st.st_ino;
}

namespace {

void bind_pin(const std::string& source, const std::string& pin_path) {
  Fd file(::open(pin_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (file.get() < 0) throw sys_error("create " + pin_path);
  if (::mount(source.c_str(), pin_path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    const int saved = errno;
    ::unlink(pin_path.c_str());
    errno = saved;
    throw sys_error("bind-mount " + source + " on " + pin_path);
  }
}

}  // namespace

void create_pinned_netns(const std::string& pin_path) {
  std::exception_ptr failure;
  const unsigned long origin = current_netns_inode();
  std::thread worker([&] {
    try {
      if (::unshare(CLONE_NEWNET) != 0) throw sys_error("unshare(CLONE_NEWNET)");
      if (current_netns_inode() == origin) throw std::runtime_error("still in the original network namespace");
      bind_pin("/proc/thread-self/ns/net", pin_path);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

void pin_netns(const NetnsThread& thread, const std::string& pin_path) { bind_pin(thread.proc_path(), pin_path); }

void remove_pin(const std::string& pin_path) {
  if (::umount2(pin_path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    throw sys_error("umount " + pin_path);
  }
  if (::unlink(pin_path.c_str()) != 0 && errno != ENOENT) throw sys_error("unlink " + pin_path);
}

bool is_pinned(const std::string& path) {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    // ... <mount point> <options> ... - <fs type> ...
    const auto fields_end = line.find(" - ");
    if (fields_end == std::string::npos) continue;
    std::vector<std::string> fields;
    size_t start = 0;
    while (start < fields_end) {
      const size_t space = line.find(' ', start);
      const size_t end = std::min(space == std::string::npos ? fields_end : space, fields_end);
      fields.push_back(line.substr(start, end - start));
      start = end + 1;
    }
    if (fields.size() > 4 && fields[4] == path && line.find(" - nsfs ", fields_end) != std::string::npos) return true;
  }
  return false;
}

// --- the calling thread's namespace -------------------------------------------

std::vector<std::string> link_names() {
  std::vector<std::string> names;
  struct if_nameindex* list = ::if_nameindex();
  if (list == nullptr) throw sys_error("if_nameindex");
  for (auto* i = list; i->if_index != 0; ++i) names.emplace_back(i->if_name);
  ::if_freenameindex(list);
  return names;
}

std::vector<std::string> ipv4_addresses(const std::string& ifname) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) throw sys_error("getifaddrs");
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if (!ifname.empty() && ifname != a->ifa_name) continue;
    const auto* addr = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    const auto* mask = reinterpret_cast<const sockaddr_in*>(a->ifa_netmask);
    const int prefix = mask ? __builtin_popcount(mask->sin_addr.s_addr) : 32;
    out.push_back(address_text(*addr) + "/" + std::to_string(prefix));
  }
  ::freeifaddrs(list);
  return out;
}

void set_link_up(const std::string& ifname) {
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw sys_error("socket");
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &req) != 0) throw sys_error("SIOCGIFFLAGS " + ifname);
  req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &req) != 0) throw sys_error("SIOCSIFFLAGS " + ifname);
}

// --- commands -------------------------------------------------------------------

CommandResult run_in(const std::string& ns_path, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout) {
  if (ns_path.empty()) throw std::runtime_error("run_in: no namespace given");
  std::vector<std::string> full{"nsenter", "--net=" + ns_path, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, "", timeout);
}

std::string must_run_in(const std::string& ns_path, const std::vector<std::string>& argv) {
  const CommandResult r = run_in(ns_path, argv);
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    throw std::runtime_error("`" + line + "` in " + ns_path + " exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  return r.out;
}

bool ping_from(const std::string& ns_path, const std::string& address) {
  return run_in(ns_path, {"ping", "-n", "-q", "-c1", "-W1", address}, std::chrono::seconds(10)).exit_code == 0;
}

void connect_veth(const std::string& ns_a, const std::string& name_a, const std::string& addr_a,
                  const std::string& ns_b, const std::string& name_b, const std::string& addr_b) {
  // Made in ns_a, the peer moved to ns_b by its pin path (ip link ... netns PATH).
  must_run_in(ns_a, {"ip", "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", ns_b});
  must_run_in(ns_a, {"ip", "addr", "add", addr_a, "dev", name_a});
  must_run_in(ns_a, {"ip", "link", "set", name_a, "up"});
  must_run_in(ns_b, {"ip", "addr", "add", addr_b, "dev", name_b});
  must_run_in(ns_b, {"ip", "link", "set", name_b, "up"});
}

// --- sockets --------------------------------------------------------------------

std::vector<std::string> serve_echo(bool tcp, uint16_t port, int count, std::promise<void>* ready,
                                    std::chrono::milliseconds timeout, const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Fd sock(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw sys_error("socket");
  const int one = 1;
  ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw sys_error("bind");
  if (tcp && ::listen(sock.get(), 16) != 0) throw sys_error("listen");
  if (ready) ready->set_value();
  std::vector<std::string> peers;
  while (static_cast<int>(peers.size()) < count) {
    if (stop != nullptr && stop->load()) break;
    pollfd p{sock.get(), POLLIN, 0};
    const int wait = remaining_ms(deadline);
    if (wait == 0) break;
    const int polled = ::poll(&p, 1, std::min(wait, 50));
    if (polled < 0) break;
    if (polled == 0) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    char buf[512];
    if (tcp) {
      Fd conn(::accept4(sock.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (conn.get() < 0) continue;
      pollfd c{conn.get(), POLLIN, 0};
      if (::poll(&c, 1, std::max(remaining_ms(deadline), 1)) <= 0) continue;
      const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n <= 0) continue;
      const std::string reply = std::string(buf, static_cast<size_t>(n)) + "|" + address_text(peer);
      (void)!::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    } else {
      const ssize_t n = ::recvfrom(sock.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &len);
      if (n <= 0) continue;
      const std::string payload(buf, static_cast<size_t>(n));
      const std::string reply = payload + "|" + address_text(peer);
      ::sendto(sock.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
      // A client that retried sends the same payload again: count each payload once.
      bool seen = false;
      for (const auto& p2 : peers) seen = seen || p2 == payload + "|" + address_text(peer);
      if (seen) continue;
      peers.push_back(payload + "|" + address_text(peer));
      continue;
    }
    peers.push_back(address_text(peer));
  }
  if (!tcp) {
    for (auto& p : peers) p = p.substr(p.find('|') + 1);
  }
  return peers;
}

Exchange echo_client(bool tcp, const std::string& address, uint16_t port, const std::string& payload,
                     std::chrono::milliseconds timeout) {
  Exchange ex;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &to.sin_addr) != 1) {
    ex.error = "not an IPv4 address: " + address;
    return ex;
  }
  Fd sock(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock.get() < 0) throw sys_error("socket");
  auto local_of = [&] {
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&me), &len);
    return address_text(me);
  };
  char buf[512];
  if (tcp) {
    if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
      ex.error = std::string("connect: ") + std::strerror(errno);
      return ex;
    }
    pollfd p{sock.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      ex.error = "connect: timed out";
      return ex;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      ex.error = std::string("connect: ") + std::strerror(err);
      return ex;
    }
    ex.local = local_of();
    if (::send(sock.get(), payload.data(), payload.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(payload.size())) {
      ex.error = std::string("send: ") + std::strerror(errno);
      return ex;
    }
    std::string got;
    while (remaining_ms(deadline) > 0) {
      pollfd r{sock.get(), POLLIN, 0};
      if (::poll(&r, 1, remaining_ms(deadline)) <= 0) break;
      const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ex.reply = got;
    ex.ok = !got.empty();
    if (!ex.ok) ex.error = "no reply";
    return ex;
  }
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ex.error = std::string("connect: ") + std::strerror(errno);
    return ex;
  }
  ex.local = local_of();
  // UDP: send again every 200 ms until an answer or the deadline.
  while (remaining_ms(deadline) > 0) {
    (void)!::send(sock.get(), payload.data(), payload.size(), 0);
    pollfd r{sock.get(), POLLIN, 0};
    if (::poll(&r, 1, std::min(200, std::max(remaining_ms(deadline), 1))) > 0) {
      const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
      if (n > 0) {
        ex.reply.assign(buf, static_cast<size_t>(n));
        ex.ok = true;
        return ex;
      }
    }
  }
  ex.error = "no reply";
  return ex;
}

}  // namespace deckhand::test::net
