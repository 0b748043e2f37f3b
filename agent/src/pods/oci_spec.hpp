// From a pod's container to the OCI runtime spec (config.json) the runtime
// plugin starts, the way containerd's CRI plugin builds one from what the
// kubelet asks (containerd internal/cri/server/container_create*.go,
// internal/cri/opts/spec_linux*.go; kubelet pkg/kubelet/kuberuntime
// kuberuntime_container*.go): the runtime's template (default_spec) for the
// container's profile, then its process (container_command.hpp), mounts,
// the pod sandbox's namespaces and cgroup, resources, OOM score and
// security settings. A pure function of its inputs; the only files it reads
// are /etc/passwd and /etc/group of the container's root filesystem.
// docs/pod-model.md, "From PodSpec to OCI spec", lists each rule.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pods/container_command.hpp"
#include "pods/pod.hpp"

namespace deckhand::pods {

struct ContainerSpecInputs {
  // The runtime's default_spec result for template_profile(pod, container).
  nlohmann::json template_spec;
  // The storage plugin's image_config: {platform, config: {Env, Entrypoint,
  // Cmd, WorkingDir, User}}; any part may be missing.
  nlohmann::json image_config;
  // prepare_rootfs's OCI root object {path, readonly}.
  nlohmann::json root;
  // The sandbox (create_sandbox's result): id, cgroup, pinned namespaces by
  // type ("network", "ipc", "uts"). A hostNetwork pod has no network or uts
  // pin: its containers keep the host's.
  std::string sandbox_id;
  std::string cgroups_path;
  std::map<std::string, std::string> namespace_paths;
  // Volume name -> host path (prepare_volume).
  std::map<std::string, std::string> volume_paths;
  // The downward API's values.
  std::string pod_ip, host_ip, node_name;
  // The machine's hostname: HOSTNAME of hostNetwork pods (node_name if empty).
  std::string node_hostname;
  // Host files bound over the container's (empty: not mounted).
  std::string etc_hosts_path, etc_hostname_path, resolv_conf_path;
  // The node's memory: Burstable containers' OOM score adjustment.
  int64_t node_memory_bytes = 0;
  // What capabilities.add ["ALL"] grants: every capability the runtime
  // holds, i.e. the Privileged template's process.capabilities.bounding.
  // Needed only when a container adds ALL.
  std::vector<std::string> all_capabilities;
};

// The runtime's default_spec profile for the container: "Privileged" for
// securityContext.privileged, else "RuntimeDefault".
const char* template_profile(const Pod& pod, const Container& container);

// The container's config.json. Throws ContainerConfigError for what the
// user must fix (reason and message as the kubelet reports them), and
// std::invalid_argument for inputs the caller got wrong (a template without
// process, a namespace pin missing, no node memory).
nlohmann::json build_container_spec(const Pod& pod, const Container& container, const ContainerSpecInputs& inputs);

// The pieces, for the pod layer's other uses (the sandbox's hostname, the
// QoS tier's cpu.shares):
// The pod's hostname (kubelet GeneratePodHostNameAndDomain): spec.hostname
// or the pod's name, cut to 63 characters without a trailing '-' or '.'.
std::string pod_hostname(const Pod& pod);
// kubelet cm.MilliCPUToShares: 1024 per CPU, within [2, 262144]; 0 -> 2.
uint64_t milli_cpu_to_shares(int64_t milli_cpu);
// kubelet milliCPUToQuota for a 100000 µs period; 0 (no quota) for 0, at least 1000.
int64_t milli_cpu_to_quota(int64_t milli_cpu);
// kubelet qos/policy.go GetContainerOOMScoreAdjust.
int container_oom_score_adj(const Pod& pod, const Container& container, int64_t node_memory_bytes);

}  // namespace deckhand::pods
