// An attach's answer as a CNI 1.0 result document: the host veth and the pod
// interface (with its sandbox), the pod's addresses with the gateway, and the
// default route(s).
#pragma once

#include <nlohmann/json.hpp>

#include "network_service.hpp"

namespace deckhand::network {

nlohmann::json cni_result(const AttachResult& result);

}  // namespace deckhand::network
