// The kubelet's back-off for restarting crashed containers (CrashLoopBackOff)
// and for retrying failed image pulls (ImagePullBackOff): client-go's
// util/flowcontrol Backoff (backoff.go) without jitter, as pkg/kubelet uses
// it: 10 s at first, doubled on each further failure, capped at 300 s
// (kubelet.go backOffPeriod, MaxContainerBackOff; the image manager gets
// its own instance with the same numbers). An entry whose failure comes more
// than 2×cap (10 min) after its last update starts over, so a container that
// ran for ten minutes before failing again is back at 10 s.
//
// Keys name what is backed off: container_key(pod uid, container name) for
// restarts, image_key(pod uid, image) for pulls (the kubelet's
// "<uid>_<image>"). Time is passed in, never read, so tests are exact.
// Thread-safe: pod workers share one instance.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace deckhand::pods {

class Backoff {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::system_clock::time_point;

  static constexpr Duration kDefaultInitial = std::chrono::seconds(10);
  static constexpr Duration kDefaultMax = std::chrono::seconds(300);

  // Throws std::invalid_argument unless 0 < initial <= max.
  explicit Backoff(Duration initial = kDefaultInitial, Duration max = kDefaultMax);

  static std::string container_key(const std::string& pod_uid, const std::string& container_name);
  static std::string image_key(const std::string& pod_uid, const std::string& image);

  // The kubelet's doBackOff for a container that exited at `finished_at` and
  // is due a restart: std::nullopt when it may restart now (the back-off
  // then advances: the next failure waits twice as long), otherwise how
  // long it must still wait. The first restart of a container is immediate,
  // the second waits 10 s, then 20 s, 40 s, ... 300 s.
  std::optional<Duration> restart(const std::string& key, TimePoint finished_at, TimePoint now);

  // flowcontrol's Next: one more failure at `failed_at`, recorded at `now`.
  // A new entry, or one whose failure is more than 2×max after its last
  // update, starts at `initial`; otherwise the back-off doubles up to max.
  // For image pulls call it on each failed pull with failed_at = now.
  void record_failure(const std::string& key, TimePoint failed_at, TimePoint now);

  // flowcontrol's IsInBackOffSince: how long is left of the back-off counted
  // from `failed_at` (a container's finishedAt); nullopt when none is left.
  std::optional<Duration> remaining(const std::string& key, TimePoint failed_at, TimePoint now) const;

  // flowcontrol's IsInBackOffSinceUpdate: how long is left counted from the
  // last record_failure (image pulls); nullopt when none is left.
  std::optional<Duration> remaining_since_update(const std::string& key, TimePoint now) const;

  // The current back-off of `key`, the figure in "back-off 20s restarting
  // failed container=..."; zero without an entry.
  Duration current(const std::string& key) const;

  // Forgets `key` (flowcontrol's Reset): its next failure starts at initial.
  void reset(const std::string& key);

  // Forgets every key of the pod (deleted): container and image keys alike.
  void forget_pod(const std::string& pod_uid);

  // flowcontrol's GC: drops entries not updated for more than 2×max.
  void gc(TimePoint now);

  std::size_t size() const;

 private:
  struct Entry {
    Duration backoff;
    TimePoint last_update;
  };

  bool expired(const Entry& entry, TimePoint event_time) const;
  void record_failure_locked(const std::string& key, TimePoint failed_at, TimePoint now);
  std::optional<Duration> remaining_locked(const std::string& key, TimePoint failed_at, TimePoint now) const;

  const Duration initial_;
  const Duration max_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace deckhand::pods
