// Strict parsing of the pod requests; see attach_request.hpp.
#include "attach_request.hpp"

#include <set>

#include "address.hpp"
#include "network_error.hpp"
#include "pod_names.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& problem) { throw NetworkError(Failure::invalid, problem); }

void only(const json& object, const std::string& where, const std::set<std::string>& known) {
  for (const auto& item : object.items()) {
    if (!known.count(item.key())) bad(where + "unknown field \"" + item.key() + "\"");
  }
}

std::string text(const json& object, const char* key, bool required, const std::string& fallback) {
  if (!object.contains(key)) {
    if (required) bad(std::string("\"") + key + "\" is required");
    return fallback;
  }
  if (!object[key].is_string() || object[key].get<std::string>().empty()) {
    bad(std::string("\"") + key + "\" must be a non-empty string");
  }
  return object[key].get<std::string>();
}

uint16_t port_number(const json& port, const char* key, const std::string& where) {
  const json& value = port[key];
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 65535) {
    bad(where + "." + key + " must be a port number from 1 to 65535");
  }
  return value.get<uint16_t>();
}

AttachRequest parse_common(const json& request, bool netns_required, const std::set<std::string>& known) {
  if (!request.is_object()) bad("the request must be a JSON object");
  only(request, "", known);
  AttachRequest out;
  out.pod_id = text(request, "pod_id", true, "");
  check_pod_id(out.pod_id);
  out.netns = text(request, "netns", netns_required, "");
  if (!out.netns.empty() && out.netns.front() != '/') bad("\"netns\" must be an absolute path, not \"" + out.netns + "\"");
  out.ifname = text(request, "ifname", false, "eth0");
  check_ifname(out.ifname, "\"ifname\"");
  return out;
}

}  // namespace

PortMapping parse_port(const json& port, const std::string& where) {
  if (!port.is_object()) bad(where + " must be an object {containerPort, hostPort, hostIP, protocol}");
  only(port, where + ": ", {"containerPort", "hostPort", "hostIP", "protocol", "name"});
  PortMapping out;
  if (!port.contains("containerPort")) bad(where + ".containerPort is required");
  out.container_port = port_number(port, "containerPort", where);
  if (port.contains("hostPort") && !(port["hostPort"].is_number_integer() && port["hostPort"].get<int64_t>() == 0)) {
    out.host_port = port_number(port, "hostPort", where);
  }
  if (port.contains("hostIP")) {
    if (!port["hostIP"].is_string()) bad(where + ".hostIP must be an IPv4 address string");
    out.host_ip = port["hostIP"].get<std::string>();
    if (!out.host_ip.empty()) parse_address(out.host_ip, false, where + ".hostIP");
    if (out.host_ip == "0.0.0.0") out.host_ip.clear();
  }
  if (port.contains("protocol")) {
    if (!port["protocol"].is_string()) bad(where + ".protocol must be \"TCP\" or \"UDP\"");
    const std::string protocol = port["protocol"].get<std::string>();
    if (protocol == "TCP") {
      out.protocol = Protocol::tcp;
    } else if (protocol == "UDP") {
      out.protocol = Protocol::udp;
    } else {
      bad(where + ".protocol must be \"TCP\" or \"UDP\", not \"" + protocol + "\"");
    }
  }
  if (port.contains("name") && !port["name"].is_string()) bad(where + ".name must be a string");
  return out;
}

AttachRequest parse_attach_request(const json& request) {
  AttachRequest out = parse_common(request, true, {"pod_id", "netns", "ifname", "ports"});
  if (request.contains("ports")) {
    if (!request["ports"].is_array()) bad("\"ports\" must be a list of ContainerPorts");
    for (std::size_t i = 0; i < request["ports"].size(); ++i) {
      const PortMapping port = parse_port(request["ports"][i], "ports[" + std::to_string(i) + "]");
      if (port.host_port != 0) out.ports.push_back(port);
    }
  }
  return out;
}

AttachRequest parse_pod_request(const json& request) {
  return parse_common(request, false, {"pod_id", "netns", "ifname"});
}

}  // namespace deckhand::network
