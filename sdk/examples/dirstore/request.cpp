// dirstore: parsing and validating untrusted JSON documents.
#include "request.hpp"

#include <deckhand/plugin.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace dirstore {

using deckhand::sdk::invalid_argument;
using nlohmann::json;

namespace {

// Parses text, refusing duplicate keys at any depth: two values for one key
// are read differently by different parsers, so an untrusted document that
// has them is refused instead of silently taking the last one.
json parse_strict(const std::string& what, std::string_view text) {
  std::vector<std::set<std::string>> seen;  // keys of each object being parsed
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        seen.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!seen.empty() && !seen.back().insert(key).second) {
          throw invalid_argument(what + ": duplicate key " + quote(key));
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    // e.what() names the byte position and what was expected there.
    throw invalid_argument(what + ": not valid JSON: " + e.what());
  }
}

const char* type_name(const json& v) {
  // nlohmann calls unsigned and signed integers different names; a request
  // author only cares that it was a number.
  return v.is_number() ? "number" : v.type_name();
}

}  // namespace

Request::Request(std::string_view what, std::string_view text,
                 std::initializer_list<std::string_view> keys)
    : what_(what), doc_(parse_strict(what_, text)) {
  if (!doc_.is_object()) {
    throw invalid_argument(what_ + ": must be a JSON object, got " + type_name(doc_));
  }
  for (const auto& item : doc_.items()) {
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
      std::string accepted;
      for (std::string_view k : keys) accepted += (accepted.empty() ? "" : ", ") + std::string(k);
      throw invalid_argument(what_ + ": unknown key " + quote(item.key()) +
                             (accepted.empty() ? " (no keys are accepted)" : " (accepted: " + accepted + ")"));
    }
  }
}

const json& Request::member(const char* key) const {
  auto it = doc_.find(key);
  if (it == doc_.end()) throw invalid_argument(what_ + ": missing key \"" + key + "\"");
  return *it;
}

void Request::wrong_type(const char* key, const char* expected) const {
  throw invalid_argument(what_ + ": key \"" + key + "\" must be " + expected + ", got " +
                         type_name(member(key)));
}

std::string Request::string(const char* key) const {
  const json& v = member(key);
  if (!v.is_string()) wrong_type(key, "a string");
  const auto& s = v.get_ref<const std::string&>();
  // JSON allows "\u0000"; C APIs would silently cut the string there.
  if (s.find('\0') != std::string::npos) {
    throw invalid_argument(what_ + ": key \"" + key + "\" must not contain a NUL character");
  }
  return s;
}

bool Request::boolean(const char* key) const {
  const json& v = member(key);
  if (!v.is_boolean()) wrong_type(key, "a boolean (true or false)");
  return v.get<bool>();
}

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

}  // namespace

bool is_image_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || !lower_alnum(name[0])) return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

void check_image_name(std::string_view what, const char* key, std::string_view name) {
  if (!is_image_name(name)) {
    throw invalid_argument(std::string(what) + ": key \"" + key + "\": image name " + quote(name) +
                           " is invalid: an image is a directory directly under root, named "
                           "[a-z0-9][a-z0-9._-]* (at most 255 bytes, no '/', no \"..\")");
  }
}

bool is_container_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || !alnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

void check_container_id(std::string_view what, std::string_view id) {
  if (!is_container_id(id)) {
    throw invalid_argument(std::string(what) + ": key \"container_id\": " + quote(id) +
                           " is invalid: must match [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");
  }
}

std::string quote(std::string_view s) {
  static constexpr std::size_t limit = 64;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > limit) out += "...";
  return out;
}

}  // namespace dirstore
