// Starting one container of a pod (SyncPod's startContainer): back-off,
// image, root filesystem, config.json, create, start, each failure a waiting
// reason and an event as the kubelet reports it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "podworkers/container_ids.hpp"
#include "podworkers/pod_worker.hpp"
#include "pods/oci_spec.hpp"
#include "pods/pod_strings.hpp"

namespace deckhand {

namespace fs = std::filesystem;
using json = nlohmann::json;
namespace reasons = pods::reasons;
namespace event_reasons = pods::event_reasons;
namespace messages = pods::event_messages;

namespace {

pods::Time exit_time(const std::optional<ContainerExit>& exit, pods::Time fallback) {
  if (!exit || exit->exited_at.empty()) return fallback;
  try {
    return pods::parse_time(exit->exited_at);
  } catch (const std::exception&) {
    return fallback;
  }
}

bool adds_all_capabilities(const pods::Container& container) {
  if (!container.security_context || !container.security_context->capabilities) return false;
  const auto& add = container.security_context->capabilities->add;
  return std::find(add.begin(), add.end(), "ALL") != add.end();
}

// The lowest OOM score adjustment this agent can give a container: anything
// without CAP_SYS_RESOURCE (which this process may lack, e.g. in a container
// or a restricted unit) cannot go below its own score, so a Guaranteed pod's
// -997 is raised to it, as containerd's restrict_oom_score_adj does, rather
// than failing every start.
int lowest_oom_score_adj() {
  static const int lowest = [] {
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t effective = ~uint64_t{0};
    while (std::getline(status, line)) {
      if (line.rfind("CapEff:", 0) == 0) effective = std::stoull(line.substr(7), nullptr, 16);
    }
    constexpr int kCapSysResource = 24;
    if (effective & (uint64_t{1} << kCapSysResource)) return -1000;
    std::ifstream own("/proc/self/oom_score_adj");
    int score = 0;
    own >> score;
    return score;
  }();
  return lowest;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

// The image for the container: present, pulled, or why not (the waiting
// state is set and nullopt returned; `retry` says when to try again).
std::optional<PulledImage> PodWorker::image_for(const pods::Container& container, Track& track,
                                               std::optional<std::chrono::nanoseconds>& retry) {
  const pods::Time now = context_.clock();
  const std::string key = pods::Backoff::image_key(pod_.metadata.uid, container.image);
  const pods::PullPolicy policy = container.image_pull_policy.value_or(pods::PullPolicy::if_not_present);
  const bool failed_before = track.waiting && (track.waiting->reason == reasons::kErrImagePull ||
                                               track.waiting->reason == reasons::kImagePullBackOff);
  if (failed_before) {
    if (const auto left = context_.pull_backoff.remaining_since_update(key, now)) {
      track.waiting = pods::ContainerStateWaiting{std::string(reasons::kImagePullBackOff),
                                                  messages::back_off_pulling(container.image)};
      event(&track, pods::EventType::normal, event_reasons::kBackOff, messages::back_off_pulling(container.image));
      retry = *left;
      return std::nullopt;
    }
  }
  try {
    if (policy != pods::PullPolicy::always) {
      if (auto present = context_.backend.image_status(container.image)) {
        event(&track, pods::EventType::normal, event_reasons::kPulled, messages::image_already_present(container.image));
        return present;
      }
      if (policy == pods::PullPolicy::never) {
        const std::string message = messages::image_never_pull(container.image);
        track.waiting = pods::ContainerStateWaiting{std::string(reasons::kErrImageNeverPull), message};
        event(&track, pods::EventType::warning, event_reasons::kErrImageNeverPull, message);
        retry = std::chrono::seconds(10);
        return std::nullopt;
      }
    }
    event(&track, pods::EventType::normal, event_reasons::kPulling, messages::pulling_image(container.image));
    const auto started = std::chrono::steady_clock::now();
    PulledImage image = context_.backend.pull_image(container.image, std::string(pods::to_string(policy)));
    const auto took = std::chrono::steady_clock::now() - started;
    event(&track, pods::EventType::normal, event_reasons::kPulled,
          messages::pulled_image(container.image, took, took, static_cast<uint64_t>(image.size)));
    return image;
  } catch (const BackendError& e) {
    context_.pull_backoff.record_failure(key, now, now);
    track.waiting = pods::ContainerStateWaiting{std::string(reasons::kErrImagePull), e.what()};
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::failed_to_pull(container.image, e.what()));
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::error(reasons::kErrImagePull));
    // A pass soon shows the back-off (ImagePullBackOff) while it lasts, as
    // the kubelet's next sync does; the pull is tried again once it ends.
    retry = std::chrono::seconds(1);
    return std::nullopt;
  }
}

std::optional<std::chrono::nanoseconds> PodWorker::start_container(const pods::Container& container, Track& track) {
  const pods::Time now = context_.clock();
  std::optional<std::chrono::nanoseconds> retry;
  // A restart waits out the crash-loop back-off (SyncPod's doBackOff).
  if (!track.instances.empty() && track.instances.back().status == "stopped") {
    const Instance& last = track.instances.back();
    const std::string key = pods::Backoff::container_key(pod_.metadata.uid, track.name);
    if (const auto left = context_.restart_backoff.restart(key, exit_time(last.exit, now), now)) {
      const std::string message = pods::crash_loop_back_off_message(context_.restart_backoff.current(key), track.name,
                                                                      pod_.metadata);
      track.waiting = pods::ContainerStateWaiting{std::string(reasons::kCrashLoopBackOff), message};
      event(&track, pods::EventType::warning, event_reasons::kBackOff, messages::back_off_restarting(track.name, pod_.metadata));
      return *left;
    }
  }
  const std::optional<PulledImage> image = image_for(container, track, retry);
  if (!image) return retry;
  track.image_id = image->digest;

  const int attempt = track.instances.empty() ? 0 : track.instances.back().attempt + 1;
  const std::string id = container_instance_id(key_, track.name, attempt);
  const std::string bundle = pod_dir() + "/" + id;
  const std::string log = log_path(track.name, attempt);
  try {
    fs::create_directories(bundle);
    fs::create_directories(fs::path(log).parent_path());
    pods::ContainerSpecInputs inputs;
    inputs.template_spec = context_.templates.get(pods::template_profile(pod_, container));
    inputs.image_config = image->config;
    inputs.root = context_.backend.prepare_rootfs(id, container.image, false);
    inputs.sandbox_id = key_;
    inputs.cgroups_path = sandbox_->cgroups_path;
    inputs.namespace_paths = sandbox_->namespaces;
    inputs.volume_paths = volume_paths_;
    inputs.pod_ip = pod_ip_;
    inputs.host_ip = context_.node.ip;
    inputs.node_name = context_.node.name;
    inputs.node_hostname = context_.node.hostname;
    inputs.node_memory_bytes = context_.node.memory_bytes;
    if (adds_all_capabilities(container)) {
      const json privileged = context_.templates.get("Privileged");
      inputs.all_capabilities = privileged["process"]["capabilities"].value("bounding", std::vector<std::string>{});
    }
    json spec = pods::build_container_spec(pod_, container, inputs);
    // The template's seccomp profile is the one for the default capabilities;
    // a container with other capabilities gets the profile for its own.
    const json bounding = spec["process"]["capabilities"].value("bounding", json::array());
    if (spec["linux"].contains("seccomp") &&
        bounding != inputs.template_spec["process"]["capabilities"].value("bounding", json::array())) {
      spec["linux"]["seccomp"] = context_.templates.seccomp_for(bounding.get<std::vector<std::string>>());
    }
    if (spec["process"].value("oomScoreAdj", 0) < lowest_oom_score_adj()) {
      spec["process"]["oomScoreAdj"] = lowest_oom_score_adj();
    }
    spec["annotations"][annotations::kPodUid] = pod_.metadata.uid;
    spec["annotations"][annotations::kPodName] = pod_.metadata.name;
    spec["annotations"][annotations::kPodNamespace] = pod_.metadata.namespace_;
    spec["annotations"][annotations::kContainerName] = track.name;
    spec["annotations"][annotations::kAttempt] = std::to_string(attempt);
    spec["annotations"][annotations::kInitContainer] = track.init ? "true" : "false";
    write_file(bundle + "/config.json", spec.dump());
  } catch (const pods::ContainerConfigError& e) {
    context_.backend.release_rootfs(id);
    fs::remove_all(bundle);
    track.waiting = pods::ContainerStateWaiting{e.reason(), e.what()};
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::error(e.what()));
    return std::chrono::seconds(10);
  } catch (const std::exception& e) {
    try {
      context_.backend.release_rootfs(id);
    } catch (const std::exception&) {
    }
    std::error_code ignored;
    fs::remove_all(bundle, ignored);
    track.waiting = pods::ContainerStateWaiting{std::string(reasons::kCreateContainerError), e.what()};
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::error(e.what()));
    return std::chrono::seconds(10);
  }

  Instance instance{id, attempt, "created", std::nullopt, std::nullopt, next_sequence()};
  try {
    context_.backend.create_container(id, bundle, log);
  } catch (const std::exception& e) {
    remove_instance(instance);
    track.waiting = pods::ContainerStateWaiting{std::string(reasons::kCreateContainerError), e.what()};
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::error(e.what()));
    return std::chrono::seconds(10);
  }
  event(&track, pods::EventType::normal, event_reasons::kCreated, messages::created_container(track.name));
  track.instances.push_back(instance);
  try {
    context_.backend.start_container(id);
  } catch (const std::exception& e) {
    // containerd reports a failed start as terminated with StartError (128).
    Instance& failed = track.instances.back();
    failed.status = "stopped";
    failed.exit = ContainerExit{pods::kStartErrorExitCode, 0, false, pods::format_time(context_.clock())};
    failed_start_message_[failed.id] = e.what();
    failed.changed_at = next_sequence();
    remove_instance(failed);  // its record stays: restartCount and lastState
    track.waiting.reset();
    event(&track, pods::EventType::warning, event_reasons::kFailed, messages::error(e.what()));
    prune_old_instances(track);
    return std::nullopt;
  }
  Instance& started = track.instances.back();
  started.status = "running";
  started.started_at = context_.clock();
  started.changed_at = next_sequence();
  try {
    write_file(bundle + "/started_at", pods::format_time(*started.started_at));
  } catch (const std::exception& e) {
    spdlog::warn("pod {}/{}: {}", pod_.metadata.namespace_, pod_.metadata.name, e.what());
  }
  track.waiting.reset();
  event(&track, pods::EventType::normal, event_reasons::kStarted, messages::started_container(track.name));
  prune_old_instances(track);
  return std::nullopt;
}

}  // namespace deckhand
