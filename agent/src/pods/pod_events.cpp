#include "pods/pod_events.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

#include "pods/human_duration.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods {

using nlohmann::json;

std::string_view to_string(EventType type) { return type == EventType::warning ? "Warning" : "Normal"; }

ObjectReference pod_reference(const ObjectMeta& pod) {
  ObjectReference reference;
  reference.namespace_ = pod.namespace_;
  reference.name = pod.name;
  reference.uid = pod.uid;
  return reference;
}

// kubecontainer.GenerateContainerRef: the container by its place in the spec.
ObjectReference container_reference(const ObjectMeta& pod, const std::string& container, bool init_container) {
  ObjectReference reference = pod_reference(pod);
  reference.field_path = (init_container ? "spec.initContainers{" : "spec.containers{") + container + "}";
  return reference;
}

json to_json(const Event& event) {
  json involved = json::object();
  const auto put = [](json& object, const char* key, const std::string& value) {
    if (!value.empty()) object[key] = value;  // every ObjectReference field is omitempty
  };
  const ObjectReference& object = event.involved_object;
  put(involved, "kind", object.kind);
  put(involved, "namespace", object.namespace_);
  put(involved, "name", object.name);
  put(involved, "uid", object.uid);
  put(involved, "apiVersion", object.api_version);
  put(involved, "fieldPath", object.field_path);
  json source = json::object();
  put(source, "component", event.source.component);
  put(source, "host", event.source.host);
  json out = {{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata", {{"name", event.name}, {"namespace", event.namespace_}}},
              {"involvedObject", std::move(involved)},
              {"source", std::move(source)},
              {"firstTimestamp", format_time(event.first_timestamp)},
              {"lastTimestamp", format_time(event.last_timestamp)},
              {"count", event.count},
              {"type", to_string(event.type)},
              // MicroTime, zero in core/v1 events the kubelet sends.
              {"eventTime", nullptr},
              // No omitempty on these two.
              {"reportingComponent", event.source.component},
              {"reportingInstance", event.source.host}};
  put(out, "reason", event.reason);
  put(out, "message", event.message);
  return out;
}

namespace event_messages {

std::string pulling_image(const std::string& image) { return "Pulling image " + quote(image); }

// Both durations truncated to milliseconds, as the image manager does.
std::string pulled_image(const std::string& image, std::chrono::nanoseconds pulling,
                         std::chrono::nanoseconds including_waiting, uint64_t image_size) {
  using std::chrono::milliseconds;
  return "Successfully pulled image " + quote(image) + " in " +
         go_duration(std::chrono::duration_cast<milliseconds>(pulling)) + " (" +
         go_duration(std::chrono::duration_cast<milliseconds>(including_waiting)) +
         " including waiting). Image size: " + std::to_string(image_size) + " bytes.";
}

std::string image_already_present(const std::string& image) {
  return "Container image " + quote(image) + " already present on machine";
}

std::string image_never_pull(const std::string& image) {
  return "Container image " + quote(image) + " is not present with pull policy of Never";
}

std::string failed_to_pull(const std::string& image, const std::string& error) {
  return "Failed to pull image " + quote(image) + ": " + error;
}

std::string back_off_pulling(const std::string& image) { return "Back-off pulling image " + quote(image); }

std::string error(std::string_view reason) { return "Error: " + std::string(reason); }

std::string created_container(const std::string& container) { return "Created container: " + container; }

std::string started_container(const std::string& container) { return "Started container " + container; }

std::string stopping_container(const std::string& container) { return "Stopping container " + container; }

std::string back_off_restarting(const std::string& container, const ObjectMeta& pod) {
  return "Back-off restarting failed container " + container + " in pod " + format_pod(pod);
}

}  // namespace event_messages

EventRecorder::EventRecorder(EventSource source) : EventRecorder(std::move(source), Limits{}) {}

EventRecorder::EventRecorder(EventSource source, Limits limits) : source_(std::move(source)), limits_(limits) {
  if (limits_.per_object == 0 || limits_.total == 0) {
    throw std::invalid_argument("event recorder: the per-object and total bounds must be at least 1");
  }
}

namespace {

template <typename Stored>
bool less_recent(const Stored& a, const Stored& b) {
  if (a.event.last_timestamp != b.event.last_timestamp) return a.event.last_timestamp < b.event.last_timestamp;
  return a.sequence < b.sequence;
}

// Go's %x of an int64.
std::string hex(int64_t value) {
  char text[24];
  if (value < 0) {
    std::snprintf(text, sizeof text, "-%" PRIx64, ~static_cast<uint64_t>(value) + 1);
  } else {
    std::snprintf(text, sizeof text, "%" PRIx64, static_cast<uint64_t>(value));
  }
  return text;
}

}  // namespace

// client-go tools/record event.go makeEvent: "%v.%x" of the object's name
// and the time in Unix nanoseconds; a nanosecond later when another event of
// the object already has that name (only with an injected clock). Names of
// different objects cannot meet: the hex part has no dot.
std::string EventRecorder::unique_name_locked(const std::deque<Stored>& list, const std::string& object_name,
                                              Time now) {
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  for (;; ++nanos) {
    std::string name = object_name + "." + hex(nanos);
    if (std::none_of(list.begin(), list.end(), [&](const Stored& s) { return s.event.name == name; })) return name;
  }
}

Event EventRecorder::record(const ObjectReference& object, EventType type, std::string_view reason,
                            std::string message, Time now) {
  const std::lock_guard lock(mutex_);
  auto& list = events_[{object.namespace_, object.name}];
  // client-go events_cache.go getEventKey: source, involved object, type,
  // reason and message. The source is this recorder's for all events.
  const auto same = std::find_if(list.begin(), list.end(), [&](const Stored& stored) {
    const Event& e = stored.event;
    return e.involved_object == object && e.type == type && e.reason == reason && e.message == message;
  });
  if (same != list.end()) {
    same->event.count += 1;
    same->event.last_timestamp = now;
    same->sequence = next_sequence_++;
    return same->event;
  }
  Event event;
  event.name = unique_name_locked(list, object.name, now);
  // The involved object's namespace; "default" for cluster-scoped objects.
  event.namespace_ = object.namespace_.empty() ? "default" : object.namespace_;
  event.involved_object = object;
  event.reason = std::string(reason);
  event.message = std::move(message);
  event.type = type;
  event.source = source_;
  event.first_timestamp = now;
  event.last_timestamp = now;
  list.push_back(Stored{event, next_sequence_++});
  ++total_;
  if (list.size() > limits_.per_object) drop_least_recent_locked(list);
  enforce_total_locked();
  return event;
}

void EventRecorder::drop_least_recent_locked(std::deque<Stored>& list) {
  const auto oldest = std::min_element(list.begin(), list.end(), less_recent<Stored>);
  list.erase(oldest);
  --total_;
}

void EventRecorder::enforce_total_locked() {
  while (total_ > limits_.total) {
    auto oldest_list = events_.end();
    const Stored* oldest = nullptr;
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      for (const auto& stored : it->second) {
        if (!oldest || less_recent(stored, *oldest)) {
          oldest = &stored;
          oldest_list = it;
        }
      }
    }
    drop_least_recent_locked(oldest_list->second);
    if (oldest_list->second.empty()) events_.erase(oldest_list);
  }
}

std::vector<Event> EventRecorder::events_for(const std::string& namespace_, const std::string& name) const {
  const std::lock_guard lock(mutex_);
  const auto found = events_.find({namespace_, name});
  if (found == events_.end()) return {};
  std::vector<Stored> sorted(found->second.begin(), found->second.end());
  std::sort(sorted.begin(), sorted.end(), less_recent<Stored>);
  std::vector<Event> out;
  for (auto& stored : sorted) out.push_back(std::move(stored.event));
  return out;
}

std::vector<Event> EventRecorder::all() const {
  const std::lock_guard lock(mutex_);
  std::vector<Stored> sorted;
  for (const auto& [key, list] : events_) sorted.insert(sorted.end(), list.begin(), list.end());
  std::sort(sorted.begin(), sorted.end(), less_recent<Stored>);
  std::vector<Event> out;
  for (auto& stored : sorted) out.push_back(std::move(stored.event));
  return out;
}

void EventRecorder::prune(Time now) {
  const std::lock_guard lock(mutex_);
  for (auto it = events_.begin(); it != events_.end();) {
    total_ -= std::erase_if(it->second, [&](const Stored& s) { return now - s.event.last_timestamp >= limits_.ttl; });
    it = it->second.empty() ? events_.erase(it) : std::next(it);
  }
}

std::size_t EventRecorder::size() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace deckhand::pods
