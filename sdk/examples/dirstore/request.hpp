// dirstore: parsing and validating untrusted JSON documents (requests and the
// plugin's config). Every problem becomes deckhand::sdk::invalid_argument with
// a message that names the operation and the key.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace dirstore {

// A JSON object whose keys were checked against the set the caller accepts.
class Request {
 public:
  // `what` prefixes every error message ("prepare_rootfs", "config").
  Request(std::string_view what, std::string_view text, std::initializer_list<std::string_view> keys);

  // A required key of the given type; a missing key or another type throws.
  std::string string(const char* key) const;
  bool boolean(const char* key) const;

 private:
  const nlohmann::json& member(const char* key) const;
  [[noreturn]] void wrong_type(const char* key, const char* expected) const;

  std::string what_;
  nlohmann::json doc_;
};

// Image names are directory names under root: [a-z0-9][a-z0-9._-]*, at most
// 255 bytes, never containing "..". Throws invalid_argument naming `key`.
void check_image_name(std::string_view what, const char* key, std::string_view name);
bool is_image_name(std::string_view name);

// Container ids: [a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}. Throws invalid_argument.
void check_container_id(std::string_view what, std::string_view id);
bool is_container_id(std::string_view id);

// An untrusted string made safe for an error message or a log line: quoted,
// control and non-ASCII bytes escaped, cut after 64 bytes.
std::string quote(std::string_view s);

}  // namespace dirstore
