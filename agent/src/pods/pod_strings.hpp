// The pod model's values as Kubernetes spells them: the enums' JSON strings,
// quantities in canonical form, and values quoted the way Go's %q quotes
// them in Kubernetes' error messages. Shared by the parser, pod_to_json and
// the validation, so a value reads the same in a manifest, in the JSON
// deckhand prints and in an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pods/pod.hpp"

namespace deckhand::pods {

std::string_view to_string(RestartPolicy policy);  // "Always", "OnFailure", "Never"
std::string_view to_string(PullPolicy policy);     // "Always", "IfNotPresent", "Never"
std::string_view to_string(Protocol protocol);     // "TCP", "UDP"
std::string_view to_string(SeccompType type);      // "RuntimeDefault", "Unconfined", "Localhost"
std::string_view to_string(HostPathType type);     // "" (unset), "DirectoryOrCreate", ...
std::string_view to_string(FieldRef field);        // "metadata.name", ..., "spec.serviceAccountName"

// CPU in millicores as Kubernetes prints it: "250m", or whole cores ("2")
// when the millicores are a multiple of 1000.
std::string cpu_quantity(int64_t millis);

// Bytes with the suffix that gives the shortest number: binary ("128Mi",
// "1Gi") or decimal ("512M", "1G"), or plain bytes when neither divides. The
// original suffix is not kept by the model; this picks what a person most
// likely wrote, which is also Kubernetes' canonical form in those cases.
std::string memory_quantity(int64_t bytes);

// `"text"` with Go's %q escapes (\", \\, \n, \t and the other C escapes,
// \xNN for other control bytes), as Kubernetes quotes string values in its
// messages.
std::string quote(std::string_view text);

}  // namespace deckhand::pods
