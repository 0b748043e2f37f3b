#include "default_spec.hpp"

#include "capabilities.hpp"
#include "seccomp.hpp"

namespace deckhand::runtime {
namespace {

using nlohmann::json;

json capability_names(const std::vector<int>& capabilities) {
  json names = json::array();
  for (int cap : capabilities) names.push_back(capability_name(cap));
  return names;
}

json mounts(bool privileged) {
  const std::string sys_mode = privileged ? "rw" : "ro";
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", sys_mode}}},
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", sys_mode}}},
  });
}

}  // namespace

const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> paths = {
      "/proc/acpi",        "/proc/asound",     "/proc/kcore",        "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",        "/sys/firmware",    "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

json seccomp_to_json(const Seccomp& profile) {
  json out = {{"defaultAction", profile.default_action}, {"architectures", profile.architectures}};
  if (profile.default_errno_ret) out["defaultErrnoRet"] = *profile.default_errno_ret;
  json rules = json::array();
  for (const SeccompRule& rule : profile.syscalls) {
    json item = {{"names", rule.names}, {"action", rule.action}};
    if (rule.errno_ret) item["errnoRet"] = *rule.errno_ret;
    if (!rule.args.empty()) {
      json args = json::array();
      for (const SeccompArg& arg : rule.args) {
        json a = {{"index", arg.index}, {"value", arg.value}, {"op", arg.op}};
        if (arg.value_two != 0) a["valueTwo"] = arg.value_two;
        args.push_back(a);
      }
      item["args"] = args;
    }
    rules.push_back(item);
  }
  out["syscalls"] = rules;
  return out;
}

json default_spec(const SpecTemplate& options) {
  const bool privileged = options.profile == SpecProfile::privileged;
  const std::vector<int> capabilities =
      privileged ? bounding_capabilities() : options.capabilities.value_or(default_capabilities());
  const json caps = capability_names(capabilities);
  json process = {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", options.args},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
      {"cwd", "/"},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", !privileged},
  };
  json linux = {
      {"resources", {{"devices", json::array({{{"allow", privileged}, {"access", "rwm"}}})}}},
      {"namespaces", json::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                  {{"type", "mount"}}, {{"type", "cgroup"}}})},
  };
  if (!privileged) {
    linux["maskedPaths"] = default_masked_paths();
    linux["readonlyPaths"] = default_readonly_paths();
    linux["seccomp"] = seccomp_to_json(default_seccomp_profile(capabilities));
  }
  return {{"ociVersion", "1.0.2"},
          {"process", process},
          {"root", {{"path", options.root_path}, {"readonly", false}}},
          {"hostname", options.hostname},
          {"mounts", mounts(privileged)},
          {"linux", linux}};
}

}  // namespace deckhand::runtime
