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

}  // namespace deckhand::cli
