// config.json → Spec. Strict by design: an unknown or unsupported field is an
// error naming it (a runtime that silently drops "readonly" or a seccomp rule
// runs a container less isolated than its author asked for).
#include "spec.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "capabilities.hpp"
#include "seccomp.hpp"

namespace deckhand::runtime {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw SpecError("config.json: " + field + ": " + what);
}

const json& require_object(const json& value, const std::string& field) {
  if (!value.is_object()) fail(field, "expected an object");
  return value;
}

void only_keys(const json& object, const std::string& field, const std::set<std::string>& known) {
  for (const auto& item : object.items()) {
    if (!known.count(item.key())) {
      fail(field.empty() ? item.key() : field + "." + item.key(), "not supported by this runtime (see plugins/runtime-native/README.md)");
    }
  }
}

std::string get_string(const json& value, const std::string& field) {
  if (!value.is_string()) fail(field, "expected a string");
  return value.get<std::string>();
}

bool get_bool(const json& value, const std::string& field) {
  if (!value.is_boolean()) fail(field, "expected true or false");
  return value.get<bool>();
}

int64_t get_int(const json& value, const std::string& field) {
  if (!value.is_number_integer()) fail(field, "expected an integer");
  return value.get<int64_t>();
}

uint64_t get_uint(const json& value, const std::string& field) {
  if (!value.is_number_integer() || (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() < 0)) {
    fail(field, "expected a non-negative integer");
  }
  return value.get<uint64_t>();
}

uint32_t get_id(const json& value, const std::string& field) {
  const uint64_t id = get_uint(value, field);
  // (uid_t)-1 means "no change" to the kernel, and ids above INT32_MAX wrap in
  // some tools (containerd CVE-2024-40635): refuse both.
  if (id > 0x7fffffffu) fail(field, std::to_string(id) + " is out of range (at most 2147483647)");
  return static_cast<uint32_t>(id);
}

std::vector<std::string> get_strings(const json& value, const std::string& field) {
  if (!value.is_array()) fail(field, "expected a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value.size(); ++i) out.push_back(get_string(value[i], field + "[" + std::to_string(i) + "]"));
  return out;
}

void check_no_nul(const std::string& text, const std::string& field) {
  if (text.find('\0') != std::string::npos) fail(field, "contains a NUL byte");
}

int rlimit_from_name(const std::string& name, const std::string& field) {
  static const std::map<std::string, int> names = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},     {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},     {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK}};
  auto it = names.find(name);
  if (it == names.end()) fail(field, "unknown rlimit \"" + name + "\"");
  return it->second;
}

std::vector<int> get_caps(const json& value, const std::string& field) {
  std::vector<int> caps;
  for (const auto& name : get_strings(value, field)) {
    try {
      caps.push_back(capability_from_name(name));
    } catch (const SpecError& e) {
      fail(field, e.what());
    }
  }
  return caps;
}

Process parse_process(const json& value) {
  require_object(value, "process");
  only_keys(value, "process", {"terminal", "user", "args", "env", "cwd", "capabilities", "rlimits",
                               "noNewPrivileges", "oomScoreAdj"});
  Process process;
  if (value.contains("terminal") && get_bool(value["terminal"], "process.terminal")) {
    fail("process.terminal", "true is not supported yet (no console socket); use false");
  }
  if (!value.contains("args")) fail("process.args", "required");
  process.args = get_strings(value["args"], "process.args");
  if (process.args.empty() || process.args[0].empty()) fail("process.args", "must name a program");
  for (const auto& arg : process.args) check_no_nul(arg, "process.args");
  if (value.contains("env")) process.env = get_strings(value["env"], "process.env");
  for (const auto& entry : process.env) {
    check_no_nul(entry, "process.env");
    if (entry.find('=') == std::string::npos) fail("process.env", "\"" + entry + "\" is not NAME=value");
  }
  if (value.contains("cwd")) process.cwd = get_string(value["cwd"], "process.cwd");
  if (process.cwd.empty() || process.cwd.front() != '/') fail("process.cwd", "must be an absolute path");
  check_no_nul(process.cwd, "process.cwd");
  if (value.contains("user")) {
    const json& user = require_object(value["user"], "process.user");
    only_keys(user, "process.user", {"uid", "gid", "additionalGids", "umask"});
    if (user.contains("umask")) fail("process.user.umask", "not supported yet");
    if (user.contains("uid")) process.uid = get_id(user["uid"], "process.user.uid");
    if (user.contains("gid")) process.gid = get_id(user["gid"], "process.user.gid");
    if (user.contains("additionalGids")) {
      const json& gids = user["additionalGids"];
      if (!gids.is_array()) fail("process.user.additionalGids", "expected a list of integers");
      for (std::size_t i = 0; i < gids.size(); ++i) {
        process.additional_gids.push_back(get_id(gids[i], "process.user.additionalGids[" + std::to_string(i) + "]"));
      }
    }
  }
  if (value.contains("capabilities")) {
    const json& caps = require_object(value["capabilities"], "process.capabilities");
    only_keys(caps, "process.capabilities", {"bounding", "effective", "inheritable", "permitted", "ambient"});
    if (caps.contains("bounding")) process.capabilities.bounding = get_caps(caps["bounding"], "process.capabilities.bounding");
    if (caps.contains("effective")) process.capabilities.effective = get_caps(caps["effective"], "process.capabilities.effective");
    if (caps.contains("inheritable")) process.capabilities.inheritable = get_caps(caps["inheritable"], "process.capabilities.inheritable");
    if (caps.contains("permitted")) process.capabilities.permitted = get_caps(caps["permitted"], "process.capabilities.permitted");
    if (caps.contains("ambient")) process.capabilities.ambient = get_caps(caps["ambient"], "process.capabilities.ambient");
  }
  if (value.contains("rlimits")) {
    const json& limits = value["rlimits"];
    if (!limits.is_array()) fail("process.rlimits", "expected a list");
    std::set<int> seen;
    for (std::size_t i = 0; i < limits.size(); ++i) {
      const std::string field = "process.rlimits[" + std::to_string(i) + "]";
      const json& limit = require_object(limits[i], field);
      only_keys(limit, field, {"type", "soft", "hard"});
      if (!limit.contains("type") || !limit.contains("soft") || !limit.contains("hard")) {
        fail(field, "needs type, soft and hard");
      }
      Rlimit rlimit;
      rlimit.resource = rlimit_from_name(get_string(limit["type"], field + ".type"), field + ".type");
      rlimit.soft = get_uint(limit["soft"], field + ".soft");
      rlimit.hard = get_uint(limit["hard"], field + ".hard");
      if (rlimit.soft > rlimit.hard) fail(field, "soft limit is above the hard limit");
      if (!seen.insert(rlimit.resource).second) fail(field + ".type", "given twice");
      process.rlimits.push_back(rlimit);
    }
  }
  if (value.contains("noNewPrivileges")) process.no_new_privileges = get_bool(value["noNewPrivileges"], "process.noNewPrivileges");
  if (value.contains("oomScoreAdj")) {
    const int64_t adj = get_int(value["oomScoreAdj"], "process.oomScoreAdj");
    if (adj < -1000 || adj > 1000) fail("process.oomScoreAdj", "must be between -1000 and 1000");
    process.oom_score_adj = static_cast<int>(adj);
  }
  return process;
}

std::string clean_container_path(const std::string& path, const std::string& field) {
  if (path.empty() || path.front() != '/') fail(field, "must be an absolute path inside the container, got \"" + path + "\"");
  check_no_nul(path, field);
  const std::string normal = std::filesystem::path(path).lexically_normal().string();
  for (const auto& part : std::filesystem::path(path)) {
    if (part == "..") fail(field, "must not contain \"..\"");
  }
  return normal.size() > 1 && normal.back() == '/' ? normal.substr(0, normal.size() - 1) : normal;
}

std::vector<Mount> parse_mounts(const json& value) {
  if (!value.is_array()) fail("mounts", "expected a list");
  static const std::set<std::string> types = {"bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2"};
  std::vector<Mount> mounts;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string field = "mounts[" + std::to_string(i) + "]";
    const json& item = require_object(value[i], field);
    only_keys(item, field, {"destination", "type", "source", "options"});
    Mount mount;
    if (!item.contains("destination")) fail(field + ".destination", "required");
    mount.destination = clean_container_path(get_string(item["destination"], field + ".destination"), field + ".destination");
    if (item.contains("options")) mount.options = get_strings(item["options"], field + ".options");
    if (item.contains("source")) mount.source = get_string(item["source"], field + ".source");
    check_no_nul(mount.source, field + ".source");
    if (item.contains("type")) mount.type = get_string(item["type"], field + ".type");
    // runc treats a mount with "bind" or "rbind" in its options as a bind mount, whatever its type says.
    for (const auto& option : mount.options) {
      if (option == "bind" || option == "rbind") mount.type = "bind";
    }
    if (mount.type == "none" || mount.type.empty()) mount.type = "bind";
    if (!types.count(mount.type)) fail(field + ".type", "\"" + mount.type + "\" is not supported");
    if (mount.type == "bind" && (mount.source.empty() || mount.source.front() != '/')) {
      fail(field + ".source", "a bind mount needs an absolute source path");
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

std::optional<int64_t> optional_int(const json& object, const char* key, const std::string& field) {
  if (!object.contains(key) || object[key].is_null()) return std::nullopt;
  return get_int(object[key], field + "." + key);
}

}  // namespace

Resources parse_linux_resources(const json& value) {
  require_object(value, "linux.resources");
  only_keys(value, "linux.resources", {"cpu", "memory", "pids", "devices"});
  Resources resources;
  if (value.contains("cpu")) {
    const json& cpu = require_object(value["cpu"], "linux.resources.cpu");
    only_keys(cpu, "linux.resources.cpu", {"shares", "quota", "period"});
    if (auto shares = optional_int(cpu, "shares", "linux.resources.cpu")) {
      if (*shares < 0) fail("linux.resources.cpu.shares", "must not be negative");
      resources.cpu_shares = static_cast<uint64_t>(*shares);
    }
    resources.cpu_quota = optional_int(cpu, "quota", "linux.resources.cpu");
    if (auto period = optional_int(cpu, "period", "linux.resources.cpu")) {
      if (*period < 1000 || *period > 1000000) fail("linux.resources.cpu.period", "must be between 1000 and 1000000 µs");
      resources.cpu_period = static_cast<uint64_t>(*period);
    }
    if (resources.cpu_quota && *resources.cpu_quota != -1 && *resources.cpu_quota < 1000) {
      fail("linux.resources.cpu.quota", "must be -1 (unlimited) or at least 1000 µs");
    }
  }
  if (value.contains("memory")) {
    const json& memory = require_object(value["memory"], "linux.resources.memory");
    only_keys(memory, "linux.resources.memory", {"limit", "swap"});
    resources.memory_limit = optional_int(memory, "limit", "linux.resources.memory");
    resources.memory_swap = optional_int(memory, "swap", "linux.resources.memory");
    if (resources.memory_limit && *resources.memory_limit != -1 && *resources.memory_limit < 4096) {
      fail("linux.resources.memory.limit", "must be -1 or at least 4096 bytes");
    }
    if (resources.memory_swap && *resources.memory_swap != -1 && resources.memory_limit &&
        *resources.memory_limit != -1 && *resources.memory_swap < *resources.memory_limit) {
      fail("linux.resources.memory.swap", "is memory plus swap, so it cannot be below the memory limit");
    }
  }
  if (value.contains("pids")) {
    const json& pids = require_object(value["pids"], "linux.resources.pids");
    only_keys(pids, "linux.resources.pids", {"limit"});
    resources.pids_limit = optional_int(pids, "limit", "linux.resources.pids");
  }
  if (value.contains("devices")) {
    const json& rules = value["devices"];
    if (!rules.is_array()) fail("linux.resources.devices", "expected a list");
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const std::string field = "linux.resources.devices[" + std::to_string(i) + "]";
      const json& rule = require_object(rules[i], field);
      only_keys(rule, field, {"allow", "type", "major", "minor", "access"});
      DeviceRule device;
      if (!rule.contains("allow")) fail(field + ".allow", "required");
      device.allow = get_bool(rule["allow"], field + ".allow");
      if (rule.contains("type")) {
        const std::string type = get_string(rule["type"], field + ".type");
        if (type != "a" && type != "c" && type != "b") fail(field + ".type", "must be a, c or b");
        device.type = type[0];
      }
      device.major = optional_int(rule, "major", field);
      device.minor = optional_int(rule, "minor", field);
      if (rule.contains("access")) device.access = get_string(rule["access"], field + ".access");
      if (device.access.empty() || device.access.find_first_not_of("rwm") != std::string::npos) {
        fail(field + ".access", "must be made of r, w and m");
      }
      resources.devices.push_back(device);
    }
  }
  return resources;
}

namespace {

void parse_linux(const json& value, Spec& spec) {
  require_object(value, "linux");
  only_keys(value, "linux", {"namespaces", "resources", "cgroupsPath", "seccomp", "maskedPaths", "readonlyPaths",
                             "sysctl", "devices", "rootfsPropagation", "uidMappings", "gidMappings"});
  if (value.contains("uidMappings") || value.contains("gidMappings")) {
    if (!value.value("uidMappings", json::array()).empty() || !value.value("gidMappings", json::array()).empty()) {
      fail("linux.uidMappings", "user namespaces are not supported yet");
    }
  }
  if (value.contains("namespaces")) {
    const json& list = value["namespaces"];
    if (!list.is_array()) fail("linux.namespaces", "expected a list");
    static const std::set<std::string> types = {"pid", "network", "mount", "ipc", "uts", "cgroup"};
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string field = "linux.namespaces[" + std::to_string(i) + "]";
      const json& item = require_object(list[i], field);
      only_keys(item, field, {"type", "path"});
      Namespace ns;
      if (!item.contains("type")) fail(field + ".type", "required");
      ns.type = get_string(item["type"], field + ".type");
      if (ns.type == "user") fail(field + ".type", "user namespaces are not supported yet");
      if (!types.count(ns.type)) fail(field + ".type", "unknown namespace type \"" + ns.type + "\"");
      if (!seen.insert(ns.type).second) fail(field + ".type", "namespace \"" + ns.type + "\" given twice");
      if (item.contains("path")) ns.path = get_string(item["path"], field + ".path");
      if (!ns.path.empty() && ns.path.front() != '/') fail(field + ".path", "must be absolute");
      spec.namespaces.push_back(ns);
    }
  }
  if (value.contains("resources")) spec.resources = parse_linux_resources(value["resources"]);
  if (value.contains("cgroupsPath")) {
    spec.cgroups_path = get_string(value["cgroupsPath"], "linux.cgroupsPath");
    for (const auto& part : std::filesystem::path(spec.cgroups_path)) {
      if (part == "..") fail("linux.cgroupsPath", "must not contain \"..\"");
    }
    if (spec.cgroups_path.find(':') != std::string::npos) {
      fail("linux.cgroupsPath", "systemd-style slice:prefix:name paths are not supported (cgroupfs paths only)");
    }
  }
  if (value.contains("seccomp")) spec.seccomp = parse_seccomp(value["seccomp"]);
  auto paths = [&](const char* key, std::vector<std::string>& out) {
    if (!value.contains(key)) return;
    for (const auto& path : get_strings(value[key], std::string("linux.") + key)) {
      out.push_back(clean_container_path(path, std::string("linux.") + key));
    }
  };
  paths("maskedPaths", spec.masked_paths);
  paths("readonlyPaths", spec.readonly_paths);
  if (value.contains("sysctl")) {
    const json& sysctl = require_object(value["sysctl"], "linux.sysctl");
    for (const auto& item : sysctl.items()) {
      const std::string& key = item.key();
      if (key.empty() || key.find("..") != std::string::npos || key.find('/') != std::string::npos) {
        fail("linux.sysctl", "invalid key \"" + key + "\"");
      }
      spec.sysctl[key] = get_string(item.value(), "linux.sysctl." + key);
    }
  }
  if (value.contains("devices")) {
    const json& list = value["devices"];
    if (!list.is_array()) fail("linux.devices", "expected a list");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string field = "linux.devices[" + std::to_string(i) + "]";
      const json& item = require_object(list[i], field);
      only_keys(item, field, {"path", "type", "major", "minor", "fileMode", "uid", "gid"});
      Device device;
      if (!item.contains("path") || !item.contains("type")) fail(field, "needs path and type");
      device.path = clean_container_path(get_string(item["path"], field + ".path"), field + ".path");
      if (device.path.rfind("/dev/", 0) != 0) fail(field + ".path", "must be under /dev");
      const std::string type = get_string(item["type"], field + ".type");
      if (type != "c" && type != "b" && type != "u" && type != "p") fail(field + ".type", "must be c, b, u or p");
      device.type = type[0];
      if (item.contains("major")) device.major = get_int(item["major"], field + ".major");
      if (item.contains("minor")) device.minor = get_int(item["minor"], field + ".minor");
      if (device.major < 0 || device.major > 4095 || device.minor < 0 || device.minor > 1048575) {
        fail(field, "major or minor number out of range");
      }
      if (item.contains("fileMode")) device.file_mode = static_cast<uint32_t>(get_uint(item["fileMode"], field + ".fileMode") & 07777);
      if (item.contains("uid")) device.uid = get_id(item["uid"], field + ".uid");
      if (item.contains("gid")) device.gid = get_id(item["gid"], field + ".gid");
      spec.devices.push_back(device);
    }
  }
  if (value.contains("rootfsPropagation")) {
    spec.rootfs_propagation = get_string(value["rootfsPropagation"], "linux.rootfsPropagation");
    static const std::set<std::string> allowed = {"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};
    if (!allowed.count(spec.rootfs_propagation)) fail("linux.rootfsPropagation", "unknown value \"" + spec.rootfs_propagation + "\"");
  }
}

}  // namespace

bool Spec::has_namespace(const std::string& type) const {
  for (const auto& ns : namespaces) {
    if (ns.type == type) return true;
  }
  return false;
}

bool Spec::new_namespace(const std::string& type) const {
  for (const auto& ns : namespaces) {
    if (ns.type == type) return ns.path.empty();
  }
  return false;
}

Spec parse_spec(const json& config, const std::string& bundle) {
  require_object(config, "");
  only_keys(config, "", {"ociVersion", "process", "root", "hostname", "mounts", "linux", "annotations", "hooks",
                         "domainname"});
  Spec spec;
  if (!config.contains("ociVersion")) fail("ociVersion", "required");
  spec.oci_version = get_string(config["ociVersion"], "ociVersion");
  if (spec.oci_version.rfind("1.", 0) != 0) fail("ociVersion", "\"" + spec.oci_version + "\": only 1.x is supported");
  if (config.contains("hooks") && !config["hooks"].empty()) fail("hooks", "OCI hooks are not supported yet");
  if (config.contains("domainname") && !get_string(config["domainname"], "domainname").empty()) {
    fail("domainname", "not supported yet");
  }
  if (!config.contains("process")) fail("process", "required");
  spec.process = parse_process(config["process"]);
  if (!config.contains("root")) fail("root", "required");
  const json& root = require_object(config["root"], "root");
  only_keys(root, "root", {"path", "readonly"});
  if (!root.contains("path")) fail("root.path", "required");
  std::filesystem::path root_path = get_string(root["path"], "root.path");
  check_no_nul(root_path.string(), "root.path");
  if (root_path.is_relative()) root_path = std::filesystem::path(bundle) / root_path;
  spec.root_path = root_path.lexically_normal().string();
  if (root.contains("readonly")) spec.root_readonly = get_bool(root["readonly"], "root.readonly");
  if (config.contains("hostname")) {
    spec.hostname = get_string(config["hostname"], "hostname");
    if (spec.hostname.size() > 64 || spec.hostname.find('\0') != std::string::npos) fail("hostname", "invalid hostname");
  }
  if (config.contains("mounts")) spec.mounts = parse_mounts(config["mounts"]);
  if (config.contains("linux")) parse_linux(config["linux"], spec);
  if (!spec.hostname.empty() && !spec.has_namespace("uts")) fail("hostname", "needs a new uts namespace");
  if (config.contains("annotations")) {
    const json& annotations = require_object(config["annotations"], "annotations");
    for (const auto& item : annotations.items()) spec.annotations[item.key()] = get_string(item.value(), "annotations." + item.key());
  }
  return spec;
}

Spec load_spec(const std::string& bundle) {
  const std::string path = bundle + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (4u << 20)) throw SpecError(path + ": larger than 4 MiB");
  const json config = json::parse(text.str(), nullptr, false);
  if (config.is_discarded()) throw SpecError(path + ": not valid JSON");
  try {
    return parse_spec(config, bundle);
  } catch (const SpecError& e) {
    throw SpecError(bundle + "/" + e.what());
  }
}

}  // namespace deckhand::runtime
