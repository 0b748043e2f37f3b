// The cgroup v2 driver: one unified hierarchy; controllers enabled in the
// ancestors' cgroup.subtree_control; limits in cpu.weight, cpu.max,
// memory.max, memory.swap.max and pids.max. Device rules would need a BPF
// program and are refused.
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <string>
#include <utility>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime {
namespace {

using namespace cgroup_detail;

const std::vector<std::string> kManaged = {"cpu", "memory", "pids"};  // enabled for limits and stats

// runc/kubelet: shares [2, 262144] map linearly onto weight [1, 10000].
uint64_t shares_to_weight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

class CgroupV2 final : public CgroupDriver {
 public:
  explicit CgroupV2(std::string root) : root_(std::move(root)) {}

  std::string version() const override { return "v2"; }

  void create(const std::string& path, const Resources& r) override {
    const std::vector<std::string> parts = split_path(path);
    validate(r);
    const std::vector<std::string> enable = enableable();
    const std::string leaf = join(root_, parts);
    const bool existed = exists(leaf);
    make_dirs(root_, parts);
    try {
      for (size_t i = 0; i < parts.size(); ++i) enable_in_subtree(join(root_, parts, i), enable);
      apply(leaf, r);
    } catch (...) {
      if (!existed) {
        try {
          remove_tree(leaf);
        } catch (const CgroupError&) {
          // Reporting the original failure matters more.
        }
      }
      throw;
    }
  }

  void update(const std::string& path, const Resources& r) override {
    const std::vector<std::string> parts = split_path(path);
    validate(r);
    apply(join(root_, parts), r);
  }

  void add_process(const std::string& path, pid_t pid) override {
    const std::string dir = join(root_, split_path(path));
    if (pid <= 0) throw CgroupError("invalid pid " + std::to_string(pid));
    write_text(dir + "/cgroup.procs", std::to_string(pid));
  }

  void add_self(const std::string& path) override { write_text(join(root_, split_path(path)) + "/cgroup.procs", "0"); }

  std::vector<pid_t> processes(const std::string& path) override {
    std::vector<pid_t> pids;
    collect_procs(join(root_, split_path(path)), pids);
    return unique_pids(std::move(pids));
  }

  CgroupStats stats(const std::string& path) override {
    const std::string dir = join(root_, split_path(path));
    CgroupStats s;
    const auto cpu = parse_flat_keyed(read_optional(dir + "/cpu.stat").value_or(""));
    if (auto it = cpu.find("usage_usec"); it != cpu.end()) s.cpu_usage_ns = it->second * 1000;
    s.memory_usage_bytes = read_u64_or_zero(dir + "/memory.current");
    const auto memory = parse_flat_keyed(read_optional(dir + "/memory.stat").value_or(""));
    const auto inactive = memory.find("inactive_file");
    const uint64_t inactive_bytes = inactive == memory.end() ? 0 : inactive->second;
    s.memory_working_set_bytes = s.memory_usage_bytes > inactive_bytes ? s.memory_usage_bytes - inactive_bytes : 0;
    s.pids_current = read_u64_or_zero(dir + "/pids.current");
    return s;
  }

  bool oom_killed(const std::string& path) override {
    const std::string dir = join(root_, split_path(path));
    const auto events = parse_flat_keyed(read_optional(dir + "/memory.events").value_or(""));
    auto it = events.find("oom_kill");
    return it != events.end() && it->second > 0;
  }

  void kill_all(const std::string& path, int signal) override {
    const std::string dir = join(root_, split_path(path));
    if (!exists(dir)) return;
    if (signal == SIGKILL && exists(dir + "/cgroup.kill")) {
      write_text(dir + "/cgroup.kill", "1");  // the whole subtree, race-free
      return;
    }
    auto list = [&] {
      std::vector<pid_t> pids;
      collect_procs(dir, pids);
      return unique_pids(std::move(pids));
    };
    if (list().empty()) return;  // nothing to freeze or signal
    auto frozen = [&] {
      const auto events = parse_flat_keyed(read_optional(dir + "/cgroup.events").value_or(""));
      auto it = events.find("frozen");
      return it != events.end() && it->second == 1;
    };
    run_frozen(dir + "/cgroup.freeze", "1", "0", frozen, [&] { signal_listed(list, signal); });
  }

  void destroy(const std::string& path) override { remove_tree(join(root_, split_path(path))); }

  std::vector<CgroupMountSource> mount_sources(const std::string& path) const override {
    return {{"", join(root_, split_path(path))}};
  }

  std::string cgroup_dir(const std::string&, const std::string& path) const override {
    return join(root_, split_path(path));
  }

 private:
  // The controllers root offers (cgroup.controllers); a tree without the file
  // (a fake one) is taken to offer all the managed ones.
  std::set<std::string> available() const {
    const std::optional<std::string> text = read_optional(root_ + "/cgroup.controllers");
    if (!text) return {kManaged.begin(), kManaged.end()};
    const std::vector<std::string> names = words(*text);
    return {names.begin(), names.end()};
  }

  std::vector<std::string> enableable() const {
    const std::set<std::string> offered = available();
    std::vector<std::string> out;
    for (const std::string& name : kManaged) {
      if (offered.count(name) != 0) out.push_back(name);
    }
    return out;
  }

  void validate(const Resources& r) const {
    if (!r.devices.empty()) {
      throw CgroupError(
          "device rules on cgroup v2 are not supported yet (they need a BPF device program); "
          "linux.resources.devices must be empty on this host");
    }
    validate_memory(r);
    const std::optional<int64_t> memory = nonzero(r.memory_limit);
    const std::optional<int64_t> swap = nonzero(r.memory_swap);
    if (swap && *swap != -1 && (!memory || *memory < 0)) {
      throw CgroupError("memory+swap limit " + std::to_string(*swap) + " needs a memory limit on cgroup v2");
    }
    std::vector<std::string> needed;
    if (nonzero(r.cpu_shares) || nonzero(r.cpu_quota) || nonzero(r.cpu_period)) needed.push_back("cpu");
    if (memory || swap) needed.push_back("memory");
    if (r.pids_limit) needed.push_back("pids");
    const std::set<std::string> offered = available();
    for (const std::string& name : needed) {
      if (offered.count(name) == 0) {
        throw CgroupError("cgroup v2 controller \"" + name + "\" is not available in " + root_ +
                          "/cgroup.controllers; cannot apply its limits");
      }
    }
  }

  // Adds the missing controllers to dir/cgroup.subtree_control, if it exists.
  static void enable_in_subtree(const std::string& dir, const std::vector<std::string>& controllers) {
    const std::string file = dir + "/cgroup.subtree_control";
    if (controllers.empty() || !exists(file)) return;
    const std::vector<std::string> current = words(read_text(file));
    std::string change;
    for (const std::string& name : controllers) {
      if (std::find(current.begin(), current.end(), name) != current.end()) continue;
      change += (change.empty() ? "+" : " +") + name;
    }
    if (!change.empty()) write_text(file, change);
  }

  // Computes every value first (refusing what cannot be applied), then writes.
  static void apply(const std::string& dir, const Resources& r) {
    std::vector<std::pair<std::string, std::string>> writes;
    if (auto shares = nonzero(r.cpu_shares)) {
      writes.emplace_back("cpu.weight", std::to_string(shares_to_weight(*shares)));
    }
    const std::optional<int64_t> quota = nonzero(r.cpu_quota);
    const std::optional<uint64_t> period = nonzero(r.cpu_period);
    if (quota || period) {
      std::string current_quota = "max";
      uint64_t current_period = 100000;
      const std::vector<std::string> now = words(read_optional(dir + "/cpu.max").value_or(""));
      if (now.size() == 2) {
        current_quota = now[0];
        std::from_chars(now[1].data(), now[1].data() + now[1].size(), current_period);
      }
      const std::string q = quota ? (*quota > 0 ? std::to_string(*quota) : "max") : current_quota;
      writes.emplace_back("cpu.max", q + " " + std::to_string(period ? *period : current_period));
    }
    const std::optional<int64_t> memory = nonzero(r.memory_limit);
    const std::optional<int64_t> swap = nonzero(r.memory_swap);
    if (memory) writes.emplace_back("memory.max", *memory < 0 ? "max" : std::to_string(*memory));
    std::optional<std::string> swap_max;
    if (swap && *swap == -1) {
      swap_max = "max";
    } else if (swap) {
      swap_max = std::to_string(*swap - *memory);  // validate(): memory > 0, swap >= memory
    } else if (memory && *memory == -1) {
      swap_max = "max";
    }
    if (swap_max) {
      if (exists(dir + "/memory.swap.max")) {
        writes.emplace_back("memory.swap.max", *swap_max);
      } else if (std::string why = swap_needs_accounting(r, "memory.swap.max"); !why.empty()) {
        throw CgroupError(why);
      }
    }
    if (r.pids_limit) writes.emplace_back("pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
    for (const auto& [file, value] : writes) write_text(dir + "/" + file, value);
  }

  std::string root_;
};

}  // namespace

std::unique_ptr<CgroupDriver> make_cgroup_v2_driver(const std::string& root) {
  return std::make_unique<CgroupV2>(root);
}

}  // namespace deckhand::runtime
