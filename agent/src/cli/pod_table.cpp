// kubectl's pod table: printPod from kubernetes
// pkg/printers/internalversion/printers.go, on the Pod JSON.
#include "cli/pod_table.hpp"

#include <algorithm>

#include "cli/json_access.hpp"
#include "cli/tab_writer.hpp"
#include "pods/human_duration.hpp"

namespace deckhand::cli {
namespace {

using nlohmann::json;
using pods::Time;

// translateTimestampSince: "<unknown>" for a zero time.
std::string since(const std::optional<Time>& time, Time now) {
  return time ? pods::human_duration(now - *time) : "<unknown>";
}

bool condition_true(const json& status, const char* type) {
  for (const json& condition : list(status, "conditions")) {
    if (text(condition, "type") == type && text(condition, "status") == "True") return true;
  }
  return false;
}

// A sidecar: an init container with restartPolicy Always
// (podutil.IsRestartableInitContainer).
bool restartable_init_container(const json& spec, const std::string& name) {
  for (const json& container : list(spec, "initContainers")) {
    if (text(container, "name") == name) return text(container, "restartPolicy") == "Always";
  }
  return false;
}

// The finishedAt of the container's last termination, when later than `latest`.
void note_last_restart(const json& container_status, std::optional<Time>& latest) {
  const auto finished = time_of(member(member(container_status, "lastState"), "terminated"), "finishedAt");
  if (finished && (!latest || *latest < *finished)) latest = finished;
}

// "Signal:9" or "ExitCode:1": a terminated state without a reason.
std::string exit_description(const json& terminated) {
  if (integer(terminated, "signal") != 0) return "Signal:" + std::to_string(integer(terminated, "signal"));
  return "ExitCode:" + std::to_string(integer(terminated, "exitCode"));
}

}  // namespace

std::vector<std::string> pod_row(const json& pod, bool wide, Time now) {
  const json& metadata = member(pod, "metadata");
  const json& spec = member(pod, "spec");
  const json& status = member(pod, "status");

  int64_t restarts = 0;
  int64_t restartable_init_restarts = 0;
  std::size_t total_containers = list(spec, "containers").size();
  int64_t ready_containers = 0;
  std::optional<Time> last_restart;
  std::optional<Time> last_restartable_init_restart;

  const std::string phase = text(status, "phase");
  std::string reason = text(status, "reason").empty() ? phase : text(status, "reason");
  for (const json& condition : list(status, "conditions")) {
    if (text(condition, "type") == "PodScheduled" && text(condition, "reason") == "SchedulingGated") {
      reason = "SchedulingGated";
    }
  }
  for (const json& container : list(spec, "initContainers")) {
    if (text(container, "restartPolicy") == "Always") ++total_containers;
  }

  // The first init container not done decides the status.
  bool initializing = false;
  const json& init_statuses = list(status, "initContainerStatuses");
  for (std::size_t i = 0; i < init_statuses.size(); ++i) {
    const json& container = init_statuses[i];
    const json& state = member(container, "state");
    const json& terminated = member(state, "terminated");
    const json& waiting = member(state, "waiting");
    const bool restartable = restartable_init_container(spec, text(container, "name"));
    restarts += integer(container, "restartCount");
    note_last_restart(container, last_restart);
    if (restartable) {
      restartable_init_restarts += integer(container, "restartCount");
      note_last_restart(container, last_restartable_init_restart);
    }
    if (terminated.is_object() && integer(terminated, "exitCode") == 0) continue;
    if (restartable && flag(container, "started")) {
      if (flag(container, "ready")) ++ready_containers;
      continue;
    }
    if (terminated.is_object()) {
      reason = text(terminated, "reason").empty() ? "Init:" + exit_description(terminated)
                                                  : "Init:" + text(terminated, "reason");
    } else if (waiting.is_object() && !text(waiting, "reason").empty() &&
               text(waiting, "reason") != "PodInitializing") {
      reason = "Init:" + text(waiting, "reason");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(list(spec, "initContainers").size());
    }
    initializing = true;
    break;
  }

  if (!initializing || condition_true(status, "Initialized")) {
    restarts = restartable_init_restarts;
    last_restart = last_restartable_init_restart;
    bool has_running = false;
    const json& statuses = list(status, "containerStatuses");
    // Backwards, so the first container's state is the one that shows.
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const json& container = *it;
      const json& state = member(container, "state");
      const json& terminated = member(state, "terminated");
      const json& waiting = member(state, "waiting");
      restarts += integer(container, "restartCount");
      note_last_restart(container, last_restart);
      if (waiting.is_object() && !text(waiting, "reason").empty()) {
        reason = text(waiting, "reason");
      } else if (terminated.is_object()) {
        reason = text(terminated, "reason").empty() ? exit_description(terminated) : text(terminated, "reason");
      } else if (flag(container, "ready") && member(state, "running").is_object()) {
        has_running = true;
        ++ready_containers;
      }
    }
    // A pod whose other containers still run is not "Completed".
    if (reason == "Completed" && has_running) reason = condition_true(status, "Ready") ? "Running" : "NotReady";
  }

  const bool deleting = !member(metadata, "deletionTimestamp").is_null();
  if (deleting && text(status, "reason") == "NodeLost") {
    reason = "Unknown";
  } else if (deleting && phase != "Succeeded" && phase != "Failed") {
    reason = "Terminating";
  }

  std::string restarts_cell = std::to_string(restarts);
  if (restarts != 0 && last_restart) restarts_cell += " (" + since(last_restart, now) + " ago)";

  std::vector<std::string> row = {text(metadata, "name"),
                                  std::to_string(ready_containers) + "/" + std::to_string(total_containers), reason,
                                  restarts_cell, since(time_of(metadata, "creationTimestamp"), now)};
  if (!wide) return row;

  auto or_none = [](const std::string& value) { return value.empty() ? std::string("<none>") : value; };
  const json& pod_ips = list(status, "podIPs");
  std::string pod_ip;
  if (!pod_ips.empty()) pod_ip = pod_ips[0].is_string() ? pod_ips[0].get<std::string>() : text(pod_ips[0], "ip");
  std::string readiness_gates = "<none>";
  if (const json& gates = list(spec, "readinessGates"); !gates.empty()) {
    int true_conditions = 0;
    for (const json& gate : gates) {
      for (const json& condition : list(status, "conditions")) {
        if (text(condition, "type") != text(gate, "conditionType")) continue;
        if (text(condition, "status") == "True") ++true_conditions;
        break;
      }
    }
    readiness_gates = std::to_string(true_conditions) + "/" + std::to_string(gates.size());
  }
  row.insert(row.end(), {or_none(pod_ip), or_none(text(spec, "nodeName")),
                         or_none(text(status, "nominatedNodeName")), readiness_gates});
  return row;
}

namespace {

std::vector<std::string> header_cells(const PodTableOptions& options) {
  std::vector<std::string> header = {"NAME", "READY", "STATUS", "RESTARTS", "AGE"};
  if (options.wide) header.insert(header.end(), {"IP", "NODE", "NOMINATED NODE", "READINESS GATES"});
  if (options.all_namespaces) header.insert(header.begin(), "NAMESPACE");
  return header;
}

std::vector<std::string> row_cells(const json& pod, const PodTableOptions& options, Time now) {
  std::vector<std::string> row = pod_row(pod, options.wide, now);
  if (options.all_namespaces) row.insert(row.begin(), text(member(pod, "metadata"), "namespace"));
  return row;
}

// Width as the tabwriter counts it: UTF-8 code points.
std::size_t display_width(const std::string& cell) {
  std::size_t width = 0;
  for (const char c : cell) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return width;
}

}  // namespace

PodTableStream::PodTableStream(PodTableOptions options, bool event_column)
    : options_(options), event_column_(event_column) {}

std::string PodTableStream::print(const std::vector<Row>& rows, Time now) {
  if (rows.empty()) return "";
  std::vector<std::vector<std::string>> lines;
  const bool first = widths_.empty();
  if (first && !options_.no_headers) {
    lines.push_back(header_cells(options_));
    if (event_column_) lines.back().insert(lines.back().begin(), "EVENT");
  }
  for (const Row& row : rows) {
    lines.push_back(row_cells(row.pod, options_, now));
    if (event_column_) lines.back().insert(lines.back().begin(), row.event);
  }
  if (first) {
    // The tabwriter's widths: the widest cell plus the padding, at least the minimum.
    widths_.assign(lines.front().size(), kTableWriter.min_width);
    for (const auto& line : lines) {
      for (std::size_t i = 0; i < line.size(); ++i) {
        widths_[i] = std::max(widths_[i], display_width(line[i]) + kTableWriter.padding);
      }
    }
  }
  std::string out;
  for (const auto& line : lines) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 == line.size()) break;  // the last cell is not padded
      const std::size_t width = display_width(line[i]);
      const std::size_t column = i < widths_.size() ? widths_[i] : 0;
      out += std::string(width + kTableWriter.padding > column ? kTableWriter.padding : column - width, ' ');
    }
    out += "\n";
  }
  return out;
}

std::string render_pod_table(const std::vector<json>& pods, const PodTableOptions& options, Time now) {
  if (pods.empty()) return "";
  std::vector<std::vector<std::string>> rows;
  if (!options.no_headers) rows.push_back(header_cells(options));
  for (const json& pod : pods) rows.push_back(row_cells(pod, options, now));
  std::string text_cells;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) text_cells += (i == 0 ? "" : "\t") + row[i];
    text_cells += "\n";
  }
  return tabwrite(text_cells, kTableWriter);
}

}  // namespace deckhand::cli
