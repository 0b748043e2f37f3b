// Kubernetes' rules for names, label keys and values, environment variable
// and port names, as k8s.io/apimachinery/pkg/util/validation states them.
// Each function returns the problems in Kubernetes' own words (the text
// `kubectl apply` prints after "Invalid value: ..."), empty when valid.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace deckhand::pods {

std::vector<std::string> dns1123_label_errors(std::string_view value);      // container, volume, port-less names
std::vector<std::string> dns1123_subdomain_errors(std::string_view value);  // pod names
std::vector<std::string> qualified_name_errors(std::string_view value);     // label and annotation keys
std::vector<std::string> label_value_errors(std::string_view value);
std::vector<std::string> env_var_name_errors(std::string_view value);
std::vector<std::string> port_name_errors(std::string_view value);          // IANA_SVC_NAME

}  // namespace deckhand::pods
