// Pod events as the kubelet emits them: the involved object and its
// fieldPath, the kubelet's message texts, the core/v1 Event JSON, client-go's
// naming and repeat counting, and the recorder's bounds and one-hour expiry.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "pods/pod_events.hpp"

namespace deckhand::pods {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2026} / 7 / 24} + 10h + 5min + 58s;

ObjectMeta pod_meta(const std::string& name = "web-6b9f") {
  ObjectMeta meta;
  meta.name = name;
  meta.namespace_ = "default";
  meta.uid = "9b2c-uid";
  return meta;
}

EventRecorder recorder(EventRecorder::Limits limits = {}) { return EventRecorder({"deckhand", "node-a"}, limits); }

TEST(PodEventsReference, PodAndContainers) {
  const ObjectReference pod = pod_reference(pod_meta());
  EXPECT_EQ(pod.kind, "Pod");
  EXPECT_EQ(pod.api_version, "v1");
  EXPECT_EQ(pod.namespace_, "default");
  EXPECT_EQ(pod.name, "web-6b9f");
  EXPECT_EQ(pod.uid, "9b2c-uid");
  EXPECT_EQ(pod.field_path, "");
  EXPECT_EQ(container_reference(pod_meta(), "web", false).field_path, "spec.containers{web}");
  EXPECT_EQ(container_reference(pod_meta(), "setup", true).field_path, "spec.initContainers{setup}");
}

TEST(PodEventsMessages, KubeletTexts) {
  namespace m = event_messages;
  EXPECT_EQ(m::pulling_image("nginx:1.27"), "Pulling image \"nginx:1.27\"");
  EXPECT_EQ(m::pulled_image("nginx:1.27", 1661400us, 1661999us, 62958873),
            "Successfully pulled image \"nginx:1.27\" in 1.661s (1.661s including waiting). Image size: 62958873 "
            "bytes.");
  EXPECT_EQ(m::pulled_image("busybox", 830ms, 7264ms, 4269694),
            "Successfully pulled image \"busybox\" in 830ms (7.264s including waiting). Image size: 4269694 bytes.");
  EXPECT_EQ(m::image_already_present("nginx"), "Container image \"nginx\" already present on machine");
  EXPECT_EQ(m::image_never_pull("nginx"), "Container image \"nginx\" is not present with pull policy of Never");
  EXPECT_EQ(m::failed_to_pull("nginx", "manifest: 401 unauthorized"),
            "Failed to pull image \"nginx\": manifest: 401 unauthorized");
  EXPECT_EQ(m::back_off_pulling("nginx"), "Back-off pulling image \"nginx\"");
  EXPECT_EQ(m::error("ErrImagePull"), "Error: ErrImagePull");
  EXPECT_EQ(m::created_container("web"), "Created container: web");
  EXPECT_EQ(m::started_container("web"), "Started container web");
  EXPECT_EQ(m::stopping_container("web"), "Stopping container web");
  EXPECT_EQ(m::back_off_restarting("web", pod_meta()),
            "Back-off restarting failed container web in pod web-6b9f_default(9b2c-uid)");
  // Image names are quoted the Go way.
  EXPECT_EQ(m::pulling_image("we\"ird"), "Pulling image \"we\\\"ird\"");
}

TEST(PodEventsJson, CoreV1EventShape) {
  auto events = recorder();
  const Event event = events.record(container_reference(pod_meta(), "web", false), EventType::normal,
                                    event_reasons::kPulling, event_messages::pulling_image("nginx:1.27"), kT0);
  const json expected = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", event.name}, {"namespace", "default"}}},
      {"involvedObject",
       {{"kind", "Pod"},
        {"namespace", "default"},
        {"name", "web-6b9f"},
        {"uid", "9b2c-uid"},
        {"apiVersion", "v1"},
        {"fieldPath", "spec.containers{web}"}}},
      {"reason", "Pulling"},
      {"message", "Pulling image \"nginx:1.27\""},
      {"source", {{"component", "deckhand"}, {"host", "node-a"}}},
      {"firstTimestamp", "2026-07-24T10:05:58Z"},
      {"lastTimestamp", "2026-07-24T10:05:58Z"},
      {"count", 1},
      {"type", "Normal"},
      {"eventTime", nullptr},
      {"reportingComponent", "deckhand"},
      {"reportingInstance", "node-a"}};
  EXPECT_EQ(to_json(event), expected);

  // A pod-level event has no fieldPath; a Warning says so.
  const Event warning = events.record(pod_reference(pod_meta()), EventType::warning, event_reasons::kFailedMount,
                                      "MountVolume.SetUp failed", kT0);
  EXPECT_FALSE(to_json(warning)["involvedObject"].contains("fieldPath"));
  EXPECT_EQ(to_json(warning)["type"], "Warning");
}

TEST(PodEventsNames, ObjectNameAndHexNanoseconds) {
  auto events = recorder();
  const Time now = kT0 + 123456789ns;
  const Event first = events.record(pod_reference(pod_meta()), EventType::normal, "Scheduled", "one", now);
  // 2026-07-24T10:05:58.123456789Z in Unix nanoseconds, in hex.
  EXPECT_EQ(first.name, "web-6b9f.18c531c701f68915");
  // Another event of the pod in the same nanosecond gets the next one.
  const Event second = events.record(pod_reference(pod_meta()), EventType::normal, "Scheduled", "two", now);
  EXPECT_EQ(second.name, "web-6b9f.18c531c701f68916");
}

TEST(PodEventsAggregation, RepeatsCountUp) {
  auto events = recorder();
  const ObjectReference web = container_reference(pod_meta(), "web", false);
  const std::string message = event_messages::back_off_restarting("web", pod_meta());
  const Event first = events.record(web, EventType::warning, event_reasons::kBackOff, message, kT0);
  const Event again = events.record(web, EventType::warning, event_reasons::kBackOff, message, kT0 + 10s);
  const Event third = events.record(web, EventType::warning, event_reasons::kBackOff, message, kT0 + 30s);
  EXPECT_EQ(first.count, 1);
  EXPECT_EQ(again.count, 2);
  EXPECT_EQ(third.count, 3);
  EXPECT_EQ(third.name, first.name);
  EXPECT_EQ(third.first_timestamp, kT0);
  EXPECT_EQ(third.last_timestamp, kT0 + 30s);
  EXPECT_EQ(events.size(), 1u);

  // Anything else different is another event: message, reason, type, container.
  events.record(web, EventType::warning, event_reasons::kBackOff, message + "!", kT0);
  events.record(web, EventType::warning, event_reasons::kFailed, message, kT0);
  events.record(web, EventType::normal, event_reasons::kBackOff, message, kT0);
  events.record(container_reference(pod_meta(), "sidecar", false), EventType::warning, event_reasons::kBackOff,
                message, kT0);
  EXPECT_EQ(events.size(), 5u);
}

TEST(PodEventsQuery, OnePodInOrderOfLastUpdate) {
  auto events = recorder();
  const ObjectReference web = pod_reference(pod_meta());
  events.record(web, EventType::normal, "A", "a", kT0);
  events.record(web, EventType::normal, "B", "b", kT0 + 1s);
  events.record(pod_reference(pod_meta("other")), EventType::normal, "C", "c", kT0 + 2s);
  events.record(web, EventType::normal, "A", "a", kT0 + 3s);  // A again: now the latest
  events.record(web, EventType::normal, "D", "d", kT0 + 3s);  // same instant: after A
  std::vector<std::string> reasons;
  for (const auto& event : events.events_for("default", "web-6b9f")) reasons.push_back(event.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"B", "A", "D"}));
  EXPECT_TRUE(events.events_for("kube-system", "web-6b9f").empty());
  reasons.clear();
  for (const auto& event : events.all()) reasons.push_back(event.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{"B", "C", "A", "D"}));
}

TEST(PodEventsBounds, PerPodAndTotal) {
  EventRecorder::Limits limits;
  limits.per_object = 3;
  limits.total = 5;
  auto events = recorder(limits);
  const ObjectReference web = pod_reference(pod_meta());
  for (int i = 0; i < 5; ++i) events.record(web, EventType::normal, "R", std::to_string(i), kT0 + std::chrono::seconds(i));
  std::vector<std::string> kept;
  for (const auto& event : events.events_for("default", "web-6b9f")) kept.push_back(event.message);
  EXPECT_EQ(kept, (std::vector<std::string>{"2", "3", "4"}));

  // Past the total, the least recently updated of any pod go first.
  const ObjectReference other = pod_reference(pod_meta("other"));
  events.record(other, EventType::normal, "R", "x", kT0 + 10s);
  events.record(other, EventType::normal, "R", "y", kT0 + 11s);
  EXPECT_EQ(events.size(), 5u);
  events.record(other, EventType::normal, "R", "z", kT0 + 12s);
  EXPECT_EQ(events.size(), 5u);
  kept.clear();
  for (const auto& event : events.events_for("default", "web-6b9f")) kept.push_back(event.message);
  EXPECT_EQ(kept, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(events.events_for("default", "other").size(), 3u);

  limits.per_object = 0;
  EXPECT_THROW(EventRecorder({"deckhand", "n"}, limits), std::invalid_argument);
}

TEST(PodEventsPrune, AnHourAfterTheLastUpdate) {
  auto events = recorder();
  const ObjectReference web = pod_reference(pod_meta());
  events.record(web, EventType::normal, "Old", "old", kT0);
  events.record(web, EventType::warning, "BackOff", "repeated", kT0);
  events.record(web, EventType::warning, "BackOff", "repeated", kT0 + 30min);
  events.record(pod_reference(pod_meta("gone")), EventType::normal, "Killing", "bye", kT0 + 1min);
  events.prune(kT0 + 1h - 1s);
  EXPECT_EQ(events.size(), 3u);
  events.prune(kT0 + 1h);
  EXPECT_EQ(events.size(), 2u);
  events.prune(kT0 + 1h + 1min);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_TRUE(events.events_for("default", "gone").empty());
  ASSERT_EQ(events.events_for("default", "web-6b9f").size(), 1u);
  EXPECT_EQ(events.events_for("default", "web-6b9f")[0].count, 2);
  events.prune(kT0 + 90min);
  EXPECT_EQ(events.size(), 0u);
  EXPECT_TRUE(events.all().empty());
}

TEST(PodEventsConcurrency, RecordsFromManyThreads) {
  auto events = recorder();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&events, t] {
      for (int i = 0; i < 500; ++i) {
        events.record(pod_reference(pod_meta()), EventType::normal, "Same", "same", kT0 + std::chrono::seconds(i));
        events.record(pod_reference(pod_meta("p" + std::to_string(t))), EventType::normal, "Own",
                      std::to_string(i % 10), kT0);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto same = events.events_for("default", "web-6b9f");
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].count, 2000);
  EXPECT_EQ(events.size(), 1u + 4 * 10);
}

}  // namespace
}  // namespace deckhand::pods
