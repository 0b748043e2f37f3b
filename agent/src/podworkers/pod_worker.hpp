// One pod's worker: brings the pod's sandbox, network and containers to its
// spec and reports what it sees in the kubelet's status shape. Every pass
// (sync) reads what the runtime shows for the pod, asks compute_pod_actions
// what to do (pods/pod_actions.hpp), does it, and rebuilds the status, so
// each pass is idempotent and a restarted agent picks up where the last one
// stopped (its containers, found by their annotations, are re-adopted, not
// restarted). The order of a start: volumes -> sandbox (namespaces, cgroup)
// -> network (unless hostNetwork) -> init containers one by one, each to
// success -> containers, each: image (per imagePullPolicy) -> root
// filesystem -> config.json -> create -> start. Teardown is the reverse,
// with SIGTERM, the grace period and SIGKILL.
//
// Threading: sync() and terminate() of one worker are never run at once
// (the manager runs them on the worker's strand); they block on plugin
// calls. snapshot() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "podworkers/pod_backend.hpp"
#include "pods/backoff.hpp"
#include "pods/pod.hpp"
#include "pods/pod_events.hpp"
#include "pods/pod_status.hpp"

namespace deckhand {

struct NodeInfo {
  std::string name;      // spec.nodeName, NODE in `get pods -o wide`
  std::string ip;        // status.hostIP
  std::string hostname;  // HOSTNAME of hostNetwork pods
  int64_t memory_bytes = 0;
};

// The runtime's config.json templates, by profile, fetched once.
class SpecTemplates {
 public:
  explicit SpecTemplates(PodBackend& backend) : backend_(backend) {}
  nlohmann::json get(const std::string& profile);
  // linux.seccomp of RuntimeDefault for a container whose bounding set is
  // `capabilities` (containerd builds the default profile from the spec's
  // capabilities: a container that adds CAP_SYS_TIME may call settimeofday).
  nlohmann::json seccomp_for(std::vector<std::string> capabilities);

 private:
  PodBackend& backend_;
  std::mutex mutex_;
  std::map<std::string, nlohmann::json> cache_;
};

// What every worker shares.
struct WorkerContext {
  PodBackend& backend;
  SpecTemplates& templates;
  pods::Backoff& restart_backoff;
  pods::Backoff& pull_backoff;
  pods::EventRecorder& events;
  NodeInfo node;
  std::string state_dir;  // bundles and status files: <state_dir>/<pod key>/
  std::string log_dir;    // container logs: <log_dir>/<namespace>_<name>_<uid>/<container>/<attempt>.log
  std::function<pods::Time()> clock = [] { return std::chrono::system_clock::now(); };
  // Called once per pod when all its containers first run (apply -> Running).
  std::function<void(double seconds)> on_pod_started;
  // Orders what workers do against the runtime's listings: a listing taken
  // before a worker's action does not show it, and must not undo it.
  std::atomic<uint64_t> sequence{0};
  // Set when the agent stops: a grace period in progress is not waited out
  // (the containers outlive the agent; the next one finishes the job).
  std::atomic<bool> shutting_down{false};
};

// One container instance as the runtime lists it, with what the pod needs.
struct ObservedInstance {
  std::string id;
  std::string name;
  bool init = false;
  int attempt = 0;
  std::string status;  // created, running, stopped
};

struct PodSnapshot {
  pods::Pod pod;
  pods::PodStatus status;
};

class PodWorker {
 public:
  PodWorker(pods::Pod pod, WorkerContext& context);

  // One pass. `instances`: the runtime's containers of this pod (any
  // attempt); `listed_sandbox`: the pod's sandbox when the runtime lists it;
  // `listed_at`: the context's sequence when that listing began (what the
  // worker did after it is not judged by it).
  // Returns how soon the pod wants another pass though nothing changes (a
  // back-off ends), or nullopt.
  std::optional<std::chrono::nanoseconds> sync(const std::vector<ObservedInstance>& instances,
                                               const std::optional<Sandbox>& listed_sandbox, uint64_t listed_at);

  // Stops the pod for good: SIGTERM to every container, up to `grace` for
  // them to exit, SIGKILL, then containers, root filesystems, network,
  // sandbox, volumes and the pod's state are removed. Idempotent.
  void terminate(std::chrono::seconds grace);

  PodSnapshot snapshot() const;
  const std::string& key() const { return key_; }
  const pods::Pod& pod() const { return pod_; }
  // Set (from any thread) when the pod is to be deleted: a pass in progress
  // stops starting containers.
  void mark_terminating() { terminating_ = true; }

  // The log file of a container's attempt ("" when the container is unknown).
  std::string log_path(const std::string& container, int attempt) const;
  // The newest attempt of a container and its runtime id (nullopt if none ran).
  std::optional<std::pair<int, std::string>> newest_instance(const std::string& container) const;

 private:
  struct Instance {
    std::string id;
    int attempt = 0;
    std::string status;                // created, running, stopped
    std::optional<pods::Time> started_at;
    std::optional<ContainerExit> exit;  // once stopped
    uint64_t changed_at = 0;            // the sequence of this worker's last action on it
  };
  // What the worker knows of one container of the spec.
  struct Track {
    std::string name;
    bool init = false;
    std::vector<Instance> instances;      // oldest first; the last is the newest
    std::optional<pods::ContainerStateWaiting> waiting;  // why it is not running (pull, back-off, config)
    std::string image_id;
  };

  void observe(const std::vector<ObservedInstance>& instances, uint64_t listed_at);
  uint64_t next_sequence() { return ++context_.sequence; }
  bool prepare_volumes();  // false (and a FailedMount event) when one cannot be set up
  void connect_network();
  bool make_sandbox();  // volumes, sandbox and network; false (and an event) on failure
  void teardown_sandbox();
  void kill_pod(std::chrono::seconds grace);
  std::optional<std::chrono::nanoseconds> start_container(const pods::Container& container, Track& track);
  std::optional<PulledImage> image_for(const pods::Container& container, Track& track,
                                       std::optional<std::chrono::nanoseconds>& retry);
  void prune_old_instances(Track& track);
  void remove_instance(const Instance& instance);
  void rebuild_status();
  void save_status(const pods::PodStatus& status);
  pods::ContainerStateTerminated terminated_state(const Instance& instance) const;
  pods::ContainerStatus container_status(const pods::Container& spec, const Track& track) const;
  void event(const Track* track, pods::EventType type, std::string_view reason, std::string message);
  Track& track_of(const std::string& name, bool init);
  std::string pod_dir() const;

  WorkerContext& context_;
  pods::Pod pod_;
  std::string key_;
  std::atomic<bool> terminating_{false};

  // Owned by the pass in progress (sync/terminate).
  std::vector<Track> tracks_;  // init containers then containers, in spec order
  std::optional<Sandbox> sandbox_;
  bool network_ready_ = false;  // attached (always true with hostNetwork once the sandbox exists)
  bool sandbox_ever_made_ = false;
  uint64_t sandbox_changed_at_ = 0;
  std::map<std::string, std::string> volume_paths_;
  std::string pod_ip_;
  std::optional<pods::Time> accepted_at_;
  bool reported_started_ = false;

  std::map<std::string, std::string> failed_start_message_;  // instance id -> why its start failed

  mutable std::mutex status_mutex_;  // guards status_
  pods::PodStatus status_;
};

}  // namespace deckhand
