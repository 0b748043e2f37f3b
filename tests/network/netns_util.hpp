// Network namespaces for the network tests and the network benchmark. Nothing
// here touches the namespace the process started in: every interface,
// address, route or socket is made on a thread that first left it (a fresh
// namespace from unshare(CLONE_NEWNET), or one joined by path with setns),
// and a thread that cannot leave it refuses to run anything.
//
//   - NetnsThread: a thread that lives in one network namespace and runs the
//     functions given to it there (a test's "host" namespace, where the
//     plugin is loaded and called; a client or server socket of a pod);
//   - pins: a namespace kept alive by a bind mount of its nsfs file on an
//     empty file (<netns_dir>/<pod_id>, as the agent pins a pod's), in the
//     process's own mount namespace; remove_pin unmounts and unlinks;
//   - small readers of the calling thread's namespace (links, addresses) and
//     `nsenter --net=PIN <command>` for ip(8) and ping(8).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "process.hpp"

namespace deckhand::test::net {

class NetnsThread {
 public:
  // A thread in a new, empty network namespace (its lo brought up when `lo_up`).
  static std::unique_ptr<NetnsThread> fresh(bool lo_up = true);
  // A thread that joined the namespace pinned (or /proc-linked) at `path`.
  static std::unique_ptr<NetnsThread> join(const std::string& path);
  ~NetnsThread();
  NetnsThread(const NetnsThread&) = delete;
  NetnsThread& operator=(const NetnsThread&) = delete;

  // Runs `fn` on the thread (inside its namespace) and returns its result;
  // an exception `fn` throws is rethrown here.
  template <typename F>
  auto run(F&& fn) -> std::invoke_result_t<F> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> result = task->get_future();
    post([task] { (*task)(); });
    return result.get();
  }
  // Runs `fn` on the thread without waiting (a server loop); the future is its end.
  template <typename F>
  std::future<std::invoke_result_t<F>> start(F&& fn) {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> result = task->get_future();
    post([task] { (*task)(); });
    return result;
  }

  // /proc/<pid>/task/<tid>/ns/net: valid while the thread lives.
  std::string proc_path() const;
  // The namespace's inode (to tell namespaces apart).
  unsigned long inode() const { return inode_; }

 private:
  static std::unique_ptr<NetnsThread> spawn(const std::function<void()>& enter);
  NetnsThread() = default;
  void post(std::function<void()> work);
  void loop();

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  int tid_ = 0;
  unsigned long inode_ = 0;
};

// The inode of the calling thread's network namespace, and of the one pinned at `path`.
unsigned long current_netns_inode();
unsigned long netns_inode(const std::string& path);

// Creates a new network namespace and pins it at `pin_path` (an empty file
// is made there). Throws if the file exists or anything fails.
void create_pinned_netns(const std::string& pin_path);
// Pins the namespace of `thread` at `pin_path`.
void pin_netns(const NetnsThread& thread, const std::string& pin_path);
// Unmounts (lazily) and unlinks a pin. A missing pin is fine.
void remove_pin(const std::string& pin_path);
// True when `path` is a mounted nsfs pin.
bool is_pinned(const std::string& path);

// In the calling thread's namespace: interface names, and the IPv4 addresses
// ("10.88.0.5/24") of one interface (every interface when `ifname` is empty).
std::vector<std::string> link_names();
std::vector<std::string> ipv4_addresses(const std::string& ifname = "");
// Sets an interface up (lo, mostly).
void set_link_up(const std::string& ifname);

// `nsenter --net=<ns_path> argv...`; the command never runs elsewhere
// (nsenter fails when it cannot enter).
CommandResult run_in(const std::string& ns_path, const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
// As run_in, throwing with the command's stderr unless it exits 0.
std::string must_run_in(const std::string& ns_path, const std::vector<std::string>& argv);
// `ping -c1 -W1 <address>` from the namespace: true when answered.
bool ping_from(const std::string& ns_path, const std::string& address);

// Joins two namespaces with a veth pair: `name_a` in `ns_a` with `addr_a`
// ("192.168.77.1/24"), `name_b` in `ns_b` with `addr_b`; both up.
void connect_veth(const std::string& ns_a, const std::string& name_a, const std::string& addr_a,
                  const std::string& ns_b, const std::string& name_b, const std::string& addr_b);

// Sockets (the caller's thread's namespace). Each returns what the peer saw.
struct Exchange {
  bool ok = false;
  std::string reply;       // what came back
  std::string local;       // the client's own address as it bound
  std::string error;       // why not, when !ok
};
// A TCP or UDP echo server on `port` (every address) that answers `count`
// exchanges with "<payload>|<peer address>" and returns the peer addresses.
// `ready` is set once it listens. Gives up after `timeout`.
// Stops early when `stop` becomes true.
std::vector<std::string> serve_echo(bool tcp, uint16_t port, int count, std::promise<void>* ready,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                    const std::atomic<bool>* stop = nullptr);
// One exchange with an echo server at address:port (up to `timeout`).
Exchange echo_client(bool tcp, const std::string& address, uint16_t port, const std::string& payload,
                     std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace deckhand::test::net
