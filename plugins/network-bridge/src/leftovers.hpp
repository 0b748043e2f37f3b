// Which pods are gone: a pod exists while the runtime's pin of its network
// namespace, <netns_dir>/<pod_id>, exists. Everything the plugin holds for a
// gone pod (address, record, veth, host ports) is reclaimed at start-up.
#pragma once

#include <set>
#include <string>

namespace deckhand::network {

// The pods of `known` with no pin under netns_dir ("" — an IPAM file whose
// writer died before naming its pod — counts as gone).
std::set<std::string> gone_pods(const std::set<std::string>& known, const std::string& netns_dir);

}  // namespace deckhand::network
