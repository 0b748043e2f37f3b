// kubectl describe pod, after describe.go: describePod, describeContainers,
// describeStatus, describeVolumes, printLabelsMultiline,
// printAnnotationsMultiline and DescribeEvents. The text is written with
// kubectl's format strings (tabs between cells, two spaces per level) and
// aligned by Go's tabwriter algorithm (tab_writer.hpp), as tabbedString does.
#include "cli/pod_describe.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <vector>

#include "cli/json_access.hpp"
#include "cli/tab_writer.hpp"
#include "pods/human_duration.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand::cli {
namespace {

using nlohmann::json;
using pods::Time;

// describe.go's PrefixWriter: two spaces per level.
class PrefixWriter {
 public:
  void write(int level, const std::string& line) { out_ += std::string(static_cast<std::size_t>(level) * 2, ' ') + line; }
  std::string& text() { return out_; }

 private:
  std::string out_;
};

std::string since(const std::optional<Time>& time, Time now) {
  return time ? pods::human_duration(now - *time) : "<unknown>";
}

std::string or_none(const std::string& value) { return value.empty() ? "<none>" : value; }

std::vector<std::string> split_lines(const std::string& value) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = value.find('\n', start);
    lines.push_back(value.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return lines;
    start = end + 1;
  }
}

std::map<std::string, std::string> string_map(const json& object) {
  std::map<std::string, std::string> out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) out[key] = value.is_string() ? value.get<std::string>() : value.dump();
  return out;
}

// printLabelsMultiline: the first label after the title, the others below it.
void labels_multiline(PrefixWriter& w, const std::string& title, const json& labels) {
  w.write(0, title + ":\t");
  const auto sorted = string_map(labels);
  if (sorted.empty()) return w.write(0, "<none>\n");
  bool first = true;
  for (const auto& [key, value] : sorted) {
    if (!first) w.write(0, "\t");
    w.write(0, key + "=" + value + "\n");
    first = false;
  }
}

// printAnnotationsMultiline: long or multi-line values go below their key,
// shortened to 140 characters; kubectl apply's own annotation is skipped.
void annotations_multiline(PrefixWriter& w, const json& annotations) {
  constexpr std::size_t kMaxAnnotationLength = 140;
  w.write(0, "Annotations:\t");
  auto sorted = string_map(annotations);
  sorted.erase("kubectl.kubernetes.io/last-applied-configuration");
  if (sorted.empty()) return w.write(0, "<none>\n");
  bool first = true;
  for (const auto& [key, raw] : sorted) {
    if (!first) w.write(0, "\t");
    first = false;
    const std::string value = !raw.empty() && raw.back() == '\n' ? raw.substr(0, raw.size() - 1) : raw;
    if (value.size() + key.size() + 2 > kMaxAnnotationLength || value.find('\n') != std::string::npos) {
      w.write(0, key + ":\n");
      for (const std::string& line : split_lines(value)) {
        const std::size_t limit = kMaxAnnotationLength - 2;
        w.write(0, "\t  " + (line.size() > limit ? line.substr(0, limit) + "..." : line) + "\n");
      }
    } else {
      w.write(0, key + ": " + value + "\n");
    }
  }
}

// printPodTolerationsMultiline: "key=value:Effect op=Exists for 300s",
// sorted by key.
void tolerations_multiline(PrefixWriter& w, const json& tolerations) {
  w.write(0, "Tolerations:\t");
  if (tolerations.empty()) return w.write(0, "<none>\n");
  std::vector<json> sorted(tolerations.begin(), tolerations.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) { return text(a, "key") < text(b, "key"); });
  bool first = true;
  for (const json& toleration : sorted) {
    if (!first) w.write(0, "\t");
    first = false;
    std::string line = text(toleration, "key");
    if (!text(toleration, "value").empty()) line += "=" + text(toleration, "value");
    if (!text(toleration, "effect").empty()) line += ":" + text(toleration, "effect");
    if (text(toleration, "operator") == "Exists" && text(toleration, "value").empty()) {
      line += line.empty() ? "op=Exists" : " op=Exists";
    }
    if (member(toleration, "tolerationSeconds").is_number_integer()) {
      line += " for " + std::to_string(integer(toleration, "tolerationSeconds")) + "s";
    }
    w.write(0, line + "\n");
  }
}

std::string time_text(const std::optional<Time>& time, TimeZone zone) {
  // Go formats a zero metav1.Time as year 1.
  return time ? rfc1123z(*time, zone) : "Mon, 01 Jan 0001 00:00:00 +0000";
}

// describeStatus: one container state (State or Last State).
void describe_state(PrefixWriter& w, const std::string& name, const json& state, TimeZone zone) {
  const json& running = member(state, "running");
  const json& waiting = member(state, "waiting");
  const json& terminated = member(state, "terminated");
  if (running.is_object()) {
    w.write(2, name + ":\tRunning\n");
    w.write(3, "Started:\t" + time_text(time_of(running, "startedAt"), zone) + "\n");
  } else if (waiting.is_object()) {
    w.write(2, name + ":\tWaiting\n");
    if (!text(waiting, "reason").empty()) w.write(3, "Reason:\t" + text(waiting, "reason") + "\n");
  } else if (terminated.is_object()) {
    w.write(2, name + ":\tTerminated\n");
    if (!text(terminated, "reason").empty()) w.write(3, "Reason:\t" + text(terminated, "reason") + "\n");
    if (!text(terminated, "message").empty()) w.write(3, "Message:\t" + text(terminated, "message") + "\n");
    w.write(3, "Exit Code:\t" + std::to_string(integer(terminated, "exitCode")) + "\n");
    if (integer(terminated, "signal") > 0) w.write(3, "Signal:\t" + std::to_string(integer(terminated, "signal")) + "\n");
    w.write(3, "Started:\t" + time_text(time_of(terminated, "startedAt"), zone) + "\n");
    w.write(3, "Finished:\t" + time_text(time_of(terminated, "finishedAt"), zone) + "\n");
  } else {
    w.write(2, name + ":\tWaiting\n");
  }
}

// "80/TCP, 443/TCP" (describeContainerPorts), or of the host ports.
std::string ports_text(const json& container, const char* port_key) {
  std::string out;
  for (const json& port : list(container, "ports")) {
    if (!out.empty()) out += ", ";
    out += std::to_string(integer(port, port_key)) + "/" + text(port, "protocol");
  }
  return out;
}

// describeResources: Limits then Requests, resource names sorted.
void describe_resources(PrefixWriter& w, const json& resources, int level) {
  for (const char* kind : {"limits", "requests"}) {
    const auto quantities = string_map(member(resources, kind));
    if (quantities.empty()) continue;
    w.write(level, std::string(kind[0] == 'l' ? "Limits" : "Requests") + ":\n");
    for (const auto& [name, quantity] : quantities) w.write(level + 1, name + ":\t" + quantity + "\n");
  }
}

// The value of a downward-API env var, as EnvValueRetriever resolves it.
std::string field_value(const json& pod, const std::string& path) {
  const json& metadata = member(pod, "metadata");
  const json& spec = member(pod, "spec");
  const json& status = member(pod, "status");
  if (path == "metadata.name") return text(metadata, "name");
  if (path == "metadata.namespace") return text(metadata, "namespace");
  if (path == "metadata.uid") return text(metadata, "uid");
  if (path == "spec.nodeName") return text(spec, "nodeName");
  if (path == "spec.serviceAccountName") return text(spec, "serviceAccountName");
  if (path == "status.podIP") return text(status, "podIP");
  if (path == "status.hostIP") return text(status, "hostIP");
  return "";
}

void describe_env(PrefixWriter& w, const json& pod, const json& container) {
  const json& env = list(container, "env");
  w.write(2, std::string("Environment:") + (env.empty() ? "\t<none>" : "") + "\n");
  for (const json& var : env) {
    const json& field_ref = member(member(var, "valueFrom"), "fieldRef");
    if (member(var, "valueFrom").is_null()) {
      const auto lines = split_lines(text(var, "value"));
      for (std::size_t i = 0; i < lines.size(); ++i) {
        w.write(3, (i == 0 ? text(var, "name") + ":\t" : std::string("\t")) + lines[i] + "\n");
      }
    } else if (field_ref.is_object()) {
      const std::string path = text(field_ref, "fieldPath");
      w.write(3, text(var, "name") + ":\t" + field_value(pod, path) + " (" + text(field_ref, "apiVersion") + ":" + path +
                     ")\n");
    }
  }
}

// describeContainerVolumes: mounts sorted by path, "(ro)" or "(rw)".
void describe_mounts(PrefixWriter& w, const json& container) {
  std::vector<json> mounts(list(container, "volumeMounts").begin(), list(container, "volumeMounts").end());
  w.write(2, std::string("Mounts:") + (mounts.empty() ? "\t<none>" : "") + "\n");
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const json& a, const json& b) { return text(a, "mountPath") < text(b, "mountPath"); });
  for (const json& mount : mounts) {
    std::string flags = flag(mount, "readOnly") ? "ro" : "rw";
    if (!text(mount, "subPath").empty()) flags += ",path=" + json(text(mount, "subPath")).dump();
    w.write(3, text(mount, "mountPath") + " from " + text(mount, "name") + " (" + flags + ")\n");
  }
}

// describeContainers: one block per container of the spec, with its status
// when the pod has one for it.
void describe_containers(PrefixWriter& w, const std::string& label, const json& pod, const json& containers,
                         const json& statuses, TimeZone zone) {
  w.write(0, label + ":" + (containers.empty() ? " <none>" : "") + "\n");
  for (const json& container : containers) {
    const json* status = nullptr;
    for (const json& candidate : statuses) {
      if (text(candidate, "name") == text(container, "name")) status = &candidate;
    }
    w.write(1, text(container, "name") + ":\n");
    if (status != nullptr) w.write(2, "Container ID:\t" + text(*status, "containerID") + "\n");
    w.write(2, "Image:\t" + text(container, "image") + "\n");
    if (status != nullptr) w.write(2, "Image ID:\t" + text(*status, "imageID") + "\n");
    const std::string ports = ports_text(container, "containerPort");
    w.write(2, (ports.find(',') != std::string::npos ? "Ports:\t" : "Port:\t") + or_none(ports) + "\n");
    const std::string host_ports = ports_text(container, "hostPort");
    w.write(2, (host_ports.find(',') != std::string::npos ? "Host Ports:\t" : "Host Port:\t") + or_none(host_ports) +
                   "\n");
    const json& seccomp = member(member(container, "securityContext"), "seccompProfile");
    if (seccomp.is_object()) {
      w.write(2, "SeccompProfile:\t" + text(seccomp, "type") + "\n");
      if (text(seccomp, "type") == "Localhost") w.write(3, "LocalhostProfile:\t" + text(seccomp, "localhostProfile") + "\n");
    }
    for (const char* key : {"command", "args"}) {
      const json& words = list(container, key);
      if (words.empty()) continue;
      w.write(2, std::string(key[0] == 'c' ? "Command" : "Args") + ":\n");
      for (const json& word : words) {
        for (const std::string& line : split_lines(word.is_string() ? word.get<std::string>() : word.dump())) {
          w.write(3, line + "\n");
        }
      }
    }
    if (status != nullptr) {
      describe_state(w, "State", member(*status, "state"), zone);
      if (member(member(*status, "lastState"), "terminated").is_object()) {
        describe_state(w, "Last State", member(*status, "lastState"), zone);
      }
      w.write(2, std::string("Ready:\t") + (flag(*status, "ready") ? "True" : "False") + "\n");
      w.write(2, "Restart Count:\t" + std::to_string(integer(*status, "restartCount")) + "\n");
    }
    describe_resources(w, member(container, "resources"), 2);
    describe_env(w, pod, container);
    describe_mounts(w, container);
  }
}

// describeVolumes, for the volume types deckhand supports.
void describe_volumes(PrefixWriter& w, const json& volumes) {
  if (volumes.empty()) return w.write(0, "Volumes:\t<none>\n");
  w.write(0, "Volumes:\n");
  for (const json& volume : volumes) {
    w.write(1, text(volume, "name") + ":\n");
    if (const json& host_path = member(volume, "hostPath"); host_path.is_object()) {
      // An absent type is nil in Go ("<none>"); the API server defaults it to "".
      const json& type = member(host_path, "type");
      w.write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t" + text(host_path, "path") +
                     "\n    HostPathType:\t" + (type.is_string() ? type.get<std::string>() : "<none>") + "\n");
    } else if (const json& empty_dir = member(volume, "emptyDir"); empty_dir.is_object()) {
      const std::string size_limit = text(empty_dir, "sizeLimit");
      w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t" +
                     text(empty_dir, "medium") + "\n    SizeLimit:\t" +
                     (size_limit.empty() || size_limit == "0" ? "<unset>" : size_limit) + "\n");
    } else {
      w.write(1, "<unknown>\n");
    }
  }
}

// DescribeEvents: oldest first; "Age" is the first time seen, or for a
// repeated event "<last> (x<count> over <first>)".
void describe_events(PrefixWriter& w, const json& event_list, Time now) {
  std::vector<json> events(list(event_list, "items").begin(), list(event_list, "items").end());
  if (events.empty()) return w.write(0, "Events:\t<none>\n");
  std::stable_sort(events.begin(), events.end(), [](const json& a, const json& b) {
    const auto first = time_of(a, "lastTimestamp");
    const auto second = time_of(b, "lastTimestamp");
    return first.value_or(Time{}) < second.value_or(Time{});
  });
  w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  w.write(1, "----\t------\t----\t----\t-------\n");
  for (const json& event : events) {
    const std::string first_seen = since(time_of(event, "firstTimestamp"), now);
    const int64_t count = integer(event, "count");
    const std::string age = count > 1 ? since(time_of(event, "lastTimestamp"), now) + " (x" + std::to_string(count) +
                                            " over " + first_seen + ")"
                                      : first_seen;
    std::string source = text(member(event, "source"), "component");
    if (source.empty()) source = text(event, "reportingComponent");
    std::string message = text(event, "message");
    const auto begin = message.find_first_not_of(" \t\r\n");
    message = begin == std::string::npos ? "" : message.substr(begin, message.find_last_not_of(" \t\r\n") - begin + 1);
    w.write(1, text(event, "type") + "\t" + text(event, "reason") + "\t" + age + "\t" + source + "\t" + message + "\n");
  }
}

// qos.GetPodQOS: the status's class, else computed from the spec.
std::string qos_class_of(const json& pod) {
  if (const std::string reported = text(member(pod, "status"), "qosClass"); !reported.empty()) return reported;
  try {
    json spec_only = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", member(pod, "metadata")},
                      {"spec", member(pod, "spec")}};
    spec_only["metadata"].erase("deletionTimestamp");
    spec_only["metadata"].erase("deletionGracePeriodSeconds");
    return pods::to_string(pods::qos_class(pods::parse_pod(spec_only).spec));
  } catch (const std::exception&) {
    return "";  // a spec deckhand cannot read; kubectl would show its own computation
  }
}

}  // namespace

std::string rfc1123z(Time time, TimeZone zone) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  if (zone == TimeZone::utc) {
    ::gmtime_r(&seconds, &parts);
  } else {
    ::localtime_r(&seconds, &parts);
  }
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S %z", &parts);
  return buffer;
}

std::string describe_pod(const json& pod, const std::optional<json>& events, Time now, TimeZone zone) {
  const json& metadata = member(pod, "metadata");
  const json& spec = member(pod, "spec");
  const json& status = member(pod, "status");
  PrefixWriter w;
  w.write(0, "Name:\t" + text(metadata, "name") + "\n");
  w.write(0, "Namespace:\t" + text(metadata, "namespace") + "\n");
  if (member(spec, "priority").is_number_integer()) w.write(0, "Priority:\t" + std::to_string(integer(spec, "priority")) + "\n");
  if (!text(spec, "serviceAccountName").empty()) w.write(0, "Service Account:\t" + text(spec, "serviceAccountName") + "\n");
  w.write(0, "Node:\t" + (text(spec, "nodeName").empty() ? "<none>" : text(spec, "nodeName") + "/" + text(status, "hostIP")) +
                 "\n");
  if (const auto start = time_of(status, "startTime")) w.write(0, "Start Time:\t" + rfc1123z(*start, zone) + "\n");
  labels_multiline(w, "Labels", member(metadata, "labels"));
  annotations_multiline(w, member(metadata, "annotations"));
  const std::string phase = text(status, "phase");
  if (!member(metadata, "deletionTimestamp").is_null() && phase != "Failed" && phase != "Succeeded") {
    w.write(0, "Status:\tTerminating (lasts " + since(time_of(metadata, "deletionTimestamp"), now) + ")\n");
    const json& grace = member(metadata, "deletionGracePeriodSeconds");
    const int64_t seconds = grace.is_number_integer() ? grace.get<int64_t>() : integer(spec, "terminationGracePeriodSeconds");
    w.write(0, "Termination Grace Period:\t" + std::to_string(seconds) + "s\n");
  } else {
    w.write(0, "Status:\t" + phase + "\n");
  }
  if (!text(status, "reason").empty()) w.write(0, "Reason:\t" + text(status, "reason") + "\n");
  if (!text(status, "message").empty()) w.write(0, "Message:\t" + text(status, "message") + "\n");
  const json& seccomp = member(member(spec, "securityContext"), "seccompProfile");
  if (seccomp.is_object()) {
    w.write(0, "SeccompProfile:\t" + text(seccomp, "type") + "\n");
    if (text(seccomp, "type") == "Localhost") w.write(0, "LocalhostProfile:\t" + text(seccomp, "localhostProfile") + "\n");
  }
  w.write(0, "IP:\t" + text(status, "podIP") + "\n");
  const json& pod_ips = list(status, "podIPs");
  if (pod_ips.empty()) {
    w.write(0, "IPs:\t<none>\n");
  } else {
    w.write(0, "IPs:\n");
    for (const json& ip : pod_ips) w.write(1, "IP:\t" + (ip.is_string() ? ip.get<std::string>() : text(ip, "ip")) + "\n");
  }
  if (!list(spec, "initContainers").empty()) {
    describe_containers(w, "Init Containers", pod, list(spec, "initContainers"), list(status, "initContainerStatuses"),
                        zone);
  }
  describe_containers(w, "Containers", pod, list(spec, "containers"), list(status, "containerStatuses"), zone);
  if (const json& conditions = list(status, "conditions"); !conditions.empty()) {
    w.write(0, "Conditions:\n  Type\tStatus\n");
    for (const json& condition : conditions) {
      w.write(1, text(condition, "type") + " \t" + text(condition, "status") + " \n");
    }
  }
  describe_volumes(w, list(spec, "volumes"));
  w.write(0, "QoS Class:\t" + qos_class_of(pod) + "\n");
  labels_multiline(w, "Node-Selectors", member(spec, "nodeSelector"));
  tolerations_multiline(w, list(spec, "tolerations"));
  if (events) describe_events(w, *events, now);
  return tabwrite(w.text(), kDescribeWriter);
}

}  // namespace deckhand::cli
