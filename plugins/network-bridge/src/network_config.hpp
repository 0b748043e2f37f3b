// The network-bridge plugin's config section, parsed strictly: unknown keys
// and wrong types are refused with a message naming the key.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "address.hpp"

namespace deckhand::network {

struct NetworkConfig {
  std::string bridge = "deckhand0";
  uint32_t mtu = 1500;
  Prefix pod_cidr;                    // required, IPv4, /8 to /30
  std::optional<Prefix> pod_cidr_v6;  // optional, dual-stack
  // The addresses handed to pods, as offsets in pod_cidr (host-local's
  // rangeStart/rangeEnd): by default every host address after the gateway.
  uint64_t pool_first = 2;
  uint64_t pool_last = 0;  // set by the parser: the last before broadcast
  bool masquerade = true;
  bool hairpin = true;
  std::string state_dir;              // IPAM files and pod records
  std::string netns_dir = "/run/deckhand/netns";
};

// `default_state_dir` is the loader's state directory for the instance.
// Throws NetworkError(invalid).
NetworkConfig parse_network_config(const nlohmann::json& config, const std::string& default_state_dir);

}  // namespace deckhand::network
