// The kubelet's computePodActions for deckhand's pods; see pod_actions.hpp.
#include "pods/pod_actions.hpp"

namespace deckhand::pods {
namespace {

using State = ObservedContainer::State;

const ObservedContainer* find(const std::vector<ObservedContainer>& observed, const std::string& name) {
  for (const ObservedContainer& c : observed) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// isInitContainerFailed: exited non-zero, or left in an unknown state.
bool init_failed(const ObservedContainer& c) {
  return (c.state == State::exited && c.exit_code != 0) || c.state == State::unknown;
}

struct InitProgress {
  bool done = false;
  std::optional<std::size_t> next;  // the init container to (re)start
  bool last_failed = false;         // `next` is one that failed
};

// findNextInitContainerToRun.
InitProgress next_init_container(const PodSpec& spec, const ObservedPod& observed) {
  if (spec.init_containers.empty()) return {true, std::nullopt, false};
  // A running main container means the init containers all ran before.
  for (const Container& c : spec.containers) {
    const ObservedContainer* status = find(observed.containers, c.name);
    if (status != nullptr && status->state == State::running) return {true, std::nullopt, false};
  }
  // The last failed one, if any, is retried (or fails the pod).
  for (std::size_t i = spec.init_containers.size(); i-- > 0;) {
    const ObservedContainer* status = find(observed.init_containers, spec.init_containers[i].name);
    if (status != nullptr && init_failed(*status)) return {false, i, true};
  }
  for (std::size_t i = spec.init_containers.size(); i-- > 0;) {
    const ObservedContainer* status = find(observed.init_containers, spec.init_containers[i].name);
    if (status == nullptr) continue;
    if (status->state == State::running || status->state == State::created) return {false, std::nullopt, false};
    if (status->state == State::exited) {  // succeeded (failures were found above)
      if (i + 1 == spec.init_containers.size()) return {true, std::nullopt, false};
      return {false, i + 1, false};
    }
  }
  return {false, std::size_t{0}, false};
}

bool restarts_on_failure(RestartPolicy policy) { return policy != RestartPolicy::never; }

}  // namespace

bool should_start_container(RestartPolicy policy, const ObservedContainer* newest) {
  if (newest == nullptr) return true;
  if (newest->state == State::running) return false;
  if (newest->state == State::created || newest->state == State::unknown) return true;
  if (policy == RestartPolicy::never) return false;
  if (policy == RestartPolicy::on_failure && newest->exit_code == 0) return false;
  return true;
}

PodActions compute_pod_actions(const PodSpec& spec, const ObservedPod& observed) {
  PodActions actions;
  // Running containers the spec no longer names (a changed spec gets a new
  // pod uid in deckhand, so this is only a leftover's clean-up).
  for (const ObservedContainer& c : observed.containers) {
    bool known = false;
    for (const Container& s : spec.containers) known = known || s.name == c.name;
    if (!known && c.state == State::running) actions.containers_to_kill.push_back(c.name);
  }

  if (!observed.sandbox_ready) {
    actions.kill_pod = true;
    actions.create_sandbox = true;
    // A pod that does not restart on failure and has run is not brought back.
    const bool has_run = !observed.containers.empty() || !observed.init_containers.empty();
    if (!restarts_on_failure(spec.restart_policy) && observed.sandbox_ever_made && has_run) {
      actions.create_sandbox = false;
      return actions;
    }
    for (std::size_t i = 0; i < spec.containers.size(); ++i) {
      const ObservedContainer* status = find(observed.containers, spec.containers[i].name);
      const bool succeeded = status != nullptr && status->state == State::exited && status->exit_code == 0;
      if (spec.restart_policy == RestartPolicy::on_failure && succeeded) continue;
      actions.containers_to_start.push_back(i);
    }
    if (actions.containers_to_start.empty() && next_init_container(spec, observed).done) {
      actions.create_sandbox = false;  // everything succeeded: nothing to bring back
      return actions;
    }
    if (!spec.init_containers.empty()) {
      actions.containers_to_start.clear();
      actions.next_init_container = 0;
    }
    return actions;
  }

  const InitProgress init = next_init_container(spec, observed);
  if (!init.done) {
    if (init.next) {
      if (init.last_failed && !restarts_on_failure(spec.restart_policy)) {
        actions.kill_pod = true;
      } else {
        actions.next_init_container = init.next;
      }
    }
    return actions;
  }

  std::size_t keep = 0;
  for (std::size_t i = 0; i < spec.containers.size(); ++i) {
    const ObservedContainer* status = find(observed.containers, spec.containers[i].name);
    if (status != nullptr && status->state == State::running) {
      ++keep;
      continue;
    }
    if (should_start_container(spec.restart_policy, status)) actions.containers_to_start.push_back(i);
  }
  if (keep == 0 && actions.containers_to_start.empty()) actions.kill_pod = true;
  return actions;
}

}  // namespace deckhand::pods
