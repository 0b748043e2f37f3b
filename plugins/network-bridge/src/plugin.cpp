// network-bridge as a deckhand plugin: the SDK's network operations over
// NetworkService, with strict request parsing, NetworkError mapped onto the
// SDK's statuses and the pod and address counts on the agent's /metrics.
#include <deckhand/plugin.hpp>

#include <nlohmann/json.hpp>

#include "attach_request.hpp"
#include "cni_result.hpp"
#include "network_config.hpp"
#include "network_error.hpp"
#include "network_service.hpp"
#include "node_routes.hpp"

namespace {

constexpr const char* kDefaultStateDir = "/run/deckhand/network";

using nlohmann::json;
namespace sdk = deckhand::sdk;
namespace network = deckhand::network;
using network::Failure;
using network::NetworkError;

sdk::Error to_sdk_error(const NetworkError& e) {
  switch (e.kind()) {
    case Failure::invalid: return sdk::invalid_argument(e.what());
    case Failure::not_found: return sdk::not_found(e.what());
    case Failure::exists: return sdk::already_exists(e.what());
    case Failure::precondition: return sdk::failed_precondition(e.what());
    case Failure::exhausted: return sdk::resource_exhausted(e.what());
    case Failure::internal: break;
  }
  return sdk::internal(e.what());
}

template <class F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const NetworkError& e) {
    throw to_sdk_error(e);
  }
}

json parse(std::string_view text) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) throw sdk::invalid_argument("the request must be a JSON object");
  return body;
}

}  // namespace

class BridgeNetwork {
 public:
  explicit BridgeNetwork(sdk::Host& host)
      : host_(host),
        service_(make_service(host)),
        attached_(host.gauge("deckhand_network_pods_attached", "Pods attached to the bridge network")),
        free_(host.gauge("deckhand_network_ipam_free_addresses", "Free addresses in the node's pod range")),
        attaches_(host.counter("deckhand_network_attaches_total", "Pod attaches that succeeded")),
        failures_(host.counter("deckhand_network_attach_failures_total", "Pod attaches that failed")),
        detaches_(host.counter("deckhand_network_detaches_total", "Pod detaches")) {
    const auto& config = service_->config();
    host_.info("bridge " + config.bridge + ", pod range " + config.pod_cidr.string() +
               (config.pod_cidr_v6 ? " and " + config.pod_cidr_v6->string() : "") + ", state under " +
               config.state_dir);
    for (const std::string& note : service_->startup_notes()) host_.info(note);
    update_metrics();
  }

  std::string attach(sdk::Call&, std::string_view text) {
    return guarded([&] {
      const network::AttachRequest request = network::parse_attach_request(parse(text));
      try {
        const json result = network::cni_result(service_->attach(request));
        attaches_.add(1);
        update_metrics();
        return result.dump();
      } catch (...) {
        failures_.add(1);
        throw;
      }
    });
  }

  std::string detach(sdk::Call&, std::string_view text) {
    return guarded([&] {
      const network::AttachRequest request = network::parse_pod_request(parse(text));
      service_->detach(request.pod_id);
      detaches_.add(1);
      update_metrics();
      return std::string("{}");
    });
  }

  std::string check(sdk::Call&, std::string_view text) {
    return guarded([&] {
      const network::AttachRequest request = network::parse_pod_request(parse(text));
      const std::vector<std::string> problems = service_->check(request);
      if (!problems.empty()) {
        std::string message = "the network of the pod " + request.pod_id + " is broken: ";
        for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
        throw sdk::failed_precondition(message);
      }
      return std::string("{}");
    });
  }

  std::string set_node_routes(sdk::Call&, std::string_view text) {
    return guarded([&] {
      const auto changes = service_->set_node_routes(network::parse_node_routes(parse(text)));
      return json({{"set", changes.set}, {"removed", changes.removed}}).dump();
    });
  }

  std::string sync_services(sdk::Call&, std::string_view) { throw services_later(); }
  std::string update_service(sdk::Call&, std::string_view) { throw services_later(); }
  std::string delete_service(sdk::Call&, std::string_view) { throw services_later(); }

 private:
  static std::unique_ptr<network::NetworkService> make_service(const sdk::Host& host) {
    return guarded([&] {
      const json config = json::parse(host.config_json(), nullptr, false);
      // IPAM and pod records describe live pods, which a reboot ends: they
      // live on /run (a tmpfs on a systemd host), as the runtime's state does.
      return std::make_unique<network::NetworkService>(network::parse_network_config(config, kDefaultStateDir));
    });
  }

  static sdk::Error services_later() {
    return sdk::unimplemented(
        "network-bridge does not route services yet (Service load balancing comes with the eBPF service routing)");
  }

  void update_metrics() {
    attached_.set(static_cast<double>(service_->pods_attached()));
    free_.set(static_cast<double>(service_->free_addresses()));
  }

  sdk::Host& host_;
  std::unique_ptr<network::NetworkService> service_;
  sdk::Metric attached_, free_, attaches_, failures_, detaches_;
};

DECKHAND_PLUGIN(BridgeNetwork, network, "network-bridge", "0.1.0",
                "Pod networks on a Linux bridge: veth pairs, host-local IPAM, host ports and NAT (nftables), node routes")
