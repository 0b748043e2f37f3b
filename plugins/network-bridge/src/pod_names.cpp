// Pod-derived names; see pod_names.hpp.
#include "pod_names.hpp"

#include <openssl/sha.h>

#include <cstdio>

#include "network_error.hpp"

namespace deckhand::network {

std::string host_veth_name(const std::string& pod_id) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  ::SHA256(reinterpret_cast<const unsigned char*>(pod_id.data()), pod_id.size(), digest);
  static const char hex[] = "0123456789abcdef";
  std::string name = kVethPrefix;
  for (int i = 0; name.size() < 13; ++i) {
    name += hex[digest[i / 2] >> ((i % 2) ? 0 : 4) & 0xf];
  }
  return name;
}

bool is_host_veth_name(const std::string& name) {
  if (name.size() != 13 || name.compare(0, 2, kVethPrefix) != 0) return false;
  return name.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
}

std::array<uint8_t, 6> pod_mac(const std::array<uint8_t, 16>& ipv4) {
  return {0x0a, 0x58, ipv4[0], ipv4[1], ipv4[2], ipv4[3]};
}

std::string format_mac(const std::array<uint8_t, 6>& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

void check_pod_id(const std::string& pod_id) {
  const bool ok = !pod_id.empty() && pod_id.size() <= 253 && pod_id[0] != '.' &&
                  pod_id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                      std::string::npos;
  if (!ok) {
    throw NetworkError(Failure::invalid, "\"pod_id\" must be 1 to 253 characters of letters, digits, '.', '_' and "
                                         "'-', not starting with '.', not \"" + pod_id + "\"");
  }
}

void check_ifname(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > 15 || name == "." || name == ".." ||
      name.find_first_of("/: \t\n") != std::string::npos) {
    throw NetworkError(Failure::invalid, what + " must be an interface name of 1 to 15 characters without '/', ':' "
                                                "or spaces, not \"" + name + "\"");
  }
}

}  // namespace deckhand::network
