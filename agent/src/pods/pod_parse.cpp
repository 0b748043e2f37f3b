// parse_pod: one Pod object, JSON to the pod model, strictly: every field
// pod.hpp has, under its Kubernetes name, and nothing else (json_fields.hpp
// refuses the rest by path). Values outside an enumeration are refused here
// with Kubernetes' "Unsupported value" words, since the model has no way to
// hold them; everything else (names, ranges, references) is pod_validate's.
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "pods/json_fields.hpp"
#include "pods/pod_parse.hpp"
#include "pods/pod_strings.hpp"
#include "pods/quantity.hpp"

namespace deckhand::pods {
namespace {

using json_fields::fail;
using json_fields::Object;
using nlohmann::json;

// Each enumeration in the order Kubernetes lists it in "supported values".
constexpr std::array kRestartPolicies = {RestartPolicy::always, RestartPolicy::on_failure, RestartPolicy::never};
constexpr std::array kPullPolicies = {PullPolicy::always, PullPolicy::if_not_present, PullPolicy::never};
constexpr std::array kProtocols = {Protocol::tcp, Protocol::udp};
constexpr std::array kSeccompTypes = {SeccompType::localhost, SeccompType::runtime_default, SeccompType::unconfined};
constexpr std::array kHostPathTypes = {HostPathType::unset,     HostPathType::block_device,
                                       HostPathType::char_device, HostPathType::directory,
                                       HostPathType::directory_or_create, HostPathType::file,
                                       HostPathType::file_or_create, HostPathType::socket};
constexpr std::array kFieldRefs = {FieldRef::pod_name,  FieldRef::pod_namespace,        FieldRef::pod_uid,
                                   FieldRef::node_name, FieldRef::service_account_name, FieldRef::host_ip,
                                   FieldRef::pod_ip};

// A quantity is a string ("250m", "128Mi") or, as Kubernetes also accepts, a
// JSON number. A number is read back from its shortest text (0.1, never
// 0.1000000000000000055), which is what the manifest said.
Quantity quantity(const json& value, const std::string& path) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_number()) {
    text = value.dump();
  } else {
    fail(path, "must be a quantity: a string such as \"250m\" or \"128Mi\", or a number");
  }
  try {
    return Quantity::parse(text);
  } catch (const QuantityError& e) {
    fail(path, e.what());
  }
}

ResourceList resource_list(const Object& resources, std::string_view name) {
  ResourceList list;
  const json* member = resources.find(name);
  if (!member) return list;
  const std::string path = resources.path_of(name);
  if (!member->is_object()) fail(path, "must be an object");
  for (const auto& [resource, amount] : member->items()) {
    const std::string at = json_fields::key(path, resource);
    if (amount.is_null()) continue;
    if (resource == "cpu") {
      const Quantity cpu = quantity(amount, at);
      try {
        list.cpu_millis = cpu.milli_value();  // throws when the millicores do not fit
      } catch (const QuantityError& e) {
        fail(at, e.what());
      }
    } else if (resource == "memory") {
      list.memory_bytes = quantity(amount, at).value();
    } else {
      fail(at, json_fields::unsupported_value(resource, {"cpu", "memory"}) + " (deckhand manages cpu and memory only)");
    }
  }
  return list;
}

ObjectMeta object_meta(const json& value, const std::string& path) {
  if (value.is_object() && value.contains("generateName")) {
    fail(json_fields::child(path, "generateName"),
         "unsupported field: deckhand does not generate names (set metadata.name)");
  }
  // The server-set fields come with `kubectl get -o yaml` output; they say
  // nothing about what to run, so they are accepted and dropped.
  const Object meta(value, path, {"name", "namespace", "uid", "labels", "annotations"},
                    {"resourceVersion", "creationTimestamp", "generation", "managedFields"});
  ObjectMeta out;
  out.name = meta.string("name");
  if (auto name_space = meta.optional_string("namespace")) out.namespace_ = std::move(*name_space);
  out.uid = meta.string("uid");
  out.labels = meta.string_map("labels");
  out.annotations = meta.string_map("annotations");
  return out;
}

SeccompProfile seccomp_profile(const json& value, const std::string& path) {
  const Object profile(value, path, {"type", "localhostProfile"});
  const std::string type = profile.string("type");
  if (type.empty()) fail(profile.path_of("type"), "Required value: type is required when seccompProfile is set");
  SeccompProfile out;
  out.type = json_fields::enum_value(type, profile.path_of("type"), kSeccompTypes);
  out.localhost_profile = profile.string("localhostProfile");
  return out;
}

Capabilities capabilities(const json& value, const std::string& path) {
  const Object caps(value, path, {"add", "drop"});
  return Capabilities{caps.strings("add"), caps.strings("drop")};
}

SecurityContext security_context(const json& value, const std::string& path) {
  const Object context(value, path,
                       {"runAsUser", "runAsGroup", "runAsNonRoot", "readOnlyRootFilesystem", "privileged",
                        "allowPrivilegeEscalation", "capabilities", "seccompProfile"});
  SecurityContext out;
  out.run_as_user = context.optional_int64("runAsUser");
  out.run_as_group = context.optional_int64("runAsGroup");
  out.run_as_non_root = context.optional_boolean("runAsNonRoot");
  out.read_only_root_filesystem = context.optional_boolean("readOnlyRootFilesystem");
  out.privileged = context.optional_boolean("privileged");
  out.allow_privilege_escalation = context.optional_boolean("allowPrivilegeEscalation");
  if (const json* caps = context.find("capabilities")) {
    out.capabilities = capabilities(*caps, context.path_of("capabilities"));
  }
  if (const json* profile = context.find("seccompProfile")) {
    out.seccomp_profile = seccomp_profile(*profile, context.path_of("seccompProfile"));
  }
  return out;
}

PodSecurityContext pod_security_context(const json& value, const std::string& path) {
  const Object context(value, path,
                       {"runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "supplementalGroups", "seccompProfile"});
  PodSecurityContext out;
  out.run_as_user = context.optional_int64("runAsUser");
  out.run_as_group = context.optional_int64("runAsGroup");
  out.run_as_non_root = context.optional_boolean("runAsNonRoot");
  out.fs_group = context.optional_int64("fsGroup");
  out.supplemental_groups = context.int64s("supplementalGroups");
  if (const json* profile = context.find("seccompProfile")) {
    out.seccomp_profile = seccomp_profile(*profile, context.path_of("seccompProfile"));
  }
  return out;
}

EnvVar env_var(const json& value, const std::string& path) {
  const Object env(value, path, {"name", "value", "valueFrom"});
  EnvVar out;
  out.name = env.string("name");
  out.value = env.string("value");
  const json* from = env.find("valueFrom");
  if (!from) return out;
  // Of the downward API and the ConfigMap, Secret and resource sources, only
  // the first exists without an API server.
  const Object source(*from, env.path_of("valueFrom"), {"fieldRef"});
  const json* ref = source.find("fieldRef");
  if (!ref) fail(source.path(), "must specify `fieldRef` (the one source deckhand supports)");
  const Object field(*ref, source.path_of("fieldRef"), {"fieldPath", "apiVersion"});
  const std::string field_path = field.string("fieldPath");
  const std::string api_version = field.string("apiVersion");
  if (field_path.empty()) fail(field.path_of("fieldPath"), "Required value");
  if (!api_version.empty() && api_version != "v1") {
    fail(field.path_of("fieldPath"), "Invalid value: " + quote(field_path) +
                                         ": error converting fieldPath: unsupported pod version: " + api_version);
  }
  out.field_ref = json_fields::enum_value(field_path, field.path_of("fieldPath"), kFieldRefs);
  return out;
}

ContainerPort container_port(const json& value, const std::string& path) {
  const Object port(value, path, {"name", "containerPort", "hostPort", "hostIP", "protocol"});
  ContainerPort out;
  out.name = port.string("name");
  out.container_port = port.int32("containerPort");
  out.host_port = port.int32("hostPort");
  out.host_ip = port.string("hostIP");
  // "" is what Kubernetes defaults to TCP.
  if (const std::string protocol = port.string("protocol"); !protocol.empty()) {
    out.protocol = json_fields::enum_value(protocol, port.path_of("protocol"), kProtocols,
                                           protocol == "SCTP" ? " (deckhand does not support SCTP)" : "");
  }
  return out;
}

VolumeMount volume_mount(const json& value, const std::string& path) {
  const Object mount(value, path, {"name", "mountPath", "readOnly", "subPath"});
  return VolumeMount{mount.string("name"), mount.string("mountPath"), mount.boolean("readOnly"),
                     mount.string("subPath")};
}

Container container(const json& value, const std::string& path) {
  const Object c(value, path,
                 {"name", "image", "imagePullPolicy", "command", "args", "workingDir", "env", "ports", "resources",
                  "volumeMounts", "securityContext"});
  Container out;
  out.name = c.string("name");
  out.image = c.string("image");
  if (const std::string policy = c.string("imagePullPolicy"); !policy.empty()) {
    out.image_pull_policy = json_fields::enum_value(policy, c.path_of("imagePullPolicy"), kPullPolicies);
  }
  out.command = c.strings("command");
  out.args = c.strings("args");
  out.working_dir = c.string("workingDir");
  for (const auto& [element, at] : c.elements("env")) out.env.push_back(env_var(*element, at));
  for (const auto& [element, at] : c.elements("ports")) out.ports.push_back(container_port(*element, at));
  if (const json* resources = c.find("resources")) {
    const Object r(*resources, c.path_of("resources"), {"requests", "limits"});
    out.resources.requests = resource_list(r, "requests");
    out.resources.limits = resource_list(r, "limits");
  }
  for (const auto& [element, at] : c.elements("volumeMounts")) out.volume_mounts.push_back(volume_mount(*element, at));
  if (const json* context = c.find("securityContext")) {
    out.security_context = security_context(*context, c.path_of("securityContext"));
  }
  return out;
}

Volume volume(const json& value, const std::string& path) {
  const Object v(value, path, {"name", "emptyDir", "hostPath"});
  Volume out;
  out.name = v.string("name");
  if (const json* empty_dir = v.find("emptyDir")) {
    const Object dir(*empty_dir, v.path_of("emptyDir"), {"medium", "sizeLimit"});
    EmptyDirVolume source;
    const std::string medium = dir.string("medium");
    if (!medium.empty() && medium != "Memory") {
      fail(dir.path_of("medium"), json_fields::unsupported_value(medium, {"", "Memory"}));
    }
    source.memory = medium == "Memory";
    if (const json* limit = dir.find("sizeLimit")) {
      source.size_limit_bytes = quantity(*limit, dir.path_of("sizeLimit")).value();
    }
    out.empty_dir = source;
  }
  if (const json* host_path = v.find("hostPath")) {
    const Object host(*host_path, v.path_of("hostPath"), {"path", "type"});
    out.host_path = HostPathVolume{host.string("path"),
                                   json_fields::enum_value(host.string("type"), host.path_of("type"), kHostPathTypes)};
  }
  return out;
}

PodSpec pod_spec(const json& value, const std::string& path) {
  const Object spec(value, path,
                    {"containers", "initContainers", "volumes", "restartPolicy", "terminationGracePeriodSeconds",
                     "hostNetwork", "hostname", "nodeName", "securityContext"});
  PodSpec out;
  for (const auto& [element, at] : spec.elements("containers")) out.containers.push_back(container(*element, at));
  for (const auto& [element, at] : spec.elements("initContainers")) {
    out.init_containers.push_back(container(*element, at));
  }
  for (const auto& [element, at] : spec.elements("volumes")) out.volumes.push_back(volume(*element, at));
  if (const std::string policy = spec.string("restartPolicy"); !policy.empty()) {
    out.restart_policy = json_fields::enum_value(policy, spec.path_of("restartPolicy"), kRestartPolicies);
  }
  out.termination_grace_period_seconds = spec.optional_int64("terminationGracePeriodSeconds");
  out.host_network = spec.boolean("hostNetwork");
  out.hostname = spec.string("hostname");
  out.node_name = spec.string("nodeName");
  if (const json* context = spec.find("securityContext")) {
    out.security_context = pod_security_context(*context, spec.path_of("securityContext"));
  }
  return out;
}

// A kind as the messages show it: bare when it is a plain word ("kind
// Deployment"), quoted otherwise (it comes from the file, and may be anything).
std::string shown_kind(const std::string& kind) {
  const bool plain = !kind.empty() && kind.size() <= 64 &&
                     std::all_of(kind.begin(), kind.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
  return plain ? kind : quote(kind);
}

[[noreturn]] void unsupported_kind(const std::string& kind) {
  // Controllers carry a pod template: say where the pod to run here is.
  static const std::set<std::string> kWithPodTemplate = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                                                         "Job",        "CronJob",    "ReplicationController"};
  std::string message = "kind " + shown_kind(kind) + " is not supported here (only Pod";
  if (kWithPodTemplate.count(kind) != 0) {
    message += "; deckhand runs pods without controllers: write its pod template as a Pod";
  } else if (kind == "List" || kind == "PodList") {
    message += "; a List may not hold a List";
  }
  fail("", message + ")");
}

}  // namespace

Pod parse_pod(const json& object) {
  if (!object.is_object()) fail("", "a Pod must be an object");
  const auto kind = object.find("kind");
  if (kind == object.end() || kind->is_null()) fail("kind", "Required value: must be Pod");
  if (json_fields::as_string(*kind, "kind") != "Pod") unsupported_kind(kind->get<std::string>());
  const auto api_version = object.find("apiVersion");
  if (api_version == object.end() || api_version->is_null()) fail("apiVersion", "Required value: must be v1");
  if (const std::string version = json_fields::as_string(*api_version, "apiVersion"); version != "v1") {
    fail("apiVersion", json_fields::unsupported_value(version, {"v1"}));
  }
  // An exported pod carries its status; it describes a run elsewhere.
  const Object pod(object, "", {"apiVersion", "kind", "metadata", "spec"}, {"status"});
  Pod out;
  if (const json* metadata = pod.find("metadata")) out.metadata = object_meta(*metadata, "metadata");
  if (const json* spec = pod.find("spec")) out.spec = pod_spec(*spec, "spec");
  return out;
}

}  // namespace deckhand::pods
