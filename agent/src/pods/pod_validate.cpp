// validate_pod: Kubernetes' ValidatePodCreate (pkg/apis/core/validation,
// apimachinery's ValidateObjectMeta) for the fields deckhand has, in the same
// order and with the same words, rendered as field.Error renders them. The
// few rules deckhand adds (absolute mount and host paths, host IPs,
// capability names) use the same form and are marked "deckhand:" below.
#include "pods/pod_validate.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

#include "pods/k8s_names.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods {
namespace {

const std::string kPortRange = "must be between 1 and 65535, inclusive";   // validation.IsValidPortNum
const std::string kIdRange = "must be between 0 and 2147483647, inclusive";  // IsValidUserID, IsValidGroupID
const std::string kNonNegative = "must be greater than or equal to 0";       // IsNegativeErrorMsg
constexpr std::size_t kAnnotationsLimit = 256 * 1024;                       // TotalAnnotationSizeLimitB

std::string child(const std::string& path, std::string_view name) { return path + "." + std::string(name); }
std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

// field.ErrorList: each error as Error() prints it, "<path>: <body>".
class Problems {
 public:
  void required(const std::string& path, std::string_view detail = {}) { add(path, "Required value", detail); }
  void invalid(const std::string& path, const std::string& shown, std::string_view detail) {
    add(path, "Invalid value: " + shown, detail);
  }
  void duplicate(const std::string& path, const std::string& shown) { add(path, "Duplicate value: " + shown, {}); }
  void not_found(const std::string& path, const std::string& shown) { add(path, "Not found: " + shown, {}); }
  void forbidden(const std::string& path, std::string_view detail) { add(path, "Forbidden", detail); }
  void too_long(const std::string& path, std::size_t max) {
    add(path, "Too long", "must have at most " + std::to_string(max) + " bytes");
  }
  // One Invalid per message of a k8s_names.hpp check.
  void invalid_each(const std::string& path, std::string_view value, const std::vector<std::string>& messages) {
    for (const std::string& message : messages) invalid(path, quote(value), message);
  }
  std::size_t size() const { return list_.size(); }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  void add(const std::string& path, std::string body, std::string_view detail) {
    if (!detail.empty()) body += ": " + std::string(detail);
    list_.push_back(path + ": " + body);
  }
  std::vector<std::string> list_;
};

bool in_id_range(int64_t id) { return id >= 0 && id <= 2147483647; }

void validate_object_meta(const ObjectMeta& meta, Problems& problems) {
  if (meta.name.empty()) {
    problems.required("metadata.name", "name or generateName is required");
  } else {
    problems.invalid_each("metadata.name", meta.name, dns1123_subdomain_errors(meta.name));
  }
  if (meta.namespace_.empty()) {
    problems.required("metadata.namespace");
  } else {
    problems.invalid_each("metadata.namespace", meta.namespace_, dns1123_label_errors(meta.namespace_));
  }
  for (const auto& [key, value] : meta.labels) {
    problems.invalid_each("metadata.labels", key, qualified_name_errors(key));
    problems.invalid_each("metadata.labels", value, label_value_errors(value));
  }
  std::size_t annotations_size = 0;
  for (const auto& [key, value] : meta.annotations) {
    // Annotation keys are qualified names in any case.
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const std::string& message : qualified_name_errors(lower)) {
      problems.invalid("metadata.annotations", quote(key), message);
    }
    annotations_size += key.size() + value.size();
  }
  if (annotations_size > kAnnotationsLimit) problems.too_long("metadata.annotations", kAnnotationsLimit);
}

// validatePathNoBacksteps
void validate_no_backsteps(std::string_view value, const std::string& path, Problems& problems) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t end = std::min(value.find('/', start), value.size());
    if (value.substr(start, end - start) == "..") {
      problems.invalid(path, quote(value), "must not contain '..'");
      return;
    }
    start = end + 1;
  }
}

// validateLocalDescendingPath
void validate_local_descending_path(std::string_view value, const std::string& path, Problems& problems) {
  if (!value.empty() && value.front() == '/') problems.invalid(path, quote(value), "must be a relative path");
  validate_no_backsteps(value, path, problems);
}

// The volumes' names that mounts may refer to: those without errors, as
// ValidateVolumes keeps them.
std::set<std::string> validate_volumes(const std::vector<Volume>& volumes, Problems& problems) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    const Volume& volume = volumes[i];
    const std::string path = index("spec.volumes", i);
    const std::size_t before = problems.size();
    int sources = 0;
    if (volume.empty_dir) {
      ++sources;
      if (volume.empty_dir->size_limit_bytes && *volume.empty_dir->size_limit_bytes < 0) {
        problems.forbidden(child(path, "emptyDir.sizeLimit"), "SizeLimit field must be a valid resource quantity");
      }
    }
    if (volume.host_path) {
      if (sources > 0) {
        problems.forbidden(child(path, "hostPath"), "may not specify more than 1 volume type");
      } else {
        ++sources;
        const std::string& host = volume.host_path->path;
        const std::string host_field = child(path, "hostPath.path");
        if (host.empty()) {
          problems.required(host_field);
        } else {
          validate_no_backsteps(host, host_field, problems);
          // deckhand: a relative host path would depend on the agent's working directory.
          if (host.front() != '/') problems.invalid(host_field, quote(host), "must be an absolute path");
        }
      }
    }
    if (sources == 0) problems.required(path, "must specify a volume type");
    const std::string name_field = child(path, "name");
    if (volume.name.empty()) {
      problems.required(name_field);
    } else {
      problems.invalid_each(name_field, volume.name, dns1123_label_errors(volume.name));
    }
    if (names.count(volume.name) != 0) problems.duplicate(name_field, quote(volume.name));
    if (problems.size() == before) names.insert(volume.name);
  }
  return names;
}

bool valid_ip(const std::string& text) {
  unsigned char address[16];
  return inet_pton(AF_INET, text.c_str(), address) == 1 || inet_pton(AF_INET6, text.c_str(), address) == 1;
}

void validate_ports(const std::vector<ContainerPort>& ports, const std::string& path, Problems& problems) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const ContainerPort& port = ports[i];
    const std::string at = index(path, i);
    if (!port.name.empty()) {
      const std::vector<std::string> messages = port_name_errors(port.name);
      if (!messages.empty()) {
        problems.invalid_each(child(at, "name"), port.name, messages);
      } else if (!names.insert(port.name).second) {
        problems.duplicate(child(at, "name"), quote(port.name));
      }
    }
    if (port.container_port == 0) {
      problems.required(child(at, "containerPort"));
    } else if (port.container_port < 1 || port.container_port > 65535) {
      problems.invalid(child(at, "containerPort"), std::to_string(port.container_port), kPortRange);
    }
    if (port.host_port != 0 && (port.host_port < 1 || port.host_port > 65535)) {
      problems.invalid(child(at, "hostPort"), std::to_string(port.host_port), kPortRange);
    }
    // deckhand: the host IP is where the network plugin publishes the port.
    if (!port.host_ip.empty() && !valid_ip(port.host_ip)) {
      problems.invalid(child(at, "hostIP"), quote(port.host_ip),
                       "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    }
  }
}

void validate_env(const std::vector<EnvVar>& env, const std::string& path, Problems& problems) {
  for (std::size_t i = 0; i < env.size(); ++i) {
    const std::string at = index(path, i);
    if (env[i].name.empty()) {
      problems.required(child(at, "name"));
    } else {
      problems.invalid_each(child(at, "name"), env[i].name, env_var_name_errors(env[i].name));
    }
    if (env[i].field_ref && !env[i].value.empty()) {
      problems.invalid(child(at, "valueFrom"), quote(""), "may not be specified when `value` is not empty");
    }
  }
}

void validate_mounts(const std::vector<VolumeMount>& mounts, const std::set<std::string>& volumes,
                     const std::string& path, Problems& problems) {
  std::set<std::string> mount_points;
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const VolumeMount& mount = mounts[i];
    const std::string at = index(path, i);
    if (mount.name.empty()) problems.required(child(at, "name"));
    if (volumes.count(mount.name) == 0) problems.not_found(child(at, "name"), quote(mount.name));
    if (mount.mount_path.empty()) {
      problems.required(child(at, "mountPath"));
    } else if (mount.mount_path.front() != '/') {
      // deckhand: a container's working directory is no base for a mount.
      problems.invalid(child(at, "mountPath"), quote(mount.mount_path), "must be an absolute path");
    }
    if (!mount_points.insert(mount.mount_path).second) {
      problems.invalid(child(at, "mountPath"), quote(mount.mount_path), "must be unique");
    }
    // Kubernetes reports this one at "<container>.volumeMounts.subPath",
    // without the mount's index; deckhand says which mount.
    if (!mount.sub_path.empty()) validate_local_descending_path(mount.sub_path, child(at, "subPath"), problems);
  }
}

// ValidateContainerResourceRequirements for cpu and memory: no negative
// amounts, no request above its limit.
void validate_resources(const ResourceRequirements& resources, const std::string& path, Problems& problems) {
  struct Resource {
    const char* name;
    std::optional<int64_t> request;
    std::optional<int64_t> limit;
    std::string (*shown)(int64_t);
  };
  const Resource list[] = {
      {"cpu", resources.requests.cpu_millis, resources.limits.cpu_millis, cpu_quantity},
      {"memory", resources.requests.memory_bytes, resources.limits.memory_bytes, memory_quantity},
  };
  const std::string limits = child(path, "limits");
  const std::string requests = child(path, "requests");
  for (const Resource& resource : list) {
    if (resource.limit && *resource.limit < 0) {
      problems.invalid(limits + "[" + resource.name + "]", quote(resource.shown(*resource.limit)), kNonNegative);
    }
  }
  for (const Resource& resource : list) {
    if (!resource.request) continue;
    if (*resource.request < 0) {
      problems.invalid(requests + "[" + resource.name + "]", quote(resource.shown(*resource.request)), kNonNegative);
    }
    if (resource.limit && *resource.request > *resource.limit) {
      problems.invalid(requests, quote(resource.shown(*resource.request)),
                       std::string("must be less than or equal to ") + resource.name + " limit of " +
                           resource.shown(*resource.limit));
    }
  }
}

void validate_seccomp(const std::optional<SeccompProfile>& profile, const std::string& path, Problems& problems) {
  if (!profile) return;
  const std::string field = child(path, "localhostProfile");
  if (profile->type == SeccompType::localhost) {
    if (profile->localhost_profile.empty()) {
      problems.required(field, "must be set when seccomp type is Localhost");
    } else {
      validate_local_descending_path(profile->localhost_profile, field, problems);
    }
  } else if (!profile->localhost_profile.empty()) {
    // Kubernetes shows the whole profile struct (Go syntax) as the value.
    problems.invalid(field, quote(profile->localhost_profile), "can only be set when seccomp type is Localhost");
  }
}

// Linux capabilities as Kubernetes manifests name them: without "CAP_".
const std::set<std::string_view> kCapabilities = {
    "AUDIT_CONTROL", "AUDIT_READ",       "AUDIT_WRITE",     "BLOCK_SUSPEND", "BPF",         "CHECKPOINT_RESTORE",
    "CHOWN",         "DAC_OVERRIDE",     "DAC_READ_SEARCH", "FOWNER",        "FSETID",      "IPC_LOCK",
    "IPC_OWNER",     "KILL",             "LEASE",           "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE",
    "MKNOD",         "NET_ADMIN",        "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW",    "PERFMON",
    "SETFCAP",       "SETGID",           "SETPCAP",         "SETUID",        "SYS_ADMIN",   "SYS_BOOT",
    "SYS_CHROOT",    "SYS_MODULE",       "SYS_NICE",        "SYS_PACCT",     "SYS_PTRACE",  "SYS_RAWIO",
    "SYS_RESOURCE",  "SYS_TIME",         "SYS_TTY_CONFIG",  "SYSLOG",        "WAKE_ALARM",
};

// deckhand: Kubernetes passes capability names through unchecked and the
// runtime adds "CAP_"; a typo would only show when the container starts.
void validate_capability(const std::string& name, const std::string& path, Problems& problems) {
  if (name == "ALL" || kCapabilities.count(name) != 0) return;
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  const std::string bare = upper.rfind("CAP_", 0) == 0 ? upper.substr(4) : upper;
  if (kCapabilities.count(bare) != 0 || bare == "ALL") {
    problems.invalid(path, quote(name), "must be written as " + quote(bare));
  } else {
    problems.invalid(path, quote(name), "not a Linux capability (such as \"NET_ADMIN\") nor \"ALL\"");
  }
}

void validate_security_context(const std::optional<SecurityContext>& context, const std::string& path,
                               Problems& problems) {
  if (!context) return;
  if (context->run_as_user && !in_id_range(*context->run_as_user)) {
    problems.invalid(child(path, "runAsUser"), std::to_string(*context->run_as_user), kIdRange);
  }
  if (context->run_as_group && !in_id_range(*context->run_as_group)) {
    problems.invalid(child(path, "runAsGroup"), std::to_string(*context->run_as_group), kIdRange);
  }
  validate_seccomp(context->seccomp_profile, child(path, "seccompProfile"), problems);
  // Kubernetes shows the whole security context (Go syntax) as the value;
  // deckhand shows the fields in conflict. Kubernetes looks for
  // "CAP_SYS_ADMIN", a spelling deckhand refuses: SYS_ADMIN is what it meant.
  if (context->allow_privilege_escalation == false) {
    if (context->privileged == true) {
      problems.invalid(path, R"({"allowPrivilegeEscalation":false,"privileged":true})",
                       "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    }
    if (context->capabilities) {
      const auto& add = context->capabilities->add;
      if (std::find(add.begin(), add.end(), "SYS_ADMIN") != add.end()) {
        problems.invalid(path, R"({"allowPrivilegeEscalation":false,"capabilities":{"add":["SYS_ADMIN"]}})",
                         "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN");
      }
    }
  }
  if (context->capabilities) {
    for (std::size_t i = 0; i < context->capabilities->add.size(); ++i) {
      validate_capability(context->capabilities->add[i], index(child(path, "capabilities.add"), i), problems);
    }
    for (std::size_t i = 0; i < context->capabilities->drop.size(); ++i) {
      validate_capability(context->capabilities->drop[i], index(child(path, "capabilities.drop"), i), problems);
    }
  }
}

// validateContainerCommon
void validate_container(const Container& container, const std::set<std::string>& volumes, const std::string& path,
                        Problems& problems) {
  if (container.name.empty()) {
    problems.required(child(path, "name"));
  } else {
    problems.invalid_each(child(path, "name"), container.name, dns1123_label_errors(container.name));
  }
  if (container.image.empty()) problems.required(child(path, "image"));
  validate_ports(container.ports, child(path, "ports"), problems);
  validate_env(container.env, child(path, "env"), problems);
  validate_mounts(container.volume_mounts, volumes, child(path, "volumeMounts"), problems);
  if (!container.image_pull_policy) problems.required(child(path, "imagePullPolicy"));
  validate_resources(container.resources, child(path, "resources"), problems);
  validate_security_context(container.security_context, child(path, "securityContext"), problems);
}

// AccumulateUniqueHostPorts: a host port is taken once per protocol and
// host IP, across the containers given (the regular containers together;
// each init container alone, as they run one after another).
void check_host_ports(const std::vector<Container>& containers, const std::string& path, std::size_t first_index,
                      Problems& problems) {
  std::set<std::string> taken;
  for (std::size_t c = 0; c < containers.size(); ++c) {
    const std::vector<ContainerPort>& ports = containers[c].ports;
    for (std::size_t p = 0; p < ports.size(); ++p) {
      if (ports[p].host_port == 0) continue;
      const std::string key =
          std::string(to_string(ports[p].protocol)) + "/" + ports[p].host_ip + "/" + std::to_string(ports[p].host_port);
      if (!taken.insert(key).second) {
        problems.duplicate(child(index(child(index(path, first_index + c), "ports"), p), "hostPort"), quote(key));
      }
    }
  }
}

void validate_containers(const PodSpec& spec, const std::set<std::string>& volumes, Problems& problems) {
  if (spec.containers.empty()) {
    problems.required("spec.containers");
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < spec.containers.size(); ++i) {
    const std::string path = index("spec.containers", i);
    validate_container(spec.containers[i], volumes, path, problems);
    if (!names.insert(spec.containers[i].name).second) {
      problems.duplicate(child(path, "name"), quote(spec.containers[i].name));
    }
  }
  check_host_ports(spec.containers, "spec.containers", 0, problems);
}

void validate_init_containers(const PodSpec& spec, const std::set<std::string>& volumes, Problems& problems) {
  std::set<std::string> names;
  for (const Container& container : spec.containers) names.insert(container.name);
  for (std::size_t i = 0; i < spec.init_containers.size(); ++i) {
    const Container& container = spec.init_containers[i];
    const std::string path = index("spec.initContainers", i);
    validate_container(container, volumes, path, problems);
    if (names.count(container.name) != 0) {
      problems.duplicate(child(path, "name"), quote(container.name));
    } else if (!container.name.empty()) {
      names.insert(container.name);
    }
    // Kubernetes reports these at initContainers[0] whatever the index;
    // deckhand says which.
    check_host_ports({container}, "spec.initContainers", i, problems);
  }
}

// validatePodHostNetworkDeps: on the host's network a port can only be
// published where it listens.
void validate_host_network(const PodSpec& spec, Problems& problems) {
  if (!spec.host_network) return;
  for (std::size_t c = 0; c < spec.containers.size(); ++c) {
    const std::vector<ContainerPort>& ports = spec.containers[c].ports;
    for (std::size_t p = 0; p < ports.size(); ++p) {
      if (ports[p].host_port != 0 && ports[p].host_port != ports[p].container_port) {
        problems.invalid(child(index(child(index("spec.containers", c), "ports"), p), "hostPort"),
                         std::to_string(ports[p].host_port), "must match `containerPort` when `hostNetwork` is true");
      }
    }
  }
}

void validate_pod_security_context(const std::optional<PodSecurityContext>& context, Problems& problems) {
  if (!context) return;
  const std::string path = "spec.securityContext";
  if (context->fs_group && !in_id_range(*context->fs_group)) {
    problems.invalid(child(path, "fsGroup"), std::to_string(*context->fs_group), kIdRange);
  }
  if (context->run_as_user && !in_id_range(*context->run_as_user)) {
    problems.invalid(child(path, "runAsUser"), std::to_string(*context->run_as_user), kIdRange);
  }
  if (context->run_as_group && !in_id_range(*context->run_as_group)) {
    problems.invalid(child(path, "runAsGroup"), std::to_string(*context->run_as_group), kIdRange);
  }
  for (std::size_t i = 0; i < context->supplemental_groups.size(); ++i) {
    if (!in_id_range(context->supplemental_groups[i])) {
      problems.invalid(index(child(path, "supplementalGroups"), i), std::to_string(context->supplemental_groups[i]),
                       kIdRange);
    }
  }
  validate_seccomp(context->seccomp_profile, child(path, "seccompProfile"), problems);
}

// ValidatePodSpec
void validate_pod_spec(const PodSpec& spec, Problems& problems) {
  if (!spec.termination_grace_period_seconds) {
    problems.required("spec.terminationGracePeriodSeconds");
  } else if (*spec.termination_grace_period_seconds < 0) {
    problems.invalid("spec.terminationGracePeriodSeconds", std::to_string(*spec.termination_grace_period_seconds),
                     kNonNegative);
  }
  const std::set<std::string> volumes = validate_volumes(spec.volumes, problems);
  validate_containers(spec, volumes, problems);
  validate_init_containers(spec, volumes, problems);
  validate_host_network(spec, problems);
  validate_pod_security_context(spec.security_context, problems);
  if (!spec.node_name.empty()) {
    problems.invalid_each("spec.nodeName", spec.node_name, dns1123_subdomain_errors(spec.node_name));
  }
  if (!spec.hostname.empty()) {
    problems.invalid_each("spec.hostname", spec.hostname, dns1123_label_errors(spec.hostname));
  }
}

// validateContainersOnlyForPod
void validate_images_for_pod(const std::vector<Container>& containers, const std::string& path, Problems& problems) {
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const std::string& image = containers[i].image;
    const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    if (!image.empty() && (space(image.front()) || space(image.back()))) {
      problems.invalid(child(index(path, i), "image"), quote(image), "must not have leading or trailing whitespace");
    }
  }
}

}  // namespace

std::vector<std::string> validate_pod(const Pod& pod) {
  Problems problems;
  validate_object_meta(pod.metadata, problems);
  validate_pod_spec(pod.spec, problems);
  validate_images_for_pod(pod.spec.containers, "spec.containers", problems);
  validate_images_for_pod(pod.spec.init_containers, "spec.initContainers", problems);
  return problems.take();
}

std::string invalid_pod_message(const Pod& pod, const std::vector<std::string>& problems) {
  // utilerrors.Aggregate: each message once, bracketed when more than one.
  std::vector<std::string> unique;
  for (const std::string& problem : problems) {
    if (std::find(unique.begin(), unique.end(), problem) == unique.end()) unique.push_back(problem);
  }
  if (unique.empty()) return "";
  std::string body = unique.front();
  if (unique.size() > 1) {
    body = "[" + unique.front();
    for (std::size_t i = 1; i < unique.size(); ++i) body += ", " + unique[i];
    body += "]";
  }
  return "Pod " + quote(pod.metadata.name) + " is invalid: " + body;
}

}  // namespace deckhand::pods
