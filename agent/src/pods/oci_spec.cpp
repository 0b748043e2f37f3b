// A container's config.json from its pod, the runtime's template and what
// the storage and sandbox steps prepared (see oci_spec.hpp for the sources).
#include "pods/oci_spec.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "pods/pod_strings.hpp"

namespace deckhand::pods {
namespace {

using nlohmann::json;

// The image config's process settings (OCI image-spec config.md).
struct ImageSettings {
  std::vector<std::string> env;
  ImageCommand command;
  std::string working_dir;
  std::string user;
};

// The image config comes from a registry: a wrong type is refused by name.
std::vector<std::string> image_strings(const json& config, const char* key) {
  std::vector<std::string> values;
  if (!config.contains(key) || config[key].is_null()) return values;
  const json& list = config[key];
  const bool strings = list.is_array() && std::all_of(list.begin(), list.end(), [](const json& v) { return v.is_string(); });
  if (!strings) {
    throw ContainerConfigError(kCreateContainerError, std::string("image config: config.") + key + ": must be a list of strings");
  }
  for (const json& value : list) values.push_back(value.get<std::string>());
  return values;
}

std::string image_string(const json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return {};
  if (!config[key].is_string()) {
    throw ContainerConfigError(kCreateContainerError, std::string("image config: config.") + key + ": must be a string");
  }
  return config[key].get<std::string>();
}

ImageSettings read_image_settings(const json& image_config) {
  if (image_config.is_null()) return {};
  if (!image_config.is_object()) throw ContainerConfigError(kCreateContainerError, "image config: must be an object");
  if (!image_config.contains("config") || image_config["config"].is_null()) return {};
  const json& config = image_config["config"];
  if (!config.is_object()) throw ContainerConfigError(kCreateContainerError, "image config: config: must be an object");
  return {image_strings(config, "Env"),
          {image_strings(config, "Entrypoint"), image_strings(config, "Cmd")},
          image_string(config, "WorkingDir"),
          image_string(config, "User")};
}

// filepath.Clean for an absolute path ("." and "" dropped, ".." pops).
std::string clean_absolute(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string cleaned;
  for (const std::string& part : parts) cleaned += "/" + part;
  return cleaned.empty() ? "/" : cleaned;
}

std::size_t path_depth(const std::string& cleaned) {
  return cleaned == "/" ? 1 : static_cast<std::size_t>(std::count(cleaned.begin(), cleaned.end(), '/'));
}

// A CRI mount: a host path bound into the container.
struct BindMount {
  std::string destination;  // cleaned
  std::string source;
  bool read_only = false;
};

// kubelet kubelet_pods.go makeMounts: the volume (or its subPath) per
// volumeMount. The subPath check is lexical, as the kubelet's first one is;
// a symlink inside the volume is the runtime's to resolve safely.
std::vector<BindMount> volume_mounts(const Container& container, const ContainerSpecInputs& inputs) {
  std::vector<BindMount> mounts;
  for (const VolumeMount& mount : container.volume_mounts) {
    const auto volume = inputs.volume_paths.find(mount.name);
    if (volume == inputs.volume_paths.end()) {
      throw ContainerConfigError(kCreateContainerConfigError, "cannot find volume " + quote(mount.name) +
                                                                  " to mount into container " + quote(container.name));
    }
    std::string source = volume->second;
    if (!mount.sub_path.empty()) {
      if (mount.sub_path.front() == '/') {
        throw ContainerConfigError(kCreateContainerConfigError,
                                   "error SubPath `" + mount.sub_path + "` must not be an absolute path");
      }
      const std::string cleaned = clean_absolute("/" + mount.sub_path);
      if (("/" + mount.sub_path + "/").find("/../") != std::string::npos) {
        throw ContainerConfigError(kCreateContainerConfigError,
                                   "unable to provision SubPath `" + mount.sub_path + "`: must not contain '..'");
      }
      if (cleaned != "/") source += cleaned;
    }
    mounts.push_back({clean_absolute("/" + mount.mount_path), source, mount.read_only});
  }
  return mounts;
}

// kubelet's /etc/hosts (makeHostsMount: writable) unless a volume is there,
// then containerd's containerMounts: /etc/hostname and /etc/resolv.conf,
// read-only with a read-only root filesystem; containerd's CRI mounts win.
// Sorted by depth, stably, so a mount never hides a deeper one (containerd
// WithMounts).
std::vector<BindMount> all_bind_mounts(const Container& container, const ContainerSpecInputs& inputs,
                                       bool read_only_root) {
  std::vector<BindMount> mounts = volume_mounts(container, inputs);
  auto taken = [&mounts](const std::string& destination) {
    return std::any_of(mounts.begin(), mounts.end(), [&](const BindMount& m) { return m.destination == destination; });
  };
  if (!inputs.etc_hosts_path.empty() && !taken("/etc/hosts")) {
    mounts.push_back({"/etc/hosts", inputs.etc_hosts_path, false});
  }
  for (const auto& [destination, source] : {std::pair{"/etc/hostname", &inputs.etc_hostname_path},
                                             std::pair{"/etc/resolv.conf", &inputs.resolv_conf_path}}) {
    if (!source->empty() && !taken(destination)) mounts.push_back({destination, *source, read_only_root});
  }
  std::stable_sort(mounts.begin(), mounts.end(), [](const BindMount& a, const BindMount& b) {
    return path_depth(a.destination) < path_depth(b.destination);
  });
  return mounts;
}

// The template's mounts but those a bind mount replaces (and everything
// under /dev when /dev itself is replaced), then the bind mounts.
json merge_mounts(const json& template_mounts, const std::vector<BindMount>& binds) {
  json mounts = json::array();
  const bool dev_replaced = std::any_of(binds.begin(), binds.end(), [](const BindMount& m) { return m.destination == "/dev"; });
  for (const json& mount : template_mounts) {
    const std::string destination = clean_absolute(mount.value("destination", ""));
    const bool replaced = std::any_of(binds.begin(), binds.end(), [&](const BindMount& m) { return m.destination == destination; });
    if (replaced || (dev_replaced && destination.rfind("/dev/", 0) == 0)) continue;
    mounts.push_back(mount);
  }
  for (const BindMount& bind : binds) {
    mounts.push_back({{"destination", bind.destination},
                      {"type", "bind"},
                      {"source", bind.source},
                      {"options", {"rbind", "rprivate", bind.read_only ? "ro" : "rw"}}});
  }
  return mounts;
}

// The sandbox's pins replace the template's network, ipc and uts
// namespaces; a hostNetwork pod keeps the host's network and hostname
// (kubelet NamespacesForPod; containerd WithPodNamespaces).
json pod_namespaces(const json& template_namespaces, const Pod& pod, const ContainerSpecInputs& inputs) {
  const std::vector<std::string> pinned = pod.spec.host_network ? std::vector<std::string>{"ipc"}
                                                                 : std::vector<std::string>{"network", "ipc", "uts"};
  for (const auto& [type, path] : inputs.namespace_paths) {
    if (std::find(pinned.begin(), pinned.end(), type) == pinned.end()) {
      throw std::invalid_argument("namespace_paths has \"" + type + "\", which pod " + pod.metadata.name +
                                  (pod.spec.host_network ? " (hostNetwork)" : "") + " does not pin");
    }
  }
  json namespaces = json::array();
  for (const json& ns : template_namespaces) {
    const std::string type = ns.value("type", "");
    const bool host = pod.spec.host_network && (type == "network" || type == "uts");
    if (host) continue;
    if (std::find(pinned.begin(), pinned.end(), type) == pinned.end()) {
      namespaces.push_back(ns);
      continue;
    }
    const auto path = inputs.namespace_paths.find(type);
    if (path == inputs.namespace_paths.end()) {
      throw std::invalid_argument("namespace_paths lacks the sandbox's \"" + type + "\" namespace");
    }
    namespaces.push_back({{"type", type}, {"path", path->second}});
  }
  return namespaces;
}

// kubelet calculateLinuxResources (shares from the request, or the limit
// without one; CFS quota from the limit, period always) and containerd
// WithResources (swap = limit, so the container does not swap).
void set_resources(json& resources, const Container& container) {
  const ResourceList& requests = container.resources.requests;
  const ResourceList& limits = container.resources.limits;
  const int64_t share_basis = requests.cpu_millis ? *requests.cpu_millis : limits.cpu_millis.value_or(0);
  json cpu = {{"shares", milli_cpu_to_shares(share_basis)}, {"period", 100000}};
  if (const int64_t quota = milli_cpu_to_quota(limits.cpu_millis.value_or(0)); quota != 0) cpu["quota"] = quota;
  resources["cpu"] = cpu;
  if (limits.memory_bytes.value_or(0) != 0) {
    resources["memory"] = {{"limit", *limits.memory_bytes}, {"swap", *limits.memory_bytes}};
  }
}

void erase_capability(json& set, const std::string& name) {
  json kept = json::array();
  for (const json& cap : set) {
    if (cap != name) kept.push_back(cap);
  }
  set = kept;
}

// containerd WithCapabilities: "ALL" added, then "ALL" dropped, then each
// added name, then each dropped one, in the bounding, effective and
// permitted sets (inheritable and ambient stay empty).
void apply_capabilities(json& capabilities, const Capabilities& requested, const ContainerSpecInputs& inputs,
                        const Container& container) {
  static const char* const kSets[] = {"bounding", "effective", "permitted"};
  auto has_all = [](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), "ALL") != names.end();
  };
  if (has_all(requested.add)) {
    if (inputs.all_capabilities.empty()) {
      throw std::invalid_argument("container " + container.name +
                                  " adds capability ALL but inputs.all_capabilities is empty");
    }
    for (const char* set : kSets) capabilities[set] = inputs.all_capabilities;
  }
  if (has_all(requested.drop)) {
    for (const char* set : kSets) capabilities[set] = json::array();
  }
  for (const std::string& name : requested.add) {
    if (name == "ALL") continue;
    const std::string cap = "CAP_" + name;
    for (const char* set : kSets) {
      json& list = capabilities[set];
      if (!list.is_array()) list = json::array();
      if (std::find(list.begin(), list.end(), cap) == list.end()) list.push_back(cap);
    }
  }
  for (const std::string& name : requested.drop) {
    if (name == "ALL") continue;
    for (auto& [set, list] : capabilities.items()) {
      if (list.is_array()) erase_capability(list, "CAP_" + name);
    }
  }
}

// The seccomp profile the container asks for: its own, else the pod's,
// else RuntimeDefault (deckhand's default: the kubelet's seccompDefault,
// false upstream, is on; see docs/pod-model.md).
SeccompProfile seccomp_profile(const Pod& pod, const Container& container) {
  if (container.security_context && container.security_context->seccomp_profile) {
    return *container.security_context->seccomp_profile;
  }
  if (pod.spec.security_context && pod.spec.security_context->seccomp_profile) {
    return *pod.spec.security_context->seccomp_profile;
  }
  return {};
}

void apply_security(json& spec, const Pod& pod, const Container& container, const ContainerSpecInputs& inputs) {
  const std::optional<SecurityContext>& context = container.security_context;
  json& linux = spec["linux"];
  // kubelet AddNoNewPrivileges, as containerd applies it: only an explicit
  // allowPrivilegeEscalation: false sets no_new_privs.
  spec["process"]["noNewPrivileges"] = context && context->allow_privilege_escalation == false;
  if (context && context->privileged.value_or(false)) {
    // containerd WithPrivileged: the Privileged template's capabilities and
    // devices; capabilities.add/drop and seccomp do not apply, nothing is masked.
    linux.erase("seccomp");
    linux.erase("maskedPaths");
    linux.erase("readonlyPaths");
    return;
  }
  if (context && context->capabilities) {
    apply_capabilities(spec["process"]["capabilities"], *context->capabilities, inputs, container);
  }
  const SeccompProfile profile = seccomp_profile(pod, container);
  switch (profile.type) {
    case SeccompType::runtime_default:
      if (!linux.contains("seccomp")) {
        throw std::invalid_argument("the template has no linux.seccomp: not the RuntimeDefault profile");
      }
      break;
    case SeccompType::unconfined:
      linux.erase("seccomp");
      break;
    case SeccompType::localhost:
      throw ContainerConfigError(kCreateContainerConfigError,
                                 "seccomp profile " + quote(profile.localhost_profile) + " of container " +
                                     quote(container.name) + ": Localhost profiles are not supported yet");
  }
}

json process_user_json(const ProcessUser& user) {
  return {{"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}};
}

}  // namespace

const char* template_profile(const Pod&, const Container& container) {
  const bool privileged = container.security_context && container.security_context->privileged.value_or(false);
  return privileged ? "Privileged" : "RuntimeDefault";
}

std::string pod_hostname(const Pod& pod) {
  std::string hostname = pod.spec.hostname.empty() ? pod.metadata.name : pod.spec.hostname;
  // kubelet truncatePodHostnameIfNeeded.
  if (hostname.size() > 63) {
    hostname.resize(63);
    while (!hostname.empty() && (hostname.back() == '-' || hostname.back() == '.')) hostname.pop_back();
  }
  return hostname;
}

uint64_t milli_cpu_to_shares(int64_t milli_cpu) {
  constexpr int64_t kMinShares = 2, kMaxShares = 262144;
  if (milli_cpu <= 0) return kMinShares;
  // Beyond this the product overflows; the result is the maximum anyway.
  if (milli_cpu > kMaxShares * 1000) return kMaxShares;
  return static_cast<uint64_t>(std::clamp(milli_cpu * 1024 / 1000, kMinShares, kMaxShares));
}

int64_t milli_cpu_to_quota(int64_t milli_cpu) {
  constexpr int64_t kPeriod = 100000, kMinQuota = 1000;
  if (milli_cpu <= 0) return 0;
  if (milli_cpu > std::numeric_limits<int64_t>::max() / kPeriod) return std::numeric_limits<int64_t>::max() / 1000;
  return std::max(milli_cpu * kPeriod / 1000, kMinQuota);
}

int container_oom_score_adj(const Pod& pod, const Container& container, int64_t node_memory_bytes) {
  constexpr int kGuaranteed = -997, kBestEffort = 1000;
  switch (qos_class(pod.spec)) {
    case QosClass::guaranteed: return kGuaranteed;
    case QosClass::best_effort: return kBestEffort;
    case QosClass::burstable: break;
  }
  if (node_memory_bytes <= 0) throw std::invalid_argument("node_memory_bytes must be positive");
  // Burstable: the larger the share of the node's memory requested, the
  // lower; kept within (Guaranteed, BestEffort) exclusive.
  const __int128 request = container.resources.requests.memory_bytes.value_or(0);
  const __int128 score = 1000 - (1000 * request) / node_memory_bytes;
  if (score < 1000 + kGuaranteed) return 1000 + kGuaranteed;
  if (score >= kBestEffort) return kBestEffort - 1;
  return static_cast<int>(score);
}

json build_container_spec(const Pod& pod, const Container& container, const ContainerSpecInputs& inputs) {
  if (!inputs.template_spec.is_object() || !inputs.template_spec.contains("process") ||
      !inputs.template_spec["process"].is_object()) {
    throw std::invalid_argument("template_spec must be a config.json object with a process");
  }
  if (!inputs.root.is_object() || !inputs.root.contains("path") || !inputs.root["path"].is_string()) {
    throw std::invalid_argument("root must be an OCI root object with a path");
  }
  json spec = inputs.template_spec;
  json& process = spec["process"];
  if (!spec.contains("linux") || !spec["linux"].is_object()) spec["linux"] = json::object();
  json& linux = spec["linux"];
  const ImageSettings image = read_image_settings(inputs.image_config);
  const bool read_only_root = container.security_context && container.security_context->read_only_root_filesystem.value_or(false);
  const std::string hostname = pod_hostname(pod);

  // The process: args, env (containerd: the template's PATH, HOSTNAME, the
  // image's Env, the container's env), cwd, user.
  const EnvList env = resolve_container_env(pod, container, {inputs.pod_ip, inputs.host_ip, inputs.node_name});
  process["args"] = container_process_args(container, env, image.command);
  std::vector<std::string> base_env;
  if (process.contains("env") && process["env"].is_array()) base_env = process["env"].get<std::vector<std::string>>();
  const std::string hostname_env = !pod.spec.host_network ? hostname
                                   : inputs.node_hostname.empty() ? inputs.node_name
                                                                  : inputs.node_hostname;
  std::vector<std::string> overrides = image.env;
  for (const auto& [name, value] : env) overrides.push_back(name + "=" + value);
  process["env"] = merge_env(merge_env(base_env, {"HOSTNAME=" + hostname_env}), overrides);
  process["cwd"] = !container.working_dir.empty() ? container.working_dir
                   : !image.working_dir.empty()    ? image.working_dir
                                                   : process.value("cwd", "/");
  const std::string root_path = inputs.root["path"].get<std::string>();
  process["user"] = process_user_json(resolve_process_user(pod, container, image.user, root_path));
  process["oomScoreAdj"] = container_oom_score_adj(pod, container, inputs.node_memory_bytes);

  spec["root"] = inputs.root;
  if (read_only_root) spec["root"]["readonly"] = true;
  if (pod.spec.host_network) {
    spec.erase("hostname");
  } else {
    spec["hostname"] = hostname;
  }
  spec["mounts"] = merge_mounts(spec.value("mounts", json::array()), all_bind_mounts(container, inputs, read_only_root));

  linux["namespaces"] = pod_namespaces(linux.value("namespaces", json::array()), pod, inputs);
  linux["cgroupsPath"] = inputs.cgroups_path + "/" + container.name;
  if (!linux.contains("resources") || !linux["resources"].is_object()) linux["resources"] = json::object();
  set_resources(linux["resources"], container);
  apply_security(spec, pod, container, inputs);

  // containerd's annotations (internal/cri/annotations), so that `deckhand
  // oci list` can tell whose container this is.
  json& annotations = spec["annotations"];
  if (!annotations.is_object()) annotations = json::object();
  annotations["io.kubernetes.cri.container-type"] = "container";
  annotations["io.kubernetes.cri.sandbox-id"] = inputs.sandbox_id;
  annotations["io.kubernetes.cri.sandbox-name"] = pod.metadata.name;
  annotations["io.kubernetes.cri.sandbox-namespace"] = pod.metadata.namespace_;
  annotations["io.kubernetes.cri.sandbox-uid"] = pod.metadata.uid;
  annotations["io.kubernetes.cri.container-name"] = container.name;
  annotations["io.kubernetes.cri.image-name"] = container.image;
  return spec;
}

}  // namespace deckhand::pods
