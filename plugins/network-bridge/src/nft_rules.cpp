#include "nft_rules.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

constexpr const char* kTable = "inet deckhand";
constexpr const char* kMapIp = "hostports_ip";
constexpr const char* kMapAny = "hostports_any";
constexpr const char* kWildcard = "0.0.0.0";

// libnftables keeps some process-wide state and our read-check-write of the
// maps must not interleave: every call into it goes through this lock.
std::mutex& nft_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return text;
}

// One libnftables context, made in (and so acting on) the calling thread's
// network namespace.
class NftContext {
 public:
  explicit NftContext(bool json) : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (ctx_ == nullptr) throw NetworkError(Failure::internal, "nftables: cannot create a libnftables context");
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
    if (json) nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
  }
  ~NftContext() { nft_ctx_free(ctx_); }
  NftContext(const NftContext&) = delete;
  NftContext& operator=(const NftContext&) = delete;

  // Runs the commands as one transaction; nullopt and the error text in
  // `error` when the kernel (or the parser) refuses.
  std::optional<std::string> try_run(const std::string& commands, std::string& error) {
    const int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
    const char* out = nft_ctx_get_output_buffer(ctx_);
    const char* err = nft_ctx_get_error_buffer(ctx_);
    if (rc != 0) {
      error = trim(err != nullptr ? err : "");
      if (error.empty()) error = "libnftables failed (" + std::to_string(rc) + ")";
      return std::nullopt;
    }
    return std::string(out != nullptr ? out : "");
  }

  std::string run(const std::string& commands, const std::string& what) {
    std::string error;
    auto out = try_run(commands, error);
    if (!out) throw NetworkError(Failure::internal, "nftables: " + what + ": " + error);
    return *out;
  }

 private:
  nft_ctx* ctx_;
};

bool missing_table(const std::string& error) { return error.find("No such file or directory") != std::string::npos; }

// ---- validation ------------------------------------------------------------

std::optional<std::string> canonical_ipv4(const std::string& text) {
  in_addr addr{};
  if (text.empty() || inet_pton(AF_INET, text.c_str(), &addr) != 1) return std::nullopt;
  char out[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr, out, sizeof out);
  return std::string(out);
}

// "a.b.c.d/n" (or the v6 form) with the host bits cleared, as nft wants it.
std::string canonical_cidr(const std::string& text, int family, const char* what) {
  const auto slash = text.find('/');
  const int max_len = family == AF_INET ? 32 : 128;
  int len = -1;
  if (slash != std::string::npos) {
    const char* first = text.data() + slash + 1;
    const char* last = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(first, last, len);
    if (ec != std::errc() || ptr != last || first == last) len = -1;
  }
  unsigned char bytes[16] = {};
  if (len < 0 || len > max_len || inet_pton(family, text.substr(0, slash).c_str(), bytes) != 1) {
    throw NetworkError(Failure::invalid, std::string("nftables: ") + what + " '" + text + "' is not a valid " +
                                             (family == AF_INET ? "IPv4" : "IPv6") + " CIDR");
  }
  for (int bit = len; bit < max_len; ++bit) bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  char out[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes, out, sizeof out);
  return std::string(out) + "/" + std::to_string(len);
}

void check_pod_id(const std::string& pod_id) {
  // It goes into a quoted nft comment, which nft limits to 128 characters
  // (NFTNL_UDATA_COMMENT_MAXLEN).
  bool ok = !pod_id.empty() && pod_id.size() <= 128;
  for (const char c : pod_id) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') ok = false;
  }
  if (!ok) {
    throw NetworkError(Failure::invalid, "nftables: pod id '" + pod_id +
                                             "' cannot label a host port (1 to 128 printable characters, no quote)");
  }
}

void check_interface(const std::string& name) {
  bool ok = !name.empty() && name.size() < IFNAMSIZ && name != "." && name != "..";
  for (const char c : name) {
    if (c <= 0x20 || c > 0x7e || c == '/' || c == '"' || c == '\\') ok = false;
  }
  if (!ok) throw NetworkError(Failure::invalid, "nftables: '" + name + "' is not a valid interface name");
}

const char* proto_name(Protocol protocol) { return protocol == Protocol::tcp ? "tcp" : "udp"; }
const char* proto_upper(Protocol protocol) { return protocol == Protocol::tcp ? "TCP" : "UDP"; }

// ---- the maps as read back -------------------------------------------------

struct Key {
  std::string host_ip;  // kWildcard for the wildcard map
  Protocol protocol;
  uint16_t port;
  auto operator<=>(const Key&) const = default;
};

std::string describe(const Key& key) {
  return "hostPort " + std::to_string(key.port) + "/" + proto_upper(key.protocol) + " on " + key.host_ip;
}

std::string element_key(const Key& key) {
  if (key.host_ip == kWildcard) return std::string(proto_name(key.protocol)) + " . " + std::to_string(key.port);
  return key.host_ip + " . " + proto_name(key.protocol) + " . " + std::to_string(key.port);
}

const char* map_of(const Key& key) { return key.host_ip == kWildcard ? kMapAny : kMapIp; }

std::optional<Protocol> parse_proto(const nlohmann::json& value) {
  if (value.is_string()) {
    if (value == "tcp") return Protocol::tcp;
    if (value == "udp") return Protocol::udp;
  } else if (value.is_number_integer()) {
    if (value == 6) return Protocol::tcp;
    if (value == 17) return Protocol::udp;
  }
  return std::nullopt;
}

std::optional<uint16_t> parse_port(const nlohmann::json& value) {
  int port = -1;
  if (value.is_number_integer()) {
    port = value.get<int>();
  } else if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  }
  if (port < 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// The elements of our two maps; nullopt when the table does not exist.
std::optional<std::vector<HostPortEntry>> read_entries() {
  NftContext nft(true);
  std::string error;
  const auto out = nft.try_run(std::string("list table ") + kTable, error);
  if (!out) {
    if (missing_table(error)) return std::nullopt;
    throw NetworkError(Failure::internal, "nftables: list table inet deckhand: " + error);
  }
  std::vector<HostPortEntry> entries;
  const auto doc = nlohmann::json::parse(*out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    throw NetworkError(Failure::internal, "nftables: cannot parse the listing of table inet deckhand");
  }
  for (const auto& object : doc["nftables"]) {
    if (!object.contains("map")) continue;
    const auto& map = object["map"];
    const std::string name = map.value("name", "");
    const bool specific = name == kMapIp;
    if (!specific && name != kMapAny) continue;
    if (!map.contains("elem") || !map["elem"].is_array()) continue;
    for (const auto& pair : map["elem"]) {
      if (!pair.is_array() || pair.size() != 2) continue;
      const nlohmann::json* key = &pair[0];
      std::string comment;
      if (key->is_object() && key->contains("elem")) {
        const auto& elem = (*key)["elem"];
        comment = elem.value("comment", "");
        key = &elem["val"];
      }
      if (comment.empty()) continue;  // not one of ours
      if (!key->is_object() || !key->contains("concat")) continue;
      const auto& parts = (*key)["concat"];
      const auto& value = pair[1];
      if (!value.is_object() || !value.contains("concat") || value["concat"].size() != 2) continue;
      HostPortEntry entry;
      entry.pod_id = comment;
      std::size_t index = 0;
      if (specific) {
        if (parts.size() != 3 || !parts[0].is_string()) continue;
        entry.host_ip = parts[0].get<std::string>();
        index = 1;
      } else {
        if (parts.size() != 2) continue;
        entry.host_ip = kWildcard;
      }
      const auto proto = parse_proto(parts[index]);
      const auto port = parse_port(parts[index + 1]);
      const auto target_port = parse_port(value["concat"][1]);
      if (!proto || !port || !target_port || !value["concat"][0].is_string()) continue;
      entry.protocol = *proto;
      entry.host_port = *port;
      entry.pod_ip = value["concat"][0].get<std::string>();
      entry.container_port = *target_port;
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

std::string setup_commands(const NftSettings& settings, const std::string& cidr, const std::string& cidr_v6) {
  std::string t = kTable;
  std::string c;
  c += "add table " + t + "\n";
  c += "add map " + t + " " + kMapIp +
       " { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n";
  c += "add map " + t + " " + kMapAny + " { type inet_proto . inet_service : ipv4_addr . inet_service; }\n";
  c += "add chain " + t + " hostports\n";
  c += "add chain " + t + " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n";
  c += "add chain " + t + " output { type nat hook output priority -100; policy accept; }\n";
  c += "add chain " + t + " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n";
  c += "add chain " + t + " input { type filter hook input priority filter; policy accept; }\n";
  for (const char* chain : {"hostports", "prerouting", "output", "postrouting", "input"}) {
    c += "flush chain " + t + " " + chain + "\n";
  }
  c += "add rule " + t + " hostports dnat ip to ip daddr . meta l4proto . th dport map @" + kMapIp + "\n";
  c += "add rule " + t + " hostports meta nfproto ipv4 dnat ip to meta l4proto . th dport map @" + kMapAny + "\n";
  c += "add rule " + t + " prerouting fib daddr type local jump hostports\n";
  c += "add rule " + t + " output fib daddr type local jump hostports\n";
  // route_localnet lets the bridge carry 127.0.0.0/8: refuse new packets to
  // the host's loopback services that did not come in on lo (CVE-2020-8558).
  // iifname, not iif: a rule with an interface index makes libnftables dump
  // every link of the host to print or parse it (its interface cache, built
  // again for each context), which costs O(interfaces x namespaces) in the
  // kernel on every listing, so an attach would slow down with the pod count.
  // The address test comes first, so most packets never compare the name.
  c += "add rule " + t + " input ip daddr 127.0.0.0/8 iifname != \"lo\" ct state != { established, related } drop\n";
  // 127.0.0.1:hostPort from the host: give the pod an address it can answer.
  c += "add rule " + t + " postrouting ct status dnat ip saddr 127.0.0.0/8";
  if (!settings.bridge.empty()) c += " oifname \"" + settings.bridge + "\"";
  c += " masquerade\n";
  // Hairpin: a pod to its own or a neighbour's hostPort.
  c += "add rule " + t + " postrouting ct status dnat ip saddr " + cidr + " ip daddr " + cidr + " masquerade\n";
  if (settings.masquerade) {
    c += "add rule " + t + " postrouting ip saddr " + cidr + " ip daddr != " + cidr + " masquerade\n";
    if (!cidr_v6.empty()) {
      c += "add rule " + t + " postrouting ip6 saddr " + cidr_v6 + " ip6 daddr != " + cidr_v6 + " masquerade\n";
    }
  }
  return c;
}

}  // namespace

NftRules::NftRules(NftSettings settings) : settings_(std::move(settings)) {
  settings_.pod_cidr = canonical_cidr(settings_.pod_cidr, AF_INET, "pod range");
  if (!settings_.pod_cidr_v6.empty()) settings_.pod_cidr_v6 = canonical_cidr(settings_.pod_cidr_v6, AF_INET6, "IPv6 pod range");
  if (!settings_.bridge.empty()) check_interface(settings_.bridge);
  std::lock_guard lock(nft_mutex());
  NftContext nft(false);
  nft.run(setup_commands(settings_, settings_.pod_cidr, settings_.pod_cidr_v6), "cannot set up table inet deckhand");
}

void NftRules::add_ports(const std::string& pod_id, const std::string& pod_ip, const std::vector<PortMapping>& ports) {
  check_pod_id(pod_id);
  const auto target_ip = canonical_ipv4(pod_ip);
  if (!target_ip) throw NetworkError(Failure::invalid, "nftables: pod IP '" + pod_ip + "' is not an IPv4 address");

  // The request itself: valid, and no (hostIP, proto, port) twice.
  std::map<Key, uint16_t> wanted;  // -> containerPort
  for (const auto& port : ports) {
    if (port.host_port == 0) continue;  // not published on the host
    if (port.container_port == 0) {
      throw NetworkError(Failure::invalid, "nftables: hostPort " + std::to_string(port.host_port) + "/" +
                                               proto_upper(port.protocol) + " has no containerPort");
    }
    Key key{kWildcard, port.protocol, port.host_port};
    if (!port.host_ip.empty()) {
      const auto ip = canonical_ipv4(port.host_ip);
      if (!ip) {
        throw NetworkError(Failure::invalid, "nftables: hostIP '" + port.host_ip +
                                                 "' is not an IPv4 address (host ports are IPv4 only)");
      }
      key.host_ip = *ip;
    }
    if (!wanted.emplace(key, port.container_port).second) {
      throw NetworkError(Failure::exists, describe(key) + " is listed twice for pod " + pod_id);
    }
  }
  for (const auto& [key, unused] : wanted) {
    if (key.host_ip == kWildcard) continue;
    const Key wildcard{kWildcard, key.protocol, key.port};
    if (wanted.count(wildcard) != 0) {
      throw NetworkError(Failure::exists,
                         describe(key) + " is listed for pod " + pod_id + " together with " + describe(wildcard));
    }
  }
  if (wanted.empty()) return;

  std::lock_guard lock(nft_mutex());
  auto current = read_entries();
  if (!current) {
    // Someone deleted the table (remove_all, a flush): make it again.
    NftContext nft(false);
    nft.run(setup_commands(settings_, settings_.pod_cidr, settings_.pod_cidr_v6), "cannot set up table inet deckhand");
    current.emplace();
  }
  std::map<Key, const HostPortEntry*> held;
  for (const auto& entry : *current) held[Key{entry.host_ip, entry.protocol, entry.host_port}] = &entry;

  std::string commands;
  for (const auto& [key, container_port] : wanted) {
    const auto taken = [&](const Key& other) -> const HostPortEntry* {
      auto found = held.find(other);
      return found != held.end() && found->second->pod_id != pod_id ? found->second : nullptr;
    };
    if (const auto* owner = taken(key)) {
      throw NetworkError(Failure::exists, describe(key) + " is taken by pod " + owner->pod_id);
    }
    if (key.host_ip == kWildcard) {
      for (const auto& [other, entry] : held) {
        if (other.host_ip != kWildcard && other.protocol == key.protocol && other.port == key.port &&
            entry->pod_id != pod_id) {
          throw NetworkError(Failure::exists,
                             describe(key) + " is taken by pod " + entry->pod_id + " (it holds " + describe(other) + ")");
        }
      }
    } else if (const auto* owner = taken(Key{kWildcard, key.protocol, key.port})) {
      throw NetworkError(Failure::exists, describe(key) + " is taken by pod " + owner->pod_id + " (it holds " +
                                              describe(Key{kWildcard, key.protocol, key.port}) + ")");
    }
    const auto mine = held.find(key);
    if (mine != held.end()) {
      if (mine->second->pod_ip == *target_ip && mine->second->container_port == container_port) continue;
      commands += std::string("delete element ") + kTable + " " + map_of(key) + " { " + element_key(key) + " }\n";
    }
    commands += std::string("create element ") + kTable + " " + map_of(key) + " { " + element_key(key) +
                " comment \"" + pod_id + "\" : " + *target_ip + " . " + std::to_string(container_port) + " }\n";
  }
  if (commands.empty()) return;  // all published already
  NftContext nft(false);
  std::string error;
  if (!nft.try_run(commands, error)) {
    if (error.find("File exists") != std::string::npos) {
      throw NetworkError(Failure::exists, "nftables: a host port of pod " + pod_id +
                                              " was taken meanwhile by another writer: " + error);
    }
    throw NetworkError(Failure::internal, "nftables: cannot add the host ports of pod " + pod_id + ": " + error);
  }
}

void NftRules::remove_ports(const std::string& pod_id) {
  std::lock_guard lock(nft_mutex());
  const auto current = read_entries();
  if (!current) return;
  std::string commands;
  for (const auto& entry : *current) {
    if (entry.pod_id != pod_id) continue;
    const Key key{entry.host_ip, entry.protocol, entry.host_port};
    commands += std::string("delete element ") + kTable + " " + map_of(key) + " { " + element_key(key) + " }\n";
  }
  if (commands.empty()) return;
  NftContext nft(false);
  nft.run(commands, "cannot remove the host ports of pod " + pod_id);
}

std::set<std::string> NftRules::pods_with_ports() const {
  std::set<std::string> pods;
  for (const auto& entry : host_ports()) pods.insert(entry.pod_id);
  return pods;
}

std::vector<HostPortEntry> NftRules::host_ports() const {
  std::lock_guard lock(nft_mutex());
  auto current = read_entries();
  return current ? std::move(*current) : std::vector<HostPortEntry>{};
}

void NftRules::remove_all() {
  std::lock_guard lock(nft_mutex());
  NftContext nft(false);
  // `add` first so the delete never fails on a missing table (1.0.6 has no `destroy`).
  nft.run(std::string("add table ") + kTable + "\ndelete table " + kTable + "\n", "cannot delete table inet deckhand");
}

std::string NftRules::listing() const {
  std::lock_guard lock(nft_mutex());
  NftContext nft(false);
  return nft.run(std::string("list table ") + kTable, "cannot list table inet deckhand");
}

void enable_route_localnet(const std::string& interface) {
  check_interface(interface);
  // /proc/sys/net follows the calling thread's network namespace.
  const std::string path = "/proc/sys/net/ipv4/conf/" + interface + "/route_localnet";
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int saved = errno;
    throw NetworkError(saved == ENOENT ? Failure::not_found : Failure::internal,
                       "cannot open " + path + ": " + std::strerror(saved));
  }
  const ssize_t written = write(fd, "1\n", 2);
  const int saved = errno;
  close(fd);
  if (written != 2) throw NetworkError(Failure::internal, "cannot write " + path + ": " + std::strerror(saved));
}

}  // namespace deckhand::network
