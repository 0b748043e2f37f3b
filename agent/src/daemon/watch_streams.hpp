// The local API's answers that go on after their head, for kubectl's
// `logs -f` and `get -w`: a container's log followed as it is written, and
// Kubernetes watch events for pods. Each runs on the stream's own thread
// (http/stream.hpp) and asks PodService, which lives on the event loop, by
// posting its question there and waiting for the answer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon/container_logs.hpp"
#include "daemon/pod_service.hpp"
#include "http/stream.hpp"

namespace deckhand {

// `GET /api/v1/namespaces/{ns}/pods/{name}/log?follow=true`: the log of
// `target` as far as it is written (rendered with `options`), then each line
// as the container writes it, until that attempt has ended and its log is
// read to the end (as the kubelet does; a restart ends it with the old
// attempt), the pod is gone, or the client goes away.
http::Stream follow_log_stream(PodService& pods, std::string namespace_, std::string name, PodService::LogTarget target,
                               LogOptions options);

// Which pods a list or a watch returns.
struct PodFilter {
  std::string namespace_;       // "": every namespace
  std::string label_selector;   // Kubernetes label selector syntax
  std::string name;             // fieldSelector metadata.name=NAME; "": any
  bool none = false;            // selectors that contradict each other: no pod
};

// Adds a fieldSelector ("metadata.name=x,metadata.namespace=y"; "=" or
// "==") to `filter`. Throws std::invalid_argument naming an unsupported
// field, as the API server does ("field label not supported: spec.foo").
void add_field_selector(const std::string& selector, PodFilter& filter);

// The Pods `filter` lets through, sorted by namespace and name. Call on the
// event loop's thread.
std::vector<nlohmann::json> filtered_pods(const PodService& pods, const PodFilter& filter);

struct PodWatchOptions {
  PodFilter filter;
  // sendInitialEvents=true: a BOOKMARK annotated k8s.io/initial-events-end
  // after the ADDED events of the pods that already exist.
  bool initial_events_end = false;
  std::optional<int64_t> timeout_seconds;  // the watch ends after this long
};

// How often a watch lists the pods to find what changed.
inline constexpr int kPodWatchPeriodMs = 200;

// `GET /api/v1[/namespaces/{ns}]/pods?watch=true`: one JSON watch event a
// line, {"type":"ADDED","object":{Pod}} for each of `initial` (the pods when
// the watch began), then ADDED, MODIFIED and DELETED as the pods change.
// Changes are found by listing the pods every kPodWatchPeriodMs and
// comparing each pod (by uid) with its last JSON.
http::Stream watch_pods_stream(PodService& pods, PodWatchOptions options, std::vector<nlohmann::json> initial);

}  // namespace deckhand
