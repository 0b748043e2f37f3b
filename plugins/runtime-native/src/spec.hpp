// The supported subset of the OCI runtime specification (runtime-spec 1.x
// config.json), as a validated model. Parsing refuses every field outside the
// subset with an error naming it: nothing is silently ignored (README.md
// lists the subset).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace deckhand::runtime {

// A config.json the runtime cannot run as written; what() names the field.
class SpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Mount {
  std::string destination;  // absolute, inside the container
  std::string type;         // bind, proc, sysfs, tmpfs, devpts, mqueue, cgroup
  std::string source;
  std::vector<std::string> options;
};

struct Namespace {
  std::string type;  // pid, network, mount, ipc, uts, cgroup (user: refused for now)
  std::string path;  // empty = a new namespace; else join the one at path
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capability sets as numbers (CAP_*).
struct Capabilities {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  Capabilities capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

// linux.resources.devices: the device cgroup's allow/deny list.
struct DeviceRule {
  bool allow = false;
  char type = 'a';             // a, c, b
  std::optional<int64_t> major;  // empty = any
  std::optional<int64_t> minor;
  std::string access = "rwm";
};

// linux.devices: device nodes to create in /dev.
struct Device {
  std::string path;
  char type = 'c';  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0666;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct Resources {
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;   // µs per period; -1 = unlimited
  std::optional<uint64_t> cpu_period; // µs
  std::optional<int64_t> memory_limit;  // bytes; -1 = unlimited
  std::optional<int64_t> memory_swap;   // memory + swap, bytes; -1 = unlimited
  std::optional<int64_t> pids_limit;    // -1 or 0 = unlimited
  std::vector<DeviceRule> devices;
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _LOG
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action = "SCMP_ACT_ALLOW";
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<SeccompRule> syscalls;
};

struct Spec {
  std::string oci_version;
  std::string root_path;  // absolute (resolved against the bundle)
  bool root_readonly = false;
  std::string hostname;
  Process process;
  std::vector<Mount> mounts;
  std::vector<Namespace> namespaces;
  Resources resources;
  std::string cgroups_path;  // relative to each hierarchy's root
  std::optional<Seccomp> seccomp;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::vector<Device> devices;
  std::string rootfs_propagation;  // empty = private
  std::map<std::string, std::string> annotations;

  bool has_namespace(const std::string& type) const;
  // Listed without a path: the container gets a new one (not one joined).
  bool new_namespace(const std::string& type) const;
};

// An OCI linux.resources object (also the pod-level resources of a sandbox).
Resources parse_linux_resources(const nlohmann::json& value);

// Parses and validates config.json; relative root.path resolves against bundle.
Spec parse_spec(const nlohmann::json& config, const std::string& bundle);

// Reads <bundle>/config.json (at most 4 MiB) and parses it.
Spec load_spec(const std::string& bundle);

}  // namespace deckhand::runtime
