// Names and identities derived from a pod: the host-side veth name, the
// pod interface's MAC, the check that a pod id is safe as a file name.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace deckhand::network {

// Every host-side veth the plugin makes starts with this (leftover clean-up
// at start-up only ever touches interfaces so named).
inline constexpr const char* kVethPrefix = "dh";

// "dh" + the first 11 hex digits of sha256(pod_id): 13 characters, within
// IFNAMSIZ, the same for the same pod on every call and restart.
std::string host_veth_name(const std::string& pod_id);
// True for a name host_veth_name could have produced.
bool is_host_veth_name(const std::string& name);
// 0a:58:<the four IPv4 bytes>, as Kubernetes' bridge plugins do: stable for
// an address, locally administered, unicast.
std::array<uint8_t, 6> pod_mac(const std::array<uint8_t, 16>& ipv4);
std::string format_mac(const std::array<uint8_t, 6>& mac);
// Throws NetworkError(invalid) unless the id is 1-253 characters of
// [A-Za-z0-9._-] not starting with '.' (it names files and nft comments).
void check_pod_id(const std::string& pod_id);
// Throws NetworkError(invalid) unless `name` is a valid interface name.
void check_ifname(const std::string& name, const std::string& what);

}  // namespace deckhand::network
