// Standalone pods in the agent; see pod_service.hpp.
#include "daemon/pod_service.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "daemon/container_logs.hpp"
#include "metrics/metrics.hpp"
#include "plugins/plugin_set.hpp"
#include "pods/label_selector.hpp"
#include "pods/pod_parse.hpp"
#include "pods/pod_validate.hpp"

namespace deckhand {

namespace net = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kRescanPeriod = 20s;

// The first loaded plugin of `kind` that implements every operation pods
// need of it (an example plugin of the kind may implement only a few).
Plugin* first_of_kind(PluginSet& plugins, int32_t kind, const std::vector<std::string>& needed) {
  for (const auto& entry : plugins.entries()) {
    if (!entry->plugin || entry->plugin->kind() != kind) continue;
    const std::vector<std::string> has = entry->plugin->operations();
    bool all = true;
    for (const std::string& op : needed) all = all && std::find(has.begin(), has.end(), op) != has.end();
    if (all) return entry->plugin.get();
  }
  return nullptr;
}

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The first IPv4 address of an interface that is up and not loopback.
std::string first_node_ip() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found;
  for (const ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    found = text;
  }
  ::freeifaddrs(list);
  return found.empty() ? "127.0.0.1" : found;
}

int64_t node_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t{1} << 30;
}

std::string lowercase_name(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

PodService::PodService(net::io_context& io, const Config& config, PluginSet& plugins, Metrics& metrics)
    : io_(io), config_(config), metrics_(metrics), inotify_(io), rescan_timer_(io) {
  Plugin* runtime = first_of_kind(plugins, DH_KIND_RUNTIME,
                                  {"create", "start", "state", "kill", "remove", "wait", "list", "create_sandbox",
                                   "remove_sandbox", "list_sandboxes", "default_spec"});
  Plugin* storage = first_of_kind(plugins, DH_KIND_STORAGE,
                                  {"pull_image", "image_status", "prepare_rootfs", "release_rootfs", "prepare_volume",
                                   "release_volume"});
  if (runtime == nullptr || storage == nullptr) {
    throw std::runtime_error("pods need a runtime and a storage plugin with the pod operations; found: runtime " +
                             std::string(runtime ? "yes" : "no") + ", storage " + (storage ? "yes" : "no"));
  }
  backend_ = std::make_unique<PodBackend>(*runtime, *storage, first_of_kind(plugins, DH_KIND_NETWORK, {"attach", "detach"}));
  PodManagerSettings settings;
  settings.node.name = lowercase_name(config.pods.node_name.empty() ? hostname() : config.pods.node_name);
  settings.node.ip = config.pods.node_ip.empty() ? first_node_ip() : config.pods.node_ip;
  settings.node.hostname = hostname();
  settings.node.memory_bytes = node_memory();
  settings.state_dir = config.state_dir + "/pods";
  settings.log_dir = config.pods.log_dir;
  settings.restart_backoff_initial =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(config.pods.crash_loop_backoff_seconds));
  settings.restart_backoff_max = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(config.pods.max_crash_loop_backoff_seconds));
  manager_ = std::make_unique<PodManager>(io, *backend_, settings);
  manager_->on_pod_started([&metrics](double seconds) { metrics.observe_pod_start(seconds); });
  manifests_ = std::make_unique<pods::ManifestDir>(config.pods.manifest_dir, settings.node.name);
}

PodService::~PodService() { stop(); }

void PodService::start() {
  manager_->start();
  metrics_.set_collect_hook([this](Metrics& metrics) { count_pods(metrics); });
  rescan();
  inotify_.assign(::dup(manifests_->fd()));
  watch();
}

void PodService::stop() {
  metrics_.set_collect_hook({});
  boost::system::error_code ignored;
  rescan_timer_.cancel();
  inotify_.cancel(ignored);
  inotify_.close(ignored);
  if (manager_) manager_->stop();
}

void PodService::count_pods(Metrics& metrics) const {
  std::map<std::string, double> phases = {{"Pending", 0}, {"Running", 0}, {"Succeeded", 0}, {"Failed", 0}};
  std::map<std::string, double> states = {{"waiting", 0}, {"running", 0}, {"terminated", 0}};
  for (const PodView& view : manager_->pods()) {
    phases[std::string(pods::to_string(view.status.phase))] += 1;
    for (const auto* list : {&view.status.init_container_statuses, &view.status.container_statuses}) {
      for (const pods::ContainerStatus& c : *list) {
        if (c.state.running) states["running"] += 1;
        else if (c.state.terminated) states["terminated"] += 1;
        else states["waiting"] += 1;
      }
    }
  }
  metrics.set_pod_counts(phases, states);
}

void PodService::watch() {
  inotify_.async_wait(net::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    if (manifests_->drain()) rescan();
    watch();
  });
}

void PodService::rescan() {
  try {
    const pods::Snapshot snapshot = manifests_->scan();
    std::string errors;
    for (const pods::FileError& e : snapshot.errors) errors += e.message + "\n";
    if (errors != last_errors_) {
      for (const pods::FileError& e : snapshot.errors) spdlog::error("manifest refused, its pods are left as they were: {}", e.message);
      last_errors_ = errors;
    }
    std::vector<pods::Pod> desired;
    for (const auto& [key, sourced] : snapshot.pods) desired.push_back(sourced.pod);
    manager_->set_desired(desired);
  } catch (const std::exception& e) {
    spdlog::error("cannot read the manifest directory, the pods are left as they were: {}", e.what());
  }
  rescan_timer_.expires_after(kRescanPeriod);
  rescan_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) rescan();
  });
}

json PodService::pod_json(const PodView& view) const {
  json pod = pods::pod_to_json(view.pod);
  if (view.status.start_time) pod["metadata"]["creationTimestamp"] = pods::format_time(*view.status.start_time);
  if (view.terminating && view.deletion_time) {
    pod["metadata"]["deletionTimestamp"] = pods::format_time(*view.deletion_time);
    pod["metadata"]["deletionGracePeriodSeconds"] = view.pod.spec.termination_grace_period_seconds.value_or(30);
  }
  pod["status"] = pods::to_json(view.status);
  return pod;
}

json PodService::list(const std::string& namespace_, const std::string& label_selector) const {
  const pods::LabelSelector selector = pods::LabelSelector::parse(label_selector);
  std::vector<PodView> views = manager_->pods();
  std::sort(views.begin(), views.end(), [](const PodView& a, const PodView& b) {
    return std::tie(a.pod.metadata.namespace_, a.pod.metadata.name) < std::tie(b.pod.metadata.namespace_, b.pod.metadata.name);
  });
  json items = json::array();
  for (const PodView& view : views) {
    if (!namespace_.empty() && view.pod.metadata.namespace_ != namespace_) continue;
    if (!selector.matches(view.pod.metadata.labels)) continue;
    items.push_back(pod_json(view));
  }
  return {{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"items", items}};
}

std::optional<json> PodService::get(const std::string& namespace_, const std::string& name) const {
  for (const PodView& view : manager_->pods()) {
    if (view.pod.metadata.namespace_ == namespace_ && view.pod.metadata.name == name) return pod_json(view);
  }
  return std::nullopt;
}

json PodService::events(const std::string& namespace_, const std::string& involved_name) const {
  json items = json::array();
  for (const pods::Event& event : manager_->events().all()) {
    if (!namespace_.empty() && event.namespace_ != namespace_) continue;
    if (!involved_name.empty() && event.involved_object.name != involved_name) continue;
    items.push_back(pods::to_json(event));
  }
  return {{"kind", "EventList"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"items", items}};
}

json PodService::apply(const std::string& text, const std::string& source) {
  std::vector<pods::Pod> parsed = pods::parse_manifest(text, source);
  for (const pods::Pod& pod : parsed) {
    const std::vector<std::string> problems = pods::validate_pod(pod);
    if (!problems.empty()) throw pods::ManifestError(pods::invalid_pod_message(pod, problems));
  }
  const pods::ApplyResult result = manifests_->apply(parsed);
  json applied = json::array();
  for (const pods::AppliedPod& a : result.applied) {
    applied.push_back({{"namespace", a.namespace_}, {"name", a.name}, {"action", pods::to_string(a.action)}});
  }
  // The watch would see the files within a moment; reading them now makes
  // apply -> Running not wait for the event loop's next turn.
  if (!result.applied.empty()) rescan();
  return {{"applied", applied}, {"errors", result.errors}};
}

bool PodService::remove(const std::string& namespace_, const std::string& name, std::string& message) {
  const pods::DeleteResult result = manifests_->remove(namespace_, name);
  message = result.message;
  if (result.deleted) rescan();
  return result.deleted;
}

LogOptions PodService::log_options(const LogRequest& request) {
  LogOptions options;
  options.tail_lines = request.tail_lines;
  options.timestamps = request.timestamps;
  if (request.since_seconds) options.since = std::chrono::system_clock::now() - std::chrono::seconds(*request.since_seconds);
  return options;
}

std::string PodService::logs(const std::string& namespace_, const std::string& name, const LogRequest& request) const {
  return read_container_log(log_target(namespace_, name, request).path, log_options(request));
}

bool PodService::log_target_running(const std::string& namespace_, const std::string& name, const LogTarget& target) const {
  const std::shared_ptr<PodWorker> worker = manager_->find(namespace_, name);
  if (!worker || worker->pod().metadata.uid != target.uid) return false;
  const PodSnapshot snapshot = worker->snapshot();
  for (const auto* list : {&snapshot.status.container_statuses, &snapshot.status.init_container_statuses}) {
    for (const pods::ContainerStatus& s : *list) {
      if (s.name == target.container) return s.restart_count == target.attempt && s.state.running.has_value();
    }
  }
  return false;
}

PodService::LogTarget PodService::log_target(const std::string& namespace_, const std::string& name,
                                             const LogRequest& request) const {
  const std::shared_ptr<PodWorker> worker = manager_->find(namespace_, name);
  if (!worker) throw LogError(404, "pods \"" + name + "\" not found");
  const pods::Pod& pod = worker->pod();
  std::string container = request.container;
  if (container.empty()) {
    if (pod.spec.containers.size() != 1) {
      std::string names;
      for (const pods::Container& c : pod.spec.containers) names += (names.empty() ? "" : " ") + c.name;
      throw LogError(400, "a container name must be specified for pod " + name + ", choose one of: [" + names + "]");
    }
    container = pod.spec.containers[0].name;
  }
  bool known = false;
  for (const auto* list : {&pod.spec.containers, &pod.spec.init_containers}) {
    for (const pods::Container& c : *list) known = known || c.name == container;
  }
  if (!known) throw LogError(400, "container " + container + " is not valid for pod " + name);
  const auto newest = worker->newest_instance(container);
  if (!newest) {
    throw LogError(400, "container \"" + container + "\" in pod \"" + name + "\" is waiting to start: ContainerCreating");
  }
  int attempt = newest->first;
  if (request.previous) {
    if (attempt == 0) {
      throw LogError(400, "previous terminated container \"" + container + "\" in pod \"" + name + "\" not found");
    }
    --attempt;
  }
  return LogTarget{pod.metadata.uid, container, attempt, worker->log_path(container, attempt)};
}

PodService::ExecTarget PodService::exec_target(const std::string& namespace_, const std::string& name,
                                               const std::string& container_name) const {
  ExecTarget target;
  auto refuse = [&target](int code, std::string message) {
    target.http_status = code;
    target.message = std::move(message);
    return target;
  };
  const std::shared_ptr<PodWorker> worker = manager_->find(namespace_, name);
  if (!worker) return refuse(404, "pods \"" + name + "\" not found");
  const PodSnapshot snapshot = worker->snapshot();
  std::string container = container_name;
  if (container.empty()) {
    if (snapshot.pod.spec.containers.size() != 1) {
      std::string names;
      for (const pods::Container& c : snapshot.pod.spec.containers) names += (names.empty() ? "" : " ") + c.name;
      return refuse(400, "a container name must be specified for pod " + name + ", choose one of: [" + names + "]");
    }
    container = snapshot.pod.spec.containers[0].name;
  }
  bool known = false;
  for (const auto* list : {&snapshot.pod.spec.containers, &snapshot.pod.spec.init_containers}) {
    for (const pods::Container& c : *list) known = known || c.name == container;
  }
  if (!known) return refuse(400, "container " + container + " is not valid for pod " + name);
  // Only a running container takes an exec; the kubelet's answer otherwise.
  for (const auto* list : {&snapshot.status.container_statuses, &snapshot.status.init_container_statuses}) {
    for (const pods::ContainerStatus& s : *list) {
      const std::string prefix = "deckhand://";
      if (s.name != container || !s.state.running || s.container_id.rfind(prefix, 0) != 0) continue;
      target.container_id = s.container_id.substr(prefix.size());
      return target;
    }
  }
  return refuse(404, "container not found (\"" + container + "\")");
}

}  // namespace deckhand
