// Pod status in the shape a kubelet reports it to the API server (core/v1
// PodStatus): the types, their JSON both ways, and the kubelet's rules that
// derive the phase, the conditions and each container's ready flag from the
// containers' states. Standalone mode shows it and keeps it across restarts
// (a file); cluster mode sends it to the API server unchanged and reads it
// back. docs/pod-status.md describes each field and rule.
//
// Times are metav1.Time: UTC with whole seconds on the wire, an absent time
// is JSON null. Nothing here reads a clock; callers pass `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pods/pod.hpp"

namespace deckhand::pods {

using Time = std::chrono::system_clock::time_point;

// metav1.Time: "2026-07-24T10:06:01Z" (fractions of a second dropped).
std::string format_time(Time time);
// RFC 3339 as Go's time.Parse reads it for metav1.Time: an offset or "Z",
// optional fractional seconds. Throws ManifestError naming `path`.
Time parse_time(std::string_view text, const std::string& path = "");

// Reasons a kubelet writes into container states and pod conditions.
namespace reasons {
// Waiting (kubelet_pods.go convertToAPIContainerStatuses; images/types.go;
// kuberuntime).
inline constexpr std::string_view kContainerCreating = "ContainerCreating";
inline constexpr std::string_view kPodInitializing = "PodInitializing";
inline constexpr std::string_view kCrashLoopBackOff = "CrashLoopBackOff";
inline constexpr std::string_view kErrImagePull = "ErrImagePull";
inline constexpr std::string_view kImagePullBackOff = "ImagePullBackOff";
inline constexpr std::string_view kErrImageNeverPull = "ErrImageNeverPull";
inline constexpr std::string_view kInvalidImageName = "InvalidImageName";
inline constexpr std::string_view kCreateContainerConfigError = "CreateContainerConfigError";
inline constexpr std::string_view kCreateContainerError = "CreateContainerError";
inline constexpr std::string_view kRunContainerError = "RunContainerError";
// Terminated (containerd CRI: Completed, Error, OOMKilled, StartError).
inline constexpr std::string_view kCompleted = "Completed";
inline constexpr std::string_view kError = "Error";
inline constexpr std::string_view kOOMKilled = "OOMKilled";
inline constexpr std::string_view kStartError = "StartError";
// Conditions (status/generate.go).
inline constexpr std::string_view kUnknownContainerStatuses = "UnknownContainerStatuses";
inline constexpr std::string_view kPodCompleted = "PodCompleted";
inline constexpr std::string_view kPodFailed = "PodFailed";
inline constexpr std::string_view kContainersNotReady = "ContainersNotReady";
inline constexpr std::string_view kContainersNotInitialized = "ContainersNotInitialized";
}  // namespace reasons

// containerd's exit code for a container whose start failed (StartError).
inline constexpr int32_t kStartErrorExitCode = 128;

struct ContainerStateWaiting {
  std::string reason;
  std::string message;

  bool operator==(const ContainerStateWaiting&) const = default;
};

struct ContainerStateRunning {
  std::optional<Time> started_at;

  bool operator==(const ContainerStateRunning&) const = default;
};

struct ContainerStateTerminated {
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string reason;
  std::string message;
  std::optional<Time> started_at;
  std::optional<Time> finished_at;
  std::string container_id;  // "deckhand://<id>"

  bool operator==(const ContainerStateTerminated&) const = default;
};

// At most one of the three is set; none is an empty state (`lastState: {}`).
struct ContainerState {
  std::optional<ContainerStateWaiting> waiting;
  std::optional<ContainerStateRunning> running;
  std::optional<ContainerStateTerminated> terminated;

  bool empty() const { return !waiting && !running && !terminated; }
  bool operator==(const ContainerState&) const = default;
};

struct ContainerStatus {
  std::string name;
  ContainerState state;
  ContainerState last_state;  // JSON "lastState"
  bool ready = false;
  int32_t restart_count = 0;
  std::string image;
  std::string image_id;      // JSON "imageID"
  std::string container_id;  // JSON "containerID", "deckhand://<id>", omitted when empty
  std::optional<bool> started;

  bool operator==(const ContainerStatus&) const = default;
};

enum class ConditionStatus { true_, false_, unknown };

// The condition types the kubelet owns, in the order it writes them.
namespace condition_types {
inline constexpr std::string_view kPodReadyToStartContainers = "PodReadyToStartContainers";
inline constexpr std::string_view kInitialized = "Initialized";
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kContainersReady = "ContainersReady";
inline constexpr std::string_view kPodScheduled = "PodScheduled";
}  // namespace condition_types

struct PodCondition {
  std::string type;  // other components' types (e.g. DisruptionTarget) pass through
  ConditionStatus status = ConditionStatus::unknown;
  std::optional<Time> last_probe_time;  // the kubelet leaves it null
  std::optional<Time> last_transition_time;
  std::string reason;
  std::string message;

  bool operator==(const PodCondition&) const = default;
};

enum class PodPhase { pending, running, succeeded, failed, unknown };

struct PodStatus {
  PodPhase phase = PodPhase::pending;
  std::vector<PodCondition> conditions;
  std::string message;
  std::string reason;
  std::string host_ip;
  std::vector<std::string> host_ips;
  std::string pod_ip;
  std::vector<std::string> pod_ips;  // pod_ips[0] == pod_ip
  std::optional<Time> start_time;
  std::optional<QosClass> qos_class;
  std::vector<ContainerStatus> init_container_statuses;
  std::vector<ContainerStatus> container_statuses;

  bool operator==(const PodStatus&) const = default;
};

std::string_view to_string(PodPhase phase);             // "Pending", "Running", ...
std::string_view to_string(ConditionStatus status);     // "True", "False", "Unknown"

// JSON exactly as the API server serializes it: ready, restartCount, image
// and imageID always present, containerID, signal, reason and message
// omitted when empty, state and lastState {} when empty, absent times null
// (lastProbeTime null), startTime omitted when absent, empty lists omitted.
nlohmann::json to_json(const PodStatus& status);
nlohmann::json to_json(const ContainerStatus& status);
nlohmann::json to_json(const PodCondition& condition);

// The inverse. Fields it does not know (newer API fields the server adds,
// e.g. resources, volumeMounts) are skipped, so a status read back from an
// API server parses; a known field of the wrong type, an unknown enum value
// or a state with two of waiting/running/terminated is an error naming its
// path ("containerStatuses[0].ready: must be a boolean"). Throws
// ManifestError.
PodStatus pod_status_from_json(const nlohmann::json& json);

// --- The kubelet's rules -------------------------------------------------

// "<name>_<namespace>(<uid>)", how the kubelet names a pod in its messages
// (pkg/kubelet/util/format.Pod).
std::string format_pod(const ObjectMeta& pod);

// "deckhand://<id>": the runtime's container ID as status carries it
// (kubelet ContainerID "<type>://<id>").
std::string container_id_uri(std::string_view id);

// The waiting state of a container not created yet: ContainerCreating, or
// PodInitializing in a pod with init containers.
ContainerState default_waiting_state(bool pod_has_init_containers);

// A fresh status for a container of the spec: its name and image, the
// default waiting state, not ready, no restarts.
ContainerStatus initial_container_status(const Container& container, bool pod_has_init_containers);

// The reason of a terminated state from the runtime's result, as containerd
// reports it: OOMKilled when the kernel killed it for memory, Completed for
// exit code 0, Error otherwise. (StartError, exit 128, is for a container
// whose start failed: kStartError.)
std::string_view terminated_reason(int32_t exit_code, bool oom_killed);

// The waiting message of a container in CrashLoopBackOff
// (kuberuntime_manager.go doBackOff):
// "back-off 20s restarting failed container=web pod=web_default(<uid>)".
std::string crash_loop_back_off_message(std::chrono::nanoseconds backoff, const std::string& container,
                                        const ObjectMeta& pod);

// started and ready as the kubelet's prober manager sets them for a
// container without startup or readiness probe (deckhand has no probes):
// started = running; a regular container is ready while running, an init
// container once it exited with code 0.
void set_started_and_ready(ContainerStatus& status, bool init_container);

// The pod's phase from its containers (kubelet_pods.go getPhase, with the
// ContainerRestartRules gate off and no restartable init containers, which
// deckhand does not support). `pod_is_terminal`: the pod worker has stopped
// the pod for good (deleted, evicted), so stopped containers will not restart
// whatever the restart policy. A spec container without a status counts as
// unknown.
PodPhase pod_phase(const PodSpec& spec, const std::vector<ContainerStatus>& init_statuses,
                   const std::vector<ContainerStatus>& statuses, bool pod_is_terminal);

// pkg/kubelet/status/generate.go, without readiness gates (deckhand has
// none). Conditions come without lastTransitionTime: merge_conditions sets it.
PodCondition pod_initialized_condition(const PodSpec& spec, const std::vector<ContainerStatus>& init_statuses,
                                       const std::vector<ContainerStatus>& statuses, PodPhase phase);
PodCondition containers_ready_condition(const PodSpec& spec, const std::vector<ContainerStatus>& statuses,
                                        PodPhase phase);
PodCondition pod_ready_condition(const PodSpec& spec, const std::vector<ContainerStatus>& statuses, PodPhase phase);
// True when the pod's sandbox exists with its network configured.
PodCondition pod_ready_to_start_containers_condition(bool sandbox_ready);

// The conditions the kubelet writes, in its order: PodReadyToStartContainers,
// Initialized, Ready, ContainersReady, PodScheduled (True: deckhand accepted
// the pod onto this node).
std::vector<PodCondition> kubelet_conditions(const PodSpec& spec, const PodStatus& status, bool sandbox_ready);

// The new conditions with their lastTransitionTime: kept from the old
// condition of the same type when its status did not change, `now`
// otherwise (status_manager.go updateLastTransitionTime). Old conditions of
// types that `fresh` does not have come first, unchanged: conditions the
// kubelet does not own survive, as in generateAPIPodStatus.
std::vector<PodCondition> merge_conditions(const std::vector<PodCondition>& old, std::vector<PodCondition> fresh,
                                           Time now);

}  // namespace deckhand::pods
