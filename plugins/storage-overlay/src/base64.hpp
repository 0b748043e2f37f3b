// Base64 (RFC 4648, with padding) on OpenSSL's EVP block coder: the "auth"
// of Docker's auth file, basic credentials, and projected file contents.
#pragma once

#include <string>
#include <string_view>

namespace deckhand::storage {

std::string base64_encode(std::string_view bytes);
// Whitespace is ignored. Throws StorageError(invalid) "<what> is not base64".
std::string base64_decode(std::string_view text, const std::string& what);

}  // namespace deckhand::storage
