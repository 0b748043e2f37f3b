// Tolerant reads of the agent's JSON answers (Pods, Events): a member that
// is absent or of another type reads as empty, as a Go client sees a field
// it could not decode as its zero value, so a renderer never throws on an
// odd answer and prints what it has.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "pods/pod_status.hpp"

namespace deckhand::cli {

inline const nlohmann::json& member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  if (!object.is_object()) return kNull;
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

inline std::string text(const nlohmann::json& object, const char* key) {
  const nlohmann::json& value = member(object, key);
  return value.is_string() ? value.get<std::string>() : std::string();
}

inline int64_t integer(const nlohmann::json& object, const char* key) {
  const nlohmann::json& value = member(object, key);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

inline bool flag(const nlohmann::json& object, const char* key) {
  const nlohmann::json& value = member(object, key);
  return value.is_boolean() && value.get<bool>();
}

// The member as an array; an empty array when it is not one.
inline const nlohmann::json& list(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json& value = member(object, key);
  return value.is_array() ? value : kEmpty;
}

// A metav1.Time member; nullopt when absent, null or not RFC 3339.
inline std::optional<pods::Time> time_of(const nlohmann::json& object, const char* key) {
  const std::string stamp = text(object, key);
  if (stamp.empty()) return std::nullopt;
  try {
    return pods::parse_time(stamp);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace deckhand::cli
