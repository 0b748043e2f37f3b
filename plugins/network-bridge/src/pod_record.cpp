// Pod records as JSON files; see pod_record.hpp.
#include "pod_record.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

using nlohmann::json;

json to_json(const PodRecord& record) {
  json ports = json::array();
  for (const auto& port : record.ports) {
    ports.push_back({{"containerPort", port.container_port},
                     {"hostPort", port.host_port},
                     {"hostIP", port.host_ip},
                     {"protocol", port.protocol == Protocol::udp ? "UDP" : "TCP"}});
  }
  return {{"pod_id", record.pod_id}, {"netns", record.netns}, {"ifname", record.ifname},
          {"host_veth", record.host_veth}, {"ipv4", record.ipv4}, {"ipv6", record.ipv6}, {"ports", ports}};
}

}  // namespace

PodRecords::PodRecords(const std::string& dir) : dir_(dir) {
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) throw NetworkError(Failure::internal, "cannot create " + dir_ + ": " + error.message());
}

void PodRecords::write(const PodRecord& record) const {
  const std::string path = dir_ + "/" + record.pod_id + ".json";
  const std::string temp = path + ".tmp";
  const std::string text = to_json(record).dump();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw NetworkError(Failure::internal, "cannot write " + temp + ": " + std::strerror(errno));
  // Not fsync'd: a record lost with a power loss belongs to a pod that is
  // gone too, and the start-up clean-up finds its address (IPAM file), veth
  // (named from the pod id) and ports (nft comments) without it.
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    throw NetworkError(Failure::internal, "cannot write " + path + ": " + std::strerror(saved));
  }
}

std::optional<PodRecord> PodRecords::read(const std::string& pod_id) const {
  std::ifstream in(dir_ + "/" + pod_id + ".json");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  const json body = json::parse(text.str(), nullptr, false);
  if (!body.is_object()) return std::nullopt;
  PodRecord record;
  record.pod_id = body.value("pod_id", pod_id);
  record.netns = body.value("netns", "");
  record.ifname = body.value("ifname", "");
  record.host_veth = body.value("host_veth", "");
  record.ipv4 = body.value("ipv4", "");
  record.ipv6 = body.value("ipv6", "");
  if (body.contains("ports") && body["ports"].is_array()) {
    for (const json& item : body["ports"]) {
      PortMapping port;
      port.container_port = item.value("containerPort", uint16_t{0});
      port.host_port = item.value("hostPort", uint16_t{0});
      port.host_ip = item.value("hostIP", "");
      port.protocol = item.value("protocol", "TCP") == "UDP" ? Protocol::udp : Protocol::tcp;
      record.ports.push_back(port);
    }
  }
  return record;
}

void PodRecords::remove(const std::string& pod_id) const {
  const std::string path = dir_ + "/" + pod_id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw NetworkError(Failure::internal, "cannot remove " + path + ": " + std::strerror(errno));
  }
}

std::vector<std::string> PodRecords::list() const {
  std::vector<std::string> out;
  DIR* listing = ::opendir(dir_.c_str());
  if (listing == nullptr) return out;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name.size() > 5 && name[0] != '.' && name.compare(name.size() - 5, 5, ".json") == 0) {
      out.push_back(name.substr(0, name.size() - 5));
    }
  }
  ::closedir(listing);
  return out;
}

}  // namespace deckhand::network
