// What the pod benchmark reads besides the API: the agent's resources and
// what its pods leave on the node (for the churn's leak check), and the
// plugin-call sums of the agent's /metrics (for the start-latency breakdown).
// Standard library and POSIX only.
#pragma once

#include <net/if.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace bench {

// Counts that must come back to the same value once the pods are gone, and
// the agent's memory, whose growth is only bounded.
struct NodeSnapshot {
  double rss_mib = 0;      // /proc/PID/status VmRSS
  long threads = 0;        // /proc/PID/status Threads (shown, not judged)
  long fds = 0;            // entries of /proc/PID/fd
  long mounts = 0;         // lines of /proc/PID/mountinfo
  long cgroup_dirs = 0;    // directories under <hierarchy>/<cgroup_parent>, every hierarchy
  long interfaces = 0;     // links in the benchmark's network namespace
  long ipam_claims = 0;    // addresses held: files in <network state_dir>/ipam
  long net_records = 0;    // pod records: files in <network state_dir>/pods
};

// The counted fields, by name, for the comparison and the JSON.
inline std::vector<std::pair<const char*, long NodeSnapshot::*>> counted_fields() {
  return {{"open fds", &NodeSnapshot::fds},
          {"mounts", &NodeSnapshot::mounts},
          {"cgroup dirs", &NodeSnapshot::cgroup_dirs},
          {"interfaces", &NodeSnapshot::interfaces},
          {"IPAM claims", &NodeSnapshot::ipam_claims},
          {"network pod records", &NodeSnapshot::net_records}};
}

inline long count_lines(const std::string& path) {
  std::ifstream in(path);
  long n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Entries of a directory, hidden ones (a claim being written) excepted.
inline long count_entries(const std::string& dir) {
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind('.', 0) != 0) ++n;
  }
  return n;
}

// The cgroup parent and everything below it, in every hierarchy mounted
// under /sys/fs/cgroup (symlinked aliases such as cpu,cpuacct are skipped).
inline long count_cgroup_dirs(const std::string& cgroup_parent) {
  std::error_code ec;
  long n = 0;
  for (std::filesystem::directory_iterator h("/sys/fs/cgroup", ec), end; !ec && h != end; h.increment(ec)) {
    if (h->is_symlink()) continue;
    const std::filesystem::path parent = h->path() / cgroup_parent;
    if (!std::filesystem::is_directory(parent)) continue;
    ++n;
    std::error_code walk;
    for (std::filesystem::recursive_directory_iterator it(parent, walk), stop; !walk && it != stop; it.increment(walk)) {
      if (it->is_directory() && !it->is_symlink()) ++n;
    }
  }
  return n;
}

inline long count_interfaces() {
  struct if_nameindex* list = ::if_nameindex();
  if (list == nullptr) return -1;
  long n = 0;
  for (const struct if_nameindex* i = list; i->if_index != 0; ++i) ++n;
  ::if_freenameindex(list);
  return n;
}

inline NodeSnapshot take_snapshot(int pid, const std::string& cgroup_parent, const std::string& net_state_dir) {
  NodeSnapshot s;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream status(proc + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
    if (line.rfind("Threads:", 0) == 0) s.threads = std::strtol(line.c_str() + 8, nullptr, 10);
  }
  s.fds = count_entries(proc + "/fd");
  s.mounts = count_lines(proc + "/mountinfo");
  s.cgroup_dirs = count_cgroup_dirs(cgroup_parent);
  s.interfaces = count_interfaces();
  s.ipam_claims = count_entries(net_state_dir + "/ipam");
  s.net_records = count_entries(net_state_dir + "/pods");
  return s;
}

// One plugin operation's totals in the agent's /metrics.
struct CallTotals {
  double count = 0;
  double sum_seconds = 0;
};

// "plugin/operation" -> totals of deckhand_plugin_call_duration_seconds, plus
// "agent/pod_start" -> deckhand_pod_start_duration_seconds (the agent's own
// apply -> containers running), from a Prometheus text exposition.
inline std::map<std::string, CallTotals> parse_call_totals(const std::string& exposition) {
  std::map<std::string, CallTotals> out;
  auto label = [](const std::string& line, const std::string& name) {
    const std::size_t at = line.find(name + "=\"");
    if (at == std::string::npos) return std::string();
    const std::size_t start = at + name.size() + 2;
    return line.substr(start, line.find('"', start) - start);
  };
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos || line.empty() || line[0] == '#') continue;
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    static const std::string call = "deckhand_plugin_call_duration_seconds_";
    static const std::string start = "deckhand_pod_start_duration_seconds_";
    std::string key;
    std::string series;
    if (line.rfind(call, 0) == 0) {
      series = line.substr(call.size(), line.find('{') - call.size());
      key = label(line, "plugin") + "/" + label(line, "operation");
    } else if (line.rfind(start, 0) == 0) {
      series = line.substr(start.size(), space - start.size());
      key = "agent/pod_start";
    } else {
      continue;
    }
    if (series == "count") out[key].count = value;
    if (series == "sum") out[key].sum_seconds = value;
  }
  return out;
}

}  // namespace bench
