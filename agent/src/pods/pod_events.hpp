// Events about pods, shaped like the core/v1 Events a kubelet posts through
// client-go's record package: the involved object (the pod, or one of its
// containers by fieldPath), the kubelet's reasons and message texts (v1.32),
// Normal/Warning, and client-go's repeat handling (an identical event bumps
// count and lastTimestamp of the first instead of adding another). Stored in
// memory with bounds, and dropped an hour after their last update as
// kube-apiserver's default --event-ttl does. `deckhand describe` reads them;
// cluster mode posts them. docs/pod-status.md has the details.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pods/pod.hpp"
#include "pods/pod_status.hpp"

namespace deckhand::pods {

enum class EventType { normal, warning };
std::string_view to_string(EventType type);  // "Normal", "Warning"

// core/v1 ObjectReference as the kubelet fills it for pod events.
struct ObjectReference {
  std::string kind = "Pod";
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string api_version = "v1";
  std::string field_path;  // "spec.containers{web}", "spec.initContainers{init}", "" for the pod

  bool operator==(const ObjectReference&) const = default;
};

ObjectReference pod_reference(const ObjectMeta& pod);
ObjectReference container_reference(const ObjectMeta& pod, const std::string& container, bool init_container);

// Who reports: source.component and reportingComponent, source.host and
// reportingInstance (the node name). deckhand reports as itself, not as
// "kubelet" (docs/pod-status.md).
struct EventSource {
  std::string component = "deckhand";
  std::string host;

  bool operator==(const EventSource&) const = default;
};

struct Event {
  std::string name;  // metadata.name, "<object name>.<hex unix nanoseconds>" as client-go names events
  std::string namespace_;
  ObjectReference involved_object;
  std::string reason;
  std::string message;
  EventType type = EventType::normal;
  EventSource source;
  Time first_timestamp;
  Time last_timestamp;
  int32_t count = 1;

  bool operator==(const Event&) const = default;
};

// The core/v1 Event JSON (apiVersion, kind, metadata, involvedObject, ...,
// eventTime null, reportingComponent, reportingInstance).
nlohmann::json to_json(const Event& event);

// The kubelet's reasons (pkg/kubelet/events/event.go).
namespace event_reasons {
inline constexpr std::string_view kPulling = "Pulling";
inline constexpr std::string_view kPulled = "Pulled";
inline constexpr std::string_view kFailed = "Failed";  // failed pull, create or start
inline constexpr std::string_view kInspectFailed = "InspectFailed";
inline constexpr std::string_view kErrImageNeverPull = "ErrImageNeverPull";
inline constexpr std::string_view kBackOff = "BackOff";  // restart or pull back-off
inline constexpr std::string_view kCreated = "Created";
inline constexpr std::string_view kStarted = "Started";
inline constexpr std::string_view kKilling = "Killing";
inline constexpr std::string_view kExceededGracePeriod = "ExceededGracePeriod";
inline constexpr std::string_view kFailedKillPod = "FailedKillPod";
inline constexpr std::string_view kFailedCreatePodSandBox = "FailedCreatePodSandBox";
inline constexpr std::string_view kFailedMount = "FailedMount";
}  // namespace event_reasons

// The kubelet's message texts (v1.32: pkg/kubelet/images/image_manager.go,
// pkg/kubelet/kuberuntime/kuberuntime_container.go, kuberuntime_manager.go).
namespace event_messages {
std::string pulling_image(const std::string& image);  // Pulling image "nginx"
// Successfully pulled image "nginx" in 1.2s (1.5s including waiting). Image size: 123 bytes.
std::string pulled_image(const std::string& image, std::chrono::nanoseconds pulling,
                         std::chrono::nanoseconds including_waiting, uint64_t image_size);
std::string image_already_present(const std::string& image);  // Container image "nginx" already present on machine
std::string image_never_pull(const std::string& image);  // Container image "x" is not present with pull policy of Never
std::string failed_to_pull(const std::string& image, const std::string& error);  // Failed to pull image "x": <error>
std::string back_off_pulling(const std::string& image);  // Back-off pulling image "x"
std::string error(std::string_view reason);                // Error: ErrImagePull
std::string created_container(const std::string& container);   // Created container: web
std::string started_container(const std::string& container);   // Started container web
std::string stopping_container(const std::string& container);  // Stopping container web
// Back-off restarting failed container web in pod web_default(<uid>)
std::string back_off_restarting(const std::string& container, const ObjectMeta& pod);
}  // namespace event_messages

// The events of this node, thread-safe.
class EventRecorder {
 public:
  struct Limits {
    std::size_t per_object = 100;   // events kept per involved pod
    std::size_t total = 10000;      // events kept in all
    std::chrono::seconds ttl = std::chrono::hours(1);  // kube-apiserver --event-ttl default
  };

  explicit EventRecorder(EventSource source);
  EventRecorder(EventSource source, Limits limits);

  // Records an event at `now` and returns it as stored. An event with the
  // same involved object, type, reason and message as a stored one (and the
  // same source: client-go's getEventKey) is that one again: its count goes
  // up and lastTimestamp becomes `now`, name and firstTimestamp stay (count
  // 1 means new: POST; more means a repeat: PATCH). Past the bounds the
  // least recently updated events go first.
  Event record(const ObjectReference& object, EventType type, std::string_view reason, std::string message,
               Time now);

  // The events of one pod (by namespace and name, as `kubectl describe`
  // selects them), oldest lastTimestamp first.
  std::vector<Event> events_for(const std::string& namespace_, const std::string& name) const;
  std::vector<Event> all() const;  // same order, every pod

  // Drops events whose last update is `ttl` or more before `now`.
  void prune(Time now);

  std::size_t size() const;

 private:
  using ObjectKey = std::pair<std::string, std::string>;  // namespace, name
  struct Stored {
    Event event;
    uint64_t sequence;  // orders events updated in the same instant
  };

  void drop_least_recent_locked(std::deque<Stored>& events);
  void enforce_total_locked();
  static std::string unique_name_locked(const std::deque<Stored>& list, const std::string& object_name, Time now);

  const EventSource source_;
  const Limits limits_;
  mutable std::mutex mutex_;
  std::map<ObjectKey, std::deque<Stored>> events_;
  std::size_t total_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace deckhand::pods
