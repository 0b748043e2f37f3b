#include "pods/json_fields.hpp"

#include <algorithm>
#include <limits>

#include "pods/pod_strings.hpp"

namespace deckhand::pods::json_fields {

std::string child(const std::string& path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return path + "." + std::string(name);
}

std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string key(const std::string& path, std::string_view key) { return path + "[" + std::string(key) + "]"; }

void fail(const std::string& path, std::string_view problem) {
  if (path.empty()) throw ManifestError(std::string(problem));
  throw ManifestError(path + ": " + std::string(problem));
}

std::string unsupported_value(std::string_view value, const std::vector<std::string_view>& supported) {
  std::string message = "Unsupported value: " + quote(value) + ": supported values: ";
  for (std::size_t i = 0; i < supported.size(); ++i) {
    if (i > 0) message += ", ";
    message += quote(supported[i]);
  }
  return message;
}

std::string as_string(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "must be a string");
  return value.get<std::string>();
}

int64_t as_int64(const json& value, const std::string& path) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t{std::numeric_limits<int64_t>::max()}) {
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  if (value.is_number_unsigned()) fail(path, "must be a 64-bit integer");
  fail(path, "must be an integer");
}

int32_t as_int32(const json& value, const std::string& path) {
  if (!value.is_number_integer()) fail(path, "must be an integer");
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  const bool fits = value.is_number_unsigned() ? value.get<uint64_t>() <= uint64_t{kMax}
                                               : value.get<int64_t>() >= kMin && value.get<int64_t>() <= kMax;
  if (!fits) fail(path, "must be a 32-bit integer");
  return static_cast<int32_t>(value.get<int64_t>());
}

bool as_boolean(const json& value, const std::string& path) {
  if (!value.is_boolean()) fail(path, "must be a boolean");
  return value.get<bool>();
}

const json::array_t& as_array(const json& value, const std::string& path) {
  if (!value.is_array()) fail(path, "must be an array");
  return value.get_ref<const json::array_t&>();
}

Object::Object(const json& value, std::string path, std::initializer_list<std::string_view> known,
               std::initializer_list<std::string_view> ignored)
    : value_(&value), path_(std::move(path)) {
  if (!value.is_object()) fail(path_, "must be an object");
  for (const auto& item : value.items()) {
    const std::string& name = item.key();
    const auto listed = [&name](std::initializer_list<std::string_view> names) {
      return std::find(names.begin(), names.end(), name) != names.end();
    };
    if (!listed(known) && !listed(ignored)) fail(path_of(name), "unknown or unsupported field");
  }
}

const json* Object::find(std::string_view name) const {
  const auto it = value_->find(name);
  if (it == value_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Object::string(std::string_view name) const {
  const json* member = find(name);
  return member ? as_string(*member, path_of(name)) : std::string();
}

std::optional<std::string> Object::optional_string(std::string_view name) const {
  const json* member = find(name);
  if (!member) return std::nullopt;
  return as_string(*member, path_of(name));
}

bool Object::boolean(std::string_view name) const { return optional_boolean(name).value_or(false); }

std::optional<bool> Object::optional_boolean(std::string_view name) const {
  const json* member = find(name);
  if (!member) return std::nullopt;
  return as_boolean(*member, path_of(name));
}

int32_t Object::int32(std::string_view name) const {
  const json* member = find(name);
  return member ? as_int32(*member, path_of(name)) : 0;
}

std::optional<int64_t> Object::optional_int64(std::string_view name) const {
  const json* member = find(name);
  if (!member) return std::nullopt;
  return as_int64(*member, path_of(name));
}

std::vector<std::string> Object::strings(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [element, path] : elements(name)) out.push_back(as_string(*element, path));
  return out;
}

std::vector<int64_t> Object::int64s(std::string_view name) const {
  std::vector<int64_t> out;
  for (const auto& [element, path] : elements(name)) out.push_back(as_int64(*element, path));
  return out;
}

std::map<std::string, std::string> Object::string_map(std::string_view name) const {
  std::map<std::string, std::string> out;
  const json* member = find(name);
  if (!member) return out;
  const std::string path = path_of(name);
  if (!member->is_object()) fail(path, "must be an object");
  for (const auto& [map_key, map_value] : member->items()) {
    out.emplace(map_key, as_string(map_value, key(path, map_key)));
  }
  return out;
}

std::vector<std::pair<const json*, std::string>> Object::elements(std::string_view name) const {
  std::vector<std::pair<const json*, std::string>> out;
  const json* member = find(name);
  if (!member) return out;
  const std::string path = path_of(name);
  const json::array_t& array = as_array(*member, path);
  out.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) out.emplace_back(&array[i], index(path, i));
  return out;
}

}  // namespace deckhand::pods::json_fields
