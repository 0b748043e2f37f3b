// The kubelet's computePodActions as deckhand runs it: a new pod gets a
// sandbox and its first init container (or all containers), init containers
// run one by one to success, a failed one is retried unless the policy is
// Never (then the pod is killed), containers restart per restartPolicy, a
// finished pod's sandbox goes and is not made again, and a lost sandbox
// brings back what the policy says should run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pods/pod_actions.hpp"

namespace deckhand::pods {
namespace {

using State = ObservedContainer::State;

Container named(const std::string& name) {
  Container container;
  container.name = name;
  container.image = "busybox";
  return container;
}

PodSpec spec_of(std::vector<std::string> containers, std::vector<std::string> init = {},
                RestartPolicy policy = RestartPolicy::always) {
  PodSpec spec;
  for (const auto& name : init) spec.init_containers.push_back(named(name));
  for (const auto& name : containers) spec.containers.push_back(named(name));
  spec.restart_policy = policy;
  return spec;
}

ObservedContainer running(const std::string& name) { return {name, State::running, 0}; }
ObservedContainer exited(const std::string& name, int code) { return {name, State::exited, code}; }

ObservedPod ready_with(std::vector<ObservedContainer> containers, std::vector<ObservedContainer> init = {}) {
  return ObservedPod{true, true, std::move(init), std::move(containers)};
}

TEST(PodActions, ANewPodGetsASandboxAndEveryContainer) {
  const PodActions actions = compute_pod_actions(spec_of({"web", "log"}), ObservedPod{});
  EXPECT_TRUE(actions.create_sandbox);
  EXPECT_TRUE(actions.kill_pod);  // nothing to kill yet; harmless and what the kubelet asks
  EXPECT_EQ(actions.containers_to_start, (std::vector<std::size_t>{0, 1}));
  EXPECT_FALSE(actions.next_init_container);
}

TEST(PodActions, ANewPodWithInitContainersStartsTheFirstOnly) {
  const PodActions actions = compute_pod_actions(spec_of({"web"}, {"a", "b"}), ObservedPod{});
  EXPECT_TRUE(actions.create_sandbox);
  EXPECT_EQ(actions.next_init_container, 0u);
  EXPECT_TRUE(actions.containers_to_start.empty());
}

TEST(PodActions, InitContainersRunInOrderEachToSuccess) {
  const PodSpec spec = spec_of({"web"}, {"a", "b"});
  // a running: wait for it.
  PodActions actions = compute_pod_actions(spec, ready_with({}, {running("a")}));
  EXPECT_EQ(actions, PodActions{});
  // a succeeded: b next.
  actions = compute_pod_actions(spec, ready_with({}, {exited("a", 0)}));
  EXPECT_EQ(actions.next_init_container, 1u);
  EXPECT_TRUE(actions.containers_to_start.empty());
  // both succeeded: the containers.
  actions = compute_pod_actions(spec, ready_with({}, {exited("a", 0), exited("b", 0)}));
  EXPECT_FALSE(actions.next_init_container);
  EXPECT_EQ(actions.containers_to_start, (std::vector<std::size_t>{0}));
  EXPECT_FALSE(actions.kill_pod);
}

TEST(PodActions, AFailedInitContainerIsRetriedUnlessThePolicyIsNever) {
  for (const RestartPolicy policy : {RestartPolicy::always, RestartPolicy::on_failure}) {
    const PodActions actions =
        compute_pod_actions(spec_of({"web"}, {"a", "b"}, policy), ready_with({}, {exited("a", 0), exited("b", 3)}));
    EXPECT_EQ(actions.next_init_container, 1u);
    EXPECT_FALSE(actions.kill_pod);
  }
  const PodActions never =
      compute_pod_actions(spec_of({"web"}, {"a", "b"}, RestartPolicy::never), ready_with({}, {exited("a", 0), exited("b", 3)}));
  EXPECT_TRUE(never.kill_pod);
  EXPECT_FALSE(never.next_init_container);
  EXPECT_TRUE(never.containers_to_start.empty());
}

TEST(PodActions, ARunningMainContainerMeansTheInitContainersAreDone) {
  // After a restart of the agent the init containers may be gone from the runtime.
  const PodActions actions = compute_pod_actions(spec_of({"web", "log"}, {"a"}), ready_with({running("web")}));
  EXPECT_FALSE(actions.next_init_container);
  EXPECT_EQ(actions.containers_to_start, (std::vector<std::size_t>{1}));
}

TEST(PodActions, RestartPolicyDecidesWhichExitedContainersStartAgain) {
  struct Case {
    RestartPolicy policy;
    int exit_code;
    bool restart;
  };
  for (const Case c : {Case{RestartPolicy::always, 0, true}, Case{RestartPolicy::always, 1, true},
                       Case{RestartPolicy::on_failure, 0, false}, Case{RestartPolicy::on_failure, 137, true},
                       Case{RestartPolicy::never, 0, false}, Case{RestartPolicy::never, 1, false}}) {
    const PodActions actions =
        compute_pod_actions(spec_of({"web", "side"}, {}, c.policy), ready_with({exited("web", c.exit_code), running("side")}));
    EXPECT_EQ(actions.containers_to_start, c.restart ? std::vector<std::size_t>{0} : std::vector<std::size_t>{})
        << static_cast<int>(c.policy) << " exit " << c.exit_code;
    EXPECT_FALSE(actions.kill_pod);  // "side" still runs
  }
}

TEST(PodActions, APodWithNothingLeftToRunIsKilled) {
  const PodActions done = compute_pod_actions(spec_of({"job"}, {}, RestartPolicy::never), ready_with({exited("job", 0)}));
  EXPECT_TRUE(done.kill_pod);
  EXPECT_FALSE(done.create_sandbox);
  // Its sandbox gone, it is not brought back.
  ObservedPod finished{false, true, {}, {exited("job", 0)}};
  const PodActions after = compute_pod_actions(spec_of({"job"}, {}, RestartPolicy::never), finished);
  EXPECT_FALSE(after.create_sandbox);
  EXPECT_TRUE(after.containers_to_start.empty());
}

TEST(PodActions, ALostSandboxBringsBackWhatThePolicyRestarts) {
  // OnFailure: the container that succeeded stays done, the failed one comes back.
  ObservedPod lost{false, true, {}, {exited("ok", 0), exited("bad", 1)}};
  PodActions actions = compute_pod_actions(spec_of({"ok", "bad"}, {}, RestartPolicy::on_failure), lost);
  EXPECT_TRUE(actions.create_sandbox);
  EXPECT_EQ(actions.containers_to_start, (std::vector<std::size_t>{1}));
  // All succeeded under OnFailure: nothing to make.
  ObservedPod all_ok{false, true, {}, {exited("ok", 0), exited("bad", 0)}};
  actions = compute_pod_actions(spec_of({"ok", "bad"}, {}, RestartPolicy::on_failure), all_ok);
  EXPECT_FALSE(actions.create_sandbox);
  // Never, after running: not made again even though one failed.
  actions = compute_pod_actions(spec_of({"ok", "bad"}, {}, RestartPolicy::never), lost);
  EXPECT_FALSE(actions.create_sandbox);
  // With init containers the new sandbox starts from the first one again.
  actions = compute_pod_actions(spec_of({"web"}, {"a"}), ObservedPod{false, true, {exited("a", 0)}, {exited("web", 1)}});
  EXPECT_TRUE(actions.create_sandbox);
  EXPECT_EQ(actions.next_init_container, 0u);
  EXPECT_TRUE(actions.containers_to_start.empty());
}

TEST(PodActions, ContainersOfAnUnknownOrCreatedStateAreStartedAgain) {
  EXPECT_TRUE(should_start_container(RestartPolicy::never, nullptr));
  const ObservedContainer created{"c", State::created, 0};
  const ObservedContainer unknown{"c", State::unknown, 0};
  EXPECT_TRUE(should_start_container(RestartPolicy::never, &created));
  EXPECT_TRUE(should_start_container(RestartPolicy::never, &unknown));
  const ObservedContainer up = running("c");
  EXPECT_FALSE(should_start_container(RestartPolicy::always, &up));
}

TEST(PodActions, RunningContainersNoLongerInTheSpecAreKilled) {
  const PodActions actions = compute_pod_actions(spec_of({"web"}), ready_with({running("web"), running("old")}));
  EXPECT_EQ(actions.containers_to_kill, (std::vector<std::string>{"old"}));
  EXPECT_FALSE(actions.kill_pod);
}

}  // namespace
}  // namespace deckhand::pods
