// Pods end to end through the installed agent and CLI, as a user runs them:
// `deckhand apply -f` into the agent's manifest directory, `get pods`,
// `describe`, `logs`, `delete`, with the real runtime-native and
// storage-overlay plugins and a busybox image (built with umoci, loaded with
// `deckhand image load`). Pods here use hostNetwork: they send no traffic
// and need no network plugin (networked pods are tested in a namespace the
// network suite creates). The crash-loop back-off base is 1 s here (the
// default, 10 s, is Kubernetes').
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "pod_test_support.hpp"
#include "process.hpp"

namespace deckhand::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

class PodLifecycleTest : public pods::PodTest {
 protected:
  // The shared one-container pod, with the pod's name in POD_NAME through
  // the downward API.
  static std::string pod_yaml(const std::string& name, const std::string& script, const std::string& policy = "Always") {
    return PodTest::pod_yaml(name, script, policy) +
           "    env:\n    - name: POD_NAME\n      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n";
  }
};

TEST_F(PodLifecycleTest, ApplyRunsThePodAndGetDescribeLogsAndDeleteWorkLikeKubectl) {
  // PID 1 of a container ignores SIGTERM unless it handles it: this one does.
  const std::string script = "echo hello from $(POD_NAME); trap 'exit 0' TERM; while true; do sleep 0.1; done";
  // Guaranteed (limits only: requests default to them): the strongest OOM
  // protection, which a runtime without CAP_SYS_RESOURCE must still start.
  const std::string guaranteed = "    resources:\n      limits: {cpu: 100m, memory: 32Mi}\n";
  const CommandResult applied = apply(pod_yaml("hello", script) + guaranteed);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, "pod/hello created\n");
  ASSERT_TRUE(eventually([&] { return phase(pod("hello")) == "Running"; }, 30s)) << pod("hello").dump(1);

  const json running = pod("hello");
  const json& status = running["status"];
  EXPECT_EQ(status.value("hostIP", ""), "127.0.0.1");
  EXPECT_EQ(status.value("podIP", ""), "127.0.0.1");  // hostNetwork: the node's address
  EXPECT_EQ(status.value("qosClass", ""), "Guaranteed");
  std::map<std::string, std::string> conditions;
  for (const json& c : status["conditions"]) conditions[c.value("type", "")] = c.value("status", "");
  EXPECT_EQ(conditions, (std::map<std::string, std::string>{{"ContainersReady", "True"},
                                                             {"Initialized", "True"},
                                                             {"PodReadyToStartContainers", "True"},
                                                             {"PodScheduled", "True"},
                                                             {"Ready", "True"}}));
  const json& container = status["containerStatuses"][0];
  EXPECT_TRUE(container["state"].contains("running")) << container.dump();
  EXPECT_TRUE(container.value("ready", false));
  EXPECT_EQ(container.value("restartCount", -1), 0);
  EXPECT_EQ(container.value("containerID", "").rfind("deckhand://", 0), 0u);
  EXPECT_EQ(running["spec"].value("nodeName", ""), "test-node");

  // The table: kubectl's columns.
  const CommandResult table = agent_->cli("get", "pods", "-o", "wide");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("NAME    READY   STATUS    RESTARTS   AGE"));
  EXPECT_THAT(table.out, HasSubstr("IP          NODE        NOMINATED NODE   READINESS GATES"));
  EXPECT_THAT(table.out, ::testing::ContainsRegex("hello   1/1     Running   0          [0-9]+s +127.0.0.1   test-node   <none>           <none>"));
  // Label selectors.
  EXPECT_THAT(agent_->cli("get", "pods", "-l", "app=hello").out, HasSubstr("hello"));
  const CommandResult none = agent_->cli("get", "pods", "-l", "app=other");
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.err, "No resources found in default namespace.\n");

  // Logs, with the downward API's pod name in them.
  ASSERT_TRUE(eventually([&] { return agent_->cli("logs", "hello").out == "hello from hello\n"; }, 10s))
      << agent_->cli("logs", "hello").out;
  EXPECT_THAT(agent_->cli("logs", "hello", "--timestamps").out, ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z hello from hello\n"));

  // describe: conditions, the container's state and the events.
  const CommandResult described = agent_->cli("describe", "pod", "hello");
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_THAT(described.out, HasSubstr("Status:"));
  EXPECT_THAT(described.out, HasSubstr("Running"));
  EXPECT_THAT(described.out, HasSubstr("Created container: main"));
  EXPECT_THAT(described.out, HasSubstr("Started container main"));

  // Applying the same manifest again changes nothing.
  EXPECT_EQ(apply(pod_yaml("hello", script) + guaranteed).out, "pod/hello unchanged\n");

  // delete: the trap ends it on SIGTERM, long before the 5 s grace period.
  const auto started = std::chrono::steady_clock::now();
  const CommandResult deleted = agent_->cli("delete", "pod", "hello");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "pod \"hello\" deleted\n");
  ASSERT_TRUE(eventually([&] { return pod_names().empty(); }, 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(run_deckhand({"oci", "--root", agent_->path("runtime"), "list", "-q"}).out, "");
  EXPECT_FALSE(fs::exists(agent_->path("pods/default_hello.yaml")));
  const CommandResult gone = agent_->cli("get", "pod", "hello");
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("pods \"hello\" not found"));
}

TEST_F(PodLifecycleTest, AlwaysRestartsWithCrashLoopBackOffAndLogsPreviousShowTheLastRun) {
  ASSERT_EQ(apply(pod_yaml("crash", "echo run; exit 3")).exit_code, 0);
  bool saw_back_off = false;
  ASSERT_TRUE(eventually([&] {
    const json p = pod("crash");
    if (!p.is_object() || !p["status"].contains("containerStatuses")) return false;
    const json& c = p["status"]["containerStatuses"][0];
    if (c["state"].contains("waiting") && c["state"]["waiting"].value("reason", "") == "CrashLoopBackOff") saw_back_off = true;
    return saw_back_off && c.value("restartCount", 0) >= 2;
  }, 30s)) << pod("crash").dump(1);
  const json c = pod("crash")["status"]["containerStatuses"][0];
  EXPECT_EQ(c["lastState"]["terminated"].value("exitCode", 0), 3) << c.dump();
  EXPECT_EQ(c["lastState"]["terminated"].value("reason", ""), "Error");
  EXPECT_EQ(agent_->cli("logs", "crash", "--previous").out, "run\n");
  EXPECT_THAT(agent_->cli("describe", "pod", "crash").out, HasSubstr("Back-off restarting failed container main"));
  EXPECT_THAT(agent_->cli("get", "pods").out, ::testing::ContainsRegex("crash +[01]/1 +(CrashLoopBackOff|Error|Running|Completed) +[2-9] \\("));
}

TEST_F(PodLifecycleTest, NeverAndOnFailureEndThePodWithTheRightPhase) {
  ASSERT_EQ(apply(pod_yaml("fails", "exit 2", "Never")).exit_code, 0);
  ASSERT_EQ(apply(pod_yaml("succeeds", "echo done", "OnFailure")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("fails")) == "Failed" && phase(pod("succeeds")) == "Succeeded"; }, 30s))
      << pod("fails").dump(1) << pod("succeeds").dump(1);
  const json failed = pod("fails")["status"]["containerStatuses"][0];
  EXPECT_EQ(failed["state"]["terminated"].value("exitCode", 0), 2);
  EXPECT_EQ(failed.value("restartCount", -1), 0);
  const json done = pod("succeeds")["status"]["containerStatuses"][0];
  EXPECT_EQ(done["state"]["terminated"].value("reason", ""), "Completed");
  const std::string table = agent_->cli("get", "pods").out;
  EXPECT_THAT(table, ::testing::ContainsRegex("fails +0/1 +Error +0"));
  EXPECT_THAT(table, ::testing::ContainsRegex("succeeds +0/1 +Completed +0"));
}

// RuntimeDefault's seccomp profile follows the container's capabilities, as
// containerd builds it: with SYS_ADMIN added, mount(2) is allowed (with the
// default capabilities' profile it stays blocked whatever the capability).
TEST_F(PodLifecycleTest, AnAddedCapabilityIsAllowedByTheSeccompProfileToo) {
  const std::string context =
      "    securityContext:\n      capabilities: {add: [SYS_ADMIN]}\n";
  ASSERT_EQ(apply(pod_yaml("admin", "mkdir -p /m && mount -t tmpfs none /m && echo mounted", "Never") + context)
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return phase(pod("admin")) == "Succeeded" || phase(pod("admin")) == "Failed"; }, 30s))
      << pod("admin").dump(1);
  EXPECT_EQ(phase(pod("admin")), "Succeeded") << agent_->cli("logs", "admin").out;
  EXPECT_EQ(agent_->cli("logs", "admin").out, "mounted\n");
}

TEST_F(PodLifecycleTest, InitContainersRunInOrderBeforeTheContainers) {
  const std::string manifest =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: ordered}\nspec:\n  hostNetwork: true\n  terminationGracePeriodSeconds: 1\n"
      "  volumes: [{name: work, emptyDir: {}}]\n"
      "  initContainers:\n"
      "  - {name: first, image: local/busybox:1, command: [sh, -c, 'echo first >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}\n"
      "  - {name: second, image: local/busybox:1, command: [sh, -c, 'echo second >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}\n"
      "  containers:\n"
      "  - {name: main, image: local/busybox:1, command: [sh, -c, 'cat /work/order; exec sleep 1000'], volumeMounts: [{name: work, mountPath: /work}]}\n";
  ASSERT_EQ(apply(manifest).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("ordered")) == "Running"; }, 30s)) << pod("ordered").dump(1);
  ASSERT_TRUE(eventually([&] { return agent_->cli("logs", "ordered").out == "first\nsecond\n"; }, 10s))
      << agent_->cli("logs", "ordered").out;
  for (const json& init : pod("ordered")["status"]["initContainerStatuses"]) {
    EXPECT_EQ(init["state"]["terminated"].value("reason", ""), "Completed") << init.dump();
  }
}

TEST_F(PodLifecycleTest, AFailedInitContainerFailsAPodThatNeverRestarts) {
  const std::string manifest =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: badinit}\nspec:\n  hostNetwork: true\n  restartPolicy: Never\n"
      "  initContainers:\n  - {name: setup, image: local/busybox:1, command: [sh, -c, 'exit 4']}\n"
      "  containers:\n  - {name: main, image: local/busybox:1, command: [sleep, '1000']}\n";
  ASSERT_EQ(apply(manifest).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("badinit")) == "Failed"; }, 30s)) << pod("badinit").dump(1);
  EXPECT_THAT(agent_->cli("get", "pods").out, ::testing::ContainsRegex("badinit +0/1 +Init:Error"));
  EXPECT_FALSE(pod("badinit")["status"]["containerStatuses"][0]["state"].contains("running"));
}

TEST_F(PodLifecycleTest, AnAgentKilledWithSigkillReadoptsItsRunningPods) {
  ASSERT_EQ(apply(pod_yaml("steady", "exec sleep 1000")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("steady")) == "Running"; }, 30s));
  const json before = pod("steady")["status"]["containerStatuses"][0];
  agent_->signal(SIGKILL);
  ASSERT_TRUE(agent_->wait_exit(5s).has_value());
  ASSERT_TRUE(agent_->start()) << agent_->stderr_text();
  ASSERT_TRUE(eventually([&] { return phase(pod("steady")) == "Running"; }, 30s)) << pod("steady").dump(1);
  const json after = pod("steady")["status"]["containerStatuses"][0];
  EXPECT_EQ(after.value("containerID", ""), before.value("containerID", ""));
  EXPECT_EQ(after.value("restartCount", -1), 0);
  EXPECT_EQ(after["state"]["running"].value("startedAt", ""), before["state"]["running"].value("startedAt", ""));
}

TEST_F(PodLifecycleTest, BadManifestsAreRefusedWithTheirReasonAndChangeNothing) {
  ASSERT_EQ(apply(pod_yaml("keep", "exec sleep 1000")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("keep")) == "Running"; }, 30s));
  const std::string id = pod("keep")["status"]["containerStatuses"][0].value("containerID", "");
  struct Case {
    std::string manifest;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: x\n", "line 4, column 1: end of map flow not found"},
      {pod_yaml("x", "true") + "    livenessProbe: {}\n", "spec.containers[0].livenessProbe: unknown or unsupported field"},
      {pod_yaml("Bad_Name", "true"), "metadata.name: Invalid value: \"Bad_Name\""},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: dup}\nspec:\n  containers:\n  - {name: a, image: local/busybox:1}\n"
       "  - {name: a, image: local/busybox:1}\n",
       "spec.containers[1].name: Duplicate value: \"a\""},
      {"apiVersion: v1\nkind: Pod\nmetadata: {name: grace}\nspec:\n  terminationGracePeriodSeconds: -1\n"
       "  containers:\n  - {name: a, image: local/busybox:1}\n",
       "spec.terminationGracePeriodSeconds: Invalid value: -1"},
  };
  for (const Case& c : cases) {
    const CommandResult r = apply(c.manifest);
    EXPECT_NE(r.exit_code, 0) << c.manifest;
    EXPECT_THAT(r.err, HasSubstr(c.error)) << c.manifest;
  }
  EXPECT_EQ(pod_names(), std::vector<std::string>{"keep"});
  EXPECT_EQ(pod("keep")["status"]["containerStatuses"][0].value("containerID", ""), id);
}

TEST_F(PodLifecycleTest, AnImageThatDoesNotExistIsErrImagePullThenImagePullBackOff) {
  const std::string manifest =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: noimage}\nspec:\n  hostNetwork: true\n"
      "  containers:\n  - {name: main, image: '127.0.0.1:9/none/such:1'}\n";
  ASSERT_EQ(apply(manifest).exit_code, 0);
  std::set<std::string> reasons;
  ASSERT_TRUE(eventually([&] {
    const json p = pod("noimage");
    if (p.is_object() && p["status"].contains("containerStatuses")) {
      reasons.insert(p["status"]["containerStatuses"][0]["state"]["waiting"].value("reason", ""));
    }
    return reasons.count("ErrImagePull") && reasons.count("ImagePullBackOff");
  }, 60s)) << pod("noimage").dump(1);
  EXPECT_EQ(phase(pod("noimage")), "Pending");
}

TEST_F(PodLifecycleTest, DeleteSendsSigtermAndKillsAfterTheGracePeriod) {
  // Ignores SIGTERM: only the SIGKILL after the 5 s grace period ends it.
  ASSERT_EQ(apply(pod_yaml("stubborn", "trap '' TERM; while true; do sleep 0.1; done")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("stubborn")) == "Running"; }, 30s));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(agent_->cli("delete", "pod", "stubborn").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return pod_names().empty(); }, 30s));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 5s);
  EXPECT_LT(took, 15s);
}

}  // namespace
}  // namespace deckhand::test
