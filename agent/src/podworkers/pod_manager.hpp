// The pods of this node: one PodWorker per pod, kept to the desired set a
// pod source gives (the manifest directory now, the API server in cluster
// mode), and the runtime's listing every second (the kubelet's PLEG relist)
// to see containers exit. Work for a pod runs on the manager's own threads,
// one pass at a time per pod (a strand each), so a slow pull or a long grace
// period holds up only its own pod. Changes for a busy pod coalesce into one
// more pass.
//
// After a restart the first listing comes before any worker acts: each pod's
// containers and sandbox are re-adopted, and what belongs to no desired pod
// (containers carrying a pod uid, sandboxes) is removed once the source has
// given its first desired set.
//
// Threading: every public call except snapshots() / find() / events() is
// made on the event-loop thread.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "podworkers/pod_backend.hpp"
#include "podworkers/pod_worker.hpp"

namespace deckhand {

struct PodManagerSettings {
  NodeInfo node;
  std::string state_dir;
  std::string log_dir;
  std::chrono::nanoseconds restart_backoff_initial = pods::Backoff::kDefaultInitial;
  std::chrono::nanoseconds restart_backoff_max = pods::Backoff::kDefaultMax;
  std::chrono::milliseconds relist_period{1000};
  std::size_t threads = 8;
};

// What the API shows of a pod.
struct PodView {
  pods::Pod pod;
  pods::PodStatus status;
  bool terminating = false;
  std::optional<pods::Time> deletion_time;
};

class PodManager {
 public:
  PodManager(boost::asio::io_context& io, PodBackend& backend, PodManagerSettings settings);
  ~PodManager();

  // Lists the runtime once (blocking) and starts the relist timer.
  void start();
  // Stops the timers and waits for passes in progress; pods keep running.
  void stop();

  // The desired pods, by uid. New uids get a worker, missing ones are
  // terminated with their grace period, then forgotten.
  void set_desired(const std::vector<pods::Pod>& pods);

  std::vector<PodView> pods() const;
  std::shared_ptr<PodWorker> find(const std::string& namespace_, const std::string& name) const;
  pods::EventRecorder& events() { return events_; }

  // Called with each pod's apply -> Running seconds (metrics).
  void on_pod_started(std::function<void(double)> callback) { context_.on_pod_started = std::move(callback); }

 private:
  struct Slot {
    std::shared_ptr<PodWorker> worker;
    std::unique_ptr<boost::asio::strand<boost::asio::thread_pool::executor_type>> strand;
    bool busy = false;
    bool again = false;
    bool deleting = false;
    std::optional<pods::Time> deletion_time;
    std::optional<std::chrono::steady_clock::time_point> resync_at;
  };
  struct Listing {
    uint64_t sequence = 0;
    std::vector<RuntimeContainer> containers;
    std::vector<Sandbox> sandboxes;
    bool ok = false;
  };

  Listing list_runtime();
  void relist();
  void apply_listing(Listing listing);
  void kick(const std::string& uid);
  void run_pass(const std::string& uid);
  void remove_orphans();
  std::vector<ObservedInstance> instances_of(const std::string& uid) const;
  std::optional<Sandbox> sandbox_of(const std::string& key) const;

  boost::asio::io_context& io_;
  PodBackend& backend_;
  PodManagerSettings settings_;
  boost::asio::thread_pool pool_;
  SpecTemplates templates_;
  pods::Backoff restart_backoff_;
  pods::Backoff pull_backoff_;
  pods::EventRecorder events_;
  WorkerContext context_;
  boost::asio::steady_timer relist_timer_;
  bool relisting_ = false;
  bool have_desired_ = false;
  std::vector<pods::Pod> desired_;  // the last desired set
  bool stopped_ = false;

  mutable std::mutex mutex_;  // guards slots_ (read by pods()/find() from API threads) and listing_
  std::map<std::string, Slot> slots_;  // by pod uid
  Listing listing_;
};

}  // namespace deckhand
