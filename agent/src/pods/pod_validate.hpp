// Kubernetes' validation of a Pod (pkg/apis/core/validation, the subset of
// fields deckhand supports), with its messages: every problem as
// `<field path>: <Invalid value: "x": reason | Required value | Duplicate
// value: "x" | Unsupported value: "x": supported values: ...>`, in the order
// Kubernetes reports them.
#pragma once

#include <string>
#include <vector>

#include "pods/pod.hpp"

namespace deckhand::pods {

// Empty when the pod is valid.
std::vector<std::string> validate_pod(const Pod& pod);

// `Pod "web" is invalid: [a, b]` (or `: a` for one), as kubectl prints it;
// "" when `problems` is empty.
std::string invalid_pod_message(const Pod& pod, const std::vector<std::string>& problems);

}  // namespace deckhand::pods
