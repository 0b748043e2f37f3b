// A pod's status from what its worker knows, in the kubelet's shape
// (convertToAPIContainerStatuses and generateAPIPodStatus): each
// container's state and lastState from its newest two instances, the
// phase, the conditions with their transition times kept, the IPs; saved
// beside the pod's bundles so a restarted agent keeps start and transition
// times.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "podworkers/pod_worker.hpp"

namespace deckhand {

namespace fs = std::filesystem;

namespace {

std::optional<pods::Time> parse_or_none(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    return pods::parse_time(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

pods::ContainerStateTerminated PodWorker::terminated_state(const Instance& instance) const {
  pods::ContainerStateTerminated t;
  const ContainerExit exit = instance.exit.value_or(ContainerExit{});
  t.exit_code = exit.exit_code;
  t.signal = exit.signal;
  const auto failed = failed_start_message_.find(instance.id);
  if (failed != failed_start_message_.end()) {
    t.reason = std::string(pods::reasons::kStartError);
    t.message = failed->second;
  } else {
    t.reason = std::string(pods::terminated_reason(exit.exit_code, exit.oom_killed));
  }
  t.started_at = instance.started_at;
  t.finished_at = parse_or_none(exit.exited_at);
  t.container_id = pods::container_id_uri(instance.id);
  return t;
}

pods::ContainerStatus PodWorker::container_status(const pods::Container& spec, const Track& track) const {
  const bool has_init = !pod_.spec.init_containers.empty();
  pods::ContainerStatus status = pods::initial_container_status(spec, has_init);
  if (track.waiting) status.state = pods::ContainerState{*track.waiting, std::nullopt, std::nullopt};
  status.image_id = track.image_id;
  if (track.instances.empty()) return status;
  const Instance& newest = track.instances.back();
  status.restart_count = newest.attempt;
  status.container_id = pods::container_id_uri(newest.id);
  const Instance* previous = track.instances.size() > 1 ? &track.instances[track.instances.size() - 2] : nullptr;
  if (newest.status == "running") {
    status.state = pods::ContainerState{std::nullopt, pods::ContainerStateRunning{newest.started_at}, std::nullopt};
    if (previous != nullptr) status.last_state.terminated = terminated_state(*previous);
  } else if (newest.status == "stopped") {
    if (track.waiting) {  // waiting to restart: what ended is the last state
      status.last_state.terminated = terminated_state(newest);
    } else {
      status.state = pods::ContainerState{std::nullopt, std::nullopt, terminated_state(newest)};
      if (previous != nullptr) status.last_state.terminated = terminated_state(*previous);
    }
  } else if (!track.waiting) {
    status.state = pods::default_waiting_state(false);  // created, not started: ContainerCreating
  }
  pods::set_started_and_ready(status, track.init);
  return status;
}

void PodWorker::rebuild_status() {
  const pods::Time now = context_.clock();
  pods::PodStatus fresh;
  std::size_t index = 0;
  for (const pods::Container& c : pod_.spec.init_containers) fresh.init_container_statuses.push_back(container_status(c, tracks_[index++]));
  for (const pods::Container& c : pod_.spec.containers) fresh.container_statuses.push_back(container_status(c, tracks_[index++]));
  fresh.phase = pods::pod_phase(pod_.spec, fresh.init_container_statuses, fresh.container_statuses, terminating_);
  fresh.host_ip = context_.node.ip;
  if (!fresh.host_ip.empty()) fresh.host_ips = {fresh.host_ip};
  if (!pod_ip_.empty()) {
    fresh.pod_ip = pod_ip_;
    fresh.pod_ips = {pod_ip_};
  }
  fresh.start_time = accepted_at_;
  fresh.qos_class = pods::qos_class(pod_.spec);
  const bool sandbox_ready = sandbox_.has_value() && network_ready_;
  {
    std::lock_guard lock(status_mutex_);
    fresh.conditions = pods::merge_conditions(status_.conditions, pods::kubelet_conditions(pod_.spec, fresh, sandbox_ready), now);
    if (fresh == status_) return;
    status_ = fresh;
  }
  if (!reported_started_ && fresh.phase == pods::PodPhase::running && accepted_at_ && context_.on_pod_started) {
    bool all_running = true;
    for (const auto& s : fresh.container_statuses) all_running = all_running && s.state.running.has_value();
    if (all_running) {
      reported_started_ = true;
      context_.on_pod_started(std::chrono::duration<double>(now - *accepted_at_).count());
    }
  }
  save_status(fresh);
}

void PodWorker::save_status(const pods::PodStatus& status) {
  if (terminating_ && !fs::exists(pod_dir())) return;  // torn down: nothing to keep
  std::error_code error;
  fs::create_directories(pod_dir(), error);
  const std::string path = pod_dir() + "/status.json";
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << pods::to_json(status).dump();
    if (!out) {
      spdlog::warn("pod {}/{}: cannot save its status to {}", pod_.metadata.namespace_, pod_.metadata.name, path);
      return;
    }
  }
  fs::rename(temporary, path, error);
}

PodSnapshot PodWorker::snapshot() const {
  std::lock_guard lock(status_mutex_);
  return PodSnapshot{pod_, status_};
}

}  // namespace deckhand
