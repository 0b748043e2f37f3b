// The kubelet's restart and image-pull back-off: the first restart at once,
// then 10 s doubling to 300 s, back to the start after a 10-minute run, and
// the CrashLoopBackOff message with Go's duration text.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "pods/backoff.hpp"
#include "pods/pod_status.hpp"

namespace deckhand::pods {
namespace {

using namespace std::chrono_literals;
using TimePoint = Backoff::TimePoint;
using Duration = Backoff::Duration;

const TimePoint kStart = std::chrono::sys_days{std::chrono::year{2026} / 7 / 24} + 10h;
const std::string kKey = Backoff::container_key("9b2c-uid", "web");

// A container that exits `run` after each start, restarted as soon as the
// back-off allows: the waits between an exit and the next start.
std::vector<Duration> crash_loop_waits(Backoff& backoff, int exits, Duration run, TimePoint& now) {
  std::vector<Duration> waits;
  for (int i = 0; i < exits; ++i) {
    now += run;
    const TimePoint finished_at = now;
    const std::optional<Duration> wait = backoff.restart(kKey, finished_at, now);
    waits.push_back(wait.value_or(0s));
    now += wait.value_or(0s);
    if (wait) {
      EXPECT_EQ(backoff.restart(kKey, finished_at, now), std::nullopt) << "exit " << i;
    }
  }
  return waits;
}

TEST(PodBackoff, CrashLoopWaitsDoubleFromTenSecondsToFiveMinutes) {
  Backoff backoff;
  TimePoint now = kStart;
  // Like the kubelet, the first restart is immediate: the back-off starts
  // with the first restart, and the second exit waits 10 s.
  EXPECT_EQ(crash_loop_waits(backoff, 8, 1s, now),
            (std::vector<Duration>{0s, 10s, 20s, 40s, 80s, 160s, 300s, 300s}));
  EXPECT_EQ(backoff.current(kKey), 300s);
}

TEST(PodBackoff, TenMinutesOfRunningStartsOver) {
  Backoff backoff;
  TimePoint now = kStart;
  crash_loop_waits(backoff, 7, 1s, now);
  ASSERT_EQ(backoff.current(kKey), 300s);

  // Exactly 2×max after the last restart is not yet "stable" (flowcontrol
  // compares with >): still backed off.
  Backoff at_limit;
  TimePoint then = kStart;
  crash_loop_waits(at_limit, 7, 1s, then);
  then += 600s;
  EXPECT_EQ(at_limit.restart(kKey, then, then), std::optional<Duration>(300s));

  // Ten minutes and a second: restarted at once, and the next crash waits 10 s.
  now += 600s + 1s;
  EXPECT_EQ(backoff.restart(kKey, now, now), std::nullopt);
  EXPECT_EQ(backoff.current(kKey), 10s);
  EXPECT_EQ(crash_loop_waits(backoff, 2, 1s, now), (std::vector<Duration>{10s, 20s}));
}

TEST(PodBackoff, RemainingCountsFromTheExit) {
  Backoff backoff;
  const TimePoint first_exit = kStart;
  ASSERT_EQ(backoff.restart(kKey, first_exit, first_exit), std::nullopt);
  const TimePoint second_exit = kStart + 30s;
  EXPECT_EQ(backoff.remaining(kKey, second_exit, second_exit), std::optional<Duration>(10s));
  EXPECT_EQ(backoff.remaining(kKey, second_exit, second_exit + 4s), std::optional<Duration>(6s));
  EXPECT_EQ(backoff.remaining(kKey, second_exit, second_exit + 10s), std::nullopt);
  // Asking does not advance it; only a restart that goes ahead does.
  EXPECT_EQ(backoff.current(kKey), 10s);
  EXPECT_EQ(backoff.remaining("other", second_exit, second_exit), std::nullopt);
  EXPECT_EQ(backoff.current("other"), 0s);
}

TEST(PodBackoff, ImagePullCountsFromTheLastFailure) {
  Backoff backoff;
  const std::string key = Backoff::image_key("9b2c-uid", "nginx:1.27");
  EXPECT_EQ(key, "9b2c-uid_nginx:1.27");
  EXPECT_EQ(backoff.remaining_since_update(key, kStart), std::nullopt);
  backoff.record_failure(key, kStart, kStart);
  EXPECT_EQ(backoff.remaining_since_update(key, kStart + 3s), std::optional<Duration>(7s));
  EXPECT_EQ(backoff.remaining_since_update(key, kStart + 10s), std::nullopt);
  backoff.record_failure(key, kStart + 10s, kStart + 10s);
  EXPECT_EQ(backoff.remaining_since_update(key, kStart + 10s), std::optional<Duration>(20s));
  // A failure more than ten minutes after the last one starts over.
  const TimePoint later = kStart + 10s + 601s;
  backoff.record_failure(key, later, later);
  EXPECT_EQ(backoff.current(key), 10s);
}

TEST(PodBackoff, ResetForgetAndGarbageCollection) {
  Backoff backoff;
  backoff.record_failure(kKey, kStart, kStart);
  backoff.record_failure(kKey, kStart, kStart);
  ASSERT_EQ(backoff.current(kKey), 20s);
  backoff.reset(kKey);
  EXPECT_EQ(backoff.current(kKey), 0s);
  EXPECT_EQ(backoff.restart(kKey, kStart, kStart), std::nullopt);

  // forget_pod drops the pod's container and image keys, not a pod whose
  // uid merely starts the same.
  backoff.record_failure(Backoff::image_key("9b2c-uid", "nginx"), kStart, kStart);
  backoff.record_failure(Backoff::container_key("9b2c-uid0", "web"), kStart, kStart);
  ASSERT_EQ(backoff.size(), 3u);
  backoff.forget_pod("9b2c-uid");
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff.current(Backoff::container_key("9b2c-uid0", "web")), 10s);

  // GC keeps entries updated within 2×max.
  backoff.record_failure("recent", kStart + 100s, kStart + 100s);
  backoff.gc(kStart + 600s);
  EXPECT_EQ(backoff.size(), 2u);
  backoff.gc(kStart + 601s);
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff.current("recent"), 10s);
}

TEST(PodBackoff, ShortBaseForTests) {
  Backoff backoff(100ms, 1s);
  for (int i = 0; i < 6; ++i) backoff.record_failure(kKey, kStart, kStart);
  EXPECT_EQ(backoff.current(kKey), 1s);
  Backoff fresh(100ms, 1s);
  std::vector<Duration> seen;
  for (int i = 0; i < 5; ++i) {
    fresh.record_failure(kKey, kStart, kStart);
    seen.push_back(fresh.current(kKey));
  }
  EXPECT_EQ(seen, (std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 1s}));
}

TEST(PodBackoff, RefusesBadBounds) {
  EXPECT_THROW(Backoff(0s, 10s), std::invalid_argument);
  EXPECT_THROW(Backoff(-1s, 10s), std::invalid_argument);
  EXPECT_THROW(Backoff(20s, 10s), std::invalid_argument);
  EXPECT_NO_THROW(Backoff(10s, 10s));
}

TEST(PodBackoff, CrashLoopMessageAsTheKubeletWritesIt) {
  ObjectMeta pod;
  pod.name = "web-abc";
  pod.namespace_ = "default";
  pod.uid = "9b2c-uid";
  EXPECT_EQ(crash_loop_back_off_message(20s, "web", pod),
            "back-off 20s restarting failed container=web pod=web-abc_default(9b2c-uid)");
  // Go prints 300 s as "5m0s" and 160 s as "2m40s".
  EXPECT_EQ(crash_loop_back_off_message(300s, "web", pod),
            "back-off 5m0s restarting failed container=web pod=web-abc_default(9b2c-uid)");
  EXPECT_EQ(crash_loop_back_off_message(160s, "db", pod),
            "back-off 2m40s restarting failed container=db pod=web-abc_default(9b2c-uid)");
}

}  // namespace
}  // namespace deckhand::pods
