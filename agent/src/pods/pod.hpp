// The pod model: the subset of Kubernetes core/v1 Pod that deckhand runs,
// field by field (docs/pod-model.md lists each and what deckhand does with
// it). It is what every pod source produces (the manifest directory in
// standalone mode, the API server in cluster mode) and what the pod workers
// consume. Parsed by pod_parse.hpp, checked by pod_validate.hpp.
//
// Optional fields are std::optional where "absent" differs from a zero value
// (Kubernetes defaults them, and the defaults are applied by
// apply_pod_defaults in pod_parse.hpp, as the API server would). Every
// struct compares field by field (==), so a pod source can tell a changed pod
// from an unchanged one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace deckhand::pods {

struct ObjectMeta {
  std::string name;
  std::string namespace_ = "default";
  std::string uid;  // set by the pod source when absent (a new UUID per pod)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  bool operator==(const ObjectMeta&) const = default;
};

// valueFrom.fieldRef.fieldPath: the downward API fields deckhand fills.
enum class FieldRef { pod_name, pod_namespace, pod_uid, pod_ip, node_name, host_ip, service_account_name };

struct EnvVar {
  std::string name;
  std::string value;                 // "value" (may be empty)
  std::optional<FieldRef> field_ref; // "valueFrom.fieldRef.fieldPath"

  bool operator==(const EnvVar&) const = default;
};

enum class Protocol { tcp, udp };

struct ContainerPort {
  std::string name;  // optional IANA_SVC_NAME
  int32_t container_port = 0;
  int32_t host_port = 0;  // 0 = not published
  std::string host_ip;    // "" = every host address
  Protocol protocol = Protocol::tcp;

  bool operator==(const ContainerPort&) const = default;
};

// A resource amount: CPU in millicores, memory in bytes.
struct ResourceList {
  std::optional<int64_t> cpu_millis;
  std::optional<int64_t> memory_bytes;

  bool operator==(const ResourceList&) const = default;
};

struct ResourceRequirements {
  ResourceList requests;
  ResourceList limits;

  bool operator==(const ResourceRequirements&) const = default;
};

struct VolumeMount {
  std::string name;
  std::string mount_path;
  bool read_only = false;
  std::string sub_path;

  bool operator==(const VolumeMount&) const = default;
};

enum class PullPolicy { always, if_not_present, never };

enum class SeccompType { runtime_default, unconfined, localhost };

struct SeccompProfile {
  SeccompType type = SeccompType::runtime_default;
  std::string localhost_profile;  // only with localhost

  bool operator==(const SeccompProfile&) const = default;
};

struct Capabilities {
  std::vector<std::string> add;   // as written, e.g. "NET_ADMIN" (CAP_ prefix refused, as Kubernetes does not strip it)
  std::vector<std::string> drop;

  bool operator==(const Capabilities&) const = default;
};

struct SecurityContext {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;
  std::optional<bool> read_only_root_filesystem;
  std::optional<bool> privileged;
  std::optional<bool> allow_privilege_escalation;
  std::optional<Capabilities> capabilities;
  std::optional<SeccompProfile> seccomp_profile;

  bool operator==(const SecurityContext&) const = default;
};

struct Container {
  std::string name;
  std::string image;
  std::optional<PullPolicy> image_pull_policy;  // defaulted: Always for ":latest" or no tag, else IfNotPresent
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<EnvVar> env;
  std::vector<ContainerPort> ports;
  ResourceRequirements resources;
  std::vector<VolumeMount> volume_mounts;
  std::optional<SecurityContext> security_context;

  bool operator==(const Container&) const = default;
};

enum class HostPathType { unset, directory_or_create, directory, file_or_create, file, socket, char_device, block_device };

struct EmptyDirVolume {
  bool memory = false;                    // medium: "Memory"
  std::optional<int64_t> size_limit_bytes;

  bool operator==(const EmptyDirVolume&) const = default;
};

struct HostPathVolume {
  std::string path;
  HostPathType type = HostPathType::unset;

  bool operator==(const HostPathVolume&) const = default;
};

struct Volume {
  std::string name;
  std::optional<EmptyDirVolume> empty_dir;  // exactly one of the two is set
  std::optional<HostPathVolume> host_path;

  bool operator==(const Volume&) const = default;
};

enum class RestartPolicy { always, on_failure, never };

struct PodSecurityContext {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;
  std::optional<int64_t> fs_group;
  std::vector<int64_t> supplemental_groups;
  std::optional<SeccompProfile> seccomp_profile;

  bool operator==(const PodSecurityContext&) const = default;
};

struct PodSpec {
  std::vector<Container> init_containers;
  std::vector<Container> containers;
  std::vector<Volume> volumes;
  RestartPolicy restart_policy = RestartPolicy::always;
  std::optional<int64_t> termination_grace_period_seconds;  // defaulted to 30
  bool host_network = false;
  std::string hostname;  // "" = the pod's name
  std::string node_name;
  std::optional<PodSecurityContext> security_context;

  bool operator==(const PodSpec&) const = default;
};

struct Pod {
  ObjectMeta metadata;
  PodSpec spec;

  bool operator==(const Pod&) const = default;
};

enum class QosClass { guaranteed, burstable, best_effort };

// Kubernetes' QoS class of a pod from its containers' requests and limits
// (init containers included), as pkg/apis/core/v1/helper/qos computes it.
QosClass qos_class(const PodSpec& spec);
const char* to_string(QosClass qos);  // "Guaranteed", "Burstable", "BestEffort"

}  // namespace deckhand::pods
