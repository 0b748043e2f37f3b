#include "pods/backoff.hpp"

#include <algorithm>
#include <stdexcept>

namespace deckhand::pods {

Backoff::Backoff(Duration initial, Duration max) : initial_(initial), max_(max) {
  if (initial <= Duration::zero()) throw std::invalid_argument("back-off: the initial duration must be positive");
  if (max < initial) throw std::invalid_argument("back-off: the maximum must not be below the initial duration");
}

std::string Backoff::container_key(const std::string& pod_uid, const std::string& container_name) {
  return pod_uid + "_" + container_name;
}

std::string Backoff::image_key(const std::string& pod_uid, const std::string& image) { return pod_uid + "_" + image; }

// flowcontrol hasExpired: "consider stable if it's ok for twice the maxDuration".
bool Backoff::expired(const Entry& entry, TimePoint event_time) const {
  return event_time - entry.last_update > 2 * max_;
}

void Backoff::record_failure_locked(const std::string& key, TimePoint failed_at, TimePoint now) {
  const auto found = entries_.find(key);
  if (found == entries_.end() || expired(found->second, failed_at)) {
    entries_[key] = Entry{initial_, now};
    return;
  }
  found->second.backoff = std::min(found->second.backoff * 2, max_);
  found->second.last_update = now;
}

std::optional<Backoff::Duration> Backoff::remaining_locked(const std::string& key, TimePoint failed_at,
                                                           TimePoint now) const {
  const auto found = entries_.find(key);
  if (found == entries_.end() || expired(found->second, failed_at)) return std::nullopt;
  const Duration elapsed = now - failed_at;
  if (elapsed >= found->second.backoff) return std::nullopt;
  return found->second.backoff - elapsed;
}

// kuberuntime_manager.go doBackOff: check first, advance only when the
// restart goes ahead.
std::optional<Backoff::Duration> Backoff::restart(const std::string& key, TimePoint finished_at, TimePoint now) {
  const std::lock_guard lock(mutex_);
  if (auto wait = remaining_locked(key, finished_at, now)) return wait;
  record_failure_locked(key, finished_at, now);
  return std::nullopt;
}

void Backoff::record_failure(const std::string& key, TimePoint failed_at, TimePoint now) {
  const std::lock_guard lock(mutex_);
  record_failure_locked(key, failed_at, now);
}

std::optional<Backoff::Duration> Backoff::remaining(const std::string& key, TimePoint failed_at,
                                                    TimePoint now) const {
  const std::lock_guard lock(mutex_);
  return remaining_locked(key, failed_at, now);
}

std::optional<Backoff::Duration> Backoff::remaining_since_update(const std::string& key, TimePoint now) const {
  const std::lock_guard lock(mutex_);
  const auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  return remaining_locked(key, found->second.last_update, now);
}

Backoff::Duration Backoff::current(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto found = entries_.find(key);
  return found == entries_.end() ? Duration::zero() : found->second.backoff;
}

void Backoff::reset(const std::string& key) {
  const std::lock_guard lock(mutex_);
  entries_.erase(key);
}

void Backoff::forget_pod(const std::string& pod_uid) {
  const std::lock_guard lock(mutex_);
  const std::string prefix = pod_uid + "_";
  // Keys sort by their text, so the pod's keys are one run.
  auto it = entries_.lower_bound(prefix);
  while (it != entries_.end() && it->first.compare(0, prefix.size(), prefix) == 0) it = entries_.erase(it);
}

void Backoff::gc(TimePoint now) {
  const std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const auto& item) { return now - item.second.last_update > 2 * max_; });
}

std::size_t Backoff::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace deckhand::pods
