// QoS classes as Kubernetes computes them: BestEffort without any request or
// limit, Guaranteed when every container (init containers too) limits cpu
// and memory and requests what it limits, Burstable otherwise.
#include <gtest/gtest.h>

#include <string>

#include "pods/pod.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand::pods {
namespace {

Container container_with(ResourceList requests, ResourceList limits) {
  Container container;
  container.name = "c";
  container.image = "busybox";
  container.resources = {requests, limits};
  return container;
}

PodSpec spec_of(std::initializer_list<Container> containers) {
  PodSpec spec;
  spec.containers = containers;
  return spec;
}

TEST(PodQos, BestEffortWithoutRequestsOrLimits) {
  EXPECT_EQ(qos_class(spec_of({container_with({}, {}), container_with({}, {})})), QosClass::best_effort);
  // Zero amounts count as none.
  EXPECT_EQ(qos_class(spec_of({container_with({0, 0}, {0, std::nullopt})})), QosClass::best_effort);
  EXPECT_EQ(qos_class(PodSpec{}), QosClass::best_effort);
}

TEST(PodQos, GuaranteedWhenEveryContainerRequestsWhatItLimits) {
  EXPECT_EQ(qos_class(spec_of({container_with({500, 64 << 20}, {500, 64 << 20}),
                               container_with({1000, 1 << 30}, {1000, 1 << 30})})),
            QosClass::guaranteed);
  // Limits alone are Guaranteed once requests default to them.
  Pod pod;
  pod.spec = spec_of({container_with({}, {250, 128 << 20})});
  EXPECT_EQ(qos_class(pod.spec), QosClass::burstable);
  apply_pod_defaults(pod);
  EXPECT_EQ(qos_class(pod.spec), QosClass::guaranteed);
}

TEST(PodQos, BurstableOtherwise) {
  // A request below its limit.
  EXPECT_EQ(qos_class(spec_of({container_with({250, 128 << 20}, {500, 128 << 20})})), QosClass::burstable);
  // Only a cpu limit.
  EXPECT_EQ(qos_class(spec_of({container_with({500, std::nullopt}, {500, std::nullopt})})), QosClass::burstable);
  // Only a request.
  EXPECT_EQ(qos_class(spec_of({container_with({100, std::nullopt}, {})})), QosClass::burstable);
  // One container without limits spoils the others'.
  EXPECT_EQ(qos_class(spec_of({container_with({500, 64 << 20}, {500, 64 << 20}), container_with({}, {})})),
            QosClass::burstable);
}

TEST(PodQos, InitContainersCount) {
  PodSpec spec = spec_of({container_with({500, 64 << 20}, {500, 64 << 20})});
  spec.init_containers.push_back(container_with({}, {}));
  EXPECT_EQ(qos_class(spec), QosClass::burstable);
  spec.init_containers[0] = container_with({100, 1 << 20}, {100, 1 << 20});
  EXPECT_EQ(qos_class(spec), QosClass::guaranteed);
  spec.containers.clear();
  spec.init_containers[0] = container_with({100, std::nullopt}, {});
  EXPECT_EQ(qos_class(spec), QosClass::burstable);
}

TEST(PodQos, ComparesTheSumsAsKubernetesDoes) {
  // Each container limits both; the summed requests equal the summed limits
  // though neither container's do: Kubernetes says Guaranteed.
  EXPECT_EQ(qos_class(spec_of({container_with({300, 64 << 20}, {500, 64 << 20}),
                               container_with({700, 64 << 20}, {500, 64 << 20})})),
            QosClass::guaranteed);
  // Sums that would overflow int64 saturate instead.
  const int64_t huge = INT64_MAX / 2 + 1;
  const Container big = container_with({huge, huge}, {huge, huge});
  EXPECT_EQ(qos_class(spec_of({big, big})), QosClass::guaranteed);
}

TEST(PodQos, Names) {
  EXPECT_STREQ(to_string(QosClass::guaranteed), "Guaranteed");
  EXPECT_STREQ(to_string(QosClass::burstable), "Burstable");
  EXPECT_STREQ(to_string(QosClass::best_effort), "BestEffort");
}

}  // namespace
}  // namespace deckhand::pods
