// CNI 1.0 result of an attach; see cni_result.hpp.
#include "cni_result.hpp"

namespace deckhand::network {

nlohmann::json cni_result(const AttachResult& result) {
  using nlohmann::json;
  json ips = json::array();
  json routes = json::array();
  for (const PodAddress* pod : {&result.v4, result.v6 ? &*result.v6 : nullptr}) {
    if (pod == nullptr) continue;
    const bool v6 = pod->range.v6;
    ips.push_back({{"address", format_address(pod->address, v6) + "/" + std::to_string(pod->range.length)},
                   {"gateway", format_address(pod->gateway, v6)},
                   {"interface", 1}});
    routes.push_back({{"dst", v6 ? "::/0" : "0.0.0.0/0"}, {"gw", format_address(pod->gateway, v6)}});
  }
  return {{"cniVersion", "1.0.0"},
          {"interfaces",
           json::array({{{"name", result.host_veth}, {"mac", result.host_mac}},
                        {{"name", result.ifname}, {"mac", result.pod_mac}, {"sandbox", result.netns}}})},
          {"ips", ips},
          {"routes", routes}};
}

}  // namespace deckhand::network
