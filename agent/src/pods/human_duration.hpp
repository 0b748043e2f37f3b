// Durations as Kubernetes prints them: kubectl's ages ("5s", "3m10s",
// "2d1h", "8y") from k8s.io/apimachinery/pkg/util/duration, and Go's
// time.Duration.String() ("20s", "5m0s", "1.661s", "830ms"), which the
// kubelet's messages embed ("back-off 5m0s restarting failed container=...").
#pragma once

#include <chrono>
#include <string>

namespace deckhand::pods {

// HumanDuration: about two significant figures ("119s", "3m10s", "70m",
// "3h1m", "47h", "2d1h", "367d", "2y1d", "8y"); "0s" for up to 2 s in the
// future (clock skew), "<invalid>" beyond. The AGE column of kubectl.
std::string human_duration(std::chrono::nanoseconds d);

// ShortHumanDuration: one unit only ("59s", "1m", "23h", "364d", "1y").
std::string short_human_duration(std::chrono::nanoseconds d);

// Go's time.Duration.String(): "0s", "5ns", "1.5µs", "830ms", "1.661s",
// "20s", "5m0s", "1h0m0s", "-3s".
std::string go_duration(std::chrono::nanoseconds d);

}  // namespace deckhand::pods
