// Pod benchmark: the installed agent (`deckhand agent`) running networked
// pods (through the network-bridge plugin, not hostNetwork) of a busybox
// image already in the store, driven over its local API on the unix socket:
//   1. start latency: N pods applied one at a time, each measured alone from
//      the moment POST /v1/apply returns (the manifest is then in the
//      manifest directory) to the first GET of the pod, polled every ~2 ms
//      on one keep-alive connection, showing phase Running with its
//      container running; they keep running, so later pods start with many
//      on the bridge; then all are deleted. Next to it, the agent's own
//      parts: each plugin call on the pod's path and the agent's
//      deckhand_pod_start_duration_seconds, from /metrics deltas around
//      each pod (exact: one pod at a time, each call once);
//   2. churn: M pods created and deleted in a loop (apply, Running, delete,
//      gone), pods per second, and the agent's RSS, open fds, mounts, the
//      cgroup dirs under the benchmark's cgroup parent, the interfaces in the
//      namespace and the IPAM claims before (after a warm-up) and after: any
//      growth (RSS: more than 5 MiB) is a leak and the exit status is 1.
// The benchmark runs in a network (and a private mount) namespace it makes
// at the start of main (before any thread), so the bridge, veths and routes
// never touch the host's; the agent is its child there. Everything is removed at the end.
// Latency goals are printed, never enforced (noisy machines).
// Usage: deckhand-bench-pods --deckhand PREFIX/bin/deckhand [--quick] [--pods N] [--churn M]
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "http_client.hpp"
#include "http_probe.hpp"
#include "pod_bench_api.hpp"
#include "pod_bench_probe.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kUsage =
    "usage: deckhand-bench-pods --deckhand PREFIX/bin/deckhand [--quick] [--pods N] [--churn M] [--warmup W]\n"
    "                           [--image ARCHIVE] [--poll-ms MS] [--tmp DIR] [--log-level L]\n";
constexpr double kStartP99GoalMs = 100;
constexpr double kRssGrowthLimitMiB = 5;
constexpr double kSlowDeleteMs = 500;  // a churn delete slower than this gets its events printed
constexpr const char* kImage = "local/busybox:1";
// Operations the agent calls on its own schedule (health checks, the relist),
// not on a pod's start path: left out of the breakdown.
const std::set<std::string> kBackgroundOps = {"runtime-native/list", "runtime-native/list_sandboxes",
                                              "runtime-native/health", "storage-overlay/health",
                                              "network-bridge/health"};

struct Options {
  std::string deckhand;
  int pods = 100;     // start-latency pods, all running at the end
  int churn = 500;    // create+delete cycles measured
  int warmup = 20;    // cycles before the "before" reading
  double poll_ms = 2;
  std::string image;  // an OCI layout tar; empty: built with tests/fixtures/make-busybox-image.sh
  std::string tmp = "/tmp";
  std::string log_level = "warn";
  bool quick = false;
};

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

void check_interrupt() {
  if (bench::g_interrupted != 0) throw Interrupted();
}

void on_signal(int number) { bench::g_interrupted = number; }

// The benchmark's own network namespace: entered by the main thread before
// any other thread exists, so every thread and the agent (a child) live in it.
// It also gets a private mount namespace (nothing propagates in or out), so
// the agent's mount count is its pods' alone, not moved by whatever else
// mounts on the machine meanwhile, and a mount left behind dies with it.
void enter_private_namespaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    throw std::runtime_error(std::string("unshare(CLONE_NEWNET | CLONE_NEWNS): ") + std::strerror(errno));
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    throw std::runtime_error(std::string("making / private in the benchmark's mount namespace: ") + std::strerror(errno));
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  const bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &request) == 0 &&
                  (request.ifr_flags |= IFF_UP, ::ioctl(fd, SIOCSIFFLAGS, &request) == 0);
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!up) throw std::runtime_error(std::string("bringing lo up in the benchmark's namespace: ") + std::strerror(error));
}

std::string yaml_string(const std::string& text) { return json(text).dump(); }

std::string tail(const std::string& text, std::size_t bytes = 2000) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

class PodBench {
 public:
  explicit PodBench(Options options)
      : options_(std::move(options)), dir_("deckhand-bench-pods", options_.tmp) {
    cgroup_parent_ = "deckhand-bench-pods-" + std::to_string(::getpid());
  }
  ~PodBench() {
    try {
      cleanup();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[pods] clean-up: %s\n", e.what());
    }
    if (reported_) return;  // a run that stopped early: what clean-up found still shows
    for (const auto& l : leaks_) std::fprintf(stderr, "[pods] LEAK: %s\n", l.c_str());
    for (const auto& e : errors_) std::fprintf(stderr, "[pods] ERROR: %s\n", e.c_str());
  }

  int run() {
    const auto t0 = bench::Clock::now();
    setup();
    phase_start();
    phase_churn();
    cleanup();
    report(bench::ms_since(t0) / 1e3);
    return leaks_.empty() && errors_.empty() ? 0 : 1;
  }

 private:
  // --- setup -------------------------------------------------------------

  std::string plugin_dir() const {
    return fs::absolute(options_.deckhand).parent_path().parent_path().string() + "/lib/deckhand/plugins";
  }

  void setup() {
    std::string archive = options_.image;
    if (archive.empty()) {
      std::fprintf(stderr, "[pods] building the busybox image\n");
      const std::string layout = dir_ / "image";
      const auto built = deckhand::test::run_command(
          {"bash", std::string(DECKHAND_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh", layout, "busybox"}, "",
          120s);
      if (built.exit_code != 0) throw std::runtime_error("make-busybox-image.sh: " + built.err);
      archive = dir_ / "busybox.tar";
      const auto packed = deckhand::test::run_command({"tar", "-C", layout, "-cf", archive, "."});
      if (packed.exit_code != 0) throw std::runtime_error("tar: " + packed.err);
    }
    port_ = deckhand::test::free_port();
    socket_ = dir_ / "run/deckhand.sock";
    config_ = dir_ / "config.yaml";
    net_state_ = dir_ / "net-state";
    std::ostringstream config;
    config << "listen: 127.0.0.1:" << port_ << "\nsocket: " << socket_ << "\nstate_dir: " << (dir_ / "state")
           << "\nplugin_dir: " << plugin_dir() << "\nlog:\n  level: " << options_.log_level << "\nplugins:\n"
           << "  - path: libdeckhand-runtime-native.so\n    config:\n      root: " << (dir_ / "runtime")
           << "\n      netns_dir: " << (dir_ / "netns") << "\n      cgroup_parent: " << cgroup_parent_ << "\n"
           << "  - path: libdeckhand-storage-overlay.so\n    config:\n      root: " << (dir_ / "storage") << "\n"
           << "  - path: libdeckhand-network-bridge.so\n    config:\n      bridge: dhbench0\n"
           << "      pod_cidr: 10.88.0.0/22\n      masquerade: false\n      state_dir: " << net_state_
           << "\n      netns_dir: " << (dir_ / "netns") << "\n"
           << "pods:\n  manifest_dir: " << (dir_ / "pods") << "\n  log_dir: " << (dir_ / "pod-logs")
           << "\n  node_name: bench-node\n  node_ip: 127.0.0.1\n";
    deckhand::test::write_file(config_, config.str());
    const auto loaded = deckhand::test::run_command(
        {options_.deckhand, "image", "--config", config_, "load", "-i", archive, "--name", kImage}, "", 120s);
    if (loaded.exit_code != 0) throw std::runtime_error("deckhand image load: " + loaded.err + loaded.out);

    std::fprintf(stderr, "[pods] starting the agent\n");
    agent_ = std::make_unique<deckhand::test::ChildProcess>(
        std::vector<std::string>{options_.deckhand, "agent", "--config", config_}, dir_ / "agent.stdout",
        dir_ / "agent.stderr");
    api_ = std::make_unique<bench::UnixApiClient>(socket_, 10000);
    const auto deadline = bench::Clock::now() + 10s;
    bench::ApiResponse probe;
    while (!(api_->try_get("/api/v1/pods", probe) && probe.status == 200)) {
      check_interrupt();
      if (!agent_->running()) throw std::runtime_error("the agent exited at start:\n" + agent_log());
      if (bench::Clock::now() > deadline) throw std::runtime_error("the agent did not serve pods within 10 s:\n" + agent_log());
      bench::nap(10ms);
    }
  }

  std::string agent_log() const { return tail(deckhand::test::read_file(dir_ / "agent.stderr")); }

  // --- the API -----------------------------------------------------------

  static std::string pod_path(const std::string& name) { return "/api/v1/namespaces/default/pods/" + name; }

  // A networked pod whose PID 1 exits on SIGTERM at once: `wait` returns
  // when a trapped signal arrives, where a foreground `sleep 1` would hold
  // the trap for up to a second. It says "ready" once the trap is set (a
  // PID 1 ignores a SIGTERM that comes before: the grace period's SIGKILL
  // would end it instead, 2 s later).
  static std::string manifest(const std::string& name) {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
           "\n  labels: {app: deckhand-bench}\nspec:\n  terminationGracePeriodSeconds: 2\n  containers:\n"
           "  - name: main\n    image: " + kImage + "\n    command: [\"sh\", \"-c\", " +
           yaml_string("trap 'exit 0' TERM; echo ready; while true; do sleep 1 & wait $!; done") + "]\n";
  }

  // Waits (untimed) until the container's log, read from the agent's log
  // directory, holds its "ready": its SIGTERM trap is set, so a delete
  // measures the agent's termination, not the shell's start-up.
  void wait_trap_set(const std::string& name) {
    const std::string log = dir_ / ("pod-logs/default_" + name + "_" + last_uid_ + "/main/0.log");
    const auto deadline = bench::Clock::now() + 10s;
    std::error_code ec;
    while (!(fs::file_size(log, ec) > 0 && !ec)) {
      check_interrupt();
      if (bench::Clock::now() > deadline) {
        throw std::runtime_error("pod " + name + ": its container wrote nothing to " + log + " within 10 s");
      }
      bench::nap(1ms);
    }
  }

  void apply(const std::string& name) {
    const auto r = api_->request("POST", "/v1/apply?source=deckhand-bench-pods", manifest(name));
    if (r.status != 200) throw std::runtime_error("apply " + name + ": HTTP " + std::to_string(r.status) + ": " + r.body);
    const json result = json::parse(r.body, nullptr, false);
    if (result.is_discarded() || !result.value("errors", json::array()).empty()) {
      throw std::runtime_error("apply " + name + ": " + r.body);
    }
    live_.insert(name);
  }

  static bool running(const json& pod) {
    if (!pod.is_object() || !pod.contains("status")) return false;
    const json& status = pod["status"];
    if (status.value("phase", "") != "Running") return false;
    const json statuses = status.value("containerStatuses", json::array());
    if (statuses.empty()) return false;
    for (const json& c : statuses) {
      if (!c.contains("state") || !c["state"].contains("running")) return false;
    }
    return true;
  }

  // Polls the pod until it runs; returns when the answer saying so arrived.
  bench::Clock::time_point wait_running(const std::string& name) {
    const auto deadline = bench::Clock::now() + 60s;
    const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::milli>(options_.poll_ms));
    std::string last;
    for (;;) {
      const auto r = api_->request("GET", pod_path(name));
      const auto seen = bench::Clock::now();
      if (r.status == 200) {
        const json pod = json::parse(r.body, nullptr, false);
        if (running(pod)) {
          last_uid_ = pod["metadata"].value("uid", "");
          return seen;
        }
      }
      last = r.body;
      check_interrupt();
      if (seen > deadline) {
        throw std::runtime_error("pod " + name + " did not run within 60 s; last status: " + tail(last, 1500) +
                                 "\nagent log: " + agent_log());
      }
      bench::nap(interval);
    }
  }

  void remove(const std::string& name) {
    const auto r = api_->request("DELETE", pod_path(name));
    if (r.status != 200) throw std::runtime_error("delete " + name + ": HTTP " + std::to_string(r.status) + ": " + r.body);
  }

  // Polls until the API no longer knows the pod (its termination, clean-up
  // of containers, network and sandbox included, is over).
  bench::Clock::time_point wait_gone(const std::string& name) {
    const auto deadline = bench::Clock::now() + 60s;
    const auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::milli>(options_.poll_ms));
    for (;;) {
      const auto r = api_->request("GET", pod_path(name));
      const auto seen = bench::Clock::now();
      if (r.status == 404) {
        live_.erase(name);
        return seen;
      }
      check_interrupt();
      if (seen > deadline) throw std::runtime_error("pod " + name + " was not gone 60 s after its delete:\n" + agent_log());
      bench::nap(interval);
    }
  }

  // The reasons of the pod's events, in order (the agent keeps them an hour).
  std::string event_reasons(const std::string& name) {
    const auto r = api_->request("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D" + name);
    const json list = json::parse(r.body, nullptr, false);
    std::string out;
    if (list.is_discarded()) return "(no events: HTTP " + std::to_string(r.status) + ")";
    for (const json& e : list.value("items", json::array())) out += (out.empty() ? "" : ", ") + e.value("reason", "?");
    return out;
  }

  std::vector<std::string> listed_pods() {
    const auto r = api_->request("GET", "/api/v1/namespaces/default/pods");
    std::vector<std::string> names;
    const json list = json::parse(r.body, nullptr, false);
    if (list.is_discarded()) return names;
    for (const json& item : list.value("items", json::array())) names.push_back(item["metadata"].value("name", ""));
    return names;
  }

  std::map<std::string, bench::CallTotals> scrape() {
    bench::HttpClient client(static_cast<std::uint16_t>(port_), 5000);
    bench::HttpResponse r;
    std::string err;
    if (!client.get("/metrics", r, err, true) || r.status != 200) {
      throw std::runtime_error("GET /metrics: " + (err.empty() ? "HTTP " + std::to_string(r.status) : err));
    }
    return bench::parse_call_totals(r.body);
  }

  // --- phase 1: start latency ----------------------------------------------

  void phase_start() {
    std::fprintf(stderr, "[pods] start latency: %d pods, one at a time, all kept running\n", options_.pods);
    const auto phase_t0 = bench::Clock::now();
    for (int i = 0; i < options_.pods; ++i) {
      check_interrupt();
      char name[32];
      std::snprintf(name, sizeof name, "start-%03d", i);
      const auto before = scrape();
      const auto sent = bench::Clock::now();
      apply(name);
      const auto returned = bench::Clock::now();
      const auto ran = wait_running(name);
      start_ms_.push_back(bench::ms_between(returned, ran));
      start_sent_ms_.push_back(bench::ms_between(sent, ran));
      apply_ms_.push_back(bench::ms_between(sent, returned));
      // The agent observes the start as it records the status: usually in
      // this scrape already, else in one a moment later.
      auto after = scrape();
      const double starts_before = before.count("agent/pod_start") ? before.at("agent/pod_start").count : 0;
      for (int retry = 0; retry < 25 && after["agent/pod_start"].count <= starts_before; ++retry) {
        bench::nap(2ms);
        after = scrape();
      }
      double on_path = 0;
      for (const auto& [op, totals] : after) {
        const auto found = before.find(op);
        const double count = totals.count - (found == before.end() ? 0 : found->second.count);
        const double ms = (totals.sum_seconds - (found == before.end() ? 0 : found->second.sum_seconds)) * 1e3;
        if (count < 1 || kBackgroundOps.count(op)) continue;
        parts_[op].push_back(ms);
        if (count > 1) part_calls_[op] += static_cast<long>(count) - 1;
        if (op != "agent/pod_start") on_path += ms;
      }
      outside_plugins_ms_.push_back(bench::ms_between(sent, ran) - on_path);
      if ((i + 1) % 25 == 0) std::fprintf(stderr, "[pods] %d/%d running\n", i + 1, options_.pods);
    }
    start_phase_s_ = bench::ms_since(phase_t0) / 1e3;
    at_peak_ = bench::take_snapshot(agent_->pid(), cgroup_parent_, net_state_);
    std::fprintf(stderr, "[pods] deleting the %d pods\n", options_.pods);
    const auto t0 = bench::Clock::now();
    const std::set<std::string> started(live_);
    for (const std::string& name : started) remove(name);
    // Each by name (the pod GET), as in the churn: until the last one is gone.
    for (const std::string& name : started) wait_gone(name);
    delete_all_s_ = bench::ms_since(t0) / 1e3;
  }

  // --- phase 2: churn ------------------------------------------------------

  // One pod through its whole life; returns {apply returned -> Running, delete returned -> gone}.
  std::pair<double, double> cycle(const std::string& name) {
    apply(name);
    const auto returned = bench::Clock::now();
    const auto ran = wait_running(name);
    wait_trap_set(name);
    remove(name);
    const auto deleted = bench::Clock::now();
    const auto gone = wait_gone(name);
    const double gone_ms = bench::ms_between(deleted, gone);
    if (gone_ms > kSlowDeleteMs && slow_deletes_.size() < 5) slow_deletes_.push_back({name, gone_ms, event_reasons(name)});
    return {bench::ms_between(returned, ran), gone_ms};
  }

  bool counts_equal(const bench::NodeSnapshot& a, const bench::NodeSnapshot& b) const {
    for (const auto& [label, field] : bench::counted_fields()) {
      if (a.*field != b.*field) return false;
    }
    return true;
  }

  void phase_churn() {
    std::fprintf(stderr, "[pods] churn: %d warm-up cycles, then %d measured\n", options_.warmup, options_.churn);
    for (int i = 0; i < options_.warmup; ++i) {
      check_interrupt();
      cycle("warm-" + std::to_string(i));
    }
    // Whatever the agent finishes after a pod is gone from the API has had
    // time to finish for the "before" reading as for the "after" one.
    bench::nap(500ms);
    before_ = bench::take_snapshot(agent_->pid(), cgroup_parent_, net_state_);
    const auto t0 = bench::Clock::now();
    for (int i = 0; i < options_.churn; ++i) {
      check_interrupt();
      char name[32];
      std::snprintf(name, sizeof name, "churn-%04d", i);
      const auto [ran, gone] = cycle(name);
      churn_start_ms_.push_back(ran);
      churn_gone_ms_.push_back(gone);
      if ((i + 1) % 100 == 0) std::fprintf(stderr, "[pods] %d/%d cycles\n", i + 1, options_.churn);
    }
    churn_s_ = bench::ms_since(t0) / 1e3;
    bench::nap(500ms);
    // A count that differs is given 5 s more to come back before it is a leak.
    const auto settle_t0 = bench::Clock::now();
    after_ = bench::take_snapshot(agent_->pid(), cgroup_parent_, net_state_);
    for (const auto& [label, field] : bench::counted_fields()) {
      if (after_.*field != before_.*field) {
        lagging_ += std::string(lagging_.empty() ? "" : ", ") + label + " " + std::to_string(after_.*field) + " (not " +
                    std::to_string(before_.*field) + ")";
      }
    }
    while (!counts_equal(before_, after_) && bench::ms_since(settle_t0) < 5000) {
      bench::nap(100ms);
      after_ = bench::take_snapshot(agent_->pid(), cgroup_parent_, net_state_);
    }
    settle_ms_ = bench::ms_since(settle_t0);
    for (const auto& [label, field] : bench::counted_fields()) {
      if (after_.*field != before_.*field) {
        leaks_.push_back(std::string(label) + ": " + std::to_string(before_.*field) + " before, " +
                         std::to_string(after_.*field) + " after " + std::to_string(options_.churn) + " pods");
      }
    }
    if (after_.rss_mib - before_.rss_mib > kRssGrowthLimitMiB) {
      leaks_.push_back("agent RSS grew by " + bench::fmt_num(after_.rss_mib - before_.rss_mib, 1) + " MiB (limit " +
                       bench::fmt_num(kRssGrowthLimitMiB, 0) + " MiB) over " + std::to_string(options_.churn) + " pods");
    }
  }

  // --- clean-up ------------------------------------------------------------

  void cleanup() {
    if (cleaned_) return;
    cleaned_ = true;
    // An interrupt that stopped the run still gets its pods deleted and
    // waited for (a second one cuts that short).
    bench::g_interrupted = 0;
    if (agent_ && agent_->running() && api_) {
      try {
        std::set<std::string> names(live_);
        for (const std::string& name : listed_pods()) names.insert(name);
        for (const std::string& name : names) {
          if (api_->request("DELETE", pod_path(name)).status == 404) live_.erase(name);
        }
        for (const std::string& name : std::set<std::string>(live_)) wait_gone(name);
      } catch (const std::exception& e) {
        errors_.push_back(std::string("deleting the pods at clean-up: ") + e.what());
      }
    }
    api_.reset();
    if (agent_) {
      const int code = agent_->stop(10s);
      if (code != 0) errors_.push_back("the agent exited " + std::to_string(code) + " on SIGTERM");
      agent_.reset();
    }
    // Mounts of the benchmark's pods (rootfs overlays, namespace pins) that
    // outlived them: a leak; unmounted so the temp dir can go.
    std::vector<std::string> mounts;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
      std::istringstream fields(line);
      std::string id, parent, devno, root, point;
      fields >> id >> parent >> devno >> root >> point;
      if (point.rfind(dir_.path() + "/", 0) == 0) mounts.push_back(point);
    }
    std::sort(mounts.rbegin(), mounts.rend());
    for (const std::string& point : mounts) {
      leaks_.push_back("mount left after every pod was deleted and the agent stopped: " + point);
      ::umount2(point.c_str(), MNT_DETACH);
    }
    // The cgroup parent goes; a pod cgroup in it (with a process in it, a
    // container) is a leak.
    std::error_code ec;
    for (fs::directory_iterator h("/sys/fs/cgroup", ec), end; !ec && h != end; h.increment(ec)) {
      const fs::path parent = h->path() / cgroup_parent_;
      if (h->is_symlink() || !fs::is_directory(parent)) continue;
      std::vector<fs::path> dirs{parent};
      std::error_code walk;
      for (fs::recursive_directory_iterator it(parent, walk), stop; !walk && it != stop; it.increment(walk)) {
        if (it->is_directory()) dirs.push_back(it->path());
      }
      std::sort(dirs.rbegin(), dirs.rend());
      for (const fs::path& d : dirs) {
        if (d.filename().string().rfind("pod", 0) == 0) leaks_.push_back("pod cgroup left: " + d.string());
        if (::rmdir(d.c_str()) != 0 && errno != ENOENT) {
          leaks_.push_back("cannot remove " + d.string() + ": " + std::strerror(errno) + " (processes left in it?)");
        }
      }
    }
  }

  // --- the report ----------------------------------------------------------

  static void row(const std::string& name, const bench::Summary& s, int decimals = 1) {
    std::printf("  %-46s %8s %8s %8s %8s %8s   n=%zu\n", name.c_str(), bench::fmt_num(s.median, decimals).c_str(),
                bench::fmt_num(s.p90, decimals).c_str(), bench::fmt_num(s.p99, decimals).c_str(),
                bench::fmt_num(s.min, decimals).c_str(), bench::fmt_num(s.max, decimals).c_str(), s.n);
  }

  static void header() {
    std::printf("  %-46s %8s %8s %8s %8s %8s\n", "ms", "median", "p90", "p99", "min", "max");
  }

  void report(double total_s) {
    reported_ = true;
    const auto start = bench::summarize(start_ms_);
    const bool goal_met = start.n > 0 && start.p99 < kStartP99GoalMs;
    std::printf("[bench] pod start latency: %d networked pods (network-bridge, pod_cidr 10.88.0.0/22), busybox "
                "already in the store, one at a time, all kept running (%s mode)\n",
                options_.pods, options_.quick ? "quick" : "full");
    std::printf("  measured: POST /v1/apply returned (manifest in the manifest dir) -> the first GET of the pod\n"
                "  (local API, unix socket, keep-alive, polled every %.1f ms) showing phase Running and its container running\n",
                options_.poll_ms);
    header();
    row("apply returned -> Running", start);
    row("apply sent -> Running", bench::summarize(start_sent_ms_));
    row("the apply call itself", bench::summarize(apply_ms_), 2);
    std::printf("  p50 %.1f ms, p99 %.1f ms; goal p99 < %.0f ms: %s (printed, not enforced)\n", start.median, start.p99,
                kStartP99GoalMs, goal_met ? "met" : "NOT met");
    std::printf("  no reference side by side: nothing on Debian runs Kubernetes pods (no kubelet); the agent's own\n"
                "  parts instead, per pod from /metrics deltas (one pod at a time, each call once: exact durations):\n");
    header();
    for (const auto& [op, values] : parts_) {
      std::string label = op == "agent/pod_start" ? "agent: accepted -> containers running" : "plugin " + op;
      if (part_calls_.count(op)) label += " (+" + std::to_string(part_calls_.at(op)) + " extra calls)";
      row(label, bench::summarize(values), 2);
    }
    row("outside plugin calls (sent -> Running - calls)", bench::summarize(outside_plugins_ms_), 2);
    // Does a pod start slower with more pods on the bridge? Medians by quarter of the run.
    auto quarters = [&](const char* label, const std::vector<double>& v) {
      if (v.size() < 8) return;
      std::printf("  %s, median by quarter of the pods (1st .. 4th):", label);
      for (std::size_t q = 0; q < 4; ++q) {
        const auto first = v.begin() + static_cast<long>(v.size() * q / 4);
        const auto last = v.begin() + static_cast<long>(v.size() * (q + 1) / 4);
        std::printf(" %s", bench::fmt_num(bench::summarize(std::vector<double>(first, last)).median, 1).c_str());
      }
      std::printf(" ms\n");
    };
    quarters("apply returned -> Running", start_ms_);
    if (parts_.count("runtime-native/create")) quarters("plugin runtime-native/create", parts_.at("runtime-native/create"));
    if (parts_.count("network-bridge/attach")) quarters("plugin network-bridge/attach", parts_.at("network-bridge/attach"));
    std::printf("  with %d pods running: %ld interfaces in the namespace, %ld IPAM claims, agent RSS %.1f MiB, "
                "%ld fds, %ld threads, %ld mounts\n",
                options_.pods, at_peak_.interfaces, at_peak_.ipam_claims, at_peak_.rss_mib, at_peak_.fds,
                at_peak_.threads, at_peak_.mounts);
    std::printf("  starting them took %.1f s; deleting all %d at once until the last is gone (GET 404): %.2f s\n", start_phase_s_,
                options_.pods, delete_all_s_);

    const double rate = churn_s_ > 0 ? options_.churn / churn_s_ : bench::kNaN;
    std::printf("[bench] pod churn: %d pods created and deleted one after another (apply, Running, delete, gone), "
                "after %d warm-up pods\n",
                options_.churn, options_.warmup);
    std::printf("  %.2f pods per second (%.1f s)\n", rate, churn_s_);
    header();
    row("apply returned -> Running", bench::summarize(churn_start_ms_));
    row("delete returned -> gone (GET 404)", bench::summarize(churn_gone_ms_));
    for (const auto& slow : slow_deletes_) {
      std::printf("  slow delete (> %.0f ms, first 5): %s gone %.0f ms after its delete; its events: %s\n", kSlowDeleteMs,
                  slow.name.c_str(), slow.ms, slow.events.c_str());
    }
    std::printf("  %-22s %10s %10s %10s\n", "", "before", "after", "change");
    std::printf("  %-22s %10.1f %10.1f %+10.1f MiB%s\n", "agent RSS", before_.rss_mib, after_.rss_mib,
                after_.rss_mib - before_.rss_mib, after_.rss_mib - before_.rss_mib > kRssGrowthLimitMiB ? "  LEAK (> 5 MiB)" : "");
    std::printf("  %-22s %10ld %10ld %+10ld\n", "agent threads", before_.threads, after_.threads,
                after_.threads - before_.threads);
    for (const auto& [label, field] : bench::counted_fields()) {
      const long b = before_.*field, a = after_.*field;
      std::printf("  %-22s %10ld %10ld %+10ld%s\n", label, b, a, a - b, a != b ? "  LEAK" : "");
    }
    std::printf("  (read 0.5 s after the last warm-up / measured pod was gone%s%s; settled %.0f ms later)\n",
                lagging_.empty() ? "" : "; the first after-reading had ", lagging_.c_str(), settle_ms_);
    if (leaks_.empty()) {
      std::printf("  no leak\n");
    } else {
      for (const auto& l : leaks_) std::printf("  LEAK: %s\n", l.c_str());
    }
    for (const auto& e : errors_) std::printf("  ERROR: %s\n", e.c_str());
    std::printf("  the whole benchmark took %.0f s\n", total_s);

    bench::Json out;
    auto summary = [&](const char* key, const bench::Summary& s) {
      out.key(key).begin_object().key("median").num(s.median).key("p90").num(s.p90).key("p99").num(s.p99);
      out.key("min").num(s.min).key("max").num(s.max).key("n").integer(static_cast<long long>(s.n)).end_object();
    };
    auto snapshot = [&](const char* key, const bench::NodeSnapshot& s) {
      out.key(key).begin_object().key("rss_mib").num(s.rss_mib, 2).key("threads").integer(s.threads);
      out.key("fds").integer(s.fds).key("mounts").integer(s.mounts).key("cgroup_dirs").integer(s.cgroup_dirs);
      out.key("interfaces").integer(s.interfaces).key("ipam_claims").integer(s.ipam_claims);
      out.key("net_records").integer(s.net_records).end_object();
    };
    out.begin_object().key("bench").str("pods").key("mode").str(options_.quick ? "quick" : "full");
    out.key("start").begin_object().key("pods").integer(options_.pods);
    summary("apply_returned_to_running_ms", start);
    summary("apply_sent_to_running_ms", bench::summarize(start_sent_ms_));
    summary("apply_call_ms", bench::summarize(apply_ms_));
    out.key("goal_p99_ms").num(kStartP99GoalMs).key("goal_met").boolean(goal_met);
    out.key("parts_ms").begin_object();
    for (const auto& [op, values] : parts_) summary(op.c_str(), bench::summarize(values));
    out.end_object();
    summary("outside_plugin_calls_ms", bench::summarize(outside_plugins_ms_));
    snapshot("at_peak", at_peak_);
    out.key("delete_all_s").num(delete_all_s_).end_object();
    out.key("churn").begin_object().key("pods").integer(options_.churn).key("warmup").integer(options_.warmup);
    out.key("pods_per_second").num(rate).key("seconds").num(churn_s_);
    summary("apply_returned_to_running_ms", bench::summarize(churn_start_ms_));
    summary("delete_returned_to_gone_ms", bench::summarize(churn_gone_ms_));
    snapshot("before", before_);
    snapshot("after", after_);
    out.end_object();
    out.key("leaks").begin_array();
    for (const auto& l : leaks_) out.str(l);
    out.end_array().key("errors").begin_array();
    for (const auto& e : errors_) out.str(e);
    out.end_array().key("ok").boolean(leaks_.empty() && errors_.empty()).end_object();
    std::printf("BENCH_JSON %s\n", out.text().c_str());
  }

  Options options_;
  deckhand::test::TempDir dir_;
  std::string cgroup_parent_;
  int port_ = 0;
  std::string socket_, config_, net_state_;
  std::unique_ptr<deckhand::test::ChildProcess> agent_;
  std::unique_ptr<bench::UnixApiClient> api_;
  std::set<std::string> live_;  // applied and not yet seen gone
  std::vector<double> start_ms_, start_sent_ms_, apply_ms_, outside_plugins_ms_;
  std::map<std::string, std::vector<double>> parts_;
  std::map<std::string, long> part_calls_;
  bench::NodeSnapshot at_peak_, before_, after_;
  double start_phase_s_ = 0, delete_all_s_ = 0, churn_s_ = 0, settle_ms_ = 0;
  std::vector<double> churn_start_ms_, churn_gone_ms_;
  std::vector<std::string> leaks_, errors_;
  std::string lagging_;  // counts not yet back at the first after-reading
  std::string last_uid_;  // of the pod wait_running saw running
  struct SlowDelete {
    std::string name;
    double ms;
    std::string events;
  };
  std::vector<SlowDelete> slow_deletes_;
  bool cleaned_ = false;
  bool reported_ = false;
};

int positive(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || value < 1) {
    std::fprintf(stderr, "%s must be a positive number, not \"%s\"\n%s", flag.c_str(), text.c_str(), kUsage);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::optional<int> pods, churn, warmup;
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
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--pods") {
      pods = positive(arg, value());
    } else if (arg == "--churn") {
      churn = positive(arg, value());
    } else if (arg == "--warmup") {
      warmup = positive(arg, value());
    } else if (arg == "--poll-ms") {
      options.poll_ms = std::atof(value().c_str());
      if (!(options.poll_ms > 0)) {
        std::fprintf(stderr, "--poll-ms must be a positive number of milliseconds\n%s", kUsage);
        return 2;
      }
    } else if (arg == "--image") {
      options.image = value();
    } else if (arg == "--tmp") {
      options.tmp = value();
    } else if (arg == "--log-level") {
      options.log_level = value();
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }
  // --quick: a local run's size; explicit counts win.
  options.pods = pods.value_or(options.quick ? 20 : 100);
  options.churn = churn.value_or(options.quick ? 50 : 500);
  options.warmup = warmup.value_or(options.quick ? 10 : 20);
  if (options.pods > 1000) {
    std::fprintf(stderr, "--pods must be at most 1000 (the pod range 10.88.0.0/22 holds 1021 pods)\n");
    return 2;
  }
  if (options.deckhand.empty()) {
    std::fprintf(stderr, "--deckhand is required\n%s", kUsage);
    return 2;
  }
  if (::access(options.deckhand.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "--deckhand %s: not an executable file\n", options.deckhand.c_str());
    return 2;
  }
  if (::geteuid() != 0) {
    std::fprintf(stderr, "deckhand-bench-pods needs root (network namespaces, cgroups, mounts)\n");
    return 2;
  }
  try {
    enter_private_namespaces();  // first: no thread exists yet
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deckhand-bench-pods: %s\n", e.what());
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGPIPE, SIG_IGN);  // a closed output pipe must not skip the clean-up
  try {
    PodBench bench(options);
    return bench.run();
  } catch (const Interrupted&) {
    std::fprintf(stderr, "interrupted; cleaned up\n");
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deckhand-bench-pods: %s\n", e.what());
    return 1;
  }
}
