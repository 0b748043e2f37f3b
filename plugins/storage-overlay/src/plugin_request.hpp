// One storage request document, read strictly: it must be a JSON object
// with only the fields the operation knows, each of the right type, so a
// misspelt "readonly" cannot silently give a writable root.
#pragma once

#include <deckhand/plugin.hpp>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace deckhand::storage {

class PluginRequest {
 public:
  PluginRequest(std::string_view text, std::initializer_list<const char*> fields) {
    body_ = nlohmann::json::parse(text, nullptr, false);
    if (body_.is_discarded() || !body_.is_object()) throw sdk::invalid_argument("the request must be a JSON object");
    for (const auto& item : body_.items()) {
      bool known = false;
      for (const char* field : fields) known = known || item.key() == field;
      if (!known) throw sdk::invalid_argument("unknown request field \"" + item.key() + "\"");
    }
  }

  bool has(const char* field) const { return body_.contains(field); }

  // A non-empty string; `fallback` when absent, or an error if required.
  std::string text(const char* field, bool required, const std::string& fallback = "") const {
    if (!body_.contains(field)) {
      if (required) throw sdk::invalid_argument(std::string("\"") + field + "\" is required");
      return fallback;
    }
    const auto& value = body_[field];
    if (!value.is_string() || value.get<std::string>().empty()) {
      throw sdk::invalid_argument(std::string("\"") + field + "\" must be a non-empty string");
    }
    return value.get<std::string>();
  }

  bool flag(const char* field) const {
    if (!body_.contains(field)) return false;
    if (!body_[field].is_boolean()) throw sdk::invalid_argument(std::string("\"") + field + "\" must be true or false");
    return body_[field].get<bool>();
  }

  const nlohmann::json& object(const char* field) const {
    if (!body_.contains(field) || !body_[field].is_object()) {
      throw sdk::invalid_argument(std::string("\"") + field + "\" must be an object");
    }
    return body_[field];
  }

 private:
  nlohmann::json body_;
};

}  // namespace deckhand::storage
