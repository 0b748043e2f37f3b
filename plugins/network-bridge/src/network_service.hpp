// The network-bridge plugin's core, usable in-process without the SDK:
// bridge, IPAM, per-pod veths, host ports (NftRules), node routes, and the
// clean-up of pods that no longer exist. The host namespace is the one of
// the thread that constructs the service (its netlink socket is opened
// there). Calls are serialized by one mutex.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attach_request.hpp"
#include "host_links.hpp"
#include "ipam.hpp"
#include "network_config.hpp"
#include "nft_rules.hpp"
#include "node_routes.hpp"
#include "pod_record.hpp"
#include "pod_side.hpp"

namespace deckhand::network {

struct AttachResult {
  std::string host_veth;
  std::string host_mac;
  std::string ifname;
  std::string pod_mac;
  std::string netns;
  PodAddress v4;
  std::optional<PodAddress> v6;
};

struct ServiceOptions {
  bool nft = true;  // false: no host ports or masquerade (tests of the rest)
};

class NetworkService {
 public:
  // Ensures the bridge, loads IPAM, then removes what is left of pods whose
  // netns pin is gone from netns_dir (addresses, records, veths, nft ports).
  explicit NetworkService(NetworkConfig config, ServiceOptions options = {});
  ~NetworkService();

  AttachResult attach(const AttachRequest& request);
  void detach(const std::string& pod_id);
  // Problems with the pod's network, one line each; empty when intact.
  // Throws NetworkError(not_found) for a pod that was never attached.
  std::vector<std::string> check(const AttachRequest& request);
  RouteChanges set_node_routes(const std::vector<NodeRoute>& routes);

  std::size_t pods_attached() const;
  std::size_t free_addresses() const { return ipam_.free_count(); }
  // What the start-up clean-up removed, for the log.
  const std::vector<std::string>& startup_notes() const { return notes_; }
  const NetworkConfig& config() const { return config_; }

 private:
  void cleanup_leftovers();
  // Removes what a pod's attach made; with keep_address the IP stays allocated.
  void teardown(const std::string& pod_id, const std::optional<PodRecord>& record, bool keep_address);
  int bridge_index();
  PodAddress v4_of(const std::array<uint8_t, 16>& address) const;
  std::optional<PodAddress> v6_of(const std::array<uint8_t, 16>& address) const;
  AttachResult result_of(const PodRecord& record, const std::string& host_mac) const;

  NetworkConfig config_;
  BridgeSpec bridge_;
  mutable std::mutex mutex_;
  nl::Socket sock_;
  int bridge_ifindex_ = 0;
  Ipam ipam_;
  PodRecords records_;
  std::unique_ptr<NftRules> nft_;
  std::vector<std::string> notes_;
};

}  // namespace deckhand::network
