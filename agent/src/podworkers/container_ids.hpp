// How a pod's runtime objects are named and labelled, so a restarted agent
// finds them again from the runtime alone: the sandbox is named by the pod
// (its key), each container instance "<pod key>_<container>_<attempt>"
// (attempt 0 is the first run, each restart adds one: the restartCount), and
// every container carries annotations naming its pod, container and attempt,
// as the kubelet's labels do (io.kubernetes.pod.uid, ...).
#pragma once

#include <optional>
#include <string>

namespace deckhand {

namespace annotations {
inline constexpr const char* kPodUid = "io.kubernetes.pod.uid";
inline constexpr const char* kPodName = "io.kubernetes.pod.name";
inline constexpr const char* kPodNamespace = "io.kubernetes.pod.namespace";
inline constexpr const char* kContainerName = "io.kubernetes.container.name";
inline constexpr const char* kAttempt = "io.deckhand.container.attempt";
inline constexpr const char* kInitContainer = "io.deckhand.container.init";
}  // namespace annotations

// The pod's name for the runtime and the network: its uid when that is a
// valid runtime id of at most 40 characters (UUIDs and the static pod
// hashes are), else a hash of it.
std::string pod_key(const std::string& uid);

std::string container_instance_id(const std::string& pod_key, const std::string& container, int attempt);

// The attempt annotation's value, when it is a number.
std::optional<int> parse_attempt(const std::string& text);

}  // namespace deckhand
