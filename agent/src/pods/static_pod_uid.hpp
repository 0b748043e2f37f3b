// The UID of a pod from a manifest file that gives none, computed the way the
// kubelet computes a static pod's UID (pkg/kubelet/config/common.go,
// applyDefaults): a 128-bit FNV-1a hash of the pod's object, then of
// "host:<node name>" and "file:<source path>", written as 32 lowercase hex
// digits (not a UUID). The same pod from the same file on the same node gets
// the same UID after every restart, so a restarted agent re-adopts its
// containers; any change to the pod gives a new UID, so an edited manifest
// replaces the pod, as the kubelet replaces an edited static pod.
#pragma once

#include <string>
#include <string_view>

#include "pods/pod.hpp"

namespace deckhand::pods {

// metadata.uid when the pod has one; else the hash of the pod as its manifest
// gives it (defaults applied, spec.nodeName as written), in its canonical
// JSON (pod_to_json, keys sorted, no spaces), then node_name and source.
std::string static_pod_uid(const Pod& pod, const std::string& node_name, const std::string& source);

// FNV-1a, 128 bits (Go's hash/fnv New128a, which the kubelet uses), as 32
// lowercase hex digits, most significant byte first.
std::string fnv1a_128_hex(std::string_view data);

}  // namespace deckhand::pods
