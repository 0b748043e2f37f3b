#include "pods/pod_status.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "pods/human_duration.hpp"
#include "pods/json_fields.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods {

using nlohmann::json;
namespace jf = json_fields;

// --- metav1.Time -------------------------------------------------------------

std::string format_time(Time time) {
  using namespace std::chrono;
  const auto second = floor<seconds>(time);
  const auto day = floor<days>(second);
  const year_month_day date{day};
  const hh_mm_ss clock{second - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return text;
}

namespace {

// Reads `count` digits at `pos` (advanced); -1 when they are not all digits.
int digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

std::optional<Time> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const int y = digits(text, pos, 4);
  if (y < 0 || !expect(text, pos, '-')) return std::nullopt;
  const int mo = digits(text, pos, 2);
  if (mo < 0 || !expect(text, pos, '-')) return std::nullopt;
  const int d = digits(text, pos, 2);
  if (d < 0 || !expect(text, pos, 'T')) return std::nullopt;
  const int h = digits(text, pos, 2);
  if (h < 0 || !expect(text, pos, ':')) return std::nullopt;
  const int mi = digits(text, pos, 2);
  if (mi < 0 || !expect(text, pos, ':')) return std::nullopt;
  const int s = digits(text, pos, 2);
  if (s < 0) return std::nullopt;
  nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += nanoseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  minutes offset{0};
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const int oh = digits(text, pos, 2);
    if (oh < 0 || oh > 23 || !expect(text, pos, ':')) return std::nullopt;
    const int om = digits(text, pos, 2);
    if (om < 0 || om > 59) return std::nullopt;
    offset = minutes(sign * (oh * 60 + om));
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto local = sys_days{date} + hours{h} + minutes{mi} + seconds{s} + fraction;
  return time_point_cast<Time::duration>(local - offset);
}

}  // namespace

Time parse_time(std::string_view text, const std::string& path) {
  if (auto time = parse_rfc3339(text)) return *time;
  jf::fail(path, "invalid time " + quote(text) + ": must be RFC 3339, e.g. \"2026-07-24T10:06:01Z\"");
}

// --- Enumerations ------------------------------------------------------------

std::string_view to_string(PodPhase phase) {
  switch (phase) {
    case PodPhase::pending: return "Pending";
    case PodPhase::running: return "Running";
    case PodPhase::succeeded: return "Succeeded";
    case PodPhase::failed: return "Failed";
    case PodPhase::unknown: return "Unknown";
  }
  return "";
}

std::string_view to_string(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::true_: return "True";
    case ConditionStatus::false_: return "False";
    case ConditionStatus::unknown: return "Unknown";
  }
  return "";
}

// --- To JSON -----------------------------------------------------------------

namespace {

// metav1.Time is a struct, so `omitempty` never drops it: a zero time is null.
json time_or_null(const std::optional<Time>& time) { return time ? json(format_time(*time)) : json(nullptr); }

void put_if_set(json& object, const char* key, const std::string& value) {
  if (!value.empty()) object[key] = value;
}

json ips_to_json(const std::vector<std::string>& ips) {
  json list = json::array();
  for (const auto& ip : ips) list.push_back({{"ip", ip}});
  return list;
}

json state_to_json(const ContainerState& state) {
  json out = json::object();
  if (state.waiting) {
    json waiting = json::object();
    put_if_set(waiting, "reason", state.waiting->reason);
    put_if_set(waiting, "message", state.waiting->message);
    out["waiting"] = std::move(waiting);
  }
  if (state.running) out["running"] = {{"startedAt", time_or_null(state.running->started_at)}};
  if (state.terminated) {
    const auto& t = *state.terminated;
    json terminated = {{"exitCode", t.exit_code},
                       {"startedAt", time_or_null(t.started_at)},
                       {"finishedAt", time_or_null(t.finished_at)}};
    if (t.signal != 0) terminated["signal"] = t.signal;
    put_if_set(terminated, "reason", t.reason);
    put_if_set(terminated, "message", t.message);
    put_if_set(terminated, "containerID", t.container_id);
    out["terminated"] = std::move(terminated);
  }
  return out;
}

json statuses_to_json(const std::vector<ContainerStatus>& statuses) {
  json list = json::array();
  for (const auto& status : statuses) list.push_back(to_json(status));
  return list;
}

}  // namespace

json to_json(const ContainerStatus& status) {
  json out = {{"name", status.name},
              {"state", state_to_json(status.state)},
              {"lastState", state_to_json(status.last_state)},
              {"ready", status.ready},
              {"restartCount", status.restart_count},
              {"image", status.image},
              {"imageID", status.image_id}};
  put_if_set(out, "containerID", status.container_id);
  if (status.started) out["started"] = *status.started;
  return out;
}

json to_json(const PodCondition& condition) {
  json out = {{"type", condition.type},
              {"status", to_string(condition.status)},
              {"lastProbeTime", time_or_null(condition.last_probe_time)},
              {"lastTransitionTime", time_or_null(condition.last_transition_time)}};
  put_if_set(out, "reason", condition.reason);
  put_if_set(out, "message", condition.message);
  return out;
}

json to_json(const PodStatus& status) {
  json out = {{"phase", to_string(status.phase)}};
  if (!status.conditions.empty()) {
    json conditions = json::array();
    for (const auto& condition : status.conditions) conditions.push_back(to_json(condition));
    out["conditions"] = std::move(conditions);
  }
  put_if_set(out, "message", status.message);
  put_if_set(out, "reason", status.reason);
  put_if_set(out, "hostIP", status.host_ip);
  if (!status.host_ips.empty()) out["hostIPs"] = ips_to_json(status.host_ips);
  put_if_set(out, "podIP", status.pod_ip);
  if (!status.pod_ips.empty()) out["podIPs"] = ips_to_json(status.pod_ips);
  if (status.start_time) out["startTime"] = format_time(*status.start_time);
  if (!status.init_container_statuses.empty()) {
    out["initContainerStatuses"] = statuses_to_json(status.init_container_statuses);
  }
  if (!status.container_statuses.empty()) out["containerStatuses"] = statuses_to_json(status.container_statuses);
  if (status.qos_class) out["qosClass"] = to_string(*status.qos_class);
  return out;
}

// --- From JSON ---------------------------------------------------------------

namespace {

// The members of one JSON object that the reader knows; others are skipped
// (the API server adds fields over time), null reads as absent.
class Members {
 public:
  Members(const json& value, std::string path) : value_(value), path_(std::move(path)) {
    if (!value.is_object()) jf::fail(path_, "must be an object");
  }

  std::string path_of(std::string_view name) const { return jf::child(path_, name); }

  const json* find(std::string_view name) const {
    const auto found = value_.find(std::string(name));
    if (found == value_.end() || found->is_null()) return nullptr;
    return &*found;
  }

  std::string string(std::string_view name) const {
    const json* value = find(name);
    return value ? jf::as_string(*value, path_of(name)) : std::string();
  }

  int32_t int32(std::string_view name) const {
    const json* value = find(name);
    return value ? jf::as_int32(*value, path_of(name)) : 0;
  }

  std::optional<bool> optional_boolean(std::string_view name) const {
    const json* value = find(name);
    if (!value) return std::nullopt;
    return jf::as_boolean(*value, path_of(name));
  }

  std::optional<Time> time(std::string_view name) const {
    const json* value = find(name);
    if (!value) return std::nullopt;
    return parse_time(jf::as_string(*value, path_of(name)), path_of(name));
  }

  // Each element of an array member with its path.
  std::vector<std::pair<const json*, std::string>> elements(std::string_view name) const {
    std::vector<std::pair<const json*, std::string>> out;
    const json* value = find(name);
    if (!value) return out;
    const auto& array = jf::as_array(*value, path_of(name));
    for (std::size_t i = 0; i < array.size(); ++i) out.emplace_back(&array[i], jf::index(path_of(name), i));
    return out;
  }

 private:
  const json& value_;
  std::string path_;
};

ContainerState state_from_json(const json* value, const std::string& path) {
  ContainerState state;
  if (!value) return state;
  const Members members(*value, path);
  if (const json* waiting = members.find("waiting")) {
    const Members w(*waiting, members.path_of("waiting"));
    state.waiting = ContainerStateWaiting{w.string("reason"), w.string("message")};
  }
  if (const json* running = members.find("running")) {
    const Members r(*running, members.path_of("running"));
    state.running = ContainerStateRunning{r.time("startedAt")};
  }
  if (const json* terminated = members.find("terminated")) {
    const Members t(*terminated, members.path_of("terminated"));
    state.terminated = ContainerStateTerminated{t.int32("exitCode"), t.int32("signal"),     t.string("reason"),
                                                t.string("message"), t.time("startedAt"),   t.time("finishedAt"),
                                                t.string("containerID")};
  }
  if (int{state.waiting.has_value()} + int{state.running.has_value()} + int{state.terminated.has_value()} > 1) {
    jf::fail(path, "may have only one of waiting, running or terminated");
  }
  return state;
}

ContainerStatus container_status_from_json(const json& value, const std::string& path) {
  const Members members(value, path);
  ContainerStatus status;
  status.name = members.string("name");
  if (status.name.empty()) jf::fail(members.path_of("name"), "Required value");
  status.state = state_from_json(members.find("state"), members.path_of("state"));
  status.last_state = state_from_json(members.find("lastState"), members.path_of("lastState"));
  status.ready = members.optional_boolean("ready").value_or(false);
  status.restart_count = members.int32("restartCount");
  status.image = members.string("image");
  status.image_id = members.string("imageID");
  status.container_id = members.string("containerID");
  status.started = members.optional_boolean("started");
  return status;
}

std::vector<std::string> ips_from_json(const Members& members, std::string_view name) {
  std::vector<std::string> ips;
  for (const auto& [element, path] : members.elements(name)) ips.push_back(Members(*element, path).string("ip"));
  return ips;
}

}  // namespace

PodStatus pod_status_from_json(const json& value) {
  const Members members(value, "");
  PodStatus status;
  if (const json* phase = members.find("phase")) {
    status.phase = jf::enum_value(jf::as_string(*phase, "phase"), "phase",
                                  std::array{PodPhase::pending, PodPhase::running, PodPhase::succeeded,
                                             PodPhase::failed, PodPhase::unknown});
  }
  for (const auto& [element, path] : members.elements("conditions")) {
    const Members c(*element, path);
    PodCondition condition;
    condition.type = c.string("type");
    if (condition.type.empty()) jf::fail(c.path_of("type"), "Required value");
    condition.status = jf::enum_value(c.string("status"), c.path_of("status"),
                                      std::array{ConditionStatus::true_, ConditionStatus::false_,
                                                 ConditionStatus::unknown});
    condition.last_probe_time = c.time("lastProbeTime");
    condition.last_transition_time = c.time("lastTransitionTime");
    condition.reason = c.string("reason");
    condition.message = c.string("message");
    status.conditions.push_back(std::move(condition));
  }
  status.message = members.string("message");
  status.reason = members.string("reason");
  status.host_ip = members.string("hostIP");
  status.host_ips = ips_from_json(members, "hostIPs");
  status.pod_ip = members.string("podIP");
  status.pod_ips = ips_from_json(members, "podIPs");
  status.start_time = members.time("startTime");
  for (const auto& [element, path] : members.elements("initContainerStatuses")) {
    status.init_container_statuses.push_back(container_status_from_json(*element, path));
  }
  for (const auto& [element, path] : members.elements("containerStatuses")) {
    status.container_statuses.push_back(container_status_from_json(*element, path));
  }
  if (const json* qos = members.find("qosClass")) {
    status.qos_class = jf::enum_value(jf::as_string(*qos, "qosClass"), "qosClass",
                                      std::array{QosClass::guaranteed, QosClass::burstable, QosClass::best_effort});
  }
  return status;
}

// --- Container helpers -------------------------------------------------------

std::string format_pod(const ObjectMeta& pod) { return pod.name + "_" + pod.namespace_ + "(" + pod.uid + ")"; }

std::string container_id_uri(std::string_view id) { return "deckhand://" + std::string(id); }

// kubelet_pods.go convertToAPIContainerStatuses: defaultWaitingState.
ContainerState default_waiting_state(bool pod_has_init_containers) {
  ContainerState state;
  state.waiting = ContainerStateWaiting{
      std::string(pod_has_init_containers ? reasons::kPodInitializing : reasons::kContainerCreating), ""};
  return state;
}

ContainerStatus initial_container_status(const Container& container, bool pod_has_init_containers) {
  ContainerStatus status;
  status.name = container.name;
  status.image = container.image;
  status.state = default_waiting_state(pod_has_init_containers);
  return status;
}

// containerd pkg/cri container_status.go: a reason the runtime recorded
// (OOMKilled) wins, else Completed for exit 0 and Error otherwise.
std::string_view terminated_reason(int32_t exit_code, bool oom_killed) {
  if (oom_killed) return reasons::kOOMKilled;
  return exit_code == 0 ? reasons::kCompleted : reasons::kError;
}

std::string crash_loop_back_off_message(std::chrono::nanoseconds backoff, const std::string& container,
                                        const ObjectMeta& pod) {
  return "back-off " + go_duration(backoff) + " restarting failed container=" + container + " pod=" + format_pod(pod);
}

// prober_manager.go UpdatePodStatus, for containers without probes: "no
// readinessProbe -> always ready" once started; a regular init container is
// ready when it terminated with exit code 0.
void set_started_and_ready(ContainerStatus& status, bool init_container) {
  const bool running = status.state.running.has_value();
  status.started = running;
  if (init_container) {
    status.ready = status.state.terminated && status.state.terminated->exit_code == 0;
  } else {
    status.ready = running;
  }
}

// --- Phase -------------------------------------------------------------------

namespace {

// podutil.GetContainerStatus over the kubelet's merged list (containers and
// init containers; their names are unique across both).
const ContainerStatus* find_status(const std::string& name, const std::vector<ContainerStatus>& first,
                                   const std::vector<ContainerStatus>& second = {}) {
  for (const auto* list : {&first, &second}) {
    for (const auto& status : *list) {
      if (status.name == name) return &status;
    }
  }
  return nullptr;
}

}  // namespace

// kubelet_pods.go getPhase.
PodPhase pod_phase(const PodSpec& spec, const std::vector<ContainerStatus>& init_statuses,
                   const std::vector<ContainerStatus>& statuses, bool pod_is_terminal) {
  int pending_initialization = 0;
  int failed_initialization = 0;
  for (const auto& container : spec.init_containers) {
    const ContainerStatus* status = find_status(container.name, init_statuses, statuses);
    if (!status) {
      ++pending_initialization;
    } else if (status->state.running) {
      ++pending_initialization;
    } else if (status->state.terminated) {
      if (status->state.terminated->exit_code != 0) ++failed_initialization;
    } else if (status->state.waiting) {
      if (status->last_state.terminated) {
        if (status->last_state.terminated->exit_code != 0) ++failed_initialization;
      } else {
        ++pending_initialization;
      }
    } else {
      ++pending_initialization;
    }
  }

  int unknown = 0, running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const auto& container : spec.containers) {
    const ContainerStatus* status = find_status(container.name, statuses, init_statuses);
    if (!status) {
      ++unknown;
    } else if (status->state.running) {
      ++running;
    } else if (status->state.terminated) {
      ++stopped;
      if (status->state.terminated->exit_code == 0) ++succeeded;
    } else if (status->state.waiting) {
      if (status->last_state.terminated) {
        ++stopped;
      } else {
        ++waiting;
      }
    } else {
      ++unknown;
    }
  }

  if (failed_initialization > 0 && spec.restart_policy == RestartPolicy::never) return PodPhase::failed;
  // One or more containers has not been started.
  if (pending_initialization > 0 || waiting > 0) return PodPhase::pending;
  // All containers have been started, and at least one is running.
  if (running > 0 && unknown == 0) return PodPhase::running;
  if (running == 0 && stopped > 0 && unknown == 0) {
    // A terminal pod's containers will not restart whatever the policy.
    if (pod_is_terminal) return stopped == succeeded ? PodPhase::succeeded : PodPhase::failed;
    // All containers are in the process of restarting.
    if (spec.restart_policy == RestartPolicy::always) return PodPhase::running;
    if (stopped == succeeded) return PodPhase::succeeded;
    if (spec.restart_policy == RestartPolicy::never) return PodPhase::failed;
    // OnFailure, at least one failed and restarting.
    return PodPhase::running;
  }
  return PodPhase::pending;
}

// --- Conditions --------------------------------------------------------------

namespace {

PodCondition condition(std::string_view type, ConditionStatus status, std::string_view reason = {},
                       std::string message = {}) {
  PodCondition out;
  out.type = std::string(type);
  out.status = status;
  out.reason = std::string(reason);
  out.message = std::move(message);
  return out;
}

// Go's %s of a []string: "[a b]".
std::string go_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += " ";
    out += names[i];
  }
  return out + "]";
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

// kubecontainer.HasAnyRegularContainerStarted.
bool any_regular_container_started(const PodSpec& spec, const std::vector<ContainerStatus>& statuses) {
  return std::any_of(spec.containers.begin(), spec.containers.end(), [&](const Container& container) {
    const ContainerStatus* status = find_status(container.name, statuses);
    return status && (status->state.running || status->state.terminated);
  });
}

}  // namespace

PodCondition pod_initialized_condition(const PodSpec& spec, const std::vector<ContainerStatus>& init_statuses,
                                       const std::vector<ContainerStatus>& statuses, PodPhase phase) {
  std::vector<std::string> unknown, incomplete;
  for (const auto& container : spec.init_containers) {
    const ContainerStatus* status = find_status(container.name, init_statuses, statuses);
    if (!status) {
      unknown.push_back(container.name);
    } else if (!status->ready) {
      incomplete.push_back(container.name);
    }
  }
  using namespace condition_types;
  if (phase == PodPhase::succeeded && unknown.empty()) {
    return condition(kInitialized, ConditionStatus::true_, reasons::kPodCompleted);
  }
  // A regular container started: the pod was initialized before.
  if (any_regular_container_started(spec, statuses)) return condition(kInitialized, ConditionStatus::true_);
  std::vector<std::string> messages;
  if (!unknown.empty()) messages.push_back("containers with unknown status: " + go_list(unknown));
  if (!incomplete.empty()) messages.push_back("containers with incomplete status: " + go_list(incomplete));
  if (!messages.empty()) {
    return condition(kInitialized, ConditionStatus::false_, reasons::kContainersNotInitialized, join(messages));
  }
  return condition(kInitialized, ConditionStatus::true_);
}

PodCondition containers_ready_condition(const PodSpec& spec, const std::vector<ContainerStatus>& statuses,
                                        PodPhase phase) {
  std::vector<std::string> unknown, unready;
  for (const auto& container : spec.containers) {
    const ContainerStatus* status = find_status(container.name, statuses);
    if (!status) {
      unknown.push_back(container.name);
    } else if (!status->ready) {
      unready.push_back(container.name);
    }
  }
  using condition_types::kContainersReady;
  if (phase == PodPhase::succeeded && unknown.empty()) {
    return condition(kContainersReady, ConditionStatus::false_, reasons::kPodCompleted);
  }
  // Containers may still be terminating in a failed pod.
  if (phase == PodPhase::failed) return condition(kContainersReady, ConditionStatus::false_, reasons::kPodFailed);
  std::vector<std::string> messages;
  if (!unknown.empty()) messages.push_back("containers with unknown status: " + go_list(unknown));
  if (!unready.empty()) messages.push_back("containers with unready status: " + go_list(unready));
  if (!messages.empty()) {
    return condition(kContainersReady, ConditionStatus::false_, reasons::kContainersNotReady, join(messages));
  }
  return condition(kContainersReady, ConditionStatus::true_);
}

PodCondition pod_ready_condition(const PodSpec& spec, const std::vector<ContainerStatus>& statuses, PodPhase phase) {
  PodCondition ready = containers_ready_condition(spec, statuses, phase);
  ready.type = std::string(condition_types::kReady);
  return ready;
}

PodCondition pod_ready_to_start_containers_condition(bool sandbox_ready) {
  return condition(condition_types::kPodReadyToStartContainers,
                   sandbox_ready ? ConditionStatus::true_ : ConditionStatus::false_);
}

std::vector<PodCondition> kubelet_conditions(const PodSpec& spec, const PodStatus& status, bool sandbox_ready) {
  std::vector<ContainerStatus> all = status.init_container_statuses;
  all.insert(all.end(), status.container_statuses.begin(), status.container_statuses.end());
  return {pod_ready_to_start_containers_condition(sandbox_ready),
          pod_initialized_condition(spec, status.init_container_statuses, status.container_statuses, status.phase),
          pod_ready_condition(spec, all, status.phase), containers_ready_condition(spec, all, status.phase),
          condition(condition_types::kPodScheduled, ConditionStatus::true_)};
}

std::vector<PodCondition> merge_conditions(const std::vector<PodCondition>& old, std::vector<PodCondition> fresh,
                                           Time now) {
  const auto find = [](const std::vector<PodCondition>& list, const std::string& type) -> const PodCondition* {
    const auto found = std::find_if(list.begin(), list.end(), [&](const PodCondition& c) { return c.type == type; });
    return found == list.end() ? nullptr : &*found;
  };
  std::vector<PodCondition> merged;
  for (const auto& condition : old) {
    if (!find(fresh, condition.type)) merged.push_back(condition);
  }
  for (auto& condition : fresh) {
    const PodCondition* before = find(old, condition.type);
    condition.last_transition_time =
        before && before->status == condition.status ? before->last_transition_time : std::optional<Time>(now);
    merged.push_back(std::move(condition));
  }
  return merged;
}

}  // namespace deckhand::pods
