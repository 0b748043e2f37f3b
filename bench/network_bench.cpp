// Network benchmark: a pod's network attach and detach,
//   1. through deckhand's network-bridge plugin called in this process, as
//      the agent calls it (SDK attach/detach), and through Debian's CNI
//      bridge plugin with host-local IPAM (/usr/lib/cni/bridge, CNI_COMMAND
//      ADD/DEL, executed as a runtime executes it), alternating, on the same
//      kind of pod network namespace (a fresh pinned one per pod);
//   2. deckhand's attach latency with 1, 100 and 1,000 pods already on the
//      bridge, next to the kernel's floor at the same level (a bare veth pair
//      enslaved to the bridge, made and deleted over netlink), which tells
//      the plugin's own growth from the kernel bridge's.
// Everything runs inside a network namespace the benchmark creates (its
// "host"), with pods in namespaces it creates and pins under a temp dir;
// nothing is routed out of the machine, and all of it is removed at the end.
// Usage: deckhand-bench-network --deckhand PREFIX/bin/deckhand [--runs N]
//                               [--scale 1,100,1000] [--scale-samples K]
#include <deckhand/plugin.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "cli/local_plugin.hpp"
#include "netns_util.hpp"
#include "veth_floor.hpp"

namespace {

namespace fs = std::filesystem;
namespace net = deckhand::test::net;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: deckhand-bench-network --deckhand PREFIX/bin/deckhand [--runs N] [--scale 1,100,1000]\n"
    "                              [--scale-samples K] [--cni-dir /usr/lib/cni] [--tmp DIR]\n"
    "                              [--no-host-ipv6]\n";
constexpr double kAttachRatioGoal = 0.25;

struct Options {
  std::string deckhand;
  std::string cni_dir = "/usr/lib/cni";
  int runs = 200;                            // alternating attach+detach of each
  std::vector<int> scale = {1, 100, 1000};   // pods on the bridge for the latency sweep
  int scale_samples = 50;                    // attach+detach of one more pod at each level
  // Where the work dir (state, IPAM files of both, pins) goes: a tmpfs, as
  // /run is on a systemd host (the plugin's default state_dir is on /run).
  std::string tmp = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  bool host_ipv6 = true;                     // --no-host-ipv6: IPv6 off on the bench's host namespace's links
};

// The benchmark's work directory under --tmp, removed at the end.
class WorkDir {
 public:
  explicit WorkDir(const std::string& base) {
    std::string pattern = base + "/deckhand-bench-net-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp under " + base + " failed");
    path_ = pattern;
  }
  ~WorkDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

void check_interrupt() {
  if (bench::g_interrupted != 0) throw Interrupted();
}

void on_signal(int number) { bench::g_interrupted = number; }

extern "C" char** environ;

struct Spawned {
  int exit_code = -1;
  std::string out, err;
};

// Runs `path` with `env` (and nothing else in its environment), `input` on
// stdin; the child starts in the calling thread's network namespace.
Spawned spawn(const std::string& path, const std::vector<std::string>& env, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> argv{const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    throw std::runtime_error("spawn " + path + ": " + std::strerror(rc));
  }
  (void)!write(in[1], input.data(), input.size());  // a small config: fits the pipe
  close(in[1]);
  Spawned result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

class NetworkBench {
 public:
  explicit NetworkBench(Options options) : options_(std::move(options)), dir_(options_.tmp) {}
  ~NetworkBench() { cleanup(); }

  void run() {
    setup();
    compare();
    sweep();
    cleanup();
    report();
  }

 private:
  std::string plugin_path() const {
    return fs::absolute(options_.deckhand).parent_path().parent_path().string() +
           "/lib/deckhand/plugins/libdeckhand-network-bridge.so";
  }

  void setup() {
    for (const char* sub : {"netns", "state", "loader", "cni-data"}) fs::create_directories(dir_ / sub);
    host_ = net::NetnsThread::fresh(true);
    host_pin_ = dir_ / "host.ns";
    net::pin_netns(*host_, host_pin_);
    if (!options_.host_ipv6) {
      // /proc/sys/net/ resolves against the writing thread's namespace: the bench's host.
      host_->run([] {
        for (const char* key : {"/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6"}) {
          const int fd = ::open(key, O_WRONLY | O_CLOEXEC);
          if (fd < 0 || ::write(fd, "1", 1) != 1) throw std::runtime_error(std::string("cannot write ") + key);
          ::close(fd);
        }
      });
    }
    // A /21: room for the sweep's 1,000 pods (and the bridge's 1,024-port limit).
    config_ = json{{"bridge", "deckhand0"},     {"pod_cidr", "10.88.0.0/21"},     {"masquerade", false},
                   {"hairpin", true},           {"state_dir", dir_ / "state"},    {"netns_dir", dir_ / "netns"}};
    const auto started = bench::Clock::now();
    host_->run([&] {
      plugin_ = std::make_unique<deckhand::cli::LocalPlugin>(plugin_path(), DH_KIND_NETWORK, config_, dir_ / "loader");
    });
    load_ms_ = bench::ms_since(started);
    // The CNI side: its own bridge and range in the same host namespace.
    cni_config_ = json{{"cniVersion", "1.0.0"},
                       {"name", "bench"},
                       {"type", "bridge"},
                       {"bridge", "cni0"},
                       {"isGateway", true},
                       {"ipMasq", false},
                       {"hairpinMode", true},
                       {"ipam", {{"type", "host-local"},
                                 {"ranges", json::array({json::array({{{"subnet", "10.89.0.0/21"}}})})},
                                 {"dataDir", dir_ / "cni-data"}}}}
                      .dump();
  }

  std::string new_pod(const std::string& id) {
    const std::string pin = dir_ / ("netns/" + id);
    net::create_pinned_netns(pin);
    return pin;
  }
  void drop_pod(const std::string& pin) { net::remove_pin(pin); }

  double deckhand_call(const std::string& op, const std::string& id, const std::string& pin) {
    const json request{{"pod_id", id}, {"netns", pin}, {"ifname", "eth0"}};
    return host_->run([&] {
      const auto t0 = bench::Clock::now();
      plugin_->call(op, request);
      return bench::ms_since(t0);
    });
  }

  double cni_call(const std::string& command, const std::string& id, const std::string& pin) {
    const std::vector<std::string> env{"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + pin,
                                       "CNI_IFNAME=eth0",        "CNI_PATH=" + options_.cni_dir,
                                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    Spawned r;
    const double ms = host_->run([&] {
      const auto t0 = bench::Clock::now();
      r = spawn(options_.cni_dir + "/bridge", env, cni_config_);
      return bench::ms_since(t0);
    });
    if (r.exit_code != 0) throw std::runtime_error("CNI bridge " + command + " exited " + std::to_string(r.exit_code) +
                                                   ": " + r.out + r.err);
    if (command == "ADD" && cni_checked_.empty()) cni_checked_ = r.out;
    return ms;
  }

  void compare() {
    std::fprintf(stderr, "[network] warming up\n");
    for (int i = 0; i < 3; ++i) one_pair("warm-" + std::to_string(i), true, false);
    for (int i = 0; i < options_.runs; ++i) {
      check_interrupt();
      one_pair("pod-" + std::to_string(i), i % 2 == 0, true);
      if ((i + 1) % 50 == 0) std::fprintf(stderr, "[network] %d/%d pairs\n", i + 1, options_.runs);
    }
  }

  // One pod through each, in the given order.
  void one_pair(const std::string& id, bool deckhand_first, bool record) {
    for (int side = 0; side < 2; ++side) {
      const bool deckhand = (side == 0) == deckhand_first;
      const std::string pod = (deckhand ? "dh-" : "cni-") + id;
      const std::string pin = new_pod(pod);
      double attach = 0, detach = 0;
      if (deckhand) {
        attach = deckhand_call("attach", pod, pin);
        detach = deckhand_call("detach", pod, pin);
      } else {
        attach = cni_call("ADD", pod, pin);
        detach = cni_call("DEL", pod, pin);
      }
      drop_pod(pin);
      if (!record) continue;
      (deckhand ? dh_attach_ : cni_add_).push_back(attach);
      (deckhand ? dh_detach_ : cni_del_).push_back(detach);
    }
  }

  // The kernel floor of one attach and detach at the current pod count.
  std::pair<double, double> floor_pair(const std::string& pin) {
    const int fd = ::open(pin.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + pin + ": " + std::strerror(errno));
    try {
      const auto timing = host_->run([&] {
        const int bridge = deckhand::bench::link_index("deckhand0");
        auto t0 = bench::Clock::now();
        deckhand::bench::create_floor_veth("dhfloor", bridge, fd);
        const double made = bench::ms_since(t0);
        t0 = bench::Clock::now();
        deckhand::bench::delete_floor_veth("dhfloor");
        return std::make_pair(made, bench::ms_since(t0));
      });
      ::close(fd);
      return timing;
    } catch (...) {
      ::close(fd);
      throw;
    }
  }

  void sweep() {
    int existing = 0;
    for (int level : options_.scale) {
      std::fprintf(stderr, "[network] filling the bridge to %d pods\n", level);
      const auto t0 = bench::Clock::now();
      while (existing < level) {
        check_interrupt();
        const std::string id = "fill-" + std::to_string(existing);
        const std::string pin = new_pod(id);
        fill_.push_back({id, pin});
        deckhand_call("attach", id, pin);
        ++existing;
      }
      const double fill_ms = bench::ms_since(t0);
      std::vector<double> attach, detach, floor_attach, floor_detach;
      for (int i = 0; i < options_.scale_samples; ++i) {
        check_interrupt();
        const std::string id = "probe-" + std::to_string(level) + "-" + std::to_string(i);
        const std::string pin = new_pod(id);
        attach.push_back(deckhand_call("attach", id, pin));
        detach.push_back(deckhand_call("detach", id, pin));
        drop_pod(pin);
        const std::string floor_pin = new_pod("floor-" + id);
        const auto [made, deleted] = floor_pair(floor_pin);
        floor_attach.push_back(made);
        floor_detach.push_back(deleted);
        drop_pod(floor_pin);
      }
      sweep_.push_back({level, bench::summarize(attach), bench::summarize(detach), bench::summarize(floor_attach),
                        bench::summarize(floor_detach), fill_ms});
    }
    const auto t0 = bench::Clock::now();
    for (const auto& [id, pin] : fill_) deckhand_call("detach", id, pin);
    drain_ms_ = bench::ms_since(t0);
    drained_ = fill_.size();
    for (const auto& [id, pin] : fill_) drop_pod(pin);
    fill_.clear();
  }

  void cleanup() {
    if (cleaned_) return;
    cleaned_ = true;
    if (host_ && plugin_) {
      for (const auto& [id, pin] : fill_) {
        try {
          deckhand_call("detach", id, pin);
        } catch (const std::exception&) {
        }
      }
      host_->run([&] { plugin_.reset(); });
    }
    if (fs::exists(dir_ / "netns")) {
      for (const auto& entry : fs::directory_iterator(dir_ / "netns")) net::remove_pin(entry.path());
    }
    fill_.clear();
    if (host_) {
      leftover_links_ = host_->run([] { return net::link_names(); });
      net::run_in(host_pin_, {"ip", "link", "del", "deckhand0"});
      net::run_in(host_pin_, {"ip", "link", "del", "cni0"});
      host_.reset();
      net::remove_pin(host_pin_);
    }
  }

  static void line(const char* name, const bench::Summary& s) {
    std::printf("  %-44s %9s %9s %9s %9s   n=%zu\n", name, bench::fmt_num(s.median, 2).c_str(),
                bench::fmt_num(s.p90, 2).c_str(), bench::fmt_num(s.min, 2).c_str(), bench::fmt_num(s.max, 2).c_str(),
                s.n);
  }

  void report() {
    const auto dh_a = bench::summarize(dh_attach_), dh_d = bench::summarize(dh_detach_);
    const auto cni_a = bench::summarize(cni_add_), cni_d = bench::summarize(cni_del_);
    std::printf("[bench] pod network attach/detach, in a benchmark-made host namespace, a fresh pinned pod netns each\n");
    std::printf("  deckhand: network-bridge plugin, SDK attach/detach called in-process (plugin load %.1f ms, once)\n",
                load_ms_);
    std::printf("  CNI:      %s/bridge + host-local IPAM, CNI_COMMAND=ADD/DEL, executed per call (fork+exec, as a runtime does)\n",
                options_.cni_dir.c_str());
    std::printf("  both: bridge with the gateway address, hairpin on, no masquerade, no ports; %d pods each, alternating\n",
                options_.runs);
    if (!options_.host_ipv6) std::printf("  IPv6 disabled on the host namespace's links (--no-host-ipv6)\n");
    std::printf("  state (deckhand's IPAM files and pod records, host-local's dataDir) under %s\n", dir_.path().c_str());
    std::printf("  %-44s %9s %9s %9s %9s\n", "ms", "median", "p90", "min", "max");
    line("deckhand attach", dh_a);
    line("CNI bridge ADD", cni_a);
    line("deckhand detach", dh_d);
    line("CNI bridge DEL", cni_d);
    const double attach_ratio = dh_a.median / cni_a.median;
    const double detach_ratio = dh_d.median / cni_d.median;
    std::printf("  deckhand/CNI median ratio: attach %.3f (goal <= %.2f: %s), detach %.3f\n", attach_ratio,
                kAttachRatioGoal, attach_ratio <= kAttachRatioGoal ? "met" : "NOT met", detach_ratio);
    std::printf("[bench] deckhand attach (+detach) of one more pod with N pods already on the bridge\n");
    std::printf("  kernel floor: a bare veth pair enslaved to the bridge and up, made and deleted over netlink\n");
    std::printf("  %-8s %13s %11s %13s %13s %13s %13s %14s\n", "N", "attach median", "attach p90", "floor attach",
                "attach-floor", "detach median", "floor detach", "filling took s");
    for (const auto& level : sweep_) {
      std::printf("  %-8d %13s %11s %13s %13s %13s %13s %14s\n", level.pods,
                  bench::fmt_num(level.attach.median, 2).c_str(), bench::fmt_num(level.attach.p90, 2).c_str(),
                  bench::fmt_num(level.floor_attach.median, 2).c_str(),
                  bench::fmt_num(level.attach.median - level.floor_attach.median, 2).c_str(),
                  bench::fmt_num(level.detach.median, 2).c_str(), bench::fmt_num(level.floor_detach.median, 2).c_str(),
                  bench::fmt_num(level.fill_ms / 1e3, 1).c_str());
    }
    if (sweep_.size() >= 2) {
      const Level& first = sweep_.front();
      const Level& last = sweep_.back();
      std::printf("  attach median at %d pods / at %d pods: %.2f (kernel floor: %.2f); above the floor: %.2f ms -> "
                  "%.2f ms\n",
                  last.pods, first.pods, last.attach.median / first.attach.median,
                  last.floor_attach.median / first.floor_attach.median,
                  first.attach.median - first.floor_attach.median, last.attach.median - last.floor_attach.median);
    }
    std::printf("  detaching the %zu filler pods took %.1f s\n", drained_, drain_ms_ / 1e3);
    std::printf("  left in the host namespace at the end (before deleting it):");
    for (const auto& l : leftover_links_) std::printf(" %s", l.c_str());
    std::printf("\n");

    bench::Json out;
    out.begin_object().key("bench").str("network");
    auto summary = [&](const char* key, const bench::Summary& s) {
      out.key(key).begin_object().key("median_ms").num(s.median).key("p90_ms").num(s.p90).key("n").integer(
          static_cast<long long>(s.n)).end_object();
    };
    summary("deckhand_attach", dh_a);
    summary("cni_add", cni_a);
    summary("deckhand_detach", dh_d);
    summary("cni_del", cni_d);
    out.key("attach_ratio").num(attach_ratio).key("attach_ratio_goal").num(kAttachRatioGoal);
    out.key("sweep").begin_array();
    for (const auto& level : sweep_) {
      out.begin_object().key("pods").integer(level.pods).key("attach_median_ms").num(level.attach.median);
      out.key("attach_p90_ms").num(level.attach.p90).key("detach_median_ms").num(level.detach.median);
      out.key("floor_attach_median_ms").num(level.floor_attach.median);
      out.key("floor_detach_median_ms").num(level.floor_detach.median).end_object();
    }
    out.end_array().end_object();
    std::printf("BENCH_JSON %s\n", out.text().c_str());
  }

  struct Level {
    int pods;
    bench::Summary attach, detach, floor_attach, floor_detach;
    double fill_ms;
  };

  Options options_;
  WorkDir dir_;
  std::unique_ptr<net::NetnsThread> host_;
  std::string host_pin_;
  json config_;
  std::string cni_config_;
  std::string cni_checked_;
  std::unique_ptr<deckhand::cli::LocalPlugin> plugin_;
  double load_ms_ = 0;
  std::vector<double> dh_attach_, dh_detach_, cni_add_, cni_del_;
  std::vector<std::pair<std::string, std::string>> fill_;
  std::vector<Level> sweep_;
  double drain_ms_ = 0;
  std::size_t drained_ = 0;
  std::vector<std::string> leftover_links_;
  bool cleaned_ = false;
};

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    out.push_back(std::stoi(text.substr(start, comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n%s", arg.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--deckhand") {
      options.deckhand = value();
    } else if (arg == "--runs") {
      options.runs = std::stoi(value());
    } else if (arg == "--scale") {
      options.scale = parse_list(value());
    } else if (arg == "--scale-samples") {
      options.scale_samples = std::stoi(value());
    } else if (arg == "--no-host-ipv6") {
      options.host_ipv6 = false;
    } else if (arg == "--tmp") {
      options.tmp = value();
    } else if (arg == "--cni-dir") {
      options.cni_dir = value();
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  if (options.deckhand.empty()) {
    std::fprintf(stderr, "--deckhand is required\n%s", kUsage);
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "deckhand-bench-network needs root (network namespaces, bind mounts)\n");
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  try {
    NetworkBench bench(options);
    bench.run();
  } catch (const Interrupted&) {
    std::fprintf(stderr, "interrupted; cleaned up\n");
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deckhand-bench-network: %s\n", e.what());
    return 1;
  }
  return 0;
}
