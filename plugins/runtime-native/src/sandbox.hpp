// Pod sandboxes without a pause process: a pod's shared namespaces (network,
// IPC, UTS) are made once and pinned by bind-mounting their nsfs files, and
// its cgroup is made in the kubelet's layout, one level per QoS class:
//
//   <parent>/pod<id>              Guaranteed
//   <parent>/burstable/pod<id>    Burstable
//   <parent>/besteffort/pod<id>   BestEffort (the tier gets the minimum CPU weight)
//
// The pod's containers then name the pins in linux.namespaces and use
// cgroupsPath <cgroups_path>/<container>. A sandbox outlives the agent (the
// pins are mounts), and remove undoes whatever a create left, even half way.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cgroups/cgroup.hpp"
#include "spec.hpp"

namespace deckhand::runtime {

struct SandboxRequest {
  std::string id;  // as a container id: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}
  std::vector<std::string> namespaces = {"network", "ipc", "uts"};  // any of these three
  std::string hostname;                  // needs "uts"
  std::string qos_class = "BestEffort";  // Guaranteed, Burstable or BestEffort
  Resources resources;                   // the pod's own limits (cpu, memory, pids)
};

struct SandboxState {
  std::string id;
  std::string qos_class;
  std::string cgroups_path;
  std::map<std::string, std::string> namespaces;  // type -> pinned path
  std::string hostname;
  std::string created;  // RFC 3339
};

nlohmann::json to_json(const SandboxState& state);

// The pod's cgroup for a QoS class (throws std::invalid_argument for another class).
std::string pod_cgroup_path(const std::string& parent, const std::string& qos_class, const std::string& id);

class Sandboxes {
 public:
  // dir: where sandbox records and the IPC/UTS pins live; netns_dir: the
  // network pins (<netns_dir>/<id>, as `ip netns` keeps them in /run/netns).
  Sandboxes(std::string dir, std::string netns_dir, std::shared_ptr<CgroupDriver> cgroups,
            std::string cgroup_parent = "kubepods");

  // Throws RuntimeError: invalid (bad request), exists, internal.
  SandboxState create(const SandboxRequest& request);
  // Kills what is left in the pod's cgroup, removes it, unpins the
  // namespaces. Idempotent: a missing sandbox is no error.
  void remove(const std::string& id);
  std::vector<SandboxState> list() const;

 private:
  std::string record_dir(const std::string& id) const;
  std::map<std::string, std::string> pin_paths(const std::string& id, const std::vector<std::string>& types) const;

  std::string dir_;
  std::string netns_dir_;
  std::shared_ptr<CgroupDriver> cgroups_;
  std::string cgroup_parent_;
};

}  // namespace deckhand::runtime
