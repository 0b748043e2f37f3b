// The attach/detach/check request documents, read strictly (unknown fields
// refused by name), with Kubernetes ContainerPort names for the ports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nft_rules.hpp"

namespace deckhand::network {

struct AttachRequest {
  std::string pod_id;
  std::string netns;            // the pinned netns file
  std::string ifname = "eth0";
  std::vector<PortMapping> ports;  // only those with a hostPort
};

// attach: {pod_id, netns, ifname?, ports?}. Throws NetworkError(invalid).
AttachRequest parse_attach_request(const nlohmann::json& request);
// detach {pod_id, netns?, ifname?} and check {pod_id, netns?, ifname?}
// (check needs netns unless the pod is recorded).
AttachRequest parse_pod_request(const nlohmann::json& request);
// One ContainerPort: {containerPort, hostPort?, hostIP?, protocol?, name?}.
PortMapping parse_port(const nlohmann::json& port, const std::string& where);

}  // namespace deckhand::network
