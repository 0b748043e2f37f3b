// Pod workers kept to the desired set, the runtime relisted every second;
// see pod_manager.hpp.
#include "podworkers/pod_manager.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "podworkers/container_ids.hpp"

namespace deckhand {

namespace net = boost::asio;

PodManager::PodManager(net::io_context& io, PodBackend& backend, PodManagerSettings settings)
    : io_(io),
      backend_(backend),
      settings_(std::move(settings)),
      pool_(settings_.threads),
      templates_(backend),
      restart_backoff_(settings_.restart_backoff_initial, settings_.restart_backoff_max),
      pull_backoff_(),
      events_(pods::EventSource{"deckhand", settings_.node.name}),
      context_{backend,          templates_,          restart_backoff_,
               pull_backoff_,    events_,             settings_.node,
               settings_.state_dir, settings_.log_dir, [] { return std::chrono::system_clock::now(); },
               {},               {},                  {}},
      relist_timer_(io) {}

PodManager::~PodManager() { stop(); }

void PodManager::start() {
  apply_listing(list_runtime());
  relist_timer_.expires_after(settings_.relist_period);
  relist_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) relist();
  });
}

void PodManager::stop() {
  if (stopped_) return;
  stopped_ = true;
  context_.shutting_down = true;
  relist_timer_.cancel();
  pool_.join();
}

PodManager::Listing PodManager::list_runtime() {
  Listing listing;
  listing.sequence = context_.sequence.load();
  try {
    listing.sandboxes = backend_.list_sandboxes();
    listing.containers = backend_.list_containers();
    listing.ok = true;
  } catch (const std::exception& e) {
    spdlog::warn("cannot list the runtime's containers: {}", e.what());
  }
  return listing;
}

void PodManager::relist() {
  if (stopped_) return;
  if (!relisting_) {
    relisting_ = true;
    net::post(pool_, [this] {
      Listing listing = list_runtime();
      net::post(io_, [this, listing = std::move(listing)]() mutable {
        relisting_ = false;
        if (!stopped_) apply_listing(std::move(listing));
      });
    });
  }
  relist_timer_.expires_after(settings_.relist_period);
  relist_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) relist();
  });
}

namespace {

// What each pod's containers looked like ("id=status;..." by pod uid), to
// tell which pods a listing changed: one pass over the listing, not one per pod.
std::map<std::string, std::string> fingerprints(const std::vector<RuntimeContainer>& containers) {
  std::map<std::string, std::string> out;
  for (const RuntimeContainer& c : containers) {
    const auto found = c.annotations.find(annotations::kPodUid);
    if (found != c.annotations.end()) out[found->second] += c.id + "=" + c.status + ";";
  }
  return out;
}

std::string fingerprint_of(const std::map<std::string, std::string>& all, const std::string& uid) {
  const auto found = all.find(uid);
  return found == all.end() ? std::string() : found->second;
}

}  // namespace

void PodManager::apply_listing(Listing listing) {
  if (!listing.ok) return;
  Listing previous;
  {
    std::lock_guard lock(mutex_);
    previous = std::move(listing_);
    listing_ = std::move(listing);
  }
  const auto now = std::chrono::steady_clock::now();
  const auto before = fingerprints(previous.containers);
  const auto after = fingerprints(listing_.containers);
  std::vector<std::string> due;
  for (auto& [uid, slot] : slots_) {
    if (slot.deleting) continue;
    const bool changed = fingerprint_of(before, uid) != fingerprint_of(after, uid);
    const bool resync = slot.resync_at && *slot.resync_at <= now;
    if (changed || resync) due.push_back(uid);
  }
  for (const std::string& uid : due) kick(uid);
  remove_orphans();
}

std::vector<ObservedInstance> PodManager::instances_of(const std::string& uid) const {
  std::vector<ObservedInstance> out;
  for (const RuntimeContainer& c : listing_.containers) {
    const auto pod = c.annotations.find(annotations::kPodUid);
    const auto name = c.annotations.find(annotations::kContainerName);
    const auto attempt = c.annotations.find(annotations::kAttempt);
    if (pod == c.annotations.end() || pod->second != uid || name == c.annotations.end() ||
        attempt == c.annotations.end()) {
      continue;
    }
    const auto number = parse_attempt(attempt->second);
    if (!number) continue;
    const auto init = c.annotations.find(annotations::kInitContainer);
    out.push_back(ObservedInstance{c.id, name->second, init != c.annotations.end() && init->second == "true", *number,
                                   c.status});
  }
  return out;
}

std::optional<Sandbox> PodManager::sandbox_of(const std::string& key) const {
  for (const Sandbox& s : listing_.sandboxes) {
    if (s.id == key) return s;
  }
  return std::nullopt;
}

void PodManager::set_desired(const std::vector<pods::Pod>& desired) {
  desired_ = desired;
  std::set<std::string> wanted;
  for (const pods::Pod& pod : desired) {
    wanted.insert(pod.metadata.uid);
    if (slots_.count(pod.metadata.uid)) continue;
    Slot slot;
    slot.worker = std::make_shared<PodWorker>(pod, context_);
    slot.strand = std::make_unique<net::strand<net::thread_pool::executor_type>>(pool_.get_executor());
    {
      std::lock_guard lock(mutex_);
      slots_.emplace(pod.metadata.uid, std::move(slot));
    }
    kick(pod.metadata.uid);
  }
  for (auto& [uid, slot] : slots_) {
    if (wanted.count(uid) || slot.deleting) continue;
    slot.deleting = true;
    slot.deletion_time = std::chrono::system_clock::now();
    slot.worker->mark_terminating();
    const auto grace = std::chrono::seconds(slot.worker->pod().spec.termination_grace_period_seconds.value_or(30));
    net::post(*slot.strand, [this, uid = uid, worker = slot.worker, grace] {
      worker->terminate(grace);
      net::post(io_, [this, uid] {
        {
          std::lock_guard lock(mutex_);
          slots_.erase(uid);
        }
        // The same pod again (deleted and applied during its grace
        // period: static pods keep their uid): it starts afresh now.
        for (const pods::Pod& pod : desired_) {
          if (pod.metadata.uid == uid && !stopped_) {
            set_desired(std::vector<pods::Pod>(desired_));
            break;
          }
        }
      });
    });
  }
  have_desired_ = true;
}

void PodManager::kick(const std::string& uid) {
  auto found = slots_.find(uid);
  if (found == slots_.end() || found->second.deleting) return;
  Slot& slot = found->second;
  if (slot.busy) {
    slot.again = true;
    return;
  }
  slot.busy = true;
  slot.resync_at.reset();
  net::post(*slot.strand, [this, uid] { run_pass(uid); });
}

void PodManager::run_pass(const std::string& uid) {
  std::shared_ptr<PodWorker> worker;
  std::vector<ObservedInstance> instances;
  std::optional<Sandbox> sandbox;
  uint64_t listed_at = 0;
  {
    std::lock_guard lock(mutex_);
    const auto found = slots_.find(uid);
    if (found == slots_.end()) return;
    worker = found->second.worker;
    instances = instances_of(uid);
    sandbox = sandbox_of(worker->key());
    listed_at = listing_.sequence;
  }
  std::optional<std::chrono::nanoseconds> again;
  try {
    again = worker->sync(instances, sandbox, listed_at);
  } catch (const std::exception& e) {
    spdlog::error("pod {}/{}: pass failed: {}", worker->pod().metadata.namespace_, worker->pod().metadata.name, e.what());
    again = std::chrono::seconds(10);
  }
  net::post(io_, [this, uid, again] {
    const auto found = slots_.find(uid);
    if (found == slots_.end()) return;
    Slot& slot = found->second;
    slot.busy = false;
    if (again) slot.resync_at = std::chrono::steady_clock::now() + *again;
    if (slot.again) {
      slot.again = false;
      kick(uid);
    }
  });
}

void PodManager::remove_orphans() {
  if (!have_desired_) return;  // until the source has spoken, everything may be someone's
  std::set<std::string> known_uids;
  std::set<std::string> known_keys;
  for (const auto& [uid, slot] : slots_) {
    known_uids.insert(uid);
    known_keys.insert(slot.worker->key());
  }
  std::vector<std::string> containers;
  std::set<std::string> gone_uids;
  for (const RuntimeContainer& c : listing_.containers) {
    const auto pod = c.annotations.find(annotations::kPodUid);
    if (pod != c.annotations.end() && !known_uids.count(pod->second)) {
      containers.push_back(c.id);
      gone_uids.insert(pod->second);
    }
  }
  std::vector<std::string> sandboxes;
  for (const Sandbox& s : listing_.sandboxes) {
    if (!known_keys.count(s.id)) sandboxes.push_back(s.id);
  }
  if (containers.empty() && sandboxes.empty()) return;
  net::post(pool_, [this, containers, sandboxes, gone_uids] {
    for (const std::string& id : containers) {
      try {
        backend_.kill_container(id, "KILL");
        backend_.remove_container(id);
        backend_.release_rootfs(id);
        spdlog::info("removed the container {} of a pod that is gone", id);
      } catch (const std::exception& e) {
        spdlog::warn("cannot remove the container {} of a pod that is gone: {}", id, e.what());
      }
    }
    for (const std::string& key : sandboxes) {
      try {
        backend_.detach_network(key, "");
        backend_.remove_sandbox(key);
        backend_.release_volumes(key);
        std::error_code ignored;
        std::filesystem::remove_all(settings_.state_dir + "/" + key, ignored);
        spdlog::info("removed the sandbox {} of a pod that is gone", key);
      } catch (const std::exception& e) {
        spdlog::warn("cannot remove the sandbox {} of a pod that is gone: {}", key, e.what());
      }
    }
    // Their logs: <log_dir>/<namespace>_<name>_<uid>.
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(settings_.log_dir, error)) {
      const std::string name = entry.path().filename().string();
      for (const std::string& uid : gone_uids) {
        if (name.size() > uid.size() && name.compare(name.size() - uid.size() - 1, std::string::npos, "_" + uid) == 0) {
          std::error_code ignored;
          std::filesystem::remove_all(entry.path(), ignored);
        }
      }
    }
  });
}

std::vector<PodView> PodManager::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<PodView> out;
  for (const auto& [uid, slot] : slots_) {
    PodSnapshot snapshot = slot.worker->snapshot();
    out.push_back(PodView{std::move(snapshot.pod), std::move(snapshot.status), slot.deleting, slot.deletion_time});
  }
  return out;
}

std::shared_ptr<PodWorker> PodManager::find(const std::string& namespace_, const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [uid, slot] : slots_) {
    const pods::ObjectMeta& meta = slot.worker->pod().metadata;
    if (meta.namespace_ == namespace_ && meta.name == name) return slot.worker;
  }
  return nullptr;
}

}  // namespace deckhand
