// The cgroup v1 driver: one directory per hierarchy (cpu and cpuacct may share
// one), limits in cpu.*, memory.*, pids.max and devices.allow/deny.
#include <signal.h>

#include <set>
#include <string>
#include <utility>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime {
namespace {

using namespace cgroup_detail;

std::string device_rule_text(const DeviceRule& rule) {
  if (rule.type != 'a' && rule.type != 'c' && rule.type != 'b') {
    throw CgroupError(std::string("invalid device rule type '") + rule.type + "' (a, c or b)");
  }
  const std::string& access = rule.access;
  const bool access_ok = !access.empty() && access.size() <= 3 &&
                         access.find_first_not_of("rwm") == std::string::npos &&
                         std::set<char>(access.begin(), access.end()).size() == access.size();
  if (!access_ok) throw CgroupError("invalid device rule access \"" + access + "\" (a combination of r, w, m)");
  auto number = [](const std::optional<int64_t>& n) {
    if (!n) return std::string("*");
    if (*n < 0 || *n > 0xffffffffLL) throw CgroupError("invalid device number " + std::to_string(*n));
    return std::to_string(*n);
  };
  if (rule.type == 'a') return "a *:* " + access;
  return std::string(1, rule.type) + " " + number(rule.major) + ":" + number(rule.minor) + " " + access;
}

// The current memsw limit; the kernel's "unlimited" is a huge number.
uint64_t current_limit(const std::string& file) {
  const std::string text = trim(read_text(file));
  if (text == "-1" || text == "max") return UINT64_MAX;
  return read_u64_or_zero(file);
}

class CgroupV1 final : public CgroupDriver {
 public:
  explicit CgroupV1(std::string root) : root_(std::move(root)), mounts_(discover_v1_hierarchies(root_)) {
    std::set<std::string> seen;
    for (const auto& [controller, dir] : mounts_) {
      if (seen.insert(dir).second) hierarchies_.push_back(dir);
    }
  }

  std::string version() const override { return "v1"; }

  void create(const std::string& path, const Resources& r) override {
    const std::vector<std::string> parts = split_path(path);
    validate(r);
    if (hierarchies_.empty()) throw CgroupError("no cgroup v1 controllers are mounted below " + root_);
    bool existed = false;
    for (const std::string& dir : hierarchies_) existed = existed || exists(join(dir, parts));
    for (const std::string& dir : hierarchies_) make_dirs(dir, parts);
    try {
      init_cpuset(parts);
      apply(parts, r);
    } catch (...) {
      if (!existed) remove_quietly(parts);
      throw;
    }
  }

  void update(const std::string& path, const Resources& r) override {
    const std::vector<std::string> parts = split_path(path);
    validate(r);
    apply(parts, r);
  }

  void add_process(const std::string& path, pid_t pid) override {
    const std::vector<std::string> parts = split_path(path);
    if (pid <= 0) throw CgroupError("invalid pid " + std::to_string(pid));
    if (hierarchies_.empty()) throw CgroupError("no cgroup v1 controllers are mounted below " + root_);
    for (const std::string& dir : hierarchies_) write_text(join(dir, parts) + "/cgroup.procs", std::to_string(pid));
  }

  void add_self(const std::string& path) override {
    const std::vector<std::string> parts = split_path(path);
    if (hierarchies_.empty()) throw CgroupError("no cgroup v1 controllers are mounted below " + root_);
    for (const std::string& dir : hierarchies_) write_text(join(dir, parts) + "/tasks", "0");
  }

  std::vector<pid_t> processes(const std::string& path) override {
    const std::vector<std::string> parts = split_path(path);
    std::vector<pid_t> pids;
    for (const std::string& dir : hierarchies_) collect_procs(join(dir, parts), pids);
    return unique_pids(std::move(pids));
  }

  CgroupStats stats(const std::string& path) override {
    const std::vector<std::string> parts = split_path(path);
    CgroupStats s;
    if (auto dir = dir_of("cpuacct", parts)) s.cpu_usage_ns = read_u64_or_zero(*dir + "/cpuacct.usage");
    if (auto dir = dir_of("memory", parts)) {
      s.memory_usage_bytes = read_u64_or_zero(*dir + "/memory.usage_in_bytes");
      const auto stat = parse_flat_keyed(read_optional(*dir + "/memory.stat").value_or(""));
      auto inactive = stat.find("total_inactive_file");
      if (inactive == stat.end()) inactive = stat.find("inactive_file");
      const uint64_t inactive_bytes = inactive == stat.end() ? 0 : inactive->second;
      s.memory_working_set_bytes = s.memory_usage_bytes > inactive_bytes ? s.memory_usage_bytes - inactive_bytes : 0;
    }
    if (auto dir = dir_of("pids", parts)) s.pids_current = read_u64_or_zero(*dir + "/pids.current");
    return s;
  }

  bool oom_killed(const std::string& path) override {
    const std::vector<std::string> parts = split_path(path);
    const auto dir = dir_of("memory", parts);
    if (!dir) return false;
    const auto control = parse_flat_keyed(read_optional(*dir + "/memory.oom_control").value_or(""));
    auto positive = [&](const char* key) {
      auto it = control.find(key);
      return it != control.end() && it->second > 0;
    };
    return positive("oom_kill") || positive("under_oom");
  }

  void kill_all(const std::string& path, int signal) override {
    const std::vector<std::string> parts = split_path(path);
    auto list = [&] { return processes(path); };
    if (list().empty()) return;  // nothing to freeze or signal (a stopped container's usual case)
    const auto freezer = dir_of("freezer", parts);
    if (!freezer || !exists(*freezer)) {
      signal_listed(list, signal);
      return;
    }
    const std::string state = *freezer + "/freezer.state";
    run_frozen(
        state, "FROZEN", "THAWED", [&] { return trim(read_optional(state).value_or("")) == "FROZEN"; },
        [&] { signal_listed(list, signal); });
  }

  void destroy(const std::string& path) override {
    const std::vector<std::string> parts = split_path(path);
    std::optional<CgroupError> first;
    for (const std::string& dir : hierarchies_) {
      try {
        remove_tree(join(dir, parts));
      } catch (const CgroupError& e) {
        if (!first) first = e;
      }
    }
    if (first) throw *first;
  }

  std::vector<CgroupMountSource> mount_sources(const std::string& path) const override {
    const std::vector<std::string> parts = split_path(path);
    std::vector<CgroupMountSource> out;
    for (const std::string& dir : hierarchies_) {
      out.push_back({dir.substr(dir.find_last_of('/') + 1), join(dir, parts)});
    }
    return out;
  }

  std::string cgroup_dir(const std::string& controller, const std::string& path) const override {
    const std::vector<std::string> parts = split_path(path);
    auto dir = dir_of(controller, parts);
    if (!dir) throw CgroupError("cgroup v1 controller \"" + controller + "\" is not mounted below " + root_);
    return *dir;
  }

 private:
  std::optional<std::string> dir_of(const std::string& controller, const std::vector<std::string>& parts) const {
    auto it = mounts_.find(controller);
    if (it == mounts_.end()) return std::nullopt;
    return join(it->second, parts);
  }

  std::string need(const std::string& controller, const std::vector<std::string>& parts) const {
    auto dir = dir_of(controller, parts);
    if (!dir) throw CgroupError("cgroup v1 controller \"" + controller + "\" is not mounted below " + root_);
    return *dir;
  }

  // Everything that can be checked before writing anything.
  void validate(const Resources& r) const {
    const std::vector<std::string> none;
    if (nonzero(r.cpu_shares) || nonzero(r.cpu_quota) || nonzero(r.cpu_period)) need("cpu", none);
    validate_memory(r);
    if (nonzero(r.memory_limit) || nonzero(r.memory_swap)) {
      const std::string memsw = need("memory", none) + "/memory.memsw.limit_in_bytes";
      if (!exists(memsw)) {
        if (std::string why = swap_needs_accounting(r, "memory.memsw.limit_in_bytes"); !why.empty()) {
          throw CgroupError(why);
        }
      }
    }
    if (r.pids_limit) need("pids", none);
    if (!r.devices.empty()) need("devices", none);
    for (const DeviceRule& rule : r.devices) device_rule_text(rule);
  }

  // A new child gets cpuset.cpus and cpuset.mems from its parent, top down.
  void init_cpuset(const std::vector<std::string>& parts) const {
    auto it = mounts_.find("cpuset");
    if (it == mounts_.end()) return;
    for (size_t i = 1; i <= parts.size(); ++i) {
      const std::string dir = join(it->second, parts, i);
      const std::string parent = join(it->second, parts, i - 1);
      for (const char* name : {"/cpuset.cpus", "/cpuset.mems"}) {
        if (!exists(dir + name) || !trim(read_text(dir + name)).empty()) continue;
        const std::string value = trim(read_text(parent + name));
        if (value.empty()) throw CgroupError("cannot populate " + dir + name + ": " + parent + name + " is empty");
        write_text(dir + name, value);
      }
    }
  }

  void apply(const std::vector<std::string>& parts, const Resources& r) const {
    if (auto shares = nonzero(r.cpu_shares)) write_text(need("cpu", parts) + "/cpu.shares", std::to_string(*shares));
    if (auto period = nonzero(r.cpu_period)) {
      write_text(need("cpu", parts) + "/cpu.cfs_period_us", std::to_string(*period));
    }
    if (auto quota = nonzero(r.cpu_quota)) {
      write_text(need("cpu", parts) + "/cpu.cfs_quota_us", *quota < 0 ? "-1" : std::to_string(*quota));
    }
    apply_memory(parts, r);
    if (r.pids_limit) {
      write_text(need("pids", parts) + "/pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
    }
    if (!r.devices.empty()) {
      const std::string dir = need("devices", parts);
      write_text(dir + "/devices.deny", "a");
      for (const DeviceRule& rule : r.devices) {
        write_text(dir + (rule.allow ? "/devices.allow" : "/devices.deny"), device_rule_text(rule));
      }
    }
  }

  // memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes, so
  // the order of the two writes depends on whether memsw goes up or down.
  void apply_memory(const std::vector<std::string>& parts, const Resources& r) const {
    const std::optional<int64_t> memory = nonzero(r.memory_limit);
    std::optional<int64_t> swap = nonzero(r.memory_swap);
    if (!memory && !swap) return;
    const std::string dir = need("memory", parts);
    const std::string limit_file = dir + "/memory.limit_in_bytes";
    const std::string memsw_file = dir + "/memory.memsw.limit_in_bytes";
    auto text = [](int64_t v) { return v < 0 ? std::string("-1") : std::to_string(v); };
    if (!exists(memsw_file)) {
      // validate() allowed only swap values that need no accounting.
      if (memory) write_text(limit_file, text(*memory));
      return;
    }
    if (memory && *memory == -1 && !swap) swap = -1;  // unlimited memory: unlimited memory+swap too
    const uint64_t current_memsw = current_limit(memsw_file);
    if (memory && swap) {
      const bool raising = *swap == -1 || static_cast<uint64_t>(*swap) > current_memsw;
      if (raising) {
        write_text(memsw_file, text(*swap));
        write_text(limit_file, text(*memory));
      } else {
        write_text(limit_file, text(*memory));
        write_text(memsw_file, text(*swap));
      }
    } else if (memory) {
      if (static_cast<uint64_t>(*memory) > current_memsw) {
        throw CgroupError("memory limit " + std::to_string(*memory) + " exceeds the current memory+swap limit " +
                          std::to_string(current_memsw) + " of " + dir + "; set memory_swap too");
      }
      write_text(limit_file, text(*memory));
    } else {
      write_text(memsw_file, text(*swap));
    }
  }

  void remove_quietly(const std::vector<std::string>& parts) const {
    for (const std::string& dir : hierarchies_) {
      try {
        remove_tree(join(dir, parts));
      } catch (const CgroupError&) {
        // Reporting the original failure matters more.
      }
    }
  }

  std::string root_;
  std::map<std::string, std::string> mounts_;  // controller → hierarchy directory
  std::vector<std::string> hierarchies_;       // distinct hierarchy directories
};

}  // namespace

std::unique_ptr<CgroupDriver> make_cgroup_v1_driver(const std::string& root) {
  return std::make_unique<CgroupV1>(root);
}

}  // namespace deckhand::runtime
