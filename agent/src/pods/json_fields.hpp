// Strict reading of Kubernetes JSON for the pod parser: each object's members
// checked against the fields the reader knows (an unknown one is an error
// naming its path, never dropped), each value checked for its JSON type, and
// every error a ManifestError "<path>: <problem>" with a Kubernetes-style
// path ("spec.containers[0].ports[1].hostPort").
//
// null reads as absent, as Kubernetes' decoder reads it (a bare `env:` in YAML
// is null).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pods/pod_parse.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand::pods::json_fields {

using nlohmann::json;

std::string child(const std::string& path, std::string_view name);  // "spec" + "containers"
std::string index(const std::string& path, std::size_t i);          // "spec.containers[0]"
std::string key(const std::string& path, std::string_view key);     // "resources.limits[cpu]"

// Throws ManifestError("<path>: <problem>"), or just the problem at the root.
[[noreturn]] void fail(const std::string& path, std::string_view problem);

// `Unsupported value: "x": supported values: "A", "B"`, Kubernetes' words for
// a value outside an enumeration.
std::string unsupported_value(std::string_view value, const std::vector<std::string_view>& supported);

// Typed reads of one value; a wrong type fails with "must be a string",
// "must be an integer", "must be a boolean", "must be an object" or "must be
// an array". Integers must be JSON integers in range (Kubernetes' decoder
// refuses 80.0 for an int32 field too).
std::string as_string(const json& value, const std::string& path);
int64_t as_int64(const json& value, const std::string& path);
int32_t as_int32(const json& value, const std::string& path);
bool as_boolean(const json& value, const std::string& path);
const json::array_t& as_array(const json& value, const std::string& path);

// The members of one JSON object. The constructor fails for a non-object and
// for the first member (in key order) that is neither `known` nor `ignored`:
// "<path>.<name>: unknown or unsupported field".
class Object {
 public:
  Object(const json& value, std::string path, std::initializer_list<std::string_view> known,
         std::initializer_list<std::string_view> ignored = {});

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view name) const { return child(path_, name); }

  // The member, or nullptr when it is absent or null.
  const json* find(std::string_view name) const;

  std::string string(std::string_view name) const;  // "" when absent
  std::optional<std::string> optional_string(std::string_view name) const;
  bool boolean(std::string_view name) const;  // false when absent
  std::optional<bool> optional_boolean(std::string_view name) const;
  int32_t int32(std::string_view name) const;  // 0 when absent
  std::optional<int64_t> optional_int64(std::string_view name) const;
  std::vector<std::string> strings(std::string_view name) const;
  std::vector<int64_t> int64s(std::string_view name) const;
  std::map<std::string, std::string> string_map(std::string_view name) const;
  // The elements of an array member (empty when absent), each with its path.
  std::vector<std::pair<const json*, std::string>> elements(std::string_view name) const;

 private:
  const json* value_;
  std::string path_;
};

// The enumerator whose Kubernetes spelling (to_string from pod_strings.hpp)
// is `text`; otherwise fails with unsupported_value, listing the spellings in
// the order given (Kubernetes' order) and appending `note`.
template <typename Enum, std::size_t N>
Enum enum_value(const std::string& text, const std::string& path, const std::array<Enum, N>& values,
                std::string_view note = {}) {
  std::vector<std::string_view> supported;
  for (const Enum value : values) {
    if (to_string(value) == text) return value;
    supported.push_back(to_string(value));
  }
  fail(path, unsupported_value(text, supported) + std::string(note));
}

}  // namespace deckhand::pods::json_fields
