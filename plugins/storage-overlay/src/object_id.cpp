#include "object_id.hpp"

#include <algorithm>

#include "storage_error.hpp"

namespace deckhand::storage {

bool valid_object_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  const auto alphanumeric = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alphanumeric(id[0])) return false;
  return std::all_of(id.begin() + 1, id.end(),
                     [&](char c) { return alphanumeric(c) || c == '_' || c == '.' || c == '-'; });
}

void require_object_id(const std::string& id, const char* what) {
  if (!valid_object_id(id)) {
    throw StorageError(Failure::invalid, std::string("invalid ") + what + " id \"" + id.substr(0, 200) +
                                             "\" (expected 1 to 128 of A-Z a-z 0-9 _ . -, starting with a letter "
                                             "or digit)");
  }
}

}  // namespace deckhand::storage
