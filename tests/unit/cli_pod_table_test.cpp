// `deckhand get pods`: kubectl's printPod cells (READY, STATUS, RESTARTS,
// AGE, wide columns) for its status cases, the table's tabwriter alignment,
// and the -o json / -o yaml text.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli/object_output.hpp"
#include "cli/pod_table.hpp"
#include "cli/tab_writer.hpp"

namespace deckhand::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const pods::Time kNow = pods::parse_time("2026-07-24T12:00:00Z");

std::string ago(std::chrono::seconds d) { return pods::format_time(kNow - d); }

// A pod created 5 minutes ago with one container "web" in `state`.
json pod(const std::string& name, const std::string& phase, const json& state, bool ready = false,
         int restarts = 0) {
  return {{"metadata", {{"name", name}, {"namespace", "default"}, {"creationTimestamp", ago(300s)}}},
          {"spec", {{"containers", {{{"name", "web"}, {"image", "nginx"}}}}}},
          {"status",
           {{"phase", phase},
            {"containerStatuses",
             {{{"name", "web"}, {"state", state}, {"lastState", json::object()}, {"ready", ready},
               {"restartCount", restarts}}}}}}};
}

json running() { return {{"running", {{"startedAt", ago(290s)}}}}; }
json waiting(const std::string& reason) { return {{"waiting", {{"reason", reason}}}}; }
json terminated(int exit_code, const std::string& reason, int signal = 0) {
  json state = {{"exitCode", exit_code}, {"startedAt", ago(100s)}, {"finishedAt", ago(90s)}};
  if (!reason.empty()) state["reason"] = reason;
  if (signal != 0) state["signal"] = signal;
  return {{"terminated", state}};
}

// A pending pod with init containers "a" and "b" and their statuses.
json initializing(const json& init_statuses) {
  json p = pod("web", "Pending", waiting("PodInitializing"));
  p["spec"]["initContainers"] = {{{"name", "a"}, {"image", "busybox"}}, {{"name", "b"}, {"image", "busybox"}}};
  p["status"]["initContainerStatuses"] = init_statuses;
  return p;
}

std::vector<std::string> cells(const json& p) { return pod_row(p, false, kNow); }
std::string status_of(const json& p) { return cells(p)[2]; }

TEST(CliPodTable, RunningPodIsReady) {
  json p = pod("web", "Running", running(), true);
  p["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  EXPECT_EQ(cells(p), (std::vector<std::string>{"web", "1/1", "Running", "0", "5m"}));
}

TEST(CliPodTable, CrashLoopBackOffShowsRestartsAndLastRestart) {
  json p = pod("web", "Running", waiting("CrashLoopBackOff"), false, 5);
  p["status"]["containerStatuses"][0]["lastState"] = {
      {"terminated", {{"exitCode", 1}, {"reason", "Error"}, {"finishedAt", ago(30s)}}}};
  EXPECT_EQ(cells(p), (std::vector<std::string>{"web", "0/1", "CrashLoopBackOff", "5 (30s ago)", "5m"}));
}

TEST(CliPodTable, WaitingReasonsShowAsStatus) {
  EXPECT_EQ(status_of(pod("web", "Pending", waiting("ErrImagePull"))), "ErrImagePull");
  EXPECT_EQ(status_of(pod("web", "Pending", waiting("ImagePullBackOff"))), "ImagePullBackOff");
  EXPECT_EQ(status_of(pod("web", "Pending", waiting("ContainerCreating"))), "ContainerCreating");
}

TEST(CliPodTable, TerminatedContainers) {
  EXPECT_EQ(status_of(pod("web", "Succeeded", terminated(0, "Completed"))), "Completed");
  EXPECT_EQ(status_of(pod("web", "Failed", terminated(137, "OOMKilled"))), "OOMKilled");
  EXPECT_EQ(status_of(pod("web", "Failed", terminated(2, ""))), "ExitCode:2");
  EXPECT_EQ(status_of(pod("web", "Failed", terminated(137, "", 9))), "Signal:9");
  EXPECT_EQ(cells(pod("web", "Succeeded", terminated(0, "Completed")))[1], "0/1");
}

TEST(CliPodTable, CompletedContainerBesideARunningOneIsNotCompleted) {
  json p = pod("web", "Running", terminated(0, "Completed"));
  p["spec"]["containers"].push_back({{"name", "side"}, {"image", "nginx"}});
  p["status"]["containerStatuses"].push_back(
      {{"name", "side"}, {"state", running()}, {"ready", true}, {"restartCount", 0}});
  EXPECT_EQ(cells(p)[1], "1/2");
  EXPECT_EQ(status_of(p), "NotReady");
  p["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  EXPECT_EQ(status_of(p), "Running");
}

TEST(CliPodTable, InitContainers) {
  const json done = {{"name", "a"}, {"state", terminated(0, "Completed")}, {"ready", true}, {"restartCount", 0}};
  EXPECT_EQ(status_of(initializing({done, {{"name", "b"}, {"state", running()}, {"restartCount", 0}}})), "Init:1/2");
  EXPECT_EQ(status_of(initializing({{{"name", "a"}, {"state", waiting("PodInitializing")}}})), "Init:0/2");
  EXPECT_EQ(status_of(initializing({{{"name", "a"}, {"state", terminated(1, "Error")}, {"restartCount", 0}}})),
            "Init:Error");
  EXPECT_EQ(status_of(initializing({{{"name", "a"}, {"state", terminated(3, "")}}})), "Init:ExitCode:3");
  json crashing = initializing({{{"name", "a"}, {"state", waiting("CrashLoopBackOff")}, {"restartCount", 4}}});
  crashing["status"]["initContainerStatuses"][0]["lastState"] = {
      {"terminated", {{"exitCode", 1}, {"finishedAt", ago(120s)}}}};
  EXPECT_EQ(cells(crashing), (std::vector<std::string>{"web", "0/1", "Init:CrashLoopBackOff", "4 (2m ago)", "5m"}));
}

TEST(CliPodTable, DeletionShowsTerminatingUnlessTheaPodIsDone) {
  json p = pod("web", "Running", running(), true);
  p["metadata"]["deletionTimestamp"] = ago(5s);
  EXPECT_EQ(status_of(p), "Terminating");
  json done = pod("web", "Succeeded", terminated(0, "Completed"));
  done["metadata"]["deletionTimestamp"] = ago(5s);
  EXPECT_EQ(status_of(done), "Completed");
}

TEST(CliPodTable, MissingTimesAndStatus) {
  json p = {{"metadata", {{"name", "bare"}}}, {"spec", {{"containers", json::array({{{"name", "a"}}})}}}};
  EXPECT_EQ(cells(p), (std::vector<std::string>{"bare", "0/1", "", "0", "<unknown>"}));
}

TEST(CliPodTable, TableIsAlignedLikeKubectl) {
  json a = pod("web", "Running", running(), true);
  json b = pod("crashing-worker", "Running", waiting("CrashLoopBackOff"), false, 12);
  b["metadata"]["creationTimestamp"] = ago(3 * 86400s + 3600s);
  EXPECT_EQ(render_pod_table({a, b}, {}, kNow),
            "NAME              READY   STATUS             RESTARTS   AGE\n"
            "web               1/1     Running            0          5m\n"
            "crashing-worker   0/1     CrashLoopBackOff   12         3d1h\n");
  EXPECT_EQ(render_pod_table({}, {}, kNow), "");
}

TEST(CliPodTable, WideColumnsShowNoneWhenEmpty) {
  json a = pod("web", "Pending", waiting("ContainerCreating"));
  json b = pod("api", "Running", running(), true);
  b["spec"]["nodeName"] = "node-1";
  b["status"]["podIP"] = "10.88.0.7";
  b["status"]["podIPs"] = {{{"ip", "10.88.0.7"}}};
  EXPECT_EQ(render_pod_table({a, b}, {.wide = true}, kNow),
            "NAME   READY   STATUS              RESTARTS   AGE   IP          NODE     NOMINATED NODE   READINESS GATES\n"
            "web    0/1     ContainerCreating   0          5m    <none>      <none>   <none>           <none>\n"
            "api    1/1     Running             0          5m    10.88.0.7   node-1   <none>           <none>\n");
}

TEST(CliPodTable, AllNamespacesAddsTheNamespaceColumnAndNoHeadersDropsTheHeader) {
  json a = pod("web", "Running", running(), true);
  json b = pod("dns", "Running", running(), true);
  b["metadata"]["namespace"] = "kube-system";
  EXPECT_EQ(render_pod_table({a, b}, {.all_namespaces = true}, kNow),
            "NAMESPACE     NAME   READY   STATUS    RESTARTS   AGE\n"
            "default       web    1/1     Running   0          5m\n"
            "kube-system   dns    1/1     Running   0          5m\n");
  EXPECT_EQ(render_pod_table({a}, {.no_headers = true}, kNow), "web   1/1   Running   0     5m\n");
}

// Go's text/tabwriter example (Example_elastic), left-aligned: a column is
// aligned per block of consecutive lines that have it.
TEST(CliTabWriter, ColumnsAlignPerBlockAsGoDoes) {
  EXPECT_EQ(tabwrite("a\tb\tc\naa\tbb\tcc\naaa\t\naaaa\tdddd\teeee\n", {0, 1}),
            "a    b  c\naa   bb cc\naaa  \naaaa dddd eeee\n");
  // A line without a tab ends every block.
  EXPECT_EQ(tabwrite("a:\t1\nsection\nlonger:\t2\n", {0, 2}), "a:  1\nsection\nlonger:  2\n");
  EXPECT_EQ(tabwrite("é\tx\nab\ty\n", {0, 1}), "é  x\nab y\n");
}

TEST(CliPodOutput, JsonIsIndentedByFourWithGoEscapes) {
  EXPECT_EQ(to_kubectl_json({{"b", 1}, {"a", "<none> & more"}}),
            "{\n    \"a\": \"\\u003cnone\\u003e \\u0026 more\",\n    \"b\": 1\n}\n");
}

TEST(CliPodOutput, YamlIsWhatKubectlPrints) {
  const json items = {{{"metadata", {{"name", "web"}, {"labels", {{"app", "web"}}},
                                     {"creationTimestamp", "2026-07-24T10:00:00Z"}}},
                       {"spec",
                        {{"containers",
                          {{{"name", "web"},
                            {"image", "nginx:1.27"},
                            {"command", {"sh", "-c", "echo hi: there"}},
                            {"ports", {{{"containerPort", 80}}}},
                            {"resources", json::object()},
                            {"env", {{{"name", "A"}, {"value", "true"}}, {{"name", "B"}, {"value", "80"}}}}}}}}}}};
  EXPECT_EQ(to_kubectl_yaml(kubectl_list(items)),
            "apiVersion: v1\n"
            "items:\n"
            "- metadata:\n"
            "    creationTimestamp: \"2026-07-24T10:00:00Z\"\n"
            "    labels:\n"
            "      app: web\n"
            "    name: web\n"
            "  spec:\n"
            "    containers:\n"
            "    - command:\n"
            "      - sh\n"
            "      - -c\n"
            "      - 'echo hi: there'\n"
            "      env:\n"
            "      - name: A\n"
            "        value: \"true\"\n"
            "      - name: B\n"
            "        value: \"80\"\n"
            "      image: nginx:1.27\n"
            "      name: web\n"
            "      ports:\n"
            "      - containerPort: 80\n"
            "      resources: {}\n"
            "kind: List\n"
            "metadata:\n"
            "  resourceVersion: \"\"\n");
}

TEST(CliPodOutput, YamlQuotingAndBlocks) {
  EXPECT_EQ(to_kubectl_yaml({{"script", "echo a\necho b\n"}, {"msg", "no newline\nend"}}),
            "msg: |-\n  no newline\n  end\nscript: |\n  echo a\n  echo b\n");
  EXPECT_EQ(to_kubectl_yaml({{"a", "*"}, {"b", " lead"}, {"c", "x #y"}, {"d", "it's"}, {"e", "1.5"}, {"f", "null"},
                             {"g", "100m"}, {"h", "-"}, {"i", nullptr}, {"j", false}}),
            "a: '*'\nb: ' lead'\nc: 'x #y'\nd: it's\ne: \"1.5\"\nf: \"null\"\ng: 100m\nh: '-'\ni: null\nj: false\n");
}

}  // namespace
}  // namespace deckhand::cli
