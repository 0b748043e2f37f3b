// `deckhand describe pod`: kubectl describe's layout (kubernetes
// staging/src/k8s.io/kubectl/pkg/describe/describe.go describePod) for the
// fields a deckhand Pod has, rendered from the agent's Pod and EventList
// JSON at a given `now` so the output is exact to test.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pods/pod_status.hpp"

namespace deckhand::cli {

// kubectl prints times (Start Time, Started, Finished) in the local zone.
enum class TimeZone { local, utc };

// The describe text of `pod`; `events` is a core/v1 EventList, or nullopt
// when the events could not be read (kubectl then leaves the Events section
// out). Events are sorted by lastTimestamp; a repeated one shows its age as
// "2m (x3 over 5m)".
std::string describe_pod(const nlohmann::json& pod, const std::optional<nlohmann::json>& events, pods::Time now,
                         TimeZone zone = TimeZone::local);

// Go's time.RFC1123Z: "Mon, 02 Jan 2006 15:04:05 -0700".
std::string rfc1123z(pods::Time time, TimeZone zone);

}  // namespace deckhand::cli
