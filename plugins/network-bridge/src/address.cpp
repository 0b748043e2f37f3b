// Address arithmetic for pod ranges; see address.hpp.
#include "address.hpp"

#include <arpa/inet.h>

#include "network_error.hpp"

namespace deckhand::network {

std::array<uint8_t, 16> Prefix::at(uint64_t offset) const {
  std::array<uint8_t, 16> out = bytes;
  const int size = v6 ? 16 : 4;
  for (int i = size - 1; i >= 0 && offset != 0; --i) {
    const unsigned sum = out[i] + static_cast<unsigned>(offset & 0xff);
    out[i] = static_cast<uint8_t>(sum);
    offset = (offset >> 8) + (sum >> 8);
  }
  return out;
}

int64_t Prefix::offset_of(const std::array<uint8_t, 16>& address) const {
  const int size = v6 ? 16 : 4;
  for (int bit = 0; bit < length; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((address[bit / 8] & mask) != (bytes[bit / 8] & mask)) return -1;
  }
  uint64_t offset = 0;
  for (int i = 0; i < size; ++i) {
    const int first_bit = i * 8;
    if (first_bit + 8 <= length) continue;
    uint8_t value = address[i];
    if (first_bit < length) value &= static_cast<uint8_t>(0xffu >> (length - first_bit));
    if (offset >> 55) return -1;
    offset = (offset << 8) | value;
  }
  return static_cast<int64_t>(offset);
}

std::string Prefix::string() const { return format_address(bytes, v6) + "/" + std::to_string(length); }

std::array<uint8_t, 16> parse_address(const std::string& text, bool v6, const std::string& what) {
  std::array<uint8_t, 16> out{};
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), out.data()) != 1) {
    throw NetworkError(Failure::invalid,
                       what + " must be an " + (v6 ? "IPv6" : "IPv4") + " address, not \"" + text + "\"");
  }
  return out;
}

Prefix parse_prefix(const std::string& text, bool v6, const std::string& what) {
  const auto slash = text.find('/');
  const std::string family = v6 ? "IPv6" : "IPv4";
  const auto bad = [&](const std::string& why) {
    return NetworkError(Failure::invalid, what + " must be an " + family + " CIDR such as " +
                                              (v6 ? "\"fd00:88::/64\"" : "\"10.88.0.0/24\"") + ", not \"" + text +
                                              "\"" + (why.empty() ? "" : " (" + why + ")"));
  };
  if (slash == std::string::npos) throw bad("no prefix length");
  Prefix prefix;
  prefix.v6 = v6;
  std::array<uint8_t, 16> raw{};
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, text.substr(0, slash).c_str(), raw.data()) != 1) throw bad("");
  const std::string length = text.substr(slash + 1);
  if (length.empty() || length.size() > 3 || length.find_first_not_of("0123456789") != std::string::npos) {
    throw bad("bad prefix length");
  }
  prefix.length = std::stoi(length);
  if (prefix.length > prefix.bits()) throw bad("prefix length too long");
  prefix.bytes = raw;
  for (int bit = prefix.length; bit < prefix.bits(); ++bit) {
    prefix.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (prefix.bytes != raw) throw bad("host bits set; the range starts at " + prefix.string());
  return prefix;
}

std::string format_address(const std::array<uint8_t, 16>& bytes, bool v6) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

}  // namespace deckhand::network
