// Percent-encoding for the local API's paths and query strings: the CLI
// encodes (RFC 3986: all but the unreserved characters), the agent decodes
// (also '+' as a space, as Go's url.ParseQuery does for kubectl's clients).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace deckhand {

inline std::string url_encode(std::string_view value) {
  static const char* const kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

namespace url_detail {
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace url_detail

// A malformed escape ("%zz", a '%' at the end) stays as it is.
inline std::string url_decode(std::string_view text) {
  using url_detail::hex_value;
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace deckhand
