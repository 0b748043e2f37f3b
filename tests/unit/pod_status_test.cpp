// Pod status as the kubelet reports it: metav1.Time, the JSON an API server
// would hold (checked against kubectl-style samples) and back, the phase
// table of getPhase for each restart policy with and without init
// containers, the generated conditions and their transition times.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pods/pod_parse.hpp"
#include "pods/pod_status.hpp"

namespace deckhand::pods {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const Time kT0 = std::chrono::sys_days{std::chrono::year{2026} / 7 / 24} + 10h + 5min + 58s;

Time at(std::chrono::seconds offset) { return kT0 + offset; }

// --- metav1.Time --------------------------------------------------------------

TEST(PodStatusTime, FormatsUtcWholeSeconds) {
  EXPECT_EQ(format_time(kT0), "2026-07-24T10:05:58Z");
  EXPECT_EQ(format_time(kT0 + 999ms), "2026-07-24T10:05:58Z");
  EXPECT_EQ(format_time(Time{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_time(std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s),
            "2024-02-29T23:59:59Z");
}

TEST(PodStatusTime, ParsesRfc3339WithOffsetsAndFractions) {
  EXPECT_EQ(parse_time("2026-07-24T10:05:58Z"), kT0);
  EXPECT_EQ(parse_time("2026-07-24T12:05:58+02:00"), kT0);
  EXPECT_EQ(parse_time("2026-07-24T05:35:58-04:30"), kT0);
  EXPECT_EQ(parse_time("2026-07-24T10:05:58.250Z"), kT0 + 250ms);
  EXPECT_EQ(parse_time("2026-07-24T10:05:58.123456Z"), kT0 + 123456us);
}

TEST(PodStatusTime, RefusesWhatIsNotRfc3339) {
  for (const char* bad : {"2026-07-24 10:05:58Z", "2026-07-24T10:05:58", "2026-02-30T00:00:00Z",
                          "2026-07-24T24:00:00Z", "2026-07-24T10:05:58.Z", "2026-7-24T10:05:58Z",
                          "2026-07-24T10:05:58Zjunk", ""}) {
    EXPECT_THROW(parse_time(bad), ManifestError) << bad;
  }
  try {
    parse_time("yesterday", "status.startTime");
    FAIL() << "no error";
  } catch (const ManifestError& error) {
    EXPECT_STREQ(error.what(),
                 "status.startTime: invalid time \"yesterday\": must be RFC 3339, e.g. \"2026-07-24T10:06:01Z\"");
  }
}

// --- JSON ---------------------------------------------------------------------

// A running nginx pod, as `kubectl get pod -o json` shows its status (with
// deckhand's container IDs).
const char* const kRunningSample = R"json({
  "phase": "Running",
  "conditions": [
    {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-07-24T10:06:00Z"},
    {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-07-24T10:05:58Z"},
    {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-07-24T10:06:02Z"},
    {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-07-24T10:06:02Z"},
    {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-07-24T10:05:58Z"}
  ],
  "hostIP": "192.168.49.2",
  "hostIPs": [{"ip": "192.168.49.2"}],
  "podIP": "10.88.0.7",
  "podIPs": [{"ip": "10.88.0.7"}],
  "startTime": "2026-07-24T10:05:58Z",
  "containerStatuses": [{
    "name": "web",
    "state": {"running": {"startedAt": "2026-07-24T10:06:01Z"}},
    "lastState": {},
    "ready": true,
    "restartCount": 0,
    "image": "docker.io/library/nginx:1.27",
    "imageID": "docker.io/library/nginx@sha256:4f0e",
    "containerID": "deckhand://4f0e9a",
    "started": true
  }],
  "qosClass": "BestEffort"
})json";

PodStatus running_status() {
  PodStatus status;
  status.phase = PodPhase::running;
  const auto add = [&](std::string_view type, std::chrono::seconds when) {
    PodCondition condition;
    condition.type = std::string(type);
    condition.status = ConditionStatus::true_;
    condition.last_transition_time = at(when);
    status.conditions.push_back(condition);
  };
  add(condition_types::kPodReadyToStartContainers, 2s);
  add(condition_types::kInitialized, 0s);
  add(condition_types::kReady, 4s);
  add(condition_types::kContainersReady, 4s);
  add(condition_types::kPodScheduled, 0s);
  status.host_ip = "192.168.49.2";
  status.host_ips = {"192.168.49.2"};
  status.pod_ip = "10.88.0.7";
  status.pod_ips = {"10.88.0.7"};
  status.start_time = at(0s);
  ContainerStatus web;
  web.name = "web";
  web.state.running = ContainerStateRunning{at(3s)};
  web.ready = true;
  web.image = "docker.io/library/nginx:1.27";
  web.image_id = "docker.io/library/nginx@sha256:4f0e";
  web.container_id = container_id_uri("4f0e9a");
  web.started = true;
  status.container_statuses.push_back(web);
  status.qos_class = QosClass::best_effort;
  return status;
}

// A crash-looping container and one not created yet, in a pod whose init
// container has completed.
const char* const kCrashLoopSample = R"json({
  "phase": "Running",
  "startTime": "2026-07-24T10:05:58Z",
  "initContainerStatuses": [{
    "name": "setup",
    "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": "2026-07-24T10:05:59Z",
                             "finishedAt": "2026-07-24T10:06:00Z", "containerID": "deckhand://aa11"}},
    "lastState": {},
    "ready": true,
    "restartCount": 0,
    "image": "busybox",
    "imageID": "docker.io/library/busybox@sha256:bb",
    "containerID": "deckhand://aa11",
    "started": false
  }],
  "containerStatuses": [{
    "name": "app",
    "state": {"waiting": {"reason": "CrashLoopBackOff",
                          "message": "back-off 20s restarting failed container=app pod=web_default(9b2c)"}},
    "lastState": {"terminated": {"exitCode": 137, "signal": 9, "reason": "OOMKilled", "message": "killed",
                                 "startedAt": "2026-07-24T10:06:10Z", "finishedAt": "2026-07-24T10:06:12Z",
                                 "containerID": "deckhand://cc33"}},
    "ready": false,
    "restartCount": 3,
    "image": "app:1",
    "imageID": "docker.io/library/app@sha256:cc",
    "containerID": "deckhand://cc33",
    "started": false
  }, {
    "name": "never-started",
    "state": {"waiting": {"reason": "PodInitializing"}},
    "lastState": {},
    "ready": false,
    "restartCount": 0,
    "image": "sidecar:2",
    "imageID": ""
  }],
  "qosClass": "Burstable"
})json";

PodStatus crash_loop_status() {
  PodStatus status;
  status.phase = PodPhase::running;
  status.start_time = at(0s);
  ContainerStatus setup;
  setup.name = "setup";
  setup.state.terminated = ContainerStateTerminated{0, 0, "Completed", "", at(1s), at(2s), "deckhand://aa11"};
  setup.ready = true;
  setup.image = "busybox";
  setup.image_id = "docker.io/library/busybox@sha256:bb";
  setup.container_id = "deckhand://aa11";
  setup.started = false;
  status.init_container_statuses.push_back(setup);
  ContainerStatus app;
  app.name = "app";
  app.state.waiting =
      ContainerStateWaiting{"CrashLoopBackOff", "back-off 20s restarting failed container=app pod=web_default(9b2c)"};
  app.last_state.terminated = ContainerStateTerminated{137, 9, "OOMKilled", "killed", at(12s), at(14s), "deckhand://cc33"};
  app.restart_count = 3;
  app.image = "app:1";
  app.image_id = "docker.io/library/app@sha256:cc";
  app.container_id = "deckhand://cc33";
  app.started = false;
  status.container_statuses.push_back(app);
  Container sidecar;
  sidecar.name = "never-started";
  sidecar.image = "sidecar:2";
  status.container_statuses.push_back(initial_container_status(sidecar, true));
  status.qos_class = QosClass::burstable;
  return status;
}

TEST(PodStatusJson, RunningPodMatchesTheApiServersShape) {
  EXPECT_EQ(to_json(running_status()), json::parse(kRunningSample));
}

TEST(PodStatusJson, CrashLoopingPodMatchesTheApiServersShape) {
  EXPECT_EQ(to_json(crash_loop_status()), json::parse(kCrashLoopSample));
}

TEST(PodStatusJson, OmissionRules) {
  ContainerStatus bare;
  bare.name = "web";
  const json out = to_json(bare);
  // ready, restartCount, image and imageID always; state and lastState as {};
  // containerID and started left out.
  EXPECT_EQ(out, json::parse(R"({"name":"web","state":{},"lastState":{},"ready":false,"restartCount":0,
                                 "image":"","imageID":""})"));
  bare.started = false;
  EXPECT_EQ(to_json(bare).at("started"), false);

  // A zero time is null, not left out; a zero exit code is kept, a zero
  // signal is not.
  ContainerStatus never_ran;
  never_ran.name = "web";
  never_ran.state.terminated = ContainerStateTerminated{};
  never_ran.state.terminated->exit_code = kStartErrorExitCode;
  never_ran.state.terminated->reason = std::string(reasons::kStartError);
  EXPECT_EQ(to_json(never_ran).at("state"),
            json::parse(R"({"terminated":{"exitCode":128,"reason":"StartError","startedAt":null,"finishedAt":null}})"));
  never_ran.state = ContainerState{};
  never_ran.state.running = ContainerStateRunning{};
  EXPECT_EQ(to_json(never_ran).at("state"), json::parse(R"({"running":{"startedAt":null}})"));

  // A fresh pod status: only its phase.
  EXPECT_EQ(to_json(PodStatus{}), json::parse(R"({"phase":"Pending"})"));

  PodCondition condition;
  condition.type = "Ready";
  condition.status = ConditionStatus::false_;
  condition.reason = "ContainersNotReady";
  EXPECT_EQ(to_json(condition), json::parse(R"({"type":"Ready","status":"False","lastProbeTime":null,
                                                "lastTransitionTime":null,"reason":"ContainersNotReady"})"));
}

TEST(PodStatusJson, RoundTrips) {
  for (const PodStatus& status : {running_status(), crash_loop_status(), PodStatus{}}) {
    EXPECT_EQ(pod_status_from_json(to_json(status)), status);
  }
  EXPECT_EQ(to_json(pod_status_from_json(json::parse(kCrashLoopSample))), json::parse(kCrashLoopSample));
}

TEST(PodStatusJson, ReadsBackWhatAnApiServerAdds) {
  json server = json::parse(kRunningSample);
  server["observedGeneration"] = 1;
  server["containerStatuses"][0]["volumeMounts"] = json::array({{{"name", "data"}, {"mountPath", "/data"}}});
  server["containerStatuses"][0]["resources"] = json::object();
  server["conditions"][0]["observedGeneration"] = 1;
  server["conditions"].push_back(
      {{"type", "DisruptionTarget"}, {"status", "True"}, {"lastProbeTime", nullptr}, {"reason", "EvictionByEvictionAPI"}});
  const PodStatus status = pod_status_from_json(server);
  EXPECT_EQ(status.container_statuses, running_status().container_statuses);
  ASSERT_EQ(status.conditions.size(), 6u);
  EXPECT_EQ(status.conditions[5].type, "DisruptionTarget");
  EXPECT_EQ(status.conditions[5].reason, "EvictionByEvictionAPI");
}

TEST(PodStatusJson, BadInputNamesThePath) {
  const auto error_of = [](const json& value) -> std::string {
    try {
      pod_status_from_json(value);
    } catch (const ManifestError& error) {
      return error.what();
    }
    return "no error";
  };
  json sample = json::parse(kRunningSample);
  sample["containerStatuses"][0]["ready"] = "yes";
  EXPECT_EQ(error_of(sample), "containerStatuses[0].ready: must be a boolean");

  sample = json::parse(kRunningSample);
  sample["phase"] = "Sometimes";
  EXPECT_EQ(error_of(sample),
            "phase: Unsupported value: \"Sometimes\": supported values: \"Pending\", \"Running\", \"Succeeded\", "
            "\"Failed\", \"Unknown\"");

  sample = json::parse(kRunningSample);
  sample["containerStatuses"][0]["state"]["waiting"] = {{"reason", "ContainerCreating"}};
  EXPECT_EQ(error_of(sample), "containerStatuses[0].state: may have only one of waiting, running or terminated");

  sample = json::parse(kRunningSample);
  sample["conditions"][2]["lastTransitionTime"] = "soon";
  EXPECT_EQ(error_of(sample),
            "conditions[2].lastTransitionTime: invalid time \"soon\": must be RFC 3339, e.g. \"2026-07-24T10:06:01Z\"");

  sample = json::parse(kRunningSample);
  sample["podIPs"] = "10.88.0.7";
  EXPECT_EQ(error_of(sample), "podIPs: must be an array");

  sample = json::parse(kRunningSample);
  sample["containerStatuses"][0].erase("name");
  EXPECT_EQ(error_of(sample), "containerStatuses[0].name: Required value");

  EXPECT_EQ(error_of(json::array()), "must be an object");
}

// --- Container helpers ----------------------------------------------------------

TEST(PodStatusContainers, DefaultWaitingReasons) {
  EXPECT_EQ(default_waiting_state(false).waiting->reason, "ContainerCreating");
  EXPECT_EQ(default_waiting_state(true).waiting->reason, "PodInitializing");
  Container web;
  web.name = "web";
  web.image = "nginx";
  EXPECT_EQ(to_json(initial_container_status(web, false)),
            json::parse(R"({"name":"web","state":{"waiting":{"reason":"ContainerCreating"}},"lastState":{},
                            "ready":false,"restartCount":0,"image":"nginx","imageID":""})"));
}

TEST(PodStatusContainers, TerminatedReasonsAsContainerdGivesThem) {
  EXPECT_EQ(terminated_reason(0, false), "Completed");
  EXPECT_EQ(terminated_reason(1, false), "Error");
  EXPECT_EQ(terminated_reason(143, false), "Error");
  EXPECT_EQ(terminated_reason(137, true), "OOMKilled");
  EXPECT_EQ(terminated_reason(0, true), "OOMKilled");
  EXPECT_EQ(container_id_uri("4f0e"), "deckhand://4f0e");
}

TEST(PodStatusContainers, StartedAndReadyWithoutProbes) {
  ContainerStatus status;
  status.state = default_waiting_state(false);
  set_started_and_ready(status, false);
  EXPECT_EQ(status.started, false);
  EXPECT_FALSE(status.ready);

  status.state = ContainerState{};
  status.state.running = ContainerStateRunning{kT0};
  set_started_and_ready(status, false);
  EXPECT_EQ(status.started, true);
  EXPECT_TRUE(status.ready);

  // An init container is ready once it succeeded, never while running.
  set_started_and_ready(status, true);
  EXPECT_EQ(status.started, true);
  EXPECT_FALSE(status.ready);
  status.state = ContainerState{};
  status.state.terminated = ContainerStateTerminated{0, 0, "Completed", "", kT0, kT0, ""};
  set_started_and_ready(status, true);
  EXPECT_EQ(status.started, false);
  EXPECT_TRUE(status.ready);
  status.state.terminated->exit_code = 1;
  set_started_and_ready(status, true);
  EXPECT_FALSE(status.ready);

  // A regular container that exited is neither started nor ready.
  status.state.terminated->exit_code = 0;
  set_started_and_ready(status, false);
  EXPECT_FALSE(status.ready);
}

// --- Phase --------------------------------------------------------------------------

ContainerStatus waiting(const std::string& name, bool after_failure = false, int32_t last_exit = 1) {
  ContainerStatus status;
  status.name = name;
  status.state.waiting = ContainerStateWaiting{after_failure ? "CrashLoopBackOff" : "ContainerCreating", ""};
  if (after_failure) status.last_state.terminated = ContainerStateTerminated{last_exit, 0, "Error", "", kT0, kT0, ""};
  return status;
}

ContainerStatus running(const std::string& name) {
  ContainerStatus status;
  status.name = name;
  status.state.running = ContainerStateRunning{kT0};
  status.ready = true;
  return status;
}

ContainerStatus exited(const std::string& name, int32_t exit_code) {
  ContainerStatus status;
  status.name = name;
  status.state.terminated = ContainerStateTerminated{exit_code, 0, "", "", kT0, kT0, ""};
  status.ready = exit_code == 0;  // as set for init containers
  return status;
}

PodSpec spec_with(RestartPolicy policy, std::vector<std::string> containers, std::vector<std::string> init = {}) {
  PodSpec spec;
  spec.restart_policy = policy;
  const auto container = [](const std::string& name) {
    Container c;
    c.name = name;
    c.image = "busybox";
    return c;
  };
  for (const auto& name : init) spec.init_containers.push_back(container(name));
  for (const auto& name : containers) spec.containers.push_back(container(name));
  return spec;
}

struct PhaseCase {
  const char* what;
  RestartPolicy policy;
  std::vector<std::string> init_names;
  std::vector<ContainerStatus> init;
  std::vector<ContainerStatus> containers;
  bool terminal;
  PodPhase want;
};

TEST(PodStatusPhase, KubeletGetPhaseTable) {
  constexpr auto always = RestartPolicy::always;
  constexpr auto on_failure = RestartPolicy::on_failure;
  constexpr auto never = RestartPolicy::never;
  const std::vector<PhaseCase> cases = {
      // Regular containers only (a, b).
      {"no statuses yet", always, {}, {}, {}, false, PodPhase::pending},
      {"both being created", always, {}, {}, {waiting("a"), waiting("b")}, false, PodPhase::pending},
      {"one running, one created", always, {}, {}, {running("a"), waiting("b")}, false, PodPhase::pending},
      {"one running, one unknown", always, {}, {}, {running("a")}, false, PodPhase::pending},
      {"both running", never, {}, {}, {running("a"), running("b")}, false, PodPhase::running},
      {"one running, one exited", never, {}, {}, {running("a"), exited("b", 1)}, false, PodPhase::running},
      {"all succeeded, Always restarts", always, {}, {}, {exited("a", 0), exited("b", 0)}, false, PodPhase::running},
      {"all succeeded, OnFailure", on_failure, {}, {}, {exited("a", 0), exited("b", 0)}, false, PodPhase::succeeded},
      {"all succeeded, Never", never, {}, {}, {exited("a", 0), exited("b", 0)}, false, PodPhase::succeeded},
      {"one failed, Always", always, {}, {}, {exited("a", 0), exited("b", 1)}, false, PodPhase::running},
      {"one failed, OnFailure restarts it", on_failure, {}, {}, {exited("a", 0), exited("b", 1)}, false,
       PodPhase::running},
      {"one failed, Never", never, {}, {}, {exited("a", 0), exited("b", 1)}, false, PodPhase::failed},
      {"crash loop, Always", always, {}, {}, {waiting("a", true), running("b")}, false, PodPhase::running},
      {"both in back-off, Always", always, {}, {}, {waiting("a", true), waiting("b", true)}, false,
       PodPhase::running},
      {"both in back-off, OnFailure", on_failure, {}, {}, {waiting("a", true), waiting("b", true)}, false,
       PodPhase::running},
      {"terminal, all succeeded, Always", always, {}, {}, {exited("a", 0), exited("b", 0)}, true,
       PodPhase::succeeded},
      {"terminal, one failed, Always", always, {}, {}, {exited("a", 0), exited("b", 137)}, true, PodPhase::failed},
      {"terminal, still running", always, {}, {}, {running("a"), exited("b", 0)}, true, PodPhase::running},
      // With init containers (i1, i2) before a and b.
      {"init not started", always, {"i1", "i2"}, {}, {waiting("a"), waiting("b")}, false, PodPhase::pending},
      {"init running", never, {"i1", "i2"}, {exited("i1", 0), running("i2")}, {waiting("a"), waiting("b")}, false,
       PodPhase::pending},
      {"init done, containers created", always, {"i1", "i2"}, {exited("i1", 0), exited("i2", 0)},
       {waiting("a"), waiting("b")}, false, PodPhase::pending},
      {"init done, containers running", always, {"i1", "i2"}, {exited("i1", 0), exited("i2", 0)},
       {running("a"), running("b")}, false, PodPhase::running},
      {"init failed, Never", never, {"i1", "i2"}, {exited("i1", 1), waiting("i2")}, {waiting("a"), waiting("b")},
       false, PodPhase::failed},
      {"init failed, OnFailure retries", on_failure, {"i1", "i2"}, {exited("i1", 1), waiting("i2")},
       {waiting("a"), waiting("b")}, false, PodPhase::pending},
      {"init in back-off, Always", always, {"i1", "i2"}, {waiting("i1", true), waiting("i2")},
       {waiting("a"), waiting("b")}, false, PodPhase::pending},
      {"init in back-off, Never fails", never, {"i1", "i2"}, {waiting("i1", true), waiting("i2")},
       {waiting("a"), waiting("b")}, false, PodPhase::failed},
      {"init restarted after success", on_failure, {"i1"}, {waiting("i1", true, 0)}, {running("a"), running("b")},
       false, PodPhase::running},
      {"init done, all succeeded, OnFailure", on_failure, {"i1"}, {exited("i1", 0)},
       {exited("a", 0), exited("b", 0)}, false, PodPhase::succeeded},
  };
  for (const auto& c : cases) {
    const PodSpec spec = spec_with(c.policy, {"a", "b"}, c.init_names);
    EXPECT_EQ(to_string(pod_phase(spec, c.init, c.containers, c.terminal)), to_string(c.want)) << c.what;
  }
}

// --- Conditions -----------------------------------------------------------------------

std::string describe(const PodCondition& c) {
  std::string out = c.type + "=" + std::string(to_string(c.status));
  if (!c.reason.empty()) out += " " + c.reason;
  if (!c.message.empty()) out += " (" + c.message + ")";
  return out;
}

std::vector<std::string> describe(const std::vector<PodCondition>& conditions) {
  std::vector<std::string> out;
  for (const auto& c : conditions) out.push_back(describe(c));
  return out;
}

TEST(PodStatusConditions, RunningAndReadyPod) {
  PodStatus status;
  status.phase = PodPhase::running;
  status.container_statuses = {running("a"), running("b")};
  EXPECT_EQ(describe(kubelet_conditions(spec_with(RestartPolicy::always, {"a", "b"}), status, true)),
            (std::vector<std::string>{"PodReadyToStartContainers=True", "Initialized=True", "Ready=True",
                                      "ContainersReady=True", "PodScheduled=True"}));
}

TEST(PodStatusConditions, UnreadyAndUnknownContainers) {
  PodStatus status;
  status.phase = PodPhase::pending;
  status.container_statuses = {waiting("a")};
  ContainerStatus c = waiting("c");
  status.container_statuses.push_back(c);
  const PodSpec spec = spec_with(RestartPolicy::always, {"a", "b", "c"});
  EXPECT_EQ(describe(kubelet_conditions(spec, status, false)),
            (std::vector<std::string>{
                "PodReadyToStartContainers=False", "Initialized=True",
                "Ready=False ContainersNotReady (containers with unknown status: [b], containers with unready status: "
                "[a c])",
                "ContainersReady=False ContainersNotReady (containers with unknown status: [b], containers with "
                "unready status: [a c])",
                "PodScheduled=True"}));
}

TEST(PodStatusConditions, InitContainers) {
  const PodSpec spec = spec_with(RestartPolicy::always, {"a"}, {"i1", "i2", "i3"});
  // i1 done, i2 running (so not ready, as an init container), i3 without a status.
  ContainerStatus i2 = running("i2");
  set_started_and_ready(i2, true);
  EXPECT_EQ(describe(pod_initialized_condition(spec, {exited("i1", 0), i2}, {waiting("a")},
                                               PodPhase::pending)),
            "Initialized=False ContainersNotInitialized (containers with unknown status: [i3], containers with "
            "incomplete status: [i2])");
  // A failed init container is incomplete.
  EXPECT_EQ(describe(pod_initialized_condition(spec, {exited("i1", 1), waiting("i2"), waiting("i3")}, {waiting("a")},
                                               PodPhase::pending)),
            "Initialized=False ContainersNotInitialized (containers with incomplete status: [i1 i2 i3])");
  EXPECT_EQ(describe(pod_initialized_condition(spec, {exited("i1", 0), exited("i2", 0), exited("i3", 0)},
                                               {waiting("a")}, PodPhase::pending)),
            "Initialized=True");
  // Once a regular container ran, the pod was initialized, whatever the
  // init containers' statuses say now.
  EXPECT_EQ(describe(pod_initialized_condition(spec, {}, {running("a")}, PodPhase::running)), "Initialized=True");
}

TEST(PodStatusConditions, TerminalPhases) {
  const PodSpec spec = spec_with(RestartPolicy::never, {"a", "b"}, {"i1"});
  PodStatus succeeded;
  succeeded.phase = PodPhase::succeeded;
  succeeded.init_container_statuses = {exited("i1", 0)};
  succeeded.container_statuses = {exited("a", 0), exited("b", 0)};
  for (auto& s : succeeded.container_statuses) s.ready = false;
  EXPECT_EQ(describe(kubelet_conditions(spec, succeeded, false)),
            (std::vector<std::string>{"PodReadyToStartContainers=False", "Initialized=True PodCompleted",
                                      "Ready=False PodCompleted", "ContainersReady=False PodCompleted",
                                      "PodScheduled=True"}));
  PodStatus failed = succeeded;
  failed.phase = PodPhase::failed;
  failed.container_statuses[1] = exited("b", 1);
  // Ready is forced False even for a container still running in a failed pod.
  failed.container_statuses[0] = running("a");
  EXPECT_EQ(describe(kubelet_conditions(spec, failed, false)),
            (std::vector<std::string>{"PodReadyToStartContainers=False", "Initialized=True", "Ready=False PodFailed",
                                      "ContainersReady=False PodFailed", "PodScheduled=True"}));
}

TEST(PodStatusConditions, TransitionTimesChangeOnlyWithTheStatus) {
  const PodSpec spec = spec_with(RestartPolicy::always, {"a"});
  PodStatus status;
  status.phase = PodPhase::pending;
  status.container_statuses = {waiting("a")};
  const auto first = merge_conditions({}, kubelet_conditions(spec, status, false), at(0s));
  for (const auto& c : first) EXPECT_EQ(c.last_transition_time, at(0s)) << c.type;

  // Sandbox ready, container still waiting but for another reason.
  status.container_statuses = {waiting("a", true)};
  const auto second = merge_conditions(first, kubelet_conditions(spec, status, true), at(5s));
  ASSERT_EQ(second.size(), 5u);
  EXPECT_EQ(second[0].last_transition_time, at(5s));  // PodReadyToStartContainers False -> True
  for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(second[i].last_transition_time, at(0s)) << second[i].type;

  // Running: Ready and ContainersReady move, the rest keep their time.
  status.phase = PodPhase::running;
  status.container_statuses = {running("a")};
  const auto third = merge_conditions(second, kubelet_conditions(spec, status, true), at(9s));
  EXPECT_EQ(describe(third), (std::vector<std::string>{"PodReadyToStartContainers=True", "Initialized=True",
                                                       "Ready=True", "ContainersReady=True", "PodScheduled=True"}));
  EXPECT_EQ(third[0].last_transition_time, at(5s));
  EXPECT_EQ(third[1].last_transition_time, at(0s));
  EXPECT_EQ(third[2].last_transition_time, at(9s));
  EXPECT_EQ(third[3].last_transition_time, at(9s));
  EXPECT_EQ(third[4].last_transition_time, at(0s));
}

TEST(PodStatusConditions, ConditionsOfOthersSurviveTheMerge) {
  PodCondition disruption;
  disruption.type = "DisruptionTarget";
  disruption.status = ConditionStatus::true_;
  disruption.reason = "EvictionByEvictionAPI";
  disruption.last_transition_time = at(1s);
  PodStatus status;
  status.container_statuses = {running("a")};
  status.phase = PodPhase::running;
  const auto merged = merge_conditions({disruption}, kubelet_conditions(spec_with(RestartPolicy::always, {"a"}), status, true),
                                       at(7s));
  ASSERT_EQ(merged.size(), 6u);
  EXPECT_EQ(merged[0], disruption);
  EXPECT_EQ(merged[1].type, "PodReadyToStartContainers");
}

}  // namespace
}  // namespace deckhand::pods
