// IPv4 and IPv6 addresses and prefixes as the plugin's address plan needs
// them: parsing "10.88.0.0/24", the n-th address of a range, formatting.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace deckhand::network {

// An IPv4 or IPv6 prefix. Addresses are kept as 16 bytes (IPv4 in the first 4).
struct Prefix {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // the network address (host bits zero)
  int length = 0;

  int bits() const { return v6 ? 128 : 32; }
  int host_bits() const { return bits() - length; }
  // The address at `offset` from the network address (offset < 2^host_bits).
  std::array<uint8_t, 16> at(uint64_t offset) const;
  // The offset of `address` in the prefix, or -1 when it lies outside (or
  // beyond 2^63 from the start).
  int64_t offset_of(const std::array<uint8_t, 16>& address) const;
  std::string string() const;  // "10.88.0.0/24"
};

// Parses "a.b.c.d/n" (v6 = false) or an IPv6 prefix (v6 = true). Host bits
// that are set are refused (a typo for another range). Throws
// NetworkError(invalid) naming `what`.
Prefix parse_prefix(const std::string& text, bool v6, const std::string& what);
// Parses one address of the family; throws NetworkError(invalid).
std::array<uint8_t, 16> parse_address(const std::string& text, bool v6, const std::string& what);
std::string format_address(const std::array<uint8_t, 16>& bytes, bool v6);

}  // namespace deckhand::network
