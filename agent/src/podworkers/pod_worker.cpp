// One pod's passes and its teardown; see pod_worker.hpp. Starting one
// container is in container_start.cpp, the status in pod_worker_status.cpp.
#include "podworkers/pod_worker.hpp"

#include <deckhand/plugin.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "podworkers/container_ids.hpp"
#include "pods/oci_spec.hpp"
#include "pods/pod_actions.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

json SpecTemplates::get(const std::string& profile) {
  std::lock_guard lock(mutex_);
  auto found = cache_.find(profile);
  if (found == cache_.end()) found = cache_.emplace(profile, backend_.default_spec(profile)).first;
  return found->second;
}

json SpecTemplates::seccomp_for(std::vector<std::string> capabilities) {
  std::sort(capabilities.begin(), capabilities.end());
  std::string key = "RuntimeDefault seccomp";
  for (const std::string& name : capabilities) key += " " + name;
  std::lock_guard lock(mutex_);
  auto found = cache_.find(key);
  if (found == cache_.end()) {
    found = cache_.emplace(key, backend_.default_spec_for(capabilities)["linux"]["seccomp"]).first;
  }
  return found->second;
}

PodWorker::PodWorker(pods::Pod pod, WorkerContext& context)
    : context_(context), pod_(std::move(pod)), key_(pod_key(pod_.metadata.uid)) {
  for (const pods::Container& c : pod_.spec.init_containers) tracks_.push_back(Track{c.name, true, {}, {}, {}});
  for (const pods::Container& c : pod_.spec.containers) tracks_.push_back(Track{c.name, false, {}, {}, {}});
  // What a previous agent knew: when the pod was accepted, its IP, the
  // conditions' transition times.
  std::ifstream saved(pod_dir() + "/status.json");
  if (saved) {
    try {
      status_ = pods::pod_status_from_json(json::parse(saved));
      accepted_at_ = status_.start_time;
      pod_ip_ = status_.pod_ip;
    } catch (const std::exception& e) {
      spdlog::warn("pod {}/{}: ignoring its saved status: {}", pod_.metadata.namespace_, pod_.metadata.name, e.what());
      status_ = {};
    }
  }
}

std::string PodWorker::pod_dir() const { return context_.state_dir + "/" + key_; }

std::string PodWorker::log_path(const std::string& container, int attempt) const {
  return context_.log_dir + "/" + pod_.metadata.namespace_ + "_" + pod_.metadata.name + "_" + pod_.metadata.uid + "/" +
         container + "/" + std::to_string(attempt) + ".log";
}

PodWorker::Track& PodWorker::track_of(const std::string& name, bool init) {
  for (Track& t : tracks_) {
    if (t.name == name && t.init == init) return t;
  }
  throw std::logic_error("no container " + name);
}

std::optional<std::pair<int, std::string>> PodWorker::newest_instance(const std::string& container) const {
  std::lock_guard lock(status_mutex_);
  for (const auto* list : {&status_.container_statuses, &status_.init_container_statuses}) {
    for (const pods::ContainerStatus& s : *list) {
      if (s.name != container || s.container_id.empty()) continue;
      const std::string prefix = "deckhand://";
      return std::make_pair(s.restart_count, s.container_id.substr(prefix.size()));
    }
  }
  return std::nullopt;
}

void PodWorker::event(const Track* track, pods::EventType type, std::string_view reason, std::string message) {
  const pods::ObjectReference object = track == nullptr ? pods::pod_reference(pod_.metadata)
                                                        : pods::container_reference(pod_.metadata, track->name, track->init);
  context_.events.record(object, type, reason, std::move(message), context_.clock());
}

void PodWorker::observe(const std::vector<ObservedInstance>& listed, uint64_t listed_at) {
  for (Track& track : tracks_) {
    for (Instance& known : track.instances) {
      if (known.changed_at > listed_at) continue;  // the listing is older than what we did
      const bool still_listed = std::any_of(listed.begin(), listed.end(), [&](const ObservedInstance& i) { return i.id == known.id; });
      // Removed behind our back: unknown, which the kubelet restarts.
      if (!still_listed && known.status != "stopped") known.status = "unknown";
    }
  }
  for (const ObservedInstance& seen : listed) {
    Track* track = nullptr;
    for (Track& t : tracks_) {
      if (t.name == seen.name && t.init == seen.init) track = &t;
    }
    if (track == nullptr) continue;  // not in the spec: the manager removes it
    auto known = std::find_if(track->instances.begin(), track->instances.end(),
                              [&](const Instance& i) { return i.id == seen.id; });
    if (known == track->instances.end()) {
      // Adopted from a previous agent: when it started is in its bundle.
      Instance adopted{seen.id, seen.attempt, seen.status, std::nullopt, std::nullopt, 0};
      std::ifstream started(pod_dir() + "/" + seen.id + "/started_at");
      std::string text;
      if (started >> text) {
        try {
          adopted.started_at = pods::parse_time(text);
        } catch (const std::exception&) {
        }
      }
      track->instances.push_back(adopted);
      std::sort(track->instances.begin(), track->instances.end(),
                [](const Instance& a, const Instance& b) { return a.attempt < b.attempt; });
      known = std::find_if(track->instances.begin(), track->instances.end(),
                           [&](const Instance& i) { return i.id == seen.id; });
    }
    if (known->changed_at > listed_at) continue;
    known->status = seen.status == "creating" ? "created" : seen.status;
    if (known->status == "stopped" && !known->exit) {
      try {
        known->exit = context_.backend.exit_of(known->id);
      } catch (const BackendError& e) {
        spdlog::warn("pod {}/{}: cannot read the exit of {}: {}", pod_.metadata.namespace_, pod_.metadata.name,
                     known->id, e.what());
        known->status = "unknown";
      }
    }
  }
}

namespace {

pods::ObservedContainer observed_of(const std::string& name, const std::string& status, int exit_code) {
  using State = pods::ObservedContainer::State;
  State state = State::unknown;
  if (status == "running") state = State::running;
  if (status == "created") state = State::created;
  if (status == "stopped") state = State::exited;
  return {name, state, exit_code};
}

}  // namespace

bool PodWorker::prepare_volumes() {
  const json spec = pods::pod_to_json(pod_)["spec"];
  for (const json& volume : spec.value("volumes", json::array())) {
    const std::string name = volume.value("name", "");
    if (volume_paths_.count(name)) continue;
    try {
      volume_paths_[name] = context_.backend.prepare_volume(key_, volume);
    } catch (const std::exception& e) {
      // The kubelet's volume manager: a FailedMount event naming the volume
      // (operation_generator.go's "MountVolume.SetUp failed for volume"), the
      // pod left Pending with its containers in ContainerCreating, retried.
      // The storage plugin names the volume itself; said once is enough.
      std::string why = e.what();
      const std::string named = "volume \"" + name + "\": ";
      if (why.rfind(named, 0) == 0) why.erase(0, named.size());
      event(nullptr, pods::EventType::warning, pods::event_reasons::kFailedMount,
            "MountVolume.SetUp failed for volume \"" + name + "\" : " + why);
      spdlog::warn("pod {}/{}: cannot set up volume {}: {}", pod_.metadata.namespace_, pod_.metadata.name, name, why);
      return false;
    }
  }
  return true;
}

void PodWorker::connect_network() {
  if (pod_.spec.host_network) {
    pod_ip_ = context_.node.ip;
    network_ready_ = true;
    return;
  }
  // Every container's published ports (docker run -p): the network plugin
  // keeps only those with a hostPort.
  json ports = json::array();
  const json spec = pods::pod_to_json(pod_)["spec"];
  for (const json& c : spec.value("containers", json::array())) {
    for (const json& port : c.value("ports", json::array())) ports.push_back(port);
  }
  // A new sandbox's address is whatever this attach gives: if it fails, the
  // pod has none (the old one was released with the old sandbox).
  pod_ip_.clear();
  const json result = context_.backend.attach_network(
      {{"pod_id", key_}, {"netns", sandbox_->namespaces.at("network")}, {"ifname", "eth0"}, {"ports", ports}});
  for (const json& ip : result.value("ips", json::array())) {
    const std::string address = ip.value("address", "");
    if (pod_ip_.empty() && !address.empty()) pod_ip_ = address.substr(0, address.find('/'));
  }
  network_ready_ = true;
}

bool PodWorker::make_sandbox() {
  if (!prepare_volumes()) return false;
  try {
    if (!sandbox_) {
      std::vector<std::string> namespaces = {"ipc"};
      if (!pod_.spec.host_network) {
        namespaces.push_back("network");
        namespaces.push_back("uts");
      }
      json request = {{"id", key_},
                      {"namespaces", namespaces},
                      {"qos_class", std::string(pods::to_string(pods::qos_class(pod_.spec)))},
                      {"resources", json::object()}};
      // A hostNetwork pod keeps the host's UTS namespace, so its hostname.
      if (!pod_.spec.host_network) request["hostname"] = pods::pod_hostname(pod_);
      sandbox_ = context_.backend.create_sandbox(request);
      sandbox_ever_made_ = true;
      sandbox_changed_at_ = next_sequence();
      network_ready_ = false;
    }
    if (!network_ready_) connect_network();
    return true;
  } catch (const std::exception& e) {
    event(nullptr, pods::EventType::warning, pods::event_reasons::kFailedCreatePodSandBox,
          std::string("Failed to create pod sandbox: ") + e.what());
    spdlog::warn("pod {}/{}: cannot make its sandbox: {}", pod_.metadata.namespace_, pod_.metadata.name, e.what());
    return false;
  }
}

void PodWorker::teardown_sandbox() {
  if (!sandbox_ && !sandbox_ever_made_) return;
  try {
    if (!pod_.spec.host_network) {
      context_.backend.detach_network(key_, sandbox_ ? sandbox_->namespaces.at("network") : "");
    }
    context_.backend.remove_sandbox(key_);
  } catch (const std::exception& e) {
    spdlog::warn("pod {}/{}: cannot remove its sandbox: {}", pod_.metadata.namespace_, pod_.metadata.name, e.what());
  }
  sandbox_.reset();
  sandbox_changed_at_ = next_sequence();
  network_ready_ = false;
}

std::optional<std::chrono::nanoseconds> PodWorker::sync(const std::vector<ObservedInstance>& instances,
                                                        const std::optional<Sandbox>& listed_sandbox, uint64_t listed_at) {
  if (!accepted_at_) accepted_at_ = context_.clock();
  if (terminating_) return std::nullopt;
  observe(instances, listed_at);
  if (sandbox_changed_at_ > listed_at) {
    // The listing predates our last sandbox change: trust what we did.
  } else if (!listed_sandbox) {
    sandbox_.reset();
    network_ready_ = false;
  } else if (!sandbox_) {
    // A previous agent's sandbox: take it over. The network attach is
    // idempotent and gives the pod its address back.
    sandbox_ = listed_sandbox;
    sandbox_ever_made_ = true;
    network_ready_ = false;
    if (!make_sandbox()) sandbox_.reset();
  }

  pods::ObservedPod observed;
  observed.sandbox_ever_made = sandbox_ever_made_ || std::any_of(tracks_.begin(), tracks_.end(), [](const Track& t) {
                                 return !t.instances.empty();
                               });
  observed.sandbox_ready = sandbox_.has_value() && network_ready_;
  for (const Track& t : tracks_) {
    if (t.instances.empty()) continue;
    const Instance& newest = t.instances.back();
    auto& list = t.init ? observed.init_containers : observed.containers;
    list.push_back(observed_of(t.name, newest.status, newest.exit ? newest.exit->exit_code : 0));
  }
  const pods::PodActions actions = pods::compute_pod_actions(pod_.spec, observed);

  std::optional<std::chrono::nanoseconds> again;
  auto sooner = [&again](std::optional<std::chrono::nanoseconds> wait) {
    if (wait && (!again || *wait < *again)) again = wait;
  };
  if (actions.kill_pod) {
    kill_pod(std::chrono::seconds(pod_.spec.termination_grace_period_seconds.value_or(30)));
    if (!actions.create_sandbox) teardown_sandbox();
  }
  if (actions.create_sandbox) {
    teardown_sandbox();
    if (!make_sandbox()) sooner(std::chrono::seconds(10));
  }
  const bool ready = sandbox_.has_value() && network_ready_;
  if (ready && !terminating_) {
    if (actions.next_init_container) {
      const pods::Container& c = pod_.spec.init_containers[*actions.next_init_container];
      sooner(start_container(c, track_of(c.name, true)));
    }
    for (const std::size_t index : actions.containers_to_start) {
      if (terminating_) break;
      const pods::Container& c = pod_.spec.containers[index];
      sooner(start_container(c, track_of(c.name, false)));
    }
  }
  rebuild_status();
  return again;
}

}  // namespace deckhand

namespace deckhand {

void PodWorker::kill_pod(std::chrono::seconds grace) {
  // SIGTERM to everything that runs, then up to the grace period for all of
  // them together, then SIGKILL (the kubelet's killContainersWithSyncResult,
  // with the grace period shared rather than per container in series).
  std::vector<std::pair<Track*, Instance*>> running;
  for (Track& track : tracks_) {
    if (track.instances.empty()) continue;
    Instance& newest = track.instances.back();
    if (newest.status != "running" && newest.status != "created") continue;
    event(&track, pods::EventType::normal, pods::event_reasons::kKilling, pods::event_messages::stopping_container(track.name));
    try {
      context_.backend.kill_container(newest.id, newest.status == "created" ? "KILL" : "TERM");
    } catch (const std::exception& e) {
      spdlog::warn("pod {}/{}: cannot signal {}: {}", pod_.metadata.namespace_, pod_.metadata.name, newest.id, e.what());
    }
    newest.changed_at = next_sequence();
    running.emplace_back(&track, &newest);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  bool killed = false;
  while (!running.empty()) {
    if (context_.shutting_down) return;
    for (auto it = running.begin(); it != running.end();) {
      Instance& instance = *it->second;
      try {
        instance.status = context_.backend.container_state(instance.id).status;
      } catch (const BackendError& e) {
        instance.status = e.status == DH_ERR_NOT_FOUND ? "unknown" : instance.status;
      }
      if (instance.status == "stopped" || instance.status == "unknown") {
        if (instance.status == "stopped" && !instance.exit) {
          try {
            instance.exit = context_.backend.exit_of(instance.id);
          } catch (const std::exception&) {
          }
        }
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    if (running.empty()) break;
    if (!killed && std::chrono::steady_clock::now() >= deadline) {
      for (auto& [track, instance] : running) {
        if (grace.count() > 0) {
          event(track, pods::EventType::warning, pods::event_reasons::kExceededGracePeriod,
                "Container runtime did not kill the pod within specified grace period.");
        }
        try {
          context_.backend.kill_container(instance->id, "KILL");
        } catch (const std::exception&) {
        }
      }
      killed = true;
    }
    if (killed && std::chrono::steady_clock::now() >= deadline + 10s) {
      spdlog::error("pod {}/{}: {} container(s) still run 10 s after SIGKILL", pod_.metadata.namespace_,
                    pod_.metadata.name, running.size());
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
}

void PodWorker::remove_instance(const Instance& instance) {
  try {
    context_.backend.remove_container(instance.id);
    context_.backend.release_rootfs(instance.id);
  } catch (const std::exception& e) {
    spdlog::warn("pod {}/{}: cannot remove {}: {}", pod_.metadata.namespace_, pod_.metadata.name, instance.id, e.what());
  }
  std::error_code ignored;
  fs::remove_all(pod_dir() + "/" + instance.id, ignored);
}

void PodWorker::prune_old_instances(Track& track) {
  // Keep the newest and the one before it (`logs --previous`, lastState),
  // as the kubelet's container GC keeps one dead container per name.
  while (track.instances.size() > 2) {
    remove_instance(track.instances.front());
    std::error_code ignored;
    fs::remove(log_path(track.name, track.instances.front().attempt), ignored);
    track.instances.erase(track.instances.begin());
  }
}

void PodWorker::terminate(std::chrono::seconds grace) {
  terminating_ = true;
  kill_pod(grace);
  // The agent is stopping: what is left is a pod of no manifest for the
  // next agent, which removes it.
  if (context_.shutting_down) return;
  for (Track& track : tracks_) {
    for (const Instance& instance : track.instances) remove_instance(instance);
    track.instances.clear();
  }
  teardown_sandbox();
  try {
    context_.backend.release_volumes(key_);
  } catch (const std::exception& e) {
    spdlog::warn("pod {}/{}: cannot release its volumes: {}", pod_.metadata.namespace_, pod_.metadata.name, e.what());
  }
  context_.restart_backoff.forget_pod(pod_.metadata.uid);
  context_.pull_backoff.forget_pod(pod_.metadata.uid);
  std::error_code ignored;
  fs::remove_all(pod_dir(), ignored);
  fs::remove_all(context_.log_dir + "/" + pod_.metadata.namespace_ + "_" + pod_.metadata.name + "_" + pod_.metadata.uid,
                 ignored);
  rebuild_status();
}

}  // namespace deckhand
