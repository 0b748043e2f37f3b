// The pod workers' view of the plugins: one typed, synchronous call per step
// of a pod's life (pull, root filesystem, volumes, sandbox, network,
// containers), each with its own timeout, each failure an exception that
// names the operation and carries the plugin's status and message (which the
// worker turns into a container's waiting reason and an event). Calls block:
// the workers run them on the agent's worker threads, never on the event
// loop. Safe to use from several threads (Plugin::call is).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace deckhand {

class Plugin;

struct BackendError : std::runtime_error {
  BackendError(std::string operation, int32_t status, const std::string& message);
  std::string operation;  // "pull_image", "create", ...
  int32_t status;         // a DH_ERR_* status
};

struct PulledImage {
  std::string ref;           // as asked
  std::string digest;        // the image's id (repo digest when known)
  nlohmann::json config;     // the OCI image config ({config: {Env, Entrypoint, Cmd, WorkingDir, User}})
  bool pulled = false;       // false: it was present already
  double seconds = 0;
  int64_t size = 0;
};

struct Sandbox {
  std::string id;
  std::string cgroups_path;
  std::map<std::string, std::string> namespaces;  // "network", "ipc", "uts" -> pinned path
};

// One container as the runtime lists it (OCI state).
struct RuntimeContainer {
  std::string id;
  std::string status;  // creating, created, running, stopped
  int pid = 0;
  std::map<std::string, std::string> annotations;
};

struct ContainerExit {
  int exit_code = 0;
  int signal = 0;
  bool oom_killed = false;
  std::string exited_at;  // RFC 3339
};

struct Timeouts {
  std::chrono::milliseconds pull{std::chrono::minutes(10)};
  std::chrono::milliseconds step{std::chrono::seconds(60)};  // everything else
};

class PodBackend {
 public:
  // `network` may be null: then only hostNetwork pods can run.
  PodBackend(Plugin& runtime, Plugin& storage, Plugin* network, Timeouts timeouts = {});

  bool has_network() const { return network_ != nullptr; }

  // Storage.
  PulledImage pull_image(const std::string& ref, const std::string& policy);  // Always | IfNotPresent | Never
  // The image when the store has it, nullopt when not.
  std::optional<PulledImage> image_status(const std::string& ref);
  nlohmann::json prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly);
  void release_rootfs(const std::string& container_id);
  std::string prepare_volume(const std::string& pod_id, const nlohmann::json& volume);
  void release_volumes(const std::string& pod_id);

  // Runtime: sandboxes.
  Sandbox create_sandbox(const nlohmann::json& request);
  void remove_sandbox(const std::string& id);
  std::vector<Sandbox> list_sandboxes();
  // The runtime plugin the pods run on (exec streams call it directly: their
  // descriptors do not fit the typed calls).
  Plugin& runtime_plugin() const { return runtime_; }
  nlohmann::json default_spec(const std::string& profile);  // RuntimeDefault | Privileged
  // RuntimeDefault for a container holding `capabilities` (CAP_ names): its
  // seccomp profile allows what they gate.
  nlohmann::json default_spec_for(const std::vector<std::string>& capabilities);

  // Runtime: containers.
  void create_container(const std::string& id, const std::string& bundle, const std::string& log_path);
  void start_container(const std::string& id);
  RuntimeContainer container_state(const std::string& id);  // throws BackendError NOT_FOUND when gone
  void kill_container(const std::string& id, const std::string& signal);  // NOT_FOUND or a stopped one: no error
  ContainerExit exit_of(const std::string& id);  // the runtime's wait: the container has exited
  void remove_container(const std::string& id);  // forced, idempotent
  std::vector<RuntimeContainer> list_containers();
  nlohmann::json exec(const std::string& id, const nlohmann::json& process, const std::string& stdio);

  // Network.
  nlohmann::json attach_network(const nlohmann::json& request);  // the CNI result
  void detach_network(const std::string& pod_id, const std::string& netns);

 private:
  nlohmann::json call(Plugin& plugin, const std::string& operation, const nlohmann::json& request,
                      std::chrono::milliseconds timeout);

  Plugin& runtime_;
  Plugin& storage_;
  Plugin* network_;
  Timeouts timeouts_;
};

}  // namespace deckhand
