// Objects as `kubectl get -o json` and `-o yaml` print them. kubectl works on
// unstructured objects, so keys come out sorted (nlohmann::json's order too);
// JSON is indented by four spaces with Go's HTML-safe escapes, YAML is what
// sigs.k8s.io/yaml (go-yaml v2) writes: block style, sequences not indented
// under their key, strings quoted only where a plain scalar would read back
// as another type or would not parse.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace deckhand::cli {

// `-o json`: json.MarshalIndent(obj, "", "    ") and a newline.
std::string to_kubectl_json(const nlohmann::json& object);

// `-o yaml`. Long strings are not folded at 80 columns as go-yaml does;
// the YAML reads back the same.
std::string to_kubectl_yaml(const nlohmann::json& object);

// The `kind: List` kubectl prints for several objects (get.go printGeneric).
nlohmann::json kubectl_list(const nlohmann::json& items);

}  // namespace deckhand::cli
