// Pod manifests to the pod model: YAML or JSON text (one or more documents)
// into Pods. Strict: a field deckhand does not support is an error naming it
// by path ("spec.containers[0].livenessProbe: unknown or unsupported field"),
// never dropped; a wrong type is an error naming the path and the type
// wanted. Kubernetes' defaults are applied after parsing.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pods/pod.hpp"

namespace deckhand::pods {

struct ManifestError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// One Pod object (apiVersion v1, kind Pod) as JSON, as written: no defaults
// applied. A top-level "status" and the server-set metadata fields
// (resourceVersion, creationTimestamp, generation, managedFields) are
// accepted and ignored, so `kubectl get -o yaml` output parses. Throws
// ManifestError.
Pod parse_pod(const nlohmann::json& object);

// All documents of a YAML or JSON text: each a Pod, or a v1 List of Pods;
// empty documents are skipped; apply_pod_defaults is applied to each pod.
// `source` names the file in errors ("pods/web.yaml: document 2: ...").
// Hostile input is bounded: at most 4 MiB of text, 1000 documents, 1000 pods,
// 64 levels of nesting, and YAML aliases may expand the text to no more nodes
// than it has bytes (65536 for a smaller text).
// Throws ManifestError.
std::vector<Pod> parse_manifest(std::string_view text, const std::string& source);

// The API server's defaults: namespace "default", restartPolicy Always,
// terminationGracePeriodSeconds 30, imagePullPolicy from the image's tag,
// protocol TCP, hostPort = containerPort when hostNetwork, and a request for
// each cpu or memory limit without one (equal to the limit).
void apply_pod_defaults(Pod& pod);

// The Pod back as Kubernetes JSON (metadata and spec, defaults included):
// what `get -o json|yaml` prints before status. Empty optional fields are
// left out; quantities are canonical (cpu "250m" or "2", memory "128Mi",
// "512M" or bytes). parse_pod reads it back to an equal Pod.
nlohmann::json pod_to_json(const Pod& pod);

}  // namespace deckhand::pods
