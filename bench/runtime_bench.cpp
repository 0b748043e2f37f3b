// Runtime benchmark: the one-shot lifecycle of a container running `true`
// (create, start, wait, delete) on one busybox bundle made by `runc spec`:
//   1. `deckhand oci run` vs `runc run`, alternating, as whole commands;
//   2. the same lifecycle through the runtime plugin's API in this process
//      (what the agent pays: no process start for the runtime itself).
// Usage: deckhand-bench-runtime --deckhand PREFIX/bin/deckhand [--runs N]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
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

}  // namespace

int main(int argc, char** argv) {
  std::string deckhand;
  int runs = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--deckhand" && i + 1 < argc) deckhand = argv[++i];
    else if (arg == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--quick") runs = 5;
    else {
      std::fprintf(stderr, "usage: deckhand-bench-runtime --deckhand PREFIX/bin/deckhand [--runs N] [--quick]\n");
      return 2;
    }
  }
  if (deckhand.empty()) {
    std::fprintf(stderr, "--deckhand is required\n");
    return 2;
  }
  const std::filesystem::path prefix = std::filesystem::path(deckhand).parent_path().parent_path();
  char pattern[] = "/tmp/deckhand-bench-runtime.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string tmp = pattern;
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
  std::vector<double> api, api_create, api_start, api_wait, api_delete;
  {
    deckhand::Metrics metrics;
    deckhand::PluginLoader loader("/", tmp + "/state", "bench", metrics);
    deckhand::PluginConfig config;
    config.path = (prefix / "lib/deckhand/plugins/libdeckhand-runtime-native.so").string();
    config.config_json = json({{"root", tmp + "/api-root"}}).dump();
    auto plugin = loader.load(config);
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
    plugin->destroy();
  }
  std::filesystem::remove_all(tmp);

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
  const double ours_median = bench::summarize(ours).median;
  if (have_runc) {
    const double ratio = ours_median / bench::summarize(theirs).median;
    std::printf("  deckhand/runc median ratio: %.2f (goal <= 0.35: %s)\n", ratio, ratio <= 0.35 ? "met" : "NOT met");
  } else {
    std::printf("  runc not installed: no side-by-side figure\n");
  }
  const double api_median = bench::summarize(api).median;
  std::printf("  plugin API median %.2f ms (goal < 3 ms: %s)\n", api_median, api_median < 3 ? "met" : "NOT met");
  std::printf("  failed runs: %d\n", failures);
  return failures == 0 ? 0 : 1;
}
