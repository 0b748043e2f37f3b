// Runtime names of a pod's objects; see container_ids.hpp.
#include "podworkers/container_ids.hpp"

#include <charconv>
#include <cstdint>
#include <cctype>
#include <cstdio>

namespace deckhand {

std::string pod_key(const std::string& uid) {
  const bool usable = !uid.empty() && uid.size() <= 40 && std::isalnum(static_cast<unsigned char>(uid[0])) &&
                      uid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") ==
                          std::string::npos;
  if (usable) return uid;
  // FNV-1a: stable across builds and machines (std::hash is not).
  uint64_t hash = 14695981039346656037ull;
  for (const unsigned char c : uid) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("pod-") + text;
}

std::string container_instance_id(const std::string& key, const std::string& container, int attempt) {
  return key + "_" + container + "_" + std::to_string(attempt);
}

std::optional<int> parse_attempt(const std::string& text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace deckhand
