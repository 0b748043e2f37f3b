// Runtime benchmark: the one-shot lifecycle of a container running `true`
// (create, start, wait, delete) on one busybox bundle made by `runc spec`:
//   1. `deckhand oci run` vs `runc run`, alternating, as whole commands;
//   2. the same lifecycle through the runtime plugin's API in this process
//      (what the agent pays: no process start for the runtime itself).
// Usage: deckhand-bench-runtime --deckhand PREFIX/bin/deckhand [--runs N]
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "metrics/metrics.hpp"
#include "plugins/loader.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

int run_quiet(const std::vector<std::string>& words) {
  std::vector<char*> argv;
  for (const auto& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void print_row(const char* name, const std::vector<double>& samples) {
  const auto s = bench::summarize(samples);
  std::printf("  %-34s %8.2f %8.2f %8.2f %8.2f %8.2f   n=%zu\n", name, s.median, s.p90, s.p99, s.min, s.max,
              samples.size());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

double status_kib(int pid, const char* key) {
  std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(key, 0) == 0) return std::atof(line.c_str() + std::strlen(key));
  }
  return 0;
}

double pss_kib(int pid) {
  std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/smaps_rollup"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("Pss:", 0) == 0) return std::atof(line.c_str() + 4);
  }
  return 0;
}

double own_rss_mib() { return status_kib(static_cast<int>(getpid()), "VmRSS:") / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  std::string deckhand;
  int runs = 50;
  int long_running = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--deckhand" && i + 1 < argc) deckhand = argv[++i];
    else if (arg == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--quick") runs = 5, long_running = 10;
    else if (arg == "--long" && i + 1 < argc) long_running = std::max(0, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: deckhand-bench-runtime --deckhand PREFIX/bin/deckhand [--runs N] [--long N] [--quick]\n");
      return 2;
    }
  }
  if (deckhand.empty()) {
    std::fprintf(stderr, "--deckhand is required\n");
    return 2;
  }
  deckhand = std::filesystem::absolute(deckhand).lexically_normal().string();
  const std::filesystem::path prefix = std::filesystem::path(deckhand).parent_path().parent_path();
  char pattern[] = "/tmp/deckhand-bench-runtime.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string tmp = pattern;
  // Both runtimes keep their state (and the bundle) on a tmpfs, as /run is on
  // a systemd host: this VM's /run is on its disk, where every metadata write
  // (mkdir, rename, unlink) costs 0.15 ms or more. The tmpfs is mounted in a
  // private mount namespace, so it goes away with this process however it ends.
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", tmp.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
    std::fprintf(stderr, "cannot mount a tmpfs for the state roots: %s\n", std::strerror(errno));
    std::filesystem::remove_all(tmp);
    return 1;
  }
  const std::string bundle = tmp + "/bundle";
  const std::string script = std::string(DECKHAND_SOURCE_DIR) + "/tests/fixtures/make-busybox-bundle.sh";
  if (run_quiet({"bash", script, bundle, "true"}) != 0) {
    std::fprintf(stderr, "could not build the busybox bundle (needs busybox-static, runc, jq)\n");
    return 1;
  }
  const bool have_runc = run_quiet({"runc", "--version"}) == 0;
  std::vector<double> ours, theirs;
  int failures = 0;
  for (int i = 0; i < runs; ++i) {
    const std::string id = "bench" + std::to_string(i);
    auto start = Clock::now();
    if (run_quiet({deckhand, "oci", "--root", tmp + "/deckhand-root", "run", "--bundle", bundle, id}) != 0) ++failures;
    ours.push_back(bench::ms_since(start));
    if (have_runc) {
      start = Clock::now();
      if (run_quiet({"runc", "--root", tmp + "/runc-root", "run", "--bundle", bundle, id}) != 0) ++failures;
      theirs.push_back(bench::ms_since(start));
    }
  }

  // In process: the plugin API, as the agent calls it.
  std::vector<double> api, api_create, api_start, api_wait, api_delete, pod_api, monitor_rss, monitor_pss;
  double long_total_ms = 0, host_rss_growth = 0;
  std::size_t long_started = 0;
  {
    deckhand::Metrics metrics;
    deckhand::PluginLoader loader("/", tmp + "/state", "bench", metrics);
    deckhand::PluginConfig config;
    config.path = (prefix / "lib/deckhand/plugins/libdeckhand-runtime-native.so").string();
    // Pods' cgroups under a parent of the benchmark's own, removed at the end.
    const std::string pod_parent = "deckhand-bench-pods-" + std::to_string(::getpid());
    config.config_json =
        json({{"root", tmp + "/api-root"}, {"netns_dir", tmp + "/netns"}, {"cgroup_parent", pod_parent}}).dump();
    std::unique_ptr<deckhand::Plugin> plugin;
    try {
      plugin = loader.load(config);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cannot load the runtime plugin: %s\n", e.what());
      ::umount2(tmp.c_str(), MNT_DETACH);
      ::rmdir(tmp.c_str());
      return 1;
    }
    for (int i = 0; i < runs; ++i) {
      const std::string id = "api" + std::to_string(i);
      const auto start = Clock::now();
      bool ok = true;
      auto step = [&](const char* operation, json request, std::vector<double>& samples) {
        const auto began = Clock::now();
        ok = ok && plugin->call(operation, request.dump()).ok();
        samples.push_back(bench::ms_since(began));
      };
      step("create", {{"id", id}, {"bundle", bundle}}, api_create);
      step("start", {{"id", id}}, api_start);
      step("wait", {{"id", id}}, api_wait);
      step("remove", {{"id", id}}, api_delete);
      api.push_back(bench::ms_since(start));
      if (!ok) ++failures;
    }
    // The same lifecycle for a container of a pod: it joins the pod's pinned
    // network, IPC and UTS namespaces (made once, by create_sandbox) and lives
    // in the pod's cgroup, as every container the agent runs for a pod will.
    const auto sandbox = json::parse(
        plugin->call("create_sandbox", json({{"id", "bench-pod"}, {"qos_class", "Burstable"}}).dump()).output, nullptr,
        false);
    if (sandbox.is_object() && sandbox.contains("cgroups_path")) {
      const std::string pod_bundle = tmp + "/pod-bundle";
      std::filesystem::create_directory(pod_bundle);
      std::filesystem::create_symlink(bundle + "/rootfs", pod_bundle + "/rootfs");
      json pod_config = json::parse(read_text(bundle + "/config.json"));
      json namespaces = json::array({{{"type", "pid"}}, {{"type", "mount"}}});
      for (const auto& [type, path] : sandbox["namespaces"].items()) namespaces.push_back({{"type", type}, {"path", path}});
      pod_config["linux"]["namespaces"] = namespaces;
      pod_config.erase("hostname");
      for (int i = 0; i < runs; ++i) {
        const std::string id = "pod" + std::to_string(i);
        pod_config["linux"]["cgroupsPath"] = sandbox["cgroups_path"].get<std::string>() + "/" + id;
        std::ofstream(pod_bundle + "/config.json") << pod_config.dump();
        const auto start = Clock::now();
        const bool ok = plugin->call("create", json({{"id", id}, {"bundle", pod_bundle}}).dump()).ok() &&
                        plugin->call("start", json({{"id", id}}).dump()).ok() &&
                        plugin->call("wait", json({{"id", id}}).dump()).ok() &&
                        plugin->call("remove", json({{"id", id}}).dump()).ok();
        pod_api.push_back(bench::ms_since(start));
        if (!ok) ++failures;
      }
      plugin->call("remove_sandbox", json({{"id", "bench-pod"}}).dump());
    } else {
      ++failures;
    }
    for (const char* hierarchy : {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}) {
      const std::string dir = std::string("/sys/fs/cgroup/") + hierarchy + "/" + pod_parent;
      ::rmdir((dir + "/burstable").c_str());
      ::rmdir(dir.c_str());
    }
    // Long-running containers: start all, then what each monitor costs.
    if (long_running > 0) {
      const std::string sleeper = tmp + "/sleeper";
      run_quiet({"bash", script, sleeper, "sleep", "3600"});
      const double rss_before = own_rss_mib();
      const auto started = Clock::now();
      std::vector<std::string> ids;
      for (int i = 0; i < long_running; ++i) {
        const std::string id = "long" + std::to_string(i);
        const bool ok = plugin->call("create", json({{"id", id}, {"bundle", sleeper}}).dump()).ok() &&
                        plugin->call("start", json({{"id", id}}).dump()).ok();
        if (!ok) {
          ++failures;
          continue;
        }
        ids.push_back(id);
      }
      long_total_ms = bench::ms_since(started);
      for (const auto& id : ids) {
        const auto state = json::parse(plugin->call("state", json({{"id", id}}).dump()).output, nullptr, false);
        const std::string saved = tmp + "/api-root/" + id + "/state.json";
        const auto disk = json::parse(read_text(saved), nullptr, false);
        if (disk.is_object()) {
          const int monitor = disk.value("monitorPid", 0);
          monitor_rss.push_back(status_kib(monitor, "VmRSS:") / 1024.0);
          monitor_pss.push_back(pss_kib(monitor) / 1024.0);
        }
        (void)state;
      }
      host_rss_growth = own_rss_mib() - rss_before;
      for (const auto& id : ids) plugin->call("remove", json({{"id", id}, {"force", true}}).dump());
      long_started = ids.size();
    }
    plugin->destroy();
  }
  // The kernel's share of the same lifecycle, from the program beside this one.
  std::string floor_line;
  const std::string floor_program =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "deckhand-bench-floor").string();
  if (::access(floor_program.c_str(), X_OK) == 0) {
    const std::string command = floor_program + " " + bundle + " " + std::to_string(runs);
    if (FILE* out = ::popen(command.c_str(), "r")) {
      char line[512];
      while (std::fgets(line, sizeof line, out) != nullptr) floor_line += line;
      if (::pclose(out) != 0) ++failures;
    }
  }
  ::umount2(tmp.c_str(), MNT_DETACH);  // the tmpfs, and everything on it
  ::rmdir(tmp.c_str());

  std::printf("[bench] container lifecycle of `true` (create+start+wait+delete), busybox bundle from `runc spec`\n");
  std::printf("  (alternating runs on a noisy 2-core machine: compare medians)\n");
  std::printf("  %-34s %8s %8s %8s %8s %8s\n", "ms", "median", "p90", "p99", "min", "max");
  print_row("deckhand oci run", ours);
  if (have_runc) print_row("runc run", theirs);
  print_row("plugin API in-process", api);
  print_row("  of which create", api_create);
  print_row("  of which start", api_start);
  print_row("  of which wait", api_wait);
  print_row("  of which delete", api_delete);
  print_row("in a pod (joined namespaces)", pod_api);
  const double ours_median = bench::summarize(ours).median;
  if (have_runc) {
    const double ratio = ours_median / bench::summarize(theirs).median;
    std::printf("  deckhand/runc median ratio: %.2f (goal <= 0.35: %s)\n", ratio, ratio <= 0.35 ? "met" : "NOT met");
  } else {
    std::printf("  runc not installed: no side-by-side figure\n");
  }
  const double api_median = bench::summarize(api).median;
  std::printf("  plugin API median %.2f ms (goal < 3 ms: %s)\n", api_median, api_median < 3 ? "met" : "NOT met");
  if (long_started > 0) {
    std::printf("  %zu long-running containers (sleep 3600) through the plugin API: %.0f ms to start all (%.1f ms each)\n",
                long_started, long_total_ms, long_total_ms / static_cast<double>(long_started));
    const auto rss = bench::summarize(monitor_rss);
    const auto pss = bench::summarize(monitor_pss);
    std::printf("  monitor per container: RSS median %.2f MiB (max %.2f), PSS median %.2f MiB (goal RSS < 1 MiB: %s)\n",
                rss.median, rss.max, pss.median, rss.median < 1.0 ? "met" : "NOT met");
    std::printf("  host process (the agent's side) grew by %.2f MiB for them; containerd-shim-runc-v2 costs 13 MiB RSS each\n",
                host_rss_growth);
  }
  if (!floor_line.empty()) std::printf("%s", floor_line.c_str());
  std::printf("  failed runs: %d\n", failures);
  return failures == 0 ? 0 : 1;
}
