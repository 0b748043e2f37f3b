// Cgroup drivers: create a container's cgroup in every hierarchy, write its
// resource limits, move processes in, read stats, signal and remove it.
// cgroup v1 (one hierarchy per controller, possibly joined like "cpu,cpuacct")
// and cgroup v2 (one unified hierarchy).
//
// Paths are OCI cgroupsPath values ("deckhand/pod-x/c1" or "/deckhand/...")
// and untrusted: ".." components, NUL and paths naming no cgroup are refused;
// a leading "/" is relative to the hierarchy root, never the host's "/".
//
// Value conventions (as runc): cpu_shares, cpu_quota, cpu_period,
// memory_limit and memory_swap of 0 mean "not set"; -1 means unlimited;
// pids_limit <= 0 means unlimited. Device rules are applied on v1 only; on
// v2 they need a BPF program, which is not implemented (CgroupError).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "spec.hpp"

namespace deckhand::runtime {

struct CgroupStats {
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage_bytes = 0;
  uint64_t memory_working_set_bytes = 0;  // usage minus inactive_file, as the kubelet computes it
  uint64_t pids_current = 0;
};

// One hierarchy's directory of a cgroup, as a container's cgroup mount shows
// it: v1 name "cpu,cpuacct" (the mount's directory name), v2 an empty name.
struct CgroupMountSource {
  std::string name;
  std::string dir;
};

// A cgroup operation that failed; what() names the file or path and the errno text.
class CgroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CgroupDriver {
 public:
  virtual ~CgroupDriver() = default;

  virtual std::string version() const = 0;  // "v1" or "v2"
  // mkdir -p in every hierarchy used, then writes the resources. Idempotent.
  // If the cgroup did not exist and writing fails, the new leaf is removed.
  virtual void create(const std::string& path, const Resources& r) = 0;
  virtual void update(const std::string& path, const Resources& r) = 0;
  // Writes pid to cgroup.procs in every hierarchy.
  virtual void add_process(const std::string& path, pid_t pid) = 0;
  // Moves the calling process, which must be single-threaded, into the
  // cgroup. v1 writes "0" to every hierarchy's `tasks`: the kernel then moves
  // one thread without the global threadgroup lock, whose write side waits
  // for an RCU grace period (5-12 ms on this 2-core machine, against 0.3 ms).
  // v2 writes "0" to cgroup.procs (launchers use CLONE_INTO_CGROUP instead).
  virtual void add_self(const std::string& path) = 0;
  // The processes in the cgroup and its descendants, sorted, without duplicates.
  virtual std::vector<pid_t> processes(const std::string& path) = 0;
  // Missing files count as 0; never throws except for an invalid path.
  virtual CgroupStats stats(const std::string& path) = 0;
  // v1: memory.oom_control oom_kill > 0 or under_oom; v2: memory.events oom_kill > 0.
  virtual bool oom_killed(const std::string& path) = 0;
  // Signals every process in the cgroup and its descendants (frozen meanwhile
  // when a freezer is available; v2 SIGKILL uses cgroup.kill when present).
  virtual void kill_all(const std::string& path, int signal) = 0;
  // rmdir the cgroup and its descendants in every hierarchy, deepest first.
  // Missing = ok; EBUSY is retried for up to ~100 ms. Ancestors are kept.
  virtual void destroy(const std::string& path) = 0;
  // The cgroup's directory in every hierarchy the driver uses.
  virtual std::vector<CgroupMountSource> mount_sources(const std::string& path) const = 0;
  // The directory of `path` in the hierarchy holding `controller` (v2 ignores
  // the controller). Throws CgroupError if the controller is not mounted.
  virtual std::string cgroup_dir(const std::string& controller, const std::string& path) const = 0;
};

std::unique_ptr<CgroupDriver> make_cgroup_v1_driver(const std::string& root = "/sys/fs/cgroup");
std::unique_ptr<CgroupDriver> make_cgroup_v2_driver(const std::string& root = "/sys/fs/cgroup");
// v2 when root itself is cgroup2 (statfs magic CGROUP2_SUPER_MAGIC), else v1.
std::unique_ptr<CgroupDriver> detect_cgroup_driver(const std::string& root = "/sys/fs/cgroup");

// Parses "key value\n" files (memory.events, memory.stat, cpu.stat) into a
// map; malformed lines (no value, extra fields, non-numeric) are skipped.
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);

}  // namespace deckhand::runtime
