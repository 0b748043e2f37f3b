// What an attach made for a pod, written under <state_dir>/pods/<pod_id>.json
// before the first kernel change, so detach and the start-up clean-up know
// what to remove even after a crash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nft_rules.hpp"

namespace deckhand::network {

struct PodRecord {
  std::string pod_id;
  std::string netns;      // the pinned netns file
  std::string ifname;     // inside the pod
  std::string host_veth;  // on the bridge
  std::string ipv4;       // "10.88.0.5" ("" before allocation)
  std::string ipv6;       // "" without dual-stack
  std::vector<PortMapping> ports;
};

class PodRecords {
 public:
  explicit PodRecords(const std::string& dir);  // creates dir
  // Atomic replace (temp file, fsync, rename, directory fsync).
  void write(const PodRecord& record) const;
  std::optional<PodRecord> read(const std::string& pod_id) const;
  void remove(const std::string& pod_id) const;  // missing is fine
  std::vector<std::string> list() const;         // pod ids

 private:
  std::string dir_;
};

}  // namespace deckhand::network
