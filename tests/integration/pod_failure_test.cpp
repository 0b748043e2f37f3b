// Pods that fail, end to end through the installed agent and CLI, and what
// the user is told, in Kubernetes' words: a container killed for going over
// its memory limit (OOMKilled, 137), a hostPath volume of the wrong type
// (FailedMount, the pod stays Pending, other pods run on), a pod on the pod
// network with no network plugin loaded, and the pod metrics on /metrics. hostNetwork pods, like pod_lifecycle_test.cpp (which
// covers refused manifests: BadManifestsAreRefusedWithTheirReasonAndChangeNothing).
#include <filesystem>

#include "pod_test_support.hpp"

namespace deckhand::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using pods::PodAgent;

class PodFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "pods need root";
    agent_ = std::make_unique<PodAgent>();
    ASSERT_TRUE(agent().serving()) << agent().stderr_text();
    const CommandResult loaded = agent_->load_busybox();
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  }

  void TearDown() override {
    if (agent_) agent_->delete_everything();
  }

  AgentUnderTest& agent() { return agent_->agent(); }

  // A one-container hostNetwork pod running `script` in busybox's sh;
  // `container_extra` and `spec_extra` are indented YAML lines.
  static std::string pod_yaml(const std::string& name, const std::string& script, const std::string& policy = "Always",
                              const std::string& container_extra = "", const std::string& spec_extra = "") {
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n  hostNetwork: true\n  restartPolicy: " +
           policy + "\n  terminationGracePeriodSeconds: 2\n" + spec_extra +
           "  containers:\n  - name: main\n    image: local/busybox:1\n    command: [\"sh\", \"-c\", " + json(script).dump() +
           "]\n" + container_extra;
  }

  std::unique_ptr<PodAgent> agent_;
};

TEST_F(PodFailureTest, AContainerOverItsMemoryLimitIsOOMKilledWithExitCode137) {
  // The shell itself holds the 64 MiB of the command substitution: the OOM
  // killer's victim is the container's first process.
  const std::string limits = "    resources:\n      limits: {memory: 16Mi}\n";
  ASSERT_EQ(agent_->apply(pod_yaml("hog", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived", "Never", limits))
                .exit_code,
            0);
  ASSERT_TRUE(eventually([&] { return PodAgent::phase(agent_->pod("hog")) == "Failed"; }, 60s))
      << agent_->pod("hog").dump(1);
  const json c = agent_->pod("hog")["status"]["containerStatuses"][0];
  EXPECT_EQ(c["state"]["terminated"].value("reason", ""), "OOMKilled") << c.dump(1);
  EXPECT_EQ(c["state"]["terminated"].value("exitCode", 0), 137) << c.dump(1);
  EXPECT_EQ(c.value("restartCount", -1), 0);
  EXPECT_THAT(agent().cli("logs", "hog").out, ::testing::Not(HasSubstr("survived")));
  EXPECT_THAT(agent().cli("get", "pods").out, ::testing::ContainsRegex("hog +0/1 +OOMKilled +0"));
  EXPECT_THAT(agent().cli("describe", "pod", "hog").out, HasSubstr("OOMKilled"));
}

// A child killed for memory makes the container OOMKilled too, whatever its
// first process then exits with, as containerd reports the cgroup's OOM event.
TEST_F(PodFailureTest, AChildKilledForMemoryMarksTheContainerOOMKilled) {
  const std::string limits = "    resources:\n      limits: {memory: 16Mi}\n";
  const std::string script = "sh -c 'x=$(head -c 67108864 /dev/zero | tr \"\\0\" a)'; echo child $?; exit 3";
  ASSERT_EQ(agent_->apply(pod_yaml("parent", script, "Never", limits)).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return PodAgent::phase(agent_->pod("parent")) == "Failed"; }, 60s))
      << agent_->pod("parent").dump(1);
  const json c = agent_->pod("parent")["status"]["containerStatuses"][0];
  EXPECT_EQ(c["state"]["terminated"].value("exitCode", 0), 3) << c.dump(1);
  EXPECT_EQ(c["state"]["terminated"].value("reason", ""), "OOMKilled") << c.dump(1);
  EXPECT_THAT(agent().cli("logs", "parent").out, HasSubstr("child 137\n"));
}

TEST_F(PodFailureTest, AnOOMKilledContainerThatRestartsShowsItInLastState) {
  const std::string limits = "    resources:\n      limits: {memory: 16Mi}\n";
  ASSERT_EQ(agent_->apply(pod_yaml("rehog", "x=$(head -c 67108864 /dev/zero | tr '\\0' a)", "Always", limits)).exit_code,
            0);
  ASSERT_TRUE(eventually([&] {
    const json p = agent_->pod("rehog");
    return p.is_object() && p["status"].contains("containerStatuses") &&
           p["status"]["containerStatuses"][0].value("restartCount", 0) >= 1 &&
           p["status"]["containerStatuses"][0]["lastState"].contains("terminated");
  }, 60s)) << agent_->pod("rehog").dump(1);
  const json last = agent_->pod("rehog")["status"]["containerStatuses"][0]["lastState"]["terminated"];
  EXPECT_EQ(last.value("reason", ""), "OOMKilled") << last.dump(1);
  EXPECT_EQ(last.value("exitCode", 0), 137);
}

TEST_F(PodFailureTest, AHostPathOfTheWrongTypeKeepsThePodPendingWithTheKubeletsReason) {
  // Some other pod, running all along.
  ASSERT_EQ(agent_->apply(pod_yaml("bystander", "exec sleep 1000")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("bystander")) << agent_->pod("bystander").dump(1);
  const std::string bystander_id = agent_->pod("bystander")["status"]["containerStatuses"][0].value("containerID", "");

  const std::string file = agent().path("a-file");
  const std::string missing = agent().path("no-such-file");
  write_file(file, "not a directory\n");
  auto with_host_path = [](const std::string& name, const std::string& path, const std::string& type) {
    return pod_yaml(name, "exec sleep 1000", "Always", "    volumeMounts: [{name: data, mountPath: /data}]\n",
                    "  volumes:\n  - name: data\n    hostPath: {path: " + path + ", type: " + type + "}\n");
  };
  ASSERT_EQ(agent_->apply(with_host_path("notadir", file, "Directory")).exit_code, 0);
  ASSERT_EQ(agent_->apply(with_host_path("nofile", missing, "File")).exit_code, 0);

  const std::vector<std::pair<std::string, std::string>> expected = {
      {"notadir", "MountVolume.SetUp failed for volume \"data\" : hostPath type check failed: " + file +
                      " is not a directory"},
      {"nofile", "MountVolume.SetUp failed for volume \"data\" : hostPath type check failed: " + missing +
                     " is not a file"},
  };
  for (const auto& [name, message] : expected) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(eventually([&, name = name] { return !agent_->event_messages(name, "FailedMount").empty(); }, 30s))
        << agent_->pod(name).dump(1);
    EXPECT_EQ(agent_->event_messages(name, "FailedMount").front(), message);
    const json p = agent_->pod(name);
    EXPECT_EQ(PodAgent::phase(p), "Pending") << p.dump(1);
    EXPECT_EQ(p["status"]["containerStatuses"][0]["state"]["waiting"].value("reason", ""), "ContainerCreating") << p.dump(1);
    EXPECT_TRUE(agent_->event_messages(name, "FailedCreatePodSandBox").empty()) << "a volume is not the sandbox";
    const std::string described = agent().cli("describe", "pod", name).out;
    EXPECT_THAT(described, HasSubstr("FailedMount"));
    EXPECT_THAT(described, HasSubstr("hostPath type check failed"));
  }
  // Nothing of them runs, and the other pod never noticed.
  EXPECT_THAT(agent().cli("get", "pods").out, ::testing::ContainsRegex("notadir +0/1 +ContainerCreating +0"));
  const json bystander = agent_->pod("bystander");
  EXPECT_EQ(PodAgent::phase(bystander), "Running");
  EXPECT_EQ(bystander["status"]["containerStatuses"][0].value("containerID", ""), bystander_id);
  EXPECT_EQ(bystander["status"]["containerStatuses"][0].value("restartCount", -1), 0);

  // Once the path is what the pod asks for, its next try starts it.
  fs::remove(file);
  fs::create_directory(file);
  EXPECT_TRUE(agent_->eventually_running("notadir", 40s)) << agent_->pod("notadir").dump(1);
}

TEST_F(PodFailureTest, APodOnThePodNetworkWithoutANetworkPluginWaitsAndSaysWhy) {
  // This agent loads no network plugin: a pod that is not hostNetwork cannot
  // get its network, and says so; nothing of it runs.
  const std::string manifest =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: nonet}\nspec:\n  containers:\n"
      "  - {name: main, image: local/busybox:1, command: [sleep, '1000']}\n";
  ASSERT_EQ(agent_->apply(manifest).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return !agent_->event_messages("nonet", "FailedCreatePodSandBox").empty(); }, 30s))
      << agent_->pod("nonet").dump(1);
  EXPECT_EQ(agent_->event_messages("nonet", "FailedCreatePodSandBox").front(),
            "Failed to create pod sandbox: no network plugin is configured; only hostNetwork pods can run");
  const json p = agent_->pod("nonet");
  EXPECT_EQ(PodAgent::phase(p), "Pending");
  EXPECT_EQ(p["status"]["containerStatuses"][0]["state"]["waiting"].value("reason", ""), "ContainerCreating") << p.dump(1);
  EXPECT_FALSE(p["status"].contains("podIP")) << p.dump(1);
}

TEST_F(PodFailureTest, PodMetricsCountStartsPodsByPhaseAndContainersByState) {
  ASSERT_EQ(agent_->apply(pod_yaml("counted", "exec sleep 1000")).exit_code, 0);
  ASSERT_EQ(agent_->apply(pod_yaml("done", "true", "Never")).exit_code, 0);
  ASSERT_TRUE(agent_->eventually_running("counted")) << agent_->pod("counted").dump(1);
  ASSERT_TRUE(eventually([&] { return PodAgent::phase(agent_->pod("done")) == "Succeeded"; }, 30s));

  const HttpResult metrics = agent().get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const auto started = metric_sample(metrics.body, "deckhand_pod_start_duration_seconds_count");
  ASSERT_TRUE(started.has_value()) << metrics.body;
  EXPECT_GE(std::stod(*started), 1) << "the running pod's start was observed";
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_pods{phase=\"Running\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_pods{phase=\"Succeeded\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_pods{phase=\"Pending\"}"), "0");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_pods{phase=\"Failed\"}"), "0");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_containers{state=\"running\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_containers{state=\"terminated\"}"), "1");
  EXPECT_EQ(metric_sample(metrics.body, "deckhand_containers{state=\"waiting\"}"), "0");

  // The gauges follow the pods: both deleted, nothing counted.
  ASSERT_EQ(agent().cli("delete", "pod", "counted").exit_code, 0);
  ASSERT_EQ(agent().cli("delete", "pod", "done").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->pod_names().empty(); }, 30s));
  const std::string after = agent().get("/metrics").body;
  EXPECT_EQ(metric_sample(after, "deckhand_pods{phase=\"Running\"}"), "0");
  EXPECT_EQ(metric_sample(after, "deckhand_containers{state=\"running\"}"), "0");
  EXPECT_EQ(metric_sample(after, "deckhand_containers{state=\"terminated\"}"), "0");
  EXPECT_EQ(metric_sample(after, "deckhand_pod_start_duration_seconds_count"), started) << "a histogram keeps its count";
}

}  // namespace
}  // namespace deckhand::test
