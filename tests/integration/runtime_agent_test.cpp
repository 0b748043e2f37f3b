// The runtime plugin driven through a live agent (`deckhand plugins call
// runtime-native OP JSON`) on real busybox containers: CRI log files and
// their rotation, exec into a running container, re-adoption of containers
// by a new agent after the old one was SIGKILLed, graceful and forced stops,
// and cgroup statistics.
//
// The agent's runtime root is the fixture's OciRuntime root, so the
// RuntimeTest guard (`deckhand oci --root R delete --force` of every tracked
// id, then no state directory, cgroup, process or monitor left) also cleans up
// and checks what the agent created, even after a failed assertion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime_agent_fixture.hpp"

namespace deckhand::test {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

// A /proc/<pid>/cmdline: every word followed by a NUL.
std::string cmdline_of(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += word + '\0';
  return out;
}

constexpr uint64_t kTermBit = 1ull << (SIGTERM - 1);

// One line of a CRI log file.
struct CriLine {
  std::string stream;
  char tag = 0;
  std::string text;
};

// Splits a CRI log file into lines; every line must be
// "<RFC3339Nano> <stdout|stderr> <F|P> <text>" and end with a newline.
std::vector<CriLine> parse_cri_log(const std::string& path) {
  // Only the fixed-size prefix goes through std::regex (its `.*` recurses per
  // character, too deep for a 16 KiB line); the rest of the line is the text.
  static const std::regex prefix(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) ([FP]) )");
  const std::string text = read_file(path);
  std::vector<CriLine> lines;
  if (!text.empty() && text.back() != '\n') ADD_FAILURE() << path << " does not end with a newline";
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    std::smatch match;
    const std::string head = line.substr(0, 48);
    if (!std::regex_search(head, match, prefix)) {
      ADD_FAILURE() << path << ": not a CRI log line: \"" << line.substr(0, 200) << "\"";
      continue;
    }
    if (line.size() <= 64) {
      static const std::regex whole(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] .*$)");
      EXPECT_TRUE(std::regex_match(line, whole)) << path << ": " << line;
    }
    lines.push_back({match[1].str(), match[2].str()[0], line.substr(static_cast<std::size_t>(match.length(0)))});
  }
  return lines;
}

// ---------------------------------------------------------------------------
// 1. CRI logs

TEST_F(RuntimeAgentTest, CriLogIsRotatedIntoMaxFilesOfMaxBytesWithEveryLineInFormatAndOrder) {
  TempDir logs("deckhand-cri-log");
  const std::string log = logs / "container.log";
  // stdout and stderr are separate pipes, so their relative order in the log
  // is only as good as the monitor's polling: it may well read all of stdout
  // before any stderr, and then the kept files hold one stream only. Short
  // pauses every 25 lines make the monitor take both streams in turns, so
  // both cross the rotations; the pause before "partial" lets it take the
  // last stderr lines before it.
  BusyboxBundle bundle({"sh", "-c",
                        "i=1; while [ $i -le 300 ]; do echo \"out $i\"; echo \"err $i\" >&2; "
                        "[ $((i % 25)) = 0 ] && sleep 0.02; i=$((i+1)); done; "
                        "sleep 0.2; printf partial"});
  const std::string id = unique_id("rta-log");
  run_detached(bundle, id, {{"stdio", "log"}, {"log_path", log}, {"log_max_bytes", 4096}, {"log_max_files", 3}});
  const json exit = must("wait", {{"id", id}});
  EXPECT_EQ(exit.value("exit_code", -1), 0) << exit.dump();

  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(logs.path())) names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"container.log", "container.log.1", "container.log.2"}));
  EXPECT_FALSE(fs::exists(log + ".3"));

  // Oldest first: .2, .1, then the live file.
  std::vector<CriLine> all;
  std::vector<CriLine> newest;
  std::set<std::string> files_with_stdout, files_with_stderr;
  for (const std::string& path : {log + ".2", log + ".1", log}) {
    ASSERT_TRUE(fs::exists(path)) << path;
    const auto size = fs::file_size(path);
    EXPECT_LE(size, 4096u) << path;
    EXPECT_GT(size, 0u) << path;
    const std::vector<CriLine> lines = parse_cri_log(path);
    EXPECT_FALSE(lines.empty()) << path;
    for (const auto& line : lines) {
      if (line.text == "partial") continue;
      (line.stream == "stdout" ? files_with_stdout : files_with_stderr).insert(path);
    }
    all.insert(all.end(), lines.begin(), lines.end());
    newest = lines;
  }
  ASSERT_FALSE(newest.empty());
  EXPECT_EQ(newest.back().stream, "stdout");
  EXPECT_EQ(newest.back().tag, 'F');
  EXPECT_EQ(newest.back().text, "partial");

  // Each stream's numbers are consecutive across the files (rotation drops
  // whole files, oldest first) and end with 300.
  std::vector<int> out_numbers, err_numbers;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const CriLine& line = all[i];
    if (i + 1 == all.size()) break;  // "partial", checked above
    EXPECT_EQ(line.tag, 'F') << line.text;
    const std::string expected_prefix = line.stream == "stdout" ? "out " : "err ";
    ASSERT_EQ(line.text.rfind(expected_prefix, 0), 0u) << line.stream << " line \"" << line.text << "\"";
    (line.stream == "stdout" ? out_numbers : err_numbers).push_back(std::stoi(line.text.substr(4)));
  }
  for (const auto* numbers : {&out_numbers, &err_numbers}) {
    ASSERT_FALSE(numbers->empty());
    EXPECT_EQ(numbers->back(), 300);
    for (std::size_t i = 1; i < numbers->size(); ++i) {
      EXPECT_EQ((*numbers)[i], (*numbers)[i - 1] + 1) << "at index " << i;
    }
  }
  // Both streams continue from one file into the next.
  EXPECT_GE(files_with_stdout.size(), 2u);
  EXPECT_GE(files_with_stderr.size(), 2u);
  // Three files of at most 4 KiB cannot hold all 600 lines: some were dropped.
  EXPECT_GT(out_numbers.front(), 1);
}

// The CRI parts of one stream's lines, as (tag, text) in order.
std::vector<CriLine> stream_lines(const std::vector<CriLine>& lines, const std::string& stream) {
  std::vector<CriLine> out;
  for (const auto& line : lines) {
    if (line.stream == stream) out.push_back(line);
  }
  return out;
}

void expect_split_line(const std::vector<CriLine>& parts, const std::string& original) {
  std::vector<char> tags;
  std::string joined;
  for (const auto& part : parts) {
    tags.push_back(part.tag);
    joined += part.text;
    EXPECT_LE(part.text.size(), 16u * 1024u);
  }
  EXPECT_THAT(tags, ElementsAre('P', 'P', 'F'));
  EXPECT_EQ(joined.size(), original.size());
  EXPECT_TRUE(joined == original) << "the parts do not concatenate to the original line";
}

// Runs `script` with its output in a CRI log and checks that its stdout was
// one line of 40000 'a's, logged as P, P, F parts.
class RuntimeAgentLongLineTest : public RuntimeAgentTest {
 protected:
  void expect_long_line_logged_in_parts(const std::string& name, const std::string& script) {
    TempDir logs("deckhand-cri-log");
    const std::string log = logs / "container.log";
    BusyboxBundle bundle({"sh", "-c", script});
    const std::string id = unique_id(name);
    run_detached(bundle, id, {{"stdio", "log"}, {"log_path", log}, {"log_max_bytes", 1 << 20}, {"log_max_files", 2}});
    const json exit = must("wait", {{"id", id}});
    EXPECT_EQ(exit.value("exit_code", -1), 0) << exit.dump();
    EXPECT_FALSE(fs::exists(log + ".1"));
    const auto lines = parse_cri_log(log);
    expect_split_line(stream_lines(lines, "stdout"), std::string(40000, 'a'));
    EXPECT_THAT(stream_lines(lines, "stderr"), IsEmpty());
  }
};

// Pieces of 1000 bytes with pauses between them: the monitor reads each piece
// on its own, so the line is still open when it passes 16 KiB.
TEST_F(RuntimeAgentLongLineTest, ALineWrittenInSlowPiecesIsSplitIntoPartialParts) {
  expect_long_line_logged_in_parts(
      "rta-slowline",
      "i=0; while [ $i -lt 40 ]; do printf \"%1000s\" \"\" | tr ' ' a; sleep 0.01; i=$((i+1)); done; echo");
}

// The brief's case: printf of 40000 'a's and a newline, written as fast as
// busybox writes (the monitor usually finds the whole line in the pipe).
TEST_F(RuntimeAgentLongLineTest, ALineLongerThan16KiBIsSplitIntoPartialParts) {
  expect_long_line_logged_in_parts("rta-longline", "printf \"%40000s\\n\" \"\" | tr ' ' a");
}

// The same line in one write(2) (dd bs=40001): the monitor reads it in one
// piece, newline included, and must still split it. Deterministic.
TEST_F(RuntimeAgentLongLineTest, ALongLineArrivingInOneWriteIsSplitIntoPartialParts) {
  expect_long_line_logged_in_parts("rta-onewrite",
                                   "printf \"%40000s\\n\" \"\" | tr ' ' a >/dev/shm/line && "
                                   "dd if=/dev/shm/line bs=40001 count=1 2>/dev/null");
}

// ---------------------------------------------------------------------------
// 2. exec

TEST_F(RuntimeAgentTest, ExecRunsInTheContainersNamespacesWithItsPrivilegesAndPassesTheExitCode) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("rta-exec");
  run_detached(bundle, id);

  const PluginReply ran = exec(id, {"sh", "-c", "echo $$; hostname; cat /proc/1/cmdline"});
  ASSERT_TRUE(ran.ok()) << ran.err << ran.out;
  EXPECT_EQ(ran.value.value("exit_code", -1), 0) << ran.out;
  EXPECT_EQ(ran.value.value("stderr", "?"), "");
  const std::string out = ran.value.value("stdout", "");
  std::istringstream words(out);
  std::string pid_text, hostname, cmdline;
  std::getline(words, pid_text);
  std::getline(words, hostname);
  std::getline(words, cmdline, '\n');
  ASSERT_FALSE(pid_text.empty()) << out;
  ASSERT_EQ(pid_text.find_first_not_of("0123456789"), std::string::npos) << out;
  EXPECT_GT(std::stol(pid_text), 1) << "the exec'd process is in the container's pid namespace, not its init";
  EXPECT_LT(std::stol(pid_text), 100) << "a pid from the container's pid namespace, not the host's";
  EXPECT_EQ(hostname, "runc");
  EXPECT_EQ(cmdline, cmdline_of({"sleep", "30"}));

  // The exec'd process has the init's capabilities, no_new_privs and seccomp mode.
  const PluginReply status =
      exec(id, {"sh", "-c",
                "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status; echo ---; "
                "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/1/status"});
  ASSERT_TRUE(status.ok()) << status.err << status.out;
  const std::string text = status.value.value("stdout", "");
  const auto split = text.find("---\n");
  ASSERT_NE(split, std::string::npos) << text;
  const std::string mine = text.substr(0, split), init = text.substr(split + 4);
  EXPECT_THAT(mine, HasSubstr("CapEff:"));
  EXPECT_THAT(mine, HasSubstr("NoNewPrivs:"));
  EXPECT_EQ(mine, init);

  const PluginReply five = exec(id, {"sh", "-c", "echo bye >&2; exit 5"});
  ASSERT_TRUE(five.ok()) << five.err;
  EXPECT_EQ(five.value.value("exit_code", -1), 5);
  EXPECT_EQ(five.value.value("stderr", ""), "bye\n");

  const PluginReply signalled = exec(id, {"sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(signalled.ok()) << signalled.err;
  EXPECT_EQ(signalled.value.value("exit_code", -1), 128 + SIGKILL);

  const PluginReply missing = exec(id, {"no-such-command-xyz", "arg"});
  EXPECT_NE(missing.exit_code, 0) << missing.out;
  EXPECT_THAT(missing.err, HasSubstr("\"no-such-command-xyz\""));
  EXPECT_THAT(missing.err, HasSubstr("not found"));

  // `deckhand oci exec` on the same root passes the exit code through as its own.
  const CommandResult cli = runtime_.oci({"exec", id, "sh", "-c", "exit 3"});
  EXPECT_EQ(cli.exit_code, 3) << cli.err;
  EXPECT_EQ(cli.err, "");
  const CommandResult echoed = runtime_.oci({"exec", id, "sh", "-c", "echo from-oci-exec"});
  EXPECT_EQ(echoed.exit_code, 0) << echoed.err;
  EXPECT_EQ(echoed.out, "from-oci-exec\n");

  // The container itself is untouched by all of it.
  EXPECT_EQ(must("state", {{"id", id}}).value("status", ""), "running");
  must("remove", {{"id", id}, {"force", true}});
  runtime_.forget(id);
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

TEST_F(RuntimeAgentTest, ExecIntoAStoppedOrUnstartedContainerFailsWithNotRunning) {
  BusyboxBundle bundle({"true"});
  const std::string id = unique_id("rta-exec-stopped");
  run_detached(bundle, id);
  const json exit = must("wait", {{"id", id}});
  EXPECT_EQ(exit.value("exit_code", -1), 0);
  const PluginReply stopped = exec(id, {"true"});
  EXPECT_NE(stopped.exit_code, 0) << stopped.out;
  EXPECT_THAT(stopped.err, HasSubstr("not running"));
  const CommandResult cli = runtime_.oci({"exec", id, "true"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_THAT(cli.err, HasSubstr("not running"));

  const std::string created_id = unique_id("rta-exec-created");
  runtime_.track(created_id);
  must("create", {{"id", created_id}, {"bundle", bundle.path()}});
  const PluginReply created = exec(created_id, {"true"});
  EXPECT_NE(created.exit_code, 0) << created.out;
  EXPECT_THAT(created.err, HasSubstr("not running"));
}

// ---------------------------------------------------------------------------
// 3. Re-adoption after the agent dies

// What a process's descriptors point to ("socket:[123]", paths, ...).
std::set<std::string> open_files(pid_t pid) {
  std::set<std::string> files;
  std::error_code error;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    const fs::path target = fs::read_symlink(fd.path(), error);
    if (!error) files.insert(target.string());
  }
  return files;
}

TEST_F(RuntimeAgentTest, ANewAgentAdoptsContainersOfAKilledOne) {
  BusyboxBundle bundle({"sleep", "60"});
  const std::string id = unique_id("rta-adopt");
  run_detached(bundle, id);
  const json before = must("state", {{"id", id}});
  ASSERT_EQ(before.value("status", ""), "running") << before.dump();
  const pid_t pid = before.value("pid", 0);
  ASSERT_GT(pid, 0);
  // The monitor holds none of the agent's descriptors: an inherited
  // listening socket would keep the next agent from binding its port.
  const std::set<std::string> agent_files = open_files(agent_->pid());
  ASSERT_FALSE(agent_files.empty());
  for (const std::string& file : open_files(before.value("monitorPid", 0))) {
    if (file.rfind("socket:", 0) == 0 || file.rfind("anon_inode:", 0) == 0) {
      EXPECT_FALSE(agent_files.count(file)) << "the monitor holds the agent's " << file;
    }
  }

  agent_->signal(SIGKILL);
  const auto code = agent_->wait_exit(5s);
  ASSERT_TRUE(code.has_value()) << "the agent did not die";
  EXPECT_EQ(*code, 128 + SIGKILL);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(process_exists(pid));
  EXPECT_NE(process_state(pid), "Z");
  EXPECT_NE(process_state(pid), "");
  EXPECT_THAT(processes_in_cgroup(id), ::testing::Contains(pid));

  AgentUnderTest second(plugins_yaml(runtime_.root()));
  ASSERT_TRUE(second.serving()) << second.stderr_text();
  const json listed = deckhand::test::must(second, "list", json::object());
  ASSERT_TRUE(listed.contains("containers")) << listed.dump();
  const json* found = nullptr;
  for (const auto& container : listed["containers"]) {
    if (container.value("id", "") == id) found = &container;
  }
  ASSERT_NE(found, nullptr) << listed.dump();
  EXPECT_EQ(found->value("status", ""), "running");
  EXPECT_EQ(found->value("pid", 0), pid);

  const json state = deckhand::test::must(second, "state", {{"id", id}});
  EXPECT_EQ(state.value("status", ""), "running");
  EXPECT_EQ(state.value("pid", 0), pid);
  EXPECT_EQ(state.value("bundle", ""), bundle.path());

  deckhand::test::must(second, "kill", {{"id", id}, {"signal", "KILL"}});
  const json exit = deckhand::test::must(second, "wait", {{"id", id}});
  EXPECT_EQ(exit.value("exit_code", -1), 137);
  EXPECT_EQ(exit.value("signal", -1), 9);
  deckhand::test::must(second, "remove", {{"id", id}});
  runtime_.forget(id);
  EXPECT_FALSE(process_exists(pid) && process_state(pid) != "Z");
  EXPECT_FALSE(fs::exists(runtime_.container_dir(id)));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/deckhand/" + id));
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
  const json after = deckhand::test::must(second, "list", json::object());
  for (const auto& container : after["containers"]) EXPECT_NE(container.value("id", ""), id);
}

// ---------------------------------------------------------------------------
// 4. Graceful and forced stop

// The agent ignores SIGPIPE (a closed client must not kill it); that must not
// pass through the monitor and execve into the container, whose programs
// expect to die of SIGPIPE when their reader goes away (`yes | head`).
TEST_F(RuntimeAgentTest, TheContainerStartsWithNoSignalIgnoredOrBlocked) {
  BusyboxBundle bundle({"sleep", "100"});
  const std::string id = unique_id("rta-signals");
  const pid_t pid = run_detached(bundle, id);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(status_mask(pid, "SigIgn"), 0u);
  EXPECT_EQ(status_mask(pid, "SigBlk"), 0u);
  must("kill", {{"id", id}, {"signal", "KILL"}});
  ASSERT_TRUE(call("wait", {{"id", id}}, 5s).ok());
}

TEST_F(RuntimeAgentTest, TermStopsAContainerThatTrapsItAndKillStopsOneThatIgnoresIt) {
  BusyboxBundle graceful_bundle({"sh", "-c", "trap \"exit 0\" TERM; while true; do sleep 0.1; done"});
  BusyboxBundle stubborn_bundle({"sh", "-c", "trap \"\" TERM; while true; do sleep 0.1; done"});
  const std::string graceful = unique_id("rta-term");
  const std::string stubborn = unique_id("rta-noterm");
  const pid_t graceful_pid = run_detached(graceful_bundle, graceful);
  const pid_t stubborn_pid = run_detached(stubborn_bundle, stubborn);
  ASSERT_GT(graceful_pid, 0);
  ASSERT_GT(stubborn_pid, 0);
  // A pid namespace's init gets only signals it handles: wait for the traps.
  ASSERT_TRUE(poll_until([&] { return (status_mask(graceful_pid, "SigCgt") & kTermBit) != 0; }))
      << "the TERM trap was never installed";
  ASSERT_TRUE(poll_until([&] { return (status_mask(stubborn_pid, "SigIgn") & kTermBit) != 0; }))
      << "TERM was never ignored";

  must("kill", {{"id", graceful}, {"signal", "TERM"}});
  const auto asked = std::chrono::steady_clock::now();
  const PluginReply waited = call("wait", {{"id", graceful}}, 5s);
  const auto took = std::chrono::steady_clock::now() - asked;
  ASSERT_TRUE(waited.ok()) << waited.err;
  EXPECT_EQ(waited.value.value("exit_code", -1), 0) << waited.out;
  EXPECT_EQ(waited.value.value("signal", -1), 0) << waited.out;
  EXPECT_LT(took, 2s);
  EXPECT_EQ(must("state", {{"id", graceful}}).value("status", ""), "stopped");

  must("kill", {{"id", stubborn}, {"signal", 15}});
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(must("state", {{"id", stubborn}}).value("status", ""), "running");
  must("kill", {{"id", stubborn}, {"signal", "SIGKILL"}});
  const PluginReply killed = call("wait", {{"id", stubborn}}, 5s);
  ASSERT_TRUE(killed.ok()) << killed.err;
  EXPECT_EQ(killed.value.value("exit_code", -1), 137) << killed.out;
  EXPECT_EQ(killed.value.value("signal", -1), 9) << killed.out;
  EXPECT_EQ(killed.value.value("oom_killed", true), false) << killed.out;

  // A stopped container can no longer be signalled.
  const PluginReply late = call("kill", {{"id", stubborn}, {"signal", "KILL"}});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_THAT(late.err, HasSubstr("not running"));
  for (const auto& id : {graceful, stubborn}) {
    must("remove", {{"id", id}});
    runtime_.forget(id);
    EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
  }
}

// ---------------------------------------------------------------------------
// 5. stats

TEST_F(RuntimeAgentTest, StatsOfARunningContainerReportMemoryPidsAndCpu) {
  // A busy loop, then `exec sleep`: once the init is sleep, the loop is done.
  BusyboxBundle bundle({"sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 30"});
  const std::string id = unique_id("rta-stats");
  const pid_t pid = run_detached(bundle, id);
  ASSERT_GT(pid, 0);
  const std::string proc_cmdline = "/proc/" + std::to_string(pid) + "/cmdline";
  ASSERT_TRUE(poll_until(
      [&] {
        return read_file(proc_cmdline) == cmdline_of({"sleep", "30"});
      },
      10s))
      << "the busy loop did not finish";
  const json stats = must("stats", {{"id", id}});
  ASSERT_TRUE(stats.contains("memory_usage_bytes") && stats.contains("pids") && stats.contains("cpu_usage_ns"))
      << stats.dump();
  EXPECT_GT(stats["memory_usage_bytes"].get<uint64_t>(), 0u) << stats.dump();
  EXPECT_GE(stats["pids"].get<uint64_t>(), 1u) << stats.dump();
  EXPECT_GT(stats["cpu_usage_ns"].get<uint64_t>(), 0u) << stats.dump();
  // 100000 shell iterations take well over 10 ms of CPU.
  EXPECT_GT(stats["cpu_usage_ns"].get<uint64_t>(), 10'000'000u) << stats.dump();
  EXPECT_LE(stats.value("memory_working_set_bytes", UINT64_MAX), stats["memory_usage_bytes"].get<uint64_t>());

  // The host's view of the same cgroup agrees.
  const std::string cpuacct = cgroup_dir("cpuacct", id) + "/cpuacct.usage";
  if (fs::exists(cpuacct)) {
    EXPECT_GE(std::stoull(read_file(cpuacct)), stats["cpu_usage_ns"].get<uint64_t>());
  }
  const std::string pids = cgroup_dir("pids", id) + "/pids.current";
  if (fs::exists(pids)) {
    EXPECT_EQ(std::stoull(read_file(pids)), stats["pids"].get<uint64_t>());
  }
}

// ---------------------------------------------------------------------------
// 6. cgroup v2, for real: this machine mounts cgroup2 (without controllers)
// at /sys/fs/cgroup/unified, and the runtime's cgroup_root can point there.

class RuntimeAgentCgroupV2Test : public RuntimeAgentTest {
 protected:
  std::vector<std::string> more_config() const override { return {"cgroup_root: " + kUnified}; }
  const std::string kUnified = "/sys/fs/cgroup/unified";
};

TEST_F(RuntimeAgentCgroupV2Test, TheInitIsClonedIntoItsCgroupAndDeleteRemovesIt) {
  struct statfs info {};
  if (::statfs(kUnified.c_str(), &info) != 0 || info.f_type != CGROUP2_SUPER_MAGIC) {
    GTEST_SKIP() << "no cgroup2 mount at " << kUnified;
  }
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("rta-v2");
  const pid_t pid = run_detached(bundle, id);
  ASSERT_GT(pid, 0);
  const std::string dir = kUnified + "/deckhand/" + id;
  // clone3(CLONE_INTO_CGROUP): the init was born in the container's cgroup.
  EXPECT_EQ(read_file(dir + "/cgroup.procs"), std::to_string(pid) + "\n");
  EXPECT_THAT(read_file("/proc/" + std::to_string(pid) + "/cgroup"), HasSubstr("0::/deckhand/" + id + "\n"));

  // exec joins it too; stats read it.
  const PluginReply ran = exec(id, {"cat", "/proc/self/cgroup"});
  ASSERT_TRUE(ran.ok()) << ran.err;
  EXPECT_THAT(ran.value.value("stdout", ""), HasSubstr("0::/deckhand/" + id + "\n"));
  const json stats = must("stats", {{"id", id}});
  EXPECT_GE(stats.value("pids", uint64_t{0}), 0u) << stats.dump();
  EXPECT_GT(stats.value("cpu_usage_ns", uint64_t{0}), 0u) << stats.dump();

  must("remove", {{"id", id}, {"force", true}});
  runtime_.forget(id);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(poll_until([&] { return !process_exists(pid); }));
}

}  // namespace
}  // namespace deckhand::test
