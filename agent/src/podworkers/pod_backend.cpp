// Typed plugin calls for the pod workers; see pod_backend.hpp.
#include "podworkers/pod_backend.hpp"

#include "plugins/call_context.hpp"
#include "plugins/plugin.hpp"

namespace deckhand {
namespace {

using json = nlohmann::json;

uint64_t deadline_after(std::chrono::milliseconds timeout) {
  return monotonic_now_ns() + static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
}

RuntimeContainer container_of(const json& state) {
  RuntimeContainer c;
  c.id = state.value("id", "");
  c.status = state.value("status", "");
  c.pid = state.value("pid", 0);
  if (state.contains("annotations") && state["annotations"].is_object()) {
    for (const auto& [key, value] : state["annotations"].items()) {
      if (value.is_string()) c.annotations[key] = value.get<std::string>();
    }
  }
  return c;
}

Sandbox sandbox_of(const json& value) {
  Sandbox s;
  s.id = value.value("id", "");
  s.cgroups_path = value.value("cgroups_path", "");
  if (value.contains("namespaces") && value["namespaces"].is_object()) {
    for (const auto& [type, path] : value["namespaces"].items()) {
      if (path.is_string()) s.namespaces[type] = path.get<std::string>();
    }
  }
  return s;
}

}  // namespace

BackendError::BackendError(std::string op, int32_t code, const std::string& message)
    : std::runtime_error(message), operation(std::move(op)), status(code) {}

PodBackend::PodBackend(Plugin& runtime, Plugin& storage, Plugin* network, Timeouts timeouts)
    : runtime_(runtime), storage_(storage), network_(network), timeouts_(timeouts) {}

json PodBackend::call(Plugin& plugin, const std::string& operation, const json& request,
                      std::chrono::milliseconds timeout) {
  const CallResult result = plugin.call(operation, request.dump(), deadline_after(timeout));
  if (!result.ok()) throw BackendError(operation, result.status, result.error);
  if (result.output.empty()) return json::object();
  try {
    return json::parse(result.output);
  } catch (const json::exception& e) {
    throw BackendError(operation, DH_ERR_INTERNAL,
                       "the " + plugin.info().name + " plugin's " + operation + " result is not JSON: " + e.what());
  }
}

PulledImage PodBackend::pull_image(const std::string& ref, const std::string& policy) {
  const json out = call(storage_, "pull_image", {{"ref", ref}, {"policy", policy}}, timeouts_.pull);
  PulledImage image;
  image.ref = ref;
  image.digest = out.value("repo_digest", out.value("digest", ""));
  image.config = out.value("image_config", json::object());
  image.pulled = out.value("pulled", false);
  image.seconds = out.value("seconds", 0.0);
  image.size = out.value("size", int64_t{0});
  return image;
}

std::optional<PulledImage> PodBackend::image_status(const std::string& ref) {
  json out;
  try {
    out = call(storage_, "image_status", {{"ref", ref}}, timeouts_.step);
  } catch (const BackendError& e) {
    if (e.status == DH_ERR_NOT_FOUND) return std::nullopt;
    throw;
  }
  PulledImage image;
  image.ref = ref;
  image.digest = out.value("repo_digest", out.value("digest", ""));
  image.config = out.value("image_config", json::object());
  image.size = out.value("size", int64_t{0});
  return image;
}

json PodBackend::prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly) {
  const json out = call(storage_, "prepare_rootfs", {{"container_id", container_id}, {"image", image}, {"readonly", readonly}},
                        timeouts_.step);
  if (!out.contains("root") || !out["root"].is_object()) {
    throw BackendError("prepare_rootfs", DH_ERR_INTERNAL, "the storage plugin's prepare_rootfs result has no root");
  }
  return out["root"];
}

void PodBackend::release_rootfs(const std::string& container_id) {
  call(storage_, "release_rootfs", {{"container_id", container_id}}, timeouts_.step);
}

std::string PodBackend::prepare_volume(const std::string& pod_id, const json& volume) {
  const json out = call(storage_, "prepare_volume", {{"pod_id", pod_id}, {"volume", volume}}, timeouts_.step);
  const std::string path = out.value("path", "");
  if (path.empty()) throw BackendError("prepare_volume", DH_ERR_INTERNAL, "the storage plugin gave no path");
  return path;
}

void PodBackend::release_volumes(const std::string& pod_id) {
  call(storage_, "release_volume", {{"pod_id", pod_id}}, timeouts_.step);
}

Sandbox PodBackend::create_sandbox(const json& request) {
  return sandbox_of(call(runtime_, "create_sandbox", request, timeouts_.step));
}

void PodBackend::remove_sandbox(const std::string& id) { call(runtime_, "remove_sandbox", {{"id", id}}, timeouts_.step); }

std::vector<Sandbox> PodBackend::list_sandboxes() {
  const json out = call(runtime_, "list_sandboxes", json::object(), timeouts_.step);
  std::vector<Sandbox> sandboxes;
  for (const json& s : out.value("sandboxes", json::array())) sandboxes.push_back(sandbox_of(s));
  return sandboxes;
}

json PodBackend::default_spec(const std::string& profile) {
  return call(runtime_, "default_spec", {{"profile", profile}}, timeouts_.step);
}

json PodBackend::default_spec_for(const std::vector<std::string>& capabilities) {
  return call(runtime_, "default_spec", {{"profile", "RuntimeDefault"}, {"capabilities", capabilities}}, timeouts_.step);
}

void PodBackend::create_container(const std::string& id, const std::string& bundle, const std::string& log_path) {
  call(runtime_, "create", {{"id", id}, {"bundle", bundle}, {"stdio", "log"}, {"log_path", log_path}}, timeouts_.step);
}

void PodBackend::start_container(const std::string& id) { call(runtime_, "start", {{"id", id}}, timeouts_.step); }

RuntimeContainer PodBackend::container_state(const std::string& id) {
  return container_of(call(runtime_, "state", {{"id", id}}, timeouts_.step));
}

void PodBackend::kill_container(const std::string& id, const std::string& signal) {
  try {
    call(runtime_, "kill", {{"id", id}, {"signal", signal}}, timeouts_.step);
  } catch (const BackendError& e) {
    // Gone, or exited between the look and the kill: nothing to stop.
    if (e.status != DH_ERR_NOT_FOUND && e.status != DH_ERR_FAILED_PRECONDITION) throw;
  }
}

ContainerExit PodBackend::exit_of(const std::string& id) {
  const json out = call(runtime_, "wait", {{"id", id}}, timeouts_.step);
  ContainerExit exit;
  exit.exit_code = out.value("exit_code", 0);
  exit.signal = out.value("signal", 0);
  exit.oom_killed = out.value("oom_killed", false);
  exit.exited_at = out.value("exited_at", "");
  return exit;
}

void PodBackend::remove_container(const std::string& id) {
  try {
    call(runtime_, "remove", {{"id", id}, {"force", true}}, timeouts_.step);
  } catch (const BackendError& e) {
    if (e.status != DH_ERR_NOT_FOUND) throw;
  }
}

std::vector<RuntimeContainer> PodBackend::list_containers() {
  const json out = call(runtime_, "list", json::object(), timeouts_.step);
  std::vector<RuntimeContainer> containers;
  for (const json& c : out.value("containers", json::array())) containers.push_back(container_of(c));
  return containers;
}

json PodBackend::exec(const std::string& id, const json& process, const std::string& stdio) {
  return call(runtime_, "exec", {{"id", id}, {"process", process}, {"stdio", stdio}}, timeouts_.step);
}

json PodBackend::attach_network(const json& request) {
  if (network_ == nullptr) {
    throw BackendError("attach", DH_ERR_FAILED_PRECONDITION,
                       "no network plugin is configured; only hostNetwork pods can run");
  }
  return call(*network_, "attach", request, timeouts_.step);
}

void PodBackend::detach_network(const std::string& pod_id, const std::string& netns) {
  if (network_ == nullptr) return;
  json request = {{"pod_id", pod_id}, {"ifname", "eth0"}};
  if (!netns.empty()) request["netns"] = netns;
  call(*network_, "detach", request, timeouts_.step);
}

}  // namespace deckhand
