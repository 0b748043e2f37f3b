// Storage benchmark: the image of busybox plus one big layer of incompressible
// files, served by Debian's docker-registry on 127.0.0.1:
//   1. pulled and unpacked by `deckhand image pull` and by containerd's
//      `ctr images pull` (overlayfs snapshotter), alternating, cold caches,
//      a fresh store (and a fresh containerd) for every run;
//   2. a container's root filesystem prepared and released through the
//      storage plugin's API in this process, as the agent does it, next to
//      containerd's `ctr snapshots prepare`/`rm` (whole commands).
// Usage: deckhand-bench-storage --deckhand PREFIX/bin/deckhand [--runs N] [--layer-mib M]
#include <deckhand/plugin.h>
#include <signal.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "cli/local_plugin.hpp"
#include "local_registry.hpp"
#include "oci_layout.hpp"
#include "storage_bench_util.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using storage_bench::Timed;

constexpr const char* kUsage =
    "usage: deckhand-bench-storage --deckhand PREFIX/bin/deckhand [--runs N] [--layer-mib M] [--prepare-runs N]\n"
    "                              [--ctr-prepare-runs N]\n";
constexpr double kPullRatioGoal = 0.7;
constexpr double kPrepareGoalMs = 2.0;

struct Options {
  std::string deckhand;
  int runs = 5;               // alternating pulls of each
  int layer_mib = 200;        // the big layer: this many files of 1 MiB
  int prepare_runs = 200;     // prepare_rootfs + release_rootfs through the plugin
  int ctr_prepare_runs = 50;  // `ctr snapshots prepare` + `rm` (whole commands)
};

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

void check_interrupt() {
  if (bench::g_interrupted != 0) throw Interrupted();
}

void on_signal(int number) { bench::g_interrupted = number; }

bool executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0;
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    if (::access((std::string(dir) + "/" + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// The line of `text` that starts with `prefix` (the last one), or "".
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::string found, line;
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto at = line.find(prefix);
    if (at != std::string::npos) found = line.substr(at);
  }
  return found;
}

// One containerd, on its own root, state dir and socket under `dir`,
// without the CRI plugin. Stopped by its PID when the object goes.
class Containerd {
 public:
  explicit Containerd(const std::string& dir) : dir_(dir), socket_(dir + "/containerd.sock") {
    fs::create_directories(dir + "/opt");
    storage_bench::write_text(dir + "/config.toml",
                              "version = 2\n"
                              "root = \"" + dir + "/root\"\n"
                              "state = \"" + dir + "/state\"\n"
                              "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                              "[grpc]\n"
                              "  address = \"" + socket_ + "\"\n"
                              "[plugins.\"io.containerd.internal.v1.opt\"]\n"
                              "  path = \"" + dir + "/opt\"\n");
    const auto start = bench::Clock::now();
    daemon_ = std::make_unique<storage_bench::Daemon>(
        std::vector<std::string>{"containerd", "--config", dir + "/config.toml"}, dir + "/containerd.log");
    const auto deadline = start + std::chrono::seconds(30);
    for (;;) {
      check_interrupt();
      if (!daemon_->running()) {
        throw std::runtime_error("containerd exited at start:\n" + storage_bench::tail(log()));
      }
      if (::access(socket_.c_str(), F_OK) == 0 && ctr({"version"}, dir + "/version.out").exit_code == 0) break;
      if (bench::Clock::now() > deadline) {
        throw std::runtime_error("containerd did not answer `ctr version` within 30 s:\n" + storage_bench::tail(log()));
      }
      bench::nap(std::chrono::milliseconds(10));
    }
    startup_ms_ = bench::ms_since(start);
  }
  ~Containerd() { stop(); }
  Containerd(const Containerd&) = delete;
  Containerd& operator=(const Containerd&) = delete;

  // `ctr --address SOCK -n bench ARGS...`, timed, output into `out_path`.
  Timed ctr(const std::vector<std::string>& args, const std::string& out_path) const {
    std::vector<std::string> argv{"ctr", "--address", socket_, "-n", "bench"};
    argv.insert(argv.end(), args.begin(), args.end());
    return storage_bench::run_timed(argv, out_path);
  }
  std::vector<std::string> snapshots(const std::vector<std::string>& args) const {
    std::vector<std::string> words{"snapshots", "--snapshotter", "overlayfs"};
    words.insert(words.end(), args.begin(), args.end());
    return words;
  }
  // Rows of `ctr snapshots ls`: {key, parent, kind}.
  std::vector<std::array<std::string, 3>> list_snapshots() const {
    const Timed listed = ctr(snapshots({"ls"}), dir_ + "/snapshots.out");
    if (listed.exit_code != 0) throw std::runtime_error("ctr snapshots ls failed: " + listed.err);
    std::vector<std::array<std::string, 3>> rows;
    std::istringstream lines(listed.out);
    std::string line;
    std::getline(lines, line);  // KEY PARENT KIND
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::vector<std::string> words;
      for (std::string word; fields >> word;) words.push_back(word);
      if (words.size() == 3) rows.push_back({words[0], words[1], words[2]});
      if (words.size() == 2) rows.push_back({words[0], "", words[1]});  // a base layer has no parent
    }
    return rows;
  }
  std::string snapshot_dir() const { return dir_ + "/root/io.containerd.snapshotter.v1.overlayfs/snapshots"; }
  std::string log() const { return storage_bench::read_text(dir_ + "/containerd.log"); }
  double startup_ms() const { return startup_ms_; }
  // Stops the daemon by its PID and unmounts whatever it left below its dir.
  // Returns how many mounts were left.
  std::size_t stop() {
    if (daemon_) daemon_->stop();
    daemon_.reset();
    return storage_bench::unmount_under(dir_);
  }

 private:
  std::string dir_;
  std::string socket_;
  std::unique_ptr<storage_bench::Daemon> daemon_;
  double startup_ms_ = 0;
};

struct PullRun {
  double deckhand_ms = bench::kNaN;
  double containerd_ms = bench::kNaN;
  double containerd_unpack_ms = bench::kNaN;  // ctr's own "done: ..." for the unpack
  double curl_ms = bench::kNaN;               // GET of the big blob to /dev/null
  bool deckhand_first = true;
};

void print_row(const char* name, const std::vector<double>& samples, int decimals = 1) {
  const auto s = bench::summarize(samples);
  std::printf("  %-50s %9s %9s %9s %9s   n=%zu\n", name, bench::fmt_num(s.median, decimals).c_str(),
              bench::fmt_num(s.p90, decimals).c_str(), bench::fmt_num(s.min, decimals).c_str(),
              bench::fmt_num(s.max, decimals).c_str(), samples.size());
}

void json_summary(bench::Json& out, const std::vector<double>& samples) {
  const auto s = bench::summarize(samples);
  out.begin_object();
  out.key("n").integer(static_cast<long long>(s.n));
  out.key("median").num(s.median);
  out.key("p90").num(s.p90);
  out.key("min").num(s.min);
  out.key("max").num(s.max);
  out.key("mean").num(s.mean);
  out.key("samples").begin_array();
  for (double v : samples) out.num(v);
  out.end_array();
  out.end_object();
}

class StorageBench {
 public:
  explicit StorageBench(Options options) : options_(std::move(options)) {
    options_.deckhand = fs::absolute(options_.deckhand).lexically_normal().string();
    const fs::path prefix = fs::path(options_.deckhand).parent_path().parent_path();
    plugin_dir_ = (prefix / "lib/deckhand/plugins").string();
    plugin_path_ = plugin_dir_ + "/libdeckhand-storage-overlay.so";
    char pattern[] = "/tmp/deckhand-bench-storage.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    tmp_ = pattern;
  }
  ~StorageBench() { cleanup(); }

  int run();

 private:
  void build_and_push();
  void pull_runs();
  double pull_deckhand(int run);
  void pull_containerd(int run, PullRun& row);
  double curl_blob(int run);
  void in_process();
  void ctr_snapshots();
  void cold() {
    sync_error_ = storage_bench::drop_caches();
    if (!sync_error_.empty()) caches_dropped_ = false;
  }
  void cleanup();
  void report();

  Options options_;
  std::string plugin_dir_, plugin_path_, tmp_;
  std::unique_ptr<deckhand::test::LocalRegistry> registry_;
  std::string reference_, big_digest_;
  uint64_t big_compressed_ = 0, big_uncompressed_ = 0, base_compressed_ = 0;
  double build_ms_ = bench::kNaN, push_ms_ = bench::kNaN;
  bool have_containerd_ = false, have_curl_ = false;
  bool caches_dropped_ = true;
  std::string sync_error_;
  std::vector<PullRun> pulls_;
  std::vector<double> containerd_startup_;
  std::string cli_status_;  // deckhand's "Status: Pulled ... (SIZE)" line
  uint64_t deckhand_unpacked_bytes_ = 0, containerd_unpacked_bytes_ = 0;
  // in process
  double plugin_load_ms_ = bench::kNaN, api_pull_ms_ = bench::kNaN, api_first_byte_ms_ = bench::kNaN,
         api_big_done_ms_ = bench::kNaN;
  uint64_t downloaded_bytes_ = 0;
  int layers_downloaded_ = 0;
  std::vector<double> prepare_, release_, batch_prepare_, batch_release_;
  // containerd's snapshots, whole ctr commands
  std::vector<double> ctr_prepare_, ctr_rm_, ctr_version_;
  std::size_t leftover_mounts_ = 0;
  std::vector<std::string> errors_;
  std::vector<std::string> notes_;
};

void StorageBench::build_and_push() {
  using namespace deckhand::test;
  std::fprintf(stderr, "[storage] building the image: busybox + %d x 1 MiB pseudo-random files, gzip\n",
               options_.layer_mib);
  const auto start = bench::Clock::now();
  const std::string layout_dir = tmp_ + "/layout";
  {
    OciLayout layout(layout_dir);
    const LayerBlob base = layout.add_layer(busybox_entries());
    std::vector<TarEntry> files{TarEntry::directory("data")};
    for (int i = 0; i < options_.layer_mib; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "data/blob-%03d", i);
      files.push_back(TarEntry::file(name, pseudo_random_bytes(1u << 20, static_cast<uint32_t>(i + 1))));
    }
    const LayerBlob big = layout.add_layer(files);
    files.clear();
    files.shrink_to_fit();
    layout.tag("1", layout.add_image({base, big}));
    big_digest_ = big.descriptor.digest;
    big_compressed_ = big.descriptor.size;
    base_compressed_ = base.descriptor.size;
    big_uncompressed_ = static_cast<uint64_t>(options_.layer_mib) << 20;
  }
  build_ms_ = bench::ms_since(start);
  check_interrupt();
  registry_ = std::make_unique<LocalRegistry>();
  reference_ = registry_->host() + "/big:1";
  const auto pushed = bench::Clock::now();
  skopeo_push(layout_dir, "1", reference_);
  push_ms_ = bench::ms_since(pushed);
  storage_bench::remove_tree(layout_dir);  // the registry has its own copy
  std::fprintf(stderr, "[storage] built in %.1f s, pushed to %s in %.1f s\n", build_ms_ / 1e3, reference_.c_str(),
               push_ms_ / 1e3);
}

double StorageBench::pull_deckhand(int run) {
  const std::string dir = tmp_ + "/deckhand-" + std::to_string(run);
  fs::create_directories(dir);
  const std::string config = dir + "/config.yaml";
  storage_bench::write_text(config,
                            "state_dir: " + dir + "/state\n"
                            "log:\n"
                            "  level: warn\n"
                            "plugin_dir: " + plugin_dir_ + "\n"
                            "plugins:\n"
                            "  - name: storage-overlay\n"
                            "    path: libdeckhand-storage-overlay.so\n"
                            "    required: true\n"
                            "    config:\n"
                            "      root: " + dir + "/store\n");
  cold();
  const Timed pulled = storage_bench::run_timed(
      {options_.deckhand, "image", "--config", config, "pull", "--policy", "Always", reference_}, dir + "/pull.out");
  if (pulled.exit_code != 0) {
    throw std::runtime_error("deckhand image pull failed (exit " + std::to_string(pulled.exit_code) +
                             "):\n" + storage_bench::tail(pulled.out + pulled.err));
  }
  cli_status_ = line_starting(pulled.out, "Status: ");
  const auto unpacked = storage_bench::tree_size(dir + "/store", "/data/blob-000");
  if (!unpacked.found_suffix || unpacked.bytes < big_uncompressed_) {
    throw std::runtime_error("deckhand's store holds " + std::to_string(unpacked.bytes) +
                             " bytes of files after the pull, not the unpacked layer");
  }
  deckhand_unpacked_bytes_ = unpacked.bytes;
  storage_bench::remove_tree(dir);
  return pulled.ms;
}

void StorageBench::pull_containerd(int run, PullRun& row) {
  const std::string dir = tmp_ + "/containerd-" + std::to_string(run);
  Containerd containerd(dir);
  containerd_startup_.push_back(containerd.startup_ms());
  cold();
  const Timed pulled = containerd.ctr({"images", "pull", "--plain-http", "--snapshotter", "overlayfs", reference_},
                                      dir + "/pull.out");
  if (pulled.exit_code != 0) {
    throw std::runtime_error("ctr images pull failed (exit " + std::to_string(pulled.exit_code) +
                             "):\n" + storage_bench::tail(pulled.out + pulled.err));
  }
  row.containerd_ms = pulled.ms;
  // ctr prints "done: <go duration>" after unpacking.
  const std::string done = line_starting(pulled.out, "done: ");
  if (!done.empty()) {
    if (auto ms = storage_bench::parse_go_duration(done.substr(6))) row.containerd_unpack_ms = *ms;
  }
  // It unpacked: two committed snapshots, and the files are in them.
  std::size_t committed = 0;
  for (const auto& snapshot : containerd.list_snapshots()) committed += snapshot[2] == "Committed" ? 1 : 0;
  const auto unpacked = storage_bench::tree_size(containerd.snapshot_dir(), "/data/blob-000");
  if (committed != 2 || !unpacked.found_suffix || unpacked.bytes < big_uncompressed_) {
    throw std::runtime_error("containerd did not unpack the image: " + std::to_string(committed) +
                             " committed snapshots, " + std::to_string(unpacked.bytes) + " bytes of files");
  }
  containerd_unpacked_bytes_ = unpacked.bytes;
  const std::size_t left = containerd.stop();
  if (left > 0) notes_.push_back("containerd left " + std::to_string(left) + " mounts (unmounted)");
  storage_bench::remove_tree(dir);
}

double StorageBench::curl_blob(int run) {
  cold();
  const Timed got = storage_bench::run_timed(
      {"curl", "-sSf", "-o", "/dev/null", "http://" + registry_->host() + "/v2/big/blobs/" + big_digest_},
      tmp_ + "/curl-" + std::to_string(run) + ".out");
  if (got.exit_code != 0) {
    notes_.push_back("curl of the layer blob failed: " + first_line(got.err));
    return bench::kNaN;
  }
  return got.ms;
}

void StorageBench::pull_runs() {
  for (int i = 0; i < options_.runs; ++i) {
    check_interrupt();
    PullRun row;
    // ABAB... in one iteration, BABA... in the next: neither always goes first.
    row.deckhand_first = i % 2 == 0 || !have_containerd_;
    if (row.deckhand_first) row.deckhand_ms = pull_deckhand(i);
    check_interrupt();
    if (have_containerd_) pull_containerd(i, row);
    check_interrupt();
    if (!row.deckhand_first) row.deckhand_ms = pull_deckhand(i);
    if (have_curl_) row.curl_ms = curl_blob(i);
    pulls_.push_back(row);
    std::fprintf(stderr, "[storage] pull %d/%d: deckhand %.0f ms, containerd %.0f ms (unpack %.0f), curl %.0f ms\n", i + 1,
                 options_.runs, row.deckhand_ms, row.containerd_ms, row.containerd_unpack_ms, row.curl_ms);
  }
}

void StorageBench::in_process() {
  const std::string dir = tmp_ + "/api";
  fs::create_directories(dir);
  auto loaded = bench::Clock::now();
  deckhand::cli::LocalPlugin plugin(plugin_path_, DH_KIND_STORAGE, json{{"root", dir + "/store"}}, dir + "/state");
  plugin_load_ms_ = bench::ms_since(loaded);
  // One more pull, cold, through the API: the exact downloaded bytes, and
  // when the big layer's bytes started and its unpack finished.
  cold();
  const auto start = bench::Clock::now();
  const json pulled = plugin.call("pull_image", {{"ref", reference_}, {"policy", "Always"}}, [&](const std::string& text) {
    const json progress = json::parse(text, nullptr, false);
    if (!progress.is_object() || progress.value("layer", "") != big_digest_) return;
    const std::string phase = progress.value("phase", "");
    if (phase == "downloading" && progress.value("done", uint64_t{0}) > 0 && std::isnan(api_first_byte_ms_)) {
      api_first_byte_ms_ = bench::ms_since(start);
    }
    if (phase == "unpacked") api_big_done_ms_ = bench::ms_since(start);
  });
  api_pull_ms_ = bench::ms_since(start);
  downloaded_bytes_ = pulled.value("downloaded_bytes", uint64_t{0});
  layers_downloaded_ = pulled.value("layers_downloaded", 0);
  check_interrupt();

  // Root filesystems of new containers of the cached image (warm caches).
  prepare_.reserve(static_cast<std::size_t>(options_.prepare_runs));
  release_.reserve(static_cast<std::size_t>(options_.prepare_runs));
  for (int i = 0; i < options_.prepare_runs; ++i) {
    if (i % 20 == 0) check_interrupt();
    const std::string id = "bench-" + std::to_string(i);
    auto began = bench::Clock::now();
    const json prepared = plugin.call("prepare_rootfs", {{"container_id", id}, {"image", reference_}, {"readonly", false}});
    prepare_.push_back(bench::ms_since(began));
    if (i == 0) {
      const std::string root = prepared["root"].value("path", "");
      if (::access((root + "/bin/busybox").c_str(), X_OK) != 0 || !fs::exists(root + "/data/blob-000")) {
        throw std::runtime_error("the prepared root " + root + " lacks /bin/busybox or /data/blob-000");
      }
    }
    began = bench::Clock::now();
    plugin.call("release_rootfs", {{"container_id", id}});
    release_.push_back(bench::ms_since(began));
  }
  // The same in a batch, as for a pod's containers or a node that fills up:
  // every prepare first, then every release. Unlike the pairs above, no
  // prepare follows an unmount (whose filesystem sync may still be running).
  std::vector<std::string> ids;
  for (int i = 0; i < options_.prepare_runs; ++i) {
    if (i % 20 == 0) check_interrupt();
    ids.push_back("batch-" + std::to_string(i));
    const auto began = bench::Clock::now();
    plugin.call("prepare_rootfs", {{"container_id", ids.back()}, {"image", reference_}, {"readonly", false}});
    batch_prepare_.push_back(bench::ms_since(began));
  }
  for (const auto& id : ids) {
    const auto began = bench::Clock::now();
    plugin.call("release_rootfs", {{"container_id", id}});
    batch_release_.push_back(bench::ms_since(began));
  }
}

void StorageBench::ctr_snapshots() {
  const std::string dir = tmp_ + "/containerd-snapshots";
  Containerd containerd(dir);
  const Timed pulled = containerd.ctr({"images", "pull", "--plain-http", "--snapshotter", "overlayfs", reference_},
                                      dir + "/pull.out");
  if (pulled.exit_code != 0) throw std::runtime_error("ctr images pull failed: " + storage_bench::tail(pulled.err));
  // The image's top snapshot: the committed one that is nobody's parent.
  const auto rows = containerd.list_snapshots();
  std::string top;
  for (const auto& row : rows) {
    if (row[2] != "Committed") continue;
    bool parent = false;
    for (const auto& other : rows) parent = parent || other[1] == row[0];
    if (!parent) top = row[0];
  }
  if (top.empty()) throw std::runtime_error("no top snapshot in `ctr snapshots ls`");
  const std::string out = dir + "/ctr.out";
  for (int i = 0; i < options_.ctr_prepare_runs; ++i) {
    if (i % 10 == 0) check_interrupt();
    const std::string key = "bench-" + std::to_string(i);
    const Timed version = containerd.ctr({"version"}, out);
    const Timed prepared = containerd.ctr(containerd.snapshots({"prepare", key, top}), out);
    const Timed removed = containerd.ctr(containerd.snapshots({"rm", key}), out);
    if (version.exit_code != 0 || prepared.exit_code != 0 || removed.exit_code != 0) {
      throw std::runtime_error("ctr snapshots prepare/rm failed: " + prepared.err + removed.err);
    }
    ctr_version_.push_back(version.ms);
    ctr_prepare_.push_back(prepared.ms);
    ctr_rm_.push_back(removed.ms);
  }
  const std::size_t left = containerd.stop();
  if (left > 0) notes_.push_back("containerd left " + std::to_string(left) + " mounts (unmounted)");
  storage_bench::remove_tree(dir);
}

void StorageBench::cleanup() {
  registry_.reset();  // stops docker-registry by its PID, removes its storage
  if (!tmp_.empty()) {
    leftover_mounts_ += storage_bench::unmount_under(tmp_);
    std::error_code ignored;
    fs::remove_all(tmp_, ignored);
    tmp_.clear();
  }
}

int StorageBench::run() {
  if (::access(plugin_path_.c_str(), R_OK) != 0) {
    throw std::runtime_error("no storage plugin at " + plugin_path_ + " (stage the build: cmake --install build --prefix P)");
  }
  for (const char* tool : {"docker-registry", "skopeo"}) {
    if (!executable(tool)) throw std::runtime_error(std::string(tool) + " is not installed (scripts/install-deps.sh)");
  }
  have_containerd_ = executable("containerd") && executable("ctr");
  have_curl_ = executable("curl");
  if (!have_containerd_) notes_.push_back("containerd/ctr not installed: no side-by-side figures");
  build_and_push();
  pull_runs();
  in_process();
  if (have_containerd_ && options_.ctr_prepare_runs > 0) ctr_snapshots();
  cleanup();
  report();
  return errors_.empty() ? 0 : 1;
}

void StorageBench::report() {
  std::vector<double> ours, theirs, unpack, curl;
  for (const auto& row : pulls_) {
    ours.push_back(row.deckhand_ms);
    if (!std::isnan(row.containerd_ms)) theirs.push_back(row.containerd_ms);
    if (!std::isnan(row.containerd_unpack_ms)) unpack.push_back(row.containerd_unpack_ms);
    if (!std::isnan(row.curl_ms)) curl.push_back(row.curl_ms);
  }
  const double mb = static_cast<double>(big_compressed_) / 1e6;
  std::printf("[bench] image pull: busybox + one %d MiB layer (%d files of pseudo-random bytes, gzip, %.1f MB), "
              "docker-registry on 127.0.0.1\n",
              options_.layer_mib, options_.layer_mib, mb);
  std::printf("  image built in %.1f s and pushed with skopeo in %.1f s (not part of the figures)\n", build_ms_ / 1e3,
              push_ms_ / 1e3);
  if (caches_dropped_) {
    std::printf("  page cache dropped before every timed pull (sync; echo 3 > /proc/sys/vm/drop_caches)\n");
  } else {
    std::printf("  page cache NOT dropped (%s): the pulls ran with warm caches\n", sync_error_.c_str());
  }
  std::printf("  deckhand:   `deckhand image --config F pull --policy Always REF`, a fresh empty store each run\n");
  if (have_containerd_) {
    const auto startup = bench::summarize(containerd_startup_);
    std::printf("  containerd: `ctr images pull --plain-http --snapshotter overlayfs REF`, a fresh containerd each run\n"
                "              (its start, %.0f ms median, is not timed)\n",
                startup.median);
  }
  std::printf("  %-5s %14s %16s %16s %14s\n", "run", "deckhand ms", "containerd ms", "(ctr unpack)", "curl GET ms");
  for (std::size_t i = 0; i < pulls_.size(); ++i) {
    const auto& row = pulls_[i];
    std::printf("  %-5zu %14s %16s %16s %14s   %s first\n", i + 1, bench::fmt_num(row.deckhand_ms, 0).c_str(),
                bench::fmt_num(row.containerd_ms, 0).c_str(), bench::fmt_num(row.containerd_unpack_ms, 0).c_str(),
                bench::fmt_num(row.curl_ms, 0).c_str(), row.deckhand_first ? "deckhand" : "containerd");
  }
  std::printf("  %-50s %9s %9s %9s %9s\n", "ms", "median", "p90", "min", "max");
  print_row("deckhand image pull", ours, 0);
  if (have_containerd_) {
    print_row("ctr images pull", theirs, 0);
    std::vector<double> fetch;
    for (const auto& row : pulls_) {
      if (!std::isnan(row.containerd_unpack_ms)) fetch.push_back(row.containerd_ms - row.containerd_unpack_ms);
    }
    print_row("  of which fetch (ctr start + resolve + fetch)", fetch, 0);
    print_row("  of which unpack (ctr's own \"done:\")", unpack, 0);
  }
  if (!curl.empty()) print_row("curl GET of the layer blob (download floor)", curl, 0);
  const double ours_median = bench::summarize(ours).median;
  double ratio = bench::kNaN;
  if (have_containerd_ && !theirs.empty()) {
    ratio = ours_median / bench::summarize(theirs).median;
    std::printf("  deckhand/containerd median ratio: %.2f (goal <= %.1f: %s)\n", ratio, kPullRatioGoal,
                ratio <= kPullRatioGoal ? "met" : "NOT met");
    std::printf("  throughput, median: deckhand %.0f MB/s, containerd %.0f MB/s (compressed layer bytes / wall time)\n",
                mb / (ours_median / 1e3), mb / (bench::summarize(theirs).median / 1e3));
  }
  std::printf("  deckhand's pull reported downloaded_bytes = %llu (%d layers; the big layer's blob is %llu, busybox's %llu)\n",
              static_cast<unsigned long long>(downloaded_bytes_), layers_downloaded_,
              static_cast<unsigned long long>(big_compressed_), static_cast<unsigned long long>(base_compressed_));
  if (!cli_status_.empty()) std::printf("  the CLI printed: %s\n", cli_status_.c_str());
  std::printf("  unpacked file bytes on disk after a pull: deckhand %llu, containerd %llu\n",
              static_cast<unsigned long long>(deckhand_unpacked_bytes_),
              static_cast<unsigned long long>(containerd_unpacked_bytes_));
  std::printf("  in-process pull through the plugin API (cold, 1 run): %.0f ms (plugin load %.1f ms before it;\n"
              "    first byte of the big layer at %.0f ms, its unpack committed at %.0f ms)\n",
              api_pull_ms_, plugin_load_ms_, api_first_byte_ms_, api_big_done_ms_);

  std::printf("[bench] container root filesystem of the cached image (overlay mount), through the plugin API in-process\n");
  std::printf("  %-50s %9s %9s %9s %9s\n", "ms", "median", "p90", "min", "max");
  print_row("prepare_rootfs (mkdirs + overlay mount)", prepare_, 3);
  print_row("release_rootfs (unmount + remove)", release_, 3);
  print_row("prepare_rootfs, N in a row (all stay mounted)", batch_prepare_, 3);
  if (batch_prepare_.size() >= 10) {
    // Does a prepare cost more when many roots exist? Medians of the first and last tenth.
    const std::size_t tenth = batch_prepare_.size() / 10;
    const std::vector<double> first(batch_prepare_.begin(), batch_prepare_.begin() + static_cast<long>(tenth));
    const std::vector<double> last(batch_prepare_.end() - static_cast<long>(tenth), batch_prepare_.end());
    std::printf("    the first %zu of them: median %.3f ms; the last %zu (with %zu roots already mounted): %.3f ms\n", tenth,
                bench::summarize(first).median, tenth, batch_prepare_.size() - tenth, bench::summarize(last).median);
  }
  print_row("release_rootfs of those N", batch_release_, 3);
  const auto prepare = bench::summarize(prepare_);
  std::printf("  prepare_rootfs median %.3f ms, p90 %.3f ms (goal < %.0f ms median: %s)\n", prepare.median, prepare.p90,
              kPrepareGoalMs, prepare.median < kPrepareGoalMs ? "met" : "NOT met");
  if (!ctr_prepare_.empty()) {
    std::printf("  containerd, for reference: whole `ctr` commands (each includes starting ctr and one gRPC call);\n"
                "  containerd's prepare makes the snapshot's dirs and a bolt record and mounts nothing (the shim mounts later)\n");
    print_row("ctr snapshots prepare (CLI, process start incl.)", ctr_prepare_, 1);
    print_row("ctr snapshots rm (CLI, process start incl.)", ctr_rm_, 1);
    print_row("ctr version (the CLI's own floor)", ctr_version_, 1);
  }
  for (const auto& note : notes_) std::printf("  note: %s\n", note.c_str());
  std::printf("  mounts left under the temp dir at the end: %zu\n", leftover_mounts_);

  bench::Json out;
  out.begin_object();
  out.key("schema").integer(1);
  out.key("tool").str("deckhand-bench-storage");
  out.key("deckhand").str(options_.deckhand);
  out.key("params").begin_object();
  out.key("runs").integer(options_.runs);
  out.key("layer_mib").integer(options_.layer_mib);
  out.key("prepare_runs").integer(options_.prepare_runs);
  out.key("ctr_prepare_runs").integer(options_.ctr_prepare_runs);
  out.end_object();
  out.key("image").begin_object();
  out.key("layer_bytes").integer(static_cast<long long>(big_compressed_));
  out.key("layer_uncompressed_bytes").integer(static_cast<long long>(big_uncompressed_));
  out.key("build_ms").num(build_ms_);
  out.key("push_ms").num(push_ms_);
  out.end_object();
  out.key("caches_dropped").boolean(caches_dropped_);
  out.key("pull").begin_object();
  out.key("deckhand_ms");
  json_summary(out, ours);
  out.key("containerd_ms");
  json_summary(out, theirs);
  out.key("containerd_unpack_ms");
  json_summary(out, unpack);
  out.key("curl_ms");
  json_summary(out, curl);
  out.key("ratio").num(ratio);
  out.key("ratio_goal").num(kPullRatioGoal);
  out.key("goal_met").boolean(!std::isnan(ratio) && ratio <= kPullRatioGoal);
  out.key("downloaded_bytes").integer(static_cast<long long>(downloaded_bytes_));
  out.key("api_pull_ms").num(api_pull_ms_);
  out.end_object();
  out.key("rootfs").begin_object();
  out.key("prepare_ms");
  json_summary(out, prepare_);
  out.key("release_ms");
  json_summary(out, release_);
  out.key("batch_prepare_ms");
  json_summary(out, batch_prepare_);
  out.key("batch_release_ms");
  json_summary(out, batch_release_);
  out.key("goal_met").boolean(prepare.median < kPrepareGoalMs);
  out.key("ctr_prepare_ms");
  json_summary(out, ctr_prepare_);
  out.key("ctr_rm_ms");
  json_summary(out, ctr_rm_);
  out.key("ctr_version_ms");
  json_summary(out, ctr_version_);
  out.end_object();
  out.key("leftover_mounts").integer(static_cast<long long>(leftover_mounts_));
  out.end_object();
  std::printf("BENCH_JSON %s\n", out.text().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto number = [&](int minimum) {
      if (i + 1 >= argc) throw std::invalid_argument(arg);
      return std::max(minimum, std::atoi(argv[++i]));
    };
    try {
      if (arg == "--deckhand" && i + 1 < argc) options.deckhand = argv[++i];
      else if (arg == "--runs") options.runs = number(1);
      else if (arg == "--layer-mib") options.layer_mib = number(1);
      else if (arg == "--prepare-runs") options.prepare_runs = number(1);
      else if (arg == "--ctr-prepare-runs") options.ctr_prepare_runs = number(0);
      else throw std::invalid_argument(arg);
    } catch (const std::invalid_argument&) {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
  }
  if (options.deckhand.empty()) {
    std::fprintf(stderr, "--deckhand is required\n%s", kUsage);
    return 2;
  }
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int number : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(number, &action, nullptr);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    StorageBench benchmark(options);
    return benchmark.run();
  } catch (const Interrupted&) {
    std::fprintf(stderr, "[storage] interrupted; stopped the daemons and removed the temp dirs\n");
    return 128 + bench::g_interrupted;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[storage] error: %s\n", e.what());
    return 1;
  }
}
