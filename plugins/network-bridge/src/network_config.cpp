// Strict parsing of the plugin config; see network_config.hpp.
#include "network_config.hpp"

#include <set>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw NetworkError(Failure::invalid, "network config: \"" + key + "\" " + problem);
}

std::string text(const json& config, const char* key, const std::string& fallback) {
  if (!config.contains(key)) return fallback;
  if (!config[key].is_string() || config[key].get<std::string>().empty()) bad(key, "must be a non-empty string");
  return config[key].get<std::string>();
}

bool flag(const json& config, const char* key, bool fallback) {
  if (!config.contains(key)) return fallback;
  if (!config[key].is_boolean()) bad(key, "must be true or false");
  return config[key].get<bool>();
}

std::string absolute(const json& config, const char* key, const std::string& fallback) {
  const std::string path = text(config, key, fallback);
  if (path.empty() || path.front() != '/') bad(key, "must be an absolute path, not \"" + path + "\"");
  return path;
}

// range_start/range_end: a pool inside pod_cidr that leaves out the network,
// gateway and broadcast addresses (what host-local calls rangeStart/rangeEnd).
void parse_pool(const json& config, NetworkConfig& out) {
  const uint64_t size = uint64_t{1} << out.pod_cidr.host_bits();
  out.pool_first = 2;
  out.pool_last = size - 2;
  const auto offset = [&](const char* key) {
    if (!config[key].is_string()) bad(key, "must be an IPv4 address string such as \"10.88.0.10\"");
    const std::string text = config[key].get<std::string>();
    const int64_t found =
        out.pod_cidr.offset_of(parse_address(text, false, std::string("network config: \"") + key + "\""));
    if (found < 2 || static_cast<uint64_t>(found) > size - 2) {
      bad(key, "must be an address of pod_cidr " + out.pod_cidr.string() +
                   " other than its network, gateway and broadcast addresses, not " + text);
    }
    return static_cast<uint64_t>(found);
  };
  if (config.contains("range_start")) out.pool_first = offset("range_start");
  if (config.contains("range_end")) out.pool_last = offset("range_end");
  if (out.pool_first > out.pool_last) {
    bad("range_end", "must not come before range_start (" + format_address(out.pod_cidr.at(out.pool_first), false) +
                         " .. " + format_address(out.pod_cidr.at(out.pool_last), false) + ")");
  }
}

}  // namespace

NetworkConfig parse_network_config(const json& config, const std::string& default_state_dir) {
  if (!config.is_object()) throw NetworkError(Failure::invalid, "network config: must be a JSON object");
  static const std::set<std::string> known = {"bridge",     "mtu",       "pod_cidr", "pod_cidr_v6",
                                              "masquerade", "state_dir", "netns_dir", "hairpin",
                                              "range_start", "range_end"};
  for (const auto& item : config.items()) {
    if (known.count(item.key())) continue;
    std::string list;
    for (const auto& key : known) list += (list.empty() ? "" : ", ") + key;
    bad(item.key(), "is not a known key (known: " + list + ")");
  }
  NetworkConfig out;
  out.bridge = text(config, "bridge", out.bridge);
  // IFNAMSIZ - 1 characters, no '/', whitespace or ':' (the kernel's dev_valid_name).
  if (out.bridge.size() > 15 || out.bridge == "." || out.bridge == ".." ||
      out.bridge.find_first_of("/: \t\n") != std::string::npos) {
    bad("bridge", "must be an interface name of at most 15 characters without '/', ':' or spaces, not \"" +
                      out.bridge + "\"");
  }
  if (config.contains("mtu")) {
    const json& mtu = config["mtu"];
    if (!mtu.is_number_integer() || mtu.get<int64_t>() < 576 || mtu.get<int64_t>() > 65535) {
      bad("mtu", "must be a number from 576 to 65535");
    }
    out.mtu = mtu.get<uint32_t>();
  }
  if (!config.contains("pod_cidr")) bad("pod_cidr", "is required (the node's IPv4 pod range, e.g. \"10.88.0.0/24\")");
  if (!config["pod_cidr"].is_string()) bad("pod_cidr", "must be a string such as \"10.88.0.0/24\"");
  out.pod_cidr = parse_prefix(config["pod_cidr"].get<std::string>(), false, "network config: \"pod_cidr\"");
  if (out.pod_cidr.length < 8 || out.pod_cidr.length > 30) {
    bad("pod_cidr", "must be a range from /8 to /30 (a gateway and at least one pod), not /" +
                        std::to_string(out.pod_cidr.length));
  }
  if (config.contains("pod_cidr_v6")) {
    if (!config["pod_cidr_v6"].is_string()) bad("pod_cidr_v6", "must be a string such as \"fd00:88::/64\"");
    out.pod_cidr_v6 =
        parse_prefix(config["pod_cidr_v6"].get<std::string>(), true, "network config: \"pod_cidr_v6\"");
    // A pod's IPv6 address has the same offset in the v6 range as its IPv4
    // address in the v4 range, so the v6 range must be at least as large.
    if (out.pod_cidr_v6->host_bits() < out.pod_cidr.host_bits() || out.pod_cidr_v6->length < 8) {
      bad("pod_cidr_v6", "must hold at least as many addresses as pod_cidr (a prefix of /" +
                             std::to_string(128 - out.pod_cidr.host_bits()) + " or shorter, /8 at most)");
    }
  }
  parse_pool(config, out);
  out.masquerade = flag(config, "masquerade", out.masquerade);
  out.hairpin = flag(config, "hairpin", out.hairpin);
  out.state_dir = absolute(config, "state_dir", default_state_dir);
  out.netns_dir = absolute(config, "netns_dir", out.netns_dir);
  return out;
}

}  // namespace deckhand::network
