// Attach, detach, check and start-up clean-up; see network_service.hpp.
#include "network_service.hpp"

#include <netlink/route/link/bridge.h>
#include <unistd.h>

#include <set>

#include "leftovers.hpp"
#include "network_error.hpp"
#include "pod_names.hpp"

namespace deckhand::network {
namespace {

// Closes a file descriptor at scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool same_ports(const std::vector<PortMapping>& a, const std::vector<PortMapping>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].container_port != b[i].container_port || a[i].host_port != b[i].host_port ||
        a[i].host_ip != b[i].host_ip || a[i].protocol != b[i].protocol) {
      return false;
    }
  }
  return true;
}

}  // namespace

NetworkService::NetworkService(NetworkConfig config, ServiceOptions options)
    : config_(std::move(config)),
      bridge_{config_.bridge, config_.mtu, config_.pod_cidr, config_.pod_cidr_v6},
      sock_(nl::connect()),
      ipam_(config_.state_dir + "/ipam", config_.pod_cidr, Ipam::Pool{config_.pool_first, config_.pool_last}),
      records_(config_.state_dir + "/pods") {
  bridge_ifindex_ = ensure_bridge(sock_.get(), bridge_);
  if (options.nft) {
    NftSettings settings;
    settings.pod_cidr = config_.pod_cidr.string();
    settings.pod_cidr_v6 = config_.pod_cidr_v6 ? config_.pod_cidr_v6->string() : "";
    settings.bridge = config_.bridge;
    settings.masquerade = config_.masquerade;
    nft_ = std::make_unique<NftRules>(settings);
  }
  cleanup_leftovers();
}

NetworkService::~NetworkService() = default;

int NetworkService::bridge_index() {
  // One lookup per attach: a bridge removed behind our back is made again.
  nl::Link link = nl::find_link(sock_.get(), config_.bridge);
  if (!link || rtnl_link_get_ifindex(link.get()) != bridge_ifindex_ || !rtnl_link_is_bridge(link.get())) {
    bridge_ifindex_ = ensure_bridge(sock_.get(), bridge_);
  }
  return bridge_ifindex_;
}

PodAddress NetworkService::v4_of(const std::array<uint8_t, 16>& address) const {
  return {config_.pod_cidr, address, config_.pod_cidr.at(1)};
}

std::optional<PodAddress> NetworkService::v6_of(const std::array<uint8_t, 16>& address) const {
  if (!config_.pod_cidr_v6) return std::nullopt;
  const int64_t offset = config_.pod_cidr.offset_of(address);
  return PodAddress{*config_.pod_cidr_v6, config_.pod_cidr_v6->at(static_cast<uint64_t>(offset)),
                    config_.pod_cidr_v6->at(1)};
}

AttachResult NetworkService::result_of(const PodRecord& record, const std::string& host_mac) const {
  const auto address = parse_address(record.ipv4, false, "the recorded address");
  AttachResult out;
  out.host_veth = record.host_veth;
  out.host_mac = host_mac;
  out.ifname = record.ifname;
  out.pod_mac = format_mac(pod_mac(address));
  out.netns = record.netns;
  out.v4 = v4_of(address);
  out.v6 = v6_of(address);
  return out;
}

AttachResult NetworkService::attach(const AttachRequest& request) {
  check_pod_id(request.pod_id);
  std::lock_guard lock(mutex_);
  const std::string host_veth = host_veth_name(request.pod_id);
  const std::optional<PodRecord> previous = records_.read(request.pod_id);
  if (previous && previous->netns == request.netns && previous->ifname == request.ifname &&
      same_ports(previous->ports, request.ports) && !previous->ipv4.empty()) {
    // Idempotent: the same pod attached again, intact, gets the same answer.
    std::vector<std::string> problems;
    const auto master = master_of(sock_.get(), host_veth);
    if (!master || *master != bridge_index()) problems.push_back("host veth");
    if (problems.empty() && exists(request.netns)) {
      const Fd netns{nl::open_netns(request.netns)};
      const auto address = parse_address(previous->ipv4, false, "the recorded address");
      nl::in_netns(netns.fd, [&] { problems = inspect_pod_side(request.ifname, v4_of(address), v6_of(address)); });
      if (problems.empty()) {
        nl::Link link = nl::find_link(sock_.get(), host_veth);
        char mac[32] = "";
        if (link && rtnl_link_get_addr(link.get())) nl_addr2str(rtnl_link_get_addr(link.get()), mac, sizeof mac);
        return result_of(*previous, mac);
      }
    }
  }
  if (previous) teardown(request.pod_id, previous, /*keep_address=*/true);

  const Fd netns{nl::open_netns(request.netns)};
  const bool had_address = ipam_.address_of(request.pod_id).has_value();
  const auto address = ipam_.allocate(request.pod_id);
  PodRecord record;
  record.pod_id = request.pod_id;
  record.netns = request.netns;
  record.ifname = request.ifname;
  record.host_veth = host_veth;
  record.ipv4 = format_address(address, false);
  const auto v6 = v6_of(address);
  if (v6) record.ipv6 = format_address(v6->address, true);
  record.ports = request.ports;
  bool veth_made = false;
  bool ports_made = false;
  try {
    records_.write(record);  // before the first kernel change
    VethSpec spec;
    spec.host_name = host_veth;
    spec.pod_name = request.ifname;
    spec.pod_netns_fd = netns.fd;
    spec.pod_mac = pod_mac(address);
    spec.mtu = config_.mtu;
    spec.bridge_ifindex = bridge_index();
    spec.hairpin = config_.hairpin;
    std::string host_mac;
    try {
      host_mac = create_veth(sock_.get(), spec);
    } catch (const NetworkError& e) {
      // A host veth of this name can only be this pod's (its name is the
      // pod id's hash): a leftover of an attach that crashed. Replace it.
      if (e.kind() != Failure::exists || !delete_link(sock_.get(), host_veth)) throw;
      host_mac = create_veth(sock_.get(), spec);
    }
    veth_made = true;
    const PodAddress pod_v4 = v4_of(address);
    nl::in_netns(netns.fd, [&] { configure_pod_side(request.ifname, pod_v4, v6); });
    if (nft_ && !request.ports.empty()) {
      ports_made = true;
      nft_->add_ports(request.pod_id, record.ipv4, request.ports);
    }
    return result_of(record, host_mac);
  } catch (...) {
    // Roll back what this call made, newest first; the first error wins.
    try {
      if (ports_made) nft_->remove_ports(request.pod_id);
      if (veth_made) delete_link(sock_.get(), host_veth);
      if (!had_address) ipam_.release(request.pod_id);
      records_.remove(request.pod_id);
    } catch (...) {
    }
    throw;
  }
}

void NetworkService::teardown(const std::string& pod_id, const std::optional<PodRecord>& record, bool keep_address) {
  // The record is written with the pod's ports before any of them is
  // published, so a record without ports means there is nothing in nftables
  // to look for (listing the maps costs O(pods)). Without a record (a crash
  // before it was written, or a hand-removed file) the maps are searched.
  if (nft_ && (!record || !record->ports.empty())) nft_->remove_ports(pod_id);
  delete_link(sock_.get(), record && !record->host_veth.empty() ? record->host_veth : host_veth_name(pod_id));
  if (!keep_address) {
    ipam_.release(pod_id);
    records_.remove(pod_id);
  }
}

void NetworkService::detach(const std::string& pod_id) {
  check_pod_id(pod_id);
  std::lock_guard lock(mutex_);
  teardown(pod_id, records_.read(pod_id), /*keep_address=*/false);
}

std::vector<std::string> NetworkService::check(const AttachRequest& request) {
  check_pod_id(request.pod_id);
  std::lock_guard lock(mutex_);
  const std::optional<PodRecord> record = records_.read(request.pod_id);
  const auto address = ipam_.address_of(request.pod_id);
  if (!record || !address) {
    throw NetworkError(Failure::not_found, "the pod " + request.pod_id + " is not attached to this node's network");
  }
  std::vector<std::string> problems;
  const std::string netns = request.netns.empty() ? record->netns : request.netns;
  const std::string ifname = request.netns.empty() && request.ifname == "eth0" ? record->ifname : request.ifname;
  if (format_address(*address, false) != record->ipv4) {
    problems.push_back("the pod's recorded address " + record->ipv4 + " differs from its IPAM address " +
                       format_address(*address, false));
  }
  const auto master = master_of(sock_.get(), record->host_veth);
  if (!master) {
    problems.push_back("the host veth " + record->host_veth + " is missing");
  } else if (*master != bridge_index()) {
    problems.push_back("the host veth " + record->host_veth + " is not on the bridge " + config_.bridge);
  }
  if (!exists(netns)) {
    problems.push_back("the network namespace " + netns + " is gone");
  } else {
    const Fd fd{nl::open_netns(netns)};
    std::vector<std::string> inside;
    nl::in_netns(fd.fd, [&] { inside = inspect_pod_side(ifname, v4_of(*address), v6_of(*address)); });
    problems.insert(problems.end(), inside.begin(), inside.end());
  }
  return problems;
}

RouteChanges NetworkService::set_node_routes(const std::vector<NodeRoute>& routes) {
  std::lock_guard lock(mutex_);
  return apply_node_routes(sock_.get(), routes);
}

std::size_t NetworkService::pods_attached() const {
  // The IPAM's count, not a listing of the records: this runs after every
  // attach and must not cost O(pods).
  return ipam_.pod_count();
}

void NetworkService::cleanup_leftovers() {
  std::lock_guard lock(mutex_);
  std::set<std::string> pods;
  for (const std::string& pod : records_.list()) pods.insert(pod);
  for (const std::string& pod : ipam_.pods()) pods.insert(pod);
  if (nft_) {
    for (const std::string& pod : nft_->pods_with_ports()) pods.insert(pod);
  }
  const std::set<std::string> gone = gone_pods(pods, config_.netns_dir);
  std::set<std::string> kept_veths;
  for (const std::string& pod : pods) {
    if (!gone.count(pod)) kept_veths.insert(host_veth_name(pod));
  }
  for (const std::string& pod : gone) {
    // "" would be an IPAM file read while empty; claims are linked whole and
    // Ipam drops empty files at start, so there is nothing to tear down.
    if (pod.empty()) continue;
    bool valid = true;
    try {
      check_pod_id(pod);
    } catch (const NetworkError&) {
      valid = false;
    }
    try {
      if (valid) {
        teardown(pod, records_.read(pod), /*keep_address=*/false);
      } else {
        ipam_.release(pod);
      }
      notes_.push_back("removed the network of the pod \"" + pod + "\" (its namespace pin is gone)");
    } catch (const NetworkError& e) {
      notes_.push_back("cannot remove the network of the gone pod \"" + pod + "\": " + e.what());
    }
  }
  // Host veths of ours that belong to no live pod.
  nl_cache* raw = nullptr;
  nl::check(rtnl_link_alloc_cache(sock_.get(), AF_UNSPEC, &raw), "cannot list interfaces");
  nl::Cache links(raw);
  std::vector<std::string> stale;
  for (nl_object* o = nl_cache_get_first(links.get()); o != nullptr; o = nl_cache_get_next(o)) {
    const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(o));
    if (name != nullptr && is_host_veth_name(name) && !kept_veths.count(name)) stale.emplace_back(name);
  }
  for (const std::string& name : stale) {
    try {
      delete_link(sock_.get(), name);
      notes_.push_back("removed the leftover interface " + name);
    } catch (const NetworkError& e) {
      notes_.push_back(std::string("cannot remove the leftover interface ") + name + ": " + e.what());
    }
  }
}

}  // namespace deckhand::network
