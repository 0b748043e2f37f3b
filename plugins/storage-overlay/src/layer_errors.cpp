#include "layer_errors.hpp"

#include <cerrno>
#include <cstring>

#include "storage_error.hpp"

namespace deckhand::storage {

std::string quote_entry_name(std::string_view name) {
  // Long enough for any real path a user needs to recognise.
  constexpr std::size_t kShownBytes = 300;
  static const char* const kHex = "0123456789abcdef";
  std::string quoted = "\"";
  for (std::size_t i = 0; i < name.size() && i < kShownBytes; ++i) {
    const auto byte = static_cast<unsigned char>(name[i]);
    if (byte == '"' || byte == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(byte);
    } else if (byte < 0x20 || byte >= 0x7f) {
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 15];
    } else {
      quoted += static_cast<char>(byte);
    }
  }
  quoted += '"';
  if (name.size() > kShownBytes) quoted += "... (" + std::to_string(name.size()) + " bytes)";
  return quoted;
}

void refuse_entry(std::string_view name, const std::string& reason) {
  throw StorageError(Failure::corrupt, "layer entry " + quote_entry_name(name) + " refused: " + reason);
}

void fail_entry_syscall(std::string_view name, const std::string& action, int error) {
  const std::string what = "cannot " + action + " for layer entry " + quote_entry_name(name) + ": " + std::strerror(error);
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      throw StorageError(Failure::exhausted, what);
    case ENAMETOOLONG:
      throw StorageError(Failure::corrupt, what + " (the name is longer than the filesystem allows)");
    case EMLINK:
      throw StorageError(Failure::corrupt, what + " (more hard links to one file than the filesystem allows)");
    default:
      throw StorageError(Failure::internal, what);
  }
}

}  // namespace deckhand::storage
