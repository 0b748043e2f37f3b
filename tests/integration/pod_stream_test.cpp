// The local API's streams end to end, through the installed agent and CLI:
// `deckhand logs -f` (lines printed as the container writes them, the end
// when it exits, --tail), `deckhand get pods -w` (the table, then a row per
// change; -o json, --output-watch-events) and clients that go away while a
// stream is open (no thread left behind, the agent still stops at once).
// The CLI runs in the background with its output in a file, as a user's
// terminal would see it. Pods use hostNetwork and the busybox image, as in
// pod_lifecycle_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
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

// A CLI command running in the background, its output in files.
class BackgroundCli {
 public:
  BackgroundCli(const AgentUnderTest& agent, std::vector<std::string> args, const std::string& name)
      : out_path_(agent.path(name + ".out")), err_path_(agent.path(name + ".err")) {
    args.insert(args.begin(), stage_deckhand());
    args.insert(args.end(), {"--socket", agent.socket()});
    child_ = std::make_unique<ChildProcess>(args, out_path_, err_path_);
  }
  std::string out() const { return read_file(out_path_); }
  std::string err() const { return read_file(err_path_); }
  ChildProcess& process() { return *child_; }

 private:
  std::string out_path_;
  std::string err_path_;
  std::unique_ptr<ChildProcess> child_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The objects of `kubectl get -w -o json` output: indented JSON documents
// one after another, each closed by a "}" line of its own.
std::vector<json> json_documents(const std::string& text) {
  std::vector<json> documents;
  std::string current;
  for (const std::string& line : lines_of(text)) {
    current += line + "\n";
    if (line == "}") {
      documents.push_back(json::parse(current, nullptr, false));
      current.clear();
    }
  }
  return documents;
}

// The STATUS cell of each table row of pod `name` (default columns).
std::vector<std::string> statuses_of(const std::string& table, const std::string& name) {
  std::vector<std::string> statuses;
  for (const std::vector<std::string>& row : table_rows(table)) {
    if (row.size() >= 5 && row[0] == name) statuses.push_back(row[2]);
  }
  return statuses;
}

// Threads of a process (/proc/<pid>/task).
std::size_t thread_count(int pid) {
  std::size_t count = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
    (void)entry;
    ++count;
  }
  return count;
}

class PodStreamTest : public pods::PodTest {
 protected:
  std::unique_ptr<BackgroundCli> background(std::vector<std::string> args) {
    return std::make_unique<BackgroundCli>(*agent_, std::move(args), "cli-" + std::to_string(backgrounds_++));
  }

  int backgrounds_ = 0;
};

TEST_F(PodStreamTest, LogsFollowPrintsLinesAsTheyAreWrittenAndEndsWhenTheContainerExits) {
  // Two lines at once, a pause long enough to start following, three more.
  const std::string script = "echo first; echo line 0; sleep 4; for i in 1 2 3; do echo line $i; sleep 1; done";
  ASSERT_EQ(apply(pod_yaml("counter", script, "Never")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->cli("logs", "counter").out == "first\nline 0\n"; }, 30s))
      << agent_->cli("logs", "counter").out << pod("counter").dump(1);

  auto all = background({"logs", "-f", "counter"});
  auto tail = background({"logs", "counter", "--follow", "--tail", "1"});
  // Following: what was there is printed at once and the command goes on.
  ASSERT_TRUE(eventually([&] { return all->out() == "first\nline 0\n"; }, 5s)) << all->out() << all->err();
  ASSERT_TRUE(eventually([&] { return tail->out() == "line 0\n"; }, 5s)) << tail->out() << tail->err();
  EXPECT_TRUE(all->process().running());
  EXPECT_TRUE(tail->process().running());
  EXPECT_EQ(agent_->cli("logs", "counter").out, "first\nline 0\n") << "the script went on too soon for this test";

  // Lines written later arrive while the command runs...
  ASSERT_TRUE(eventually([&] { return all->out() == "first\nline 0\nline 1\n"; }, 10s)) << all->out();
  EXPECT_TRUE(all->process().running());
  // ...and it ends by itself, exit 0, once the container has exited.
  const auto code = all->process().wait(20s);
  ASSERT_TRUE(code.has_value()) << all->out();
  EXPECT_EQ(*code, 0) << all->err();
  EXPECT_EQ(all->out(), "first\nline 0\nline 1\nline 2\nline 3\n");
  EXPECT_EQ(all->err(), "");
  EXPECT_EQ(tail->process().wait(5s), std::optional<int>(0)) << tail->err();
  EXPECT_EQ(tail->out(), "line 0\nline 1\nline 2\nline 3\n");
  EXPECT_EQ(phase(pod("counter")), "Succeeded");

  // A container that has exited: its log, and the end at once.
  const CommandResult after = agent_->cli("logs", "-f", "counter", "--tail", "2");
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, "line 2\nline 3\n");
  // A container that restarts ends the follow with the old run, as the
  // kubelet's follow ends with the container it began on.
  ASSERT_EQ(apply(pod_yaml("again", "echo run; sleep 2; exit 1")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->cli("logs", "again").out == "run\n"; }, 30s)) << pod("again").dump(1);
  auto restarting = background({"logs", "-f", "again"});
  EXPECT_EQ(restarting->process().wait(15s), std::optional<int>(0)) << restarting->err();
  EXPECT_EQ(restarting->out(), "run\n");

  // Errors are the plain ones of logs.
  const CommandResult missing = agent_->cli("logs", "-f", "nothing");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "Error from server (NotFound): pods \"nothing\" not found\n");
}

TEST_F(PodStreamTest, GetPodsWatchPrintsTheTableThenARowPerChange) {
  auto watch = background({"get", "pods", "-w"});
  auto events = background({"get", "pods", "--watch", "--output-watch-events", "-o", "json"});
  auto named = background({"get", "pod", "done", "-w", "-o", "name"});
  // A pod that is not there: kubectl's NotFound, exit 1.
  EXPECT_EQ(named->process().wait(10s), std::optional<int>(1));
  EXPECT_EQ(named->err(), "Error from server (NotFound): pods \"done\" not found\n");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(watch->out(), "") << "no pods yet: nothing to print";
  EXPECT_TRUE(watch->process().running()) << watch->err();

  // An init container that takes a second keeps the pod Pending long enough
  // for the watch (which lists every 200 ms) to see it: the busybox
  // container alone is Running within one period.
  const std::string init = "  initContainers:\n  - {name: setup, image: local/busybox:1, command: [sleep, '1']}\n";
  ASSERT_EQ(apply(pod_yaml("done", "sleep 3", "Never", init)).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("done")) == "Succeeded"; }, 40s)) << pod("done").dump(1);
  ASSERT_TRUE(eventually([&] {
    const auto statuses = statuses_of(watch->out(), "done");
    return !statuses.empty() && statuses.back() == "Completed";
  }, 5s)) << watch->out();

  // The header first, then a row per change: initializing, Running, Completed.
  const std::vector<std::string> lines = lines_of(watch->out());
  ASSERT_GE(lines.size(), 3u) << watch->out();
  // (The widths come from the first row: STATUS is as wide as its cell then.)
  EXPECT_THAT(lines[0], ::testing::MatchesRegex("NAME   READY   STATUS +RESTARTS   AGE")) << watch->out();
  const std::vector<std::string> statuses = statuses_of(watch->out(), "done");
  EXPECT_EQ(statuses.front().rfind("Init:", 0), 0u) << watch->out();
  const auto running = std::find(statuses.begin(), statuses.end(), "Running");
  EXPECT_NE(running, statuses.end()) << watch->out();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), "Completed"), 1) << watch->out();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], ::testing::MatchesRegex("done   [01]/1     [A-Za-z:0-9/]+ +0 +[0-9]+s")) << watch->out();
  }

  // A watch started now prints the current table first.
  auto later = background({"get", "pods", "-w", "-l", "app=done"});
  ASSERT_TRUE(eventually([&] { return lines_of(later->out()).size() == 2; }, 5s)) << later->out() << later->err();
  EXPECT_THAT(later->out(), ::testing::MatchesRegex("NAME   READY   STATUS      RESTARTS   AGE\n"
                                                    "done   0/1     Completed   0          [0-9]+s\n"));
  auto other = background({"get", "pods", "-w", "-l", "app=other"});

  // (Each watch lists on its own every 200 ms: the JSON one may be a period
  // behind, and a change that lasts less than a period can be missed.)
  ASSERT_TRUE(eventually([&] {
    const std::vector<json> objects = json_documents(events->out());
    return !objects.empty() && phase(objects.back()["object"]) == "Succeeded";
  }, 5s)) << events->out();

  // Deleting it: the watches see it go.
  ASSERT_EQ(agent_->cli("delete", "pod", "done").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return pod_names().empty(); }, 30s));
  ASSERT_TRUE(eventually([&] {
    const std::vector<json> objects = json_documents(events->out());
    return !objects.empty() && objects.back().value("type", "") == "DELETED";
  }, 5s)) << events->out();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(other->out(), "") << "the selector lets no pod through";

  // --output-watch-events -o json: kubectl's watch events, each with the Pod.
  const std::vector<json> objects = json_documents(events->out());
  ASSERT_GE(objects.size(), 3u) << events->out();
  EXPECT_EQ(objects.front().value("type", ""), "ADDED");
  EXPECT_EQ(phase(objects.front()["object"]), "Pending");
  EXPECT_TRUE(std::any_of(objects.begin(), objects.end(), [](const json& e) { return phase(e["object"]) == "Succeeded"; }));
  for (const json& event : objects) {
    ASSERT_TRUE(event.is_object()) << events->out();
    EXPECT_EQ(event["object"].value("kind", ""), "Pod");
    EXPECT_EQ(event["object"]["metadata"].value("name", ""), "done");
  }
  for (std::size_t i = 1; i + 1 < objects.size(); ++i) EXPECT_EQ(objects[i].value("type", ""), "MODIFIED");

  // Interrupted, get -w exits as kubectl's does: 1, the output flushed.
  watch->process().signal(SIGINT);
  EXPECT_EQ(watch->process().wait(5s), std::optional<int>(1));
  EXPECT_EQ(watch->err(), "");
}

TEST_F(PodStreamTest, GetPodsWatchJsonPrintsEachPodAndANamedWatchSeesOnlyItsPod) {
  ASSERT_EQ(apply(pod_yaml("steady", "trap 'exit 0' TERM; while true; do sleep 0.1; done")).exit_code, 0);
  ASSERT_EQ(apply(pod_yaml("short", "sleep 2", "Never")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return phase(pod("steady")) == "Running"; }, 30s)) << pod("steady").dump(1);

  auto objects = background({"get", "pods", "-w", "-o", "json"});
  auto named = background({"get", "pod", "steady", "-w", "-o", "wide"});
  ASSERT_TRUE(eventually([&] { return phase(pod("short")) == "Succeeded"; }, 30s));
  ASSERT_TRUE(eventually([&] {
    for (const json& p : json_documents(objects->out())) {
      if (p["metadata"].value("name", "") == "short" && phase(p) == "Succeeded") return true;
    }
    return false;
  }, 5s)) << objects->out();
  // -o json -w prints the Pods themselves (no watch event around them).
  for (const json& p : json_documents(objects->out())) {
    ASSERT_TRUE(p.is_object()) << objects->out();
    EXPECT_EQ(p.value("kind", ""), "Pod");
    EXPECT_FALSE(p.contains("type"));
  }
  // The named watch: its pod's row only, -o wide's columns.
  const std::vector<std::string> lines = lines_of(named->out());
  ASSERT_EQ(lines.size(), 2u) << named->out();
  EXPECT_THAT(lines[0], HasSubstr("NAME     READY   STATUS    RESTARTS   AGE   IP          NODE        NOMINATED NODE"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("steady   1/1     Running   0          [0-9]+s +127.0.0.1   test-node   <none> .*"));
  EXPECT_TRUE(named->process().running());
}

TEST_F(PodStreamTest, ClientsThatGoAwayLeaveNoStreamBehindAndTheAgentStopsAtOnce) {
  ASSERT_EQ(apply(pod_yaml("quiet", "echo once; trap 'exit 0' TERM; while true; do sleep 0.1; done")).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return agent_->cli("logs", "quiet").out == "once\n"; }, 30s)) << pod("quiet").dump(1);
  // Settle: the agent's own threads (pools, workers) are all started.
  std::this_thread::sleep_for(1s);
  const std::size_t baseline = thread_count(agent_->pid());

  {
    // An idle follow and an idle watch, their clients killed: the streams
    // notice while they wait, not at their next write.
    auto follow = background({"logs", "-f", "quiet"});
    auto watch = background({"get", "pods", "-w"});
    ASSERT_TRUE(eventually([&] { return follow->out() == "once\n" && !watch->out().empty(); }, 5s));
    EXPECT_GT(thread_count(agent_->pid()), baseline);
    follow->process().signal(SIGKILL);
    watch->process().signal(SIGKILL);
    follow->process().wait(5s);
    watch->process().wait(5s);
  }
  EXPECT_TRUE(eventually([&] { return thread_count(agent_->pid()) <= baseline; }, 5s))
      << thread_count(agent_->pid()) << " threads, " << baseline << " before";

  // Streams still open when the agent stops: it stops at once, and they end.
  auto follow = background({"logs", "-f", "quiet"});
  auto watch = background({"get", "pods", "-w"});
  ASSERT_TRUE(eventually([&] { return follow->out() == "once\n" && !watch->out().empty(); }, 5s));
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(agent_->stop(), 0) << agent_->stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 4s);
  EXPECT_EQ(follow->process().wait(5s), std::optional<int>(0));
  EXPECT_EQ(watch->process().wait(5s), std::optional<int>(0));
}

}  // namespace
}  // namespace deckhand::test
