// `deckhand get pods`'s table: kubectl's columns and its per-pod cells
// (kubernetes pkg/printers/internalversion/printers.go printPod), rendered
// from the agent's Pod JSON at a given `now` so the output is exact to test.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pods/pod_status.hpp"

namespace deckhand::cli {

struct PodTableOptions {
  bool wide = false;            // -o wide: IP, NODE, NOMINATED NODE, READINESS GATES
  bool all_namespaces = false;  // -A: a NAMESPACE column first
  bool no_headers = false;      // --no-headers
};

// printPod's cells for one Pod: NAME, READY ("1/2"), STATUS (the reason
// logic: "Init:0/2", "Init:CrashLoopBackOff", "CrashLoopBackOff",
// "ExitCode:1", "Signal:9", "Completed", "Terminating", "NotReady", ...),
// RESTARTS ("3 (2m ago)"), AGE; with `wide`, IP, NODE, NOMINATED NODE and
// READINESS GATES ("<none>" when empty).
std::vector<std::string> pod_row(const nlohmann::json& pod, bool wide, pods::Time now);

// The whole table, aligned as kubectl's tabwriter aligns it; "" when
// `pods` is empty (the caller says "No resources found").
std::string render_pod_table(const std::vector<nlohmann::json>& pods, const PodTableOptions& options, pods::Time now);

// `get -w`'s table, printed a piece at a time: the first piece with rows
// (the pods at the start, with the header) is aligned exactly as
// render_pod_table aligns it and sets the column widths; later rows are
// padded to those widths, so the columns stay under their header while the
// cells fit (kubectl aligns each later row on its own, which drifts).
class PodTableStream {
 public:
  // `event_column`: an EVENT column first (--output-watch-events).
  PodTableStream(PodTableOptions options, bool event_column);

  struct Row {
    std::string event;  // ADDED, MODIFIED, DELETED (shown with event_column)
    nlohmann::json pod;
  };
  // The lines for `rows`, the header before the first; "" for no rows.
  std::string print(const std::vector<Row>& rows, pods::Time now);

 private:
  PodTableOptions options_;
  bool event_column_;
  std::vector<std::size_t> widths_;  // set by the first print with rows
};

}  // namespace deckhand::cli
