// What a pod worker must do next to bring a pod's containers to its spec:
// the kubelet's computePodActions (pkg/kubelet/kuberuntime/
// kuberuntime_manager.go) with findNextInitContainerToRun and
// ShouldContainerBeRestarted (pkg/kubelet/container/helpers.go), for the
// fields deckhand supports (no probes, no sidecar init containers, no
// in-place resize). A pure function of the spec and what the runtime shows,
// so it is the same after an agent restart: the worker calls it after every
// change it sees and carries out the result, which makes each step
// idempotent. Crash-loop back-off is applied by the worker when it starts a
// container (as SyncPod's doBackOff does), not here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "pods/pod.hpp"

namespace deckhand::pods {

// The newest instance of a container as the runtime reports it.
struct ObservedContainer {
  enum class State { created, running, exited, unknown };
  std::string name;
  State state = State::unknown;
  int exit_code = 0;
};

struct ObservedPod {
  bool sandbox_ready = false;     // namespaces pinned, cgroup made, network attached
  bool sandbox_ever_made = false; // a sandbox was made before (it is gone or broken now)
  std::vector<ObservedContainer> init_containers;  // newest instance per name
  std::vector<ObservedContainer> containers;
};

struct PodActions {
  bool kill_pod = false;        // stop every container (and the sandbox when create_sandbox)
  bool create_sandbox = false;  // make a (new) sandbox first
  std::optional<std::size_t> next_init_container;  // index in spec.initContainers
  std::vector<std::size_t> containers_to_start;    // indexes in spec.containers
  std::vector<std::string> containers_to_kill;     // running containers no longer in the spec

  bool operator==(const PodActions&) const = default;
};

PodActions compute_pod_actions(const PodSpec& spec, const ObservedPod& observed);

// ShouldContainerBeRestarted: never run, or created/unknown, or exited and
// the restart policy allows it (Always; OnFailure for a non-zero exit).
bool should_start_container(RestartPolicy policy, const ObservedContainer* newest);

}  // namespace deckhand::pods
