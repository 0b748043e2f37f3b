// `deckhand oci`, the runc-compatible CLI of the native runtime, on real
// busybox bundles: the container life cycle, its state document, signals,
// listing, and bad input that must fail cleanly and leave nothing behind.
// Where runc defines the expected behaviour, runc runs the same bundle.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "agent_fixture.hpp"
#include "runtime_fixture.hpp"

namespace deckhand::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

const char* const kRunc = "/usr/sbin/runc";

class RuntimeOciTest : public RuntimeTest {
 protected:
  // create, then checks that it worked.
  void create_ok(const BusyboxBundle& bundle, const std::string& id, const std::vector<std::string>& extra = {}) {
    const CommandResult created = runtime_.create(bundle.path(), id, extra);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    ASSERT_EQ(created.err, "");
  }
  void start_ok(const std::string& id) {
    const CommandResult started = runtime_.oci({"start", id});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    ASSERT_EQ(started.err, "");
  }
  // create must fail with exactly "error: <message>\n" and leave nothing:
  // no <root>/<id>, no cgroup, no process, and nothing listed.
  void expect_create_fails(const BusyboxBundle& bundle, const std::string& id, const std::string& message) {
    const CommandResult created = runtime_.create(bundle.path(), id);
    EXPECT_EQ(created.exit_code, 1) << created.err;
    EXPECT_EQ(created.err, "error: " + message + "\n");
    EXPECT_EQ(created.out, "");
    EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
    const CommandResult listed = runtime_.oci({"list", "--format", "json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(listed.out, "[]\n");
    std::string error;
    EXPECT_FALSE(runtime_.state(id, &error));
  }
};

// Deletes what runc created under its own --root, even after a failure.
struct RuncGuard {
  TempDir root{"deckhand-runc-root"};
  std::vector<std::string> ids;
  ~RuncGuard() {
    for (const auto& id : ids) run_command({kRunc, "--root", root.path(), "delete", "--force", id}, "", 10s);
  }
  CommandResult run(const std::string& bundle, const std::string& id) {
    ids.push_back(id);
    return run_command({kRunc, "--root", root.path(), "run", "--bundle", bundle, id}, "", 20s);
  }
};

TEST_F(RuntimeOciTest, RunPrintsTheOutputAndExitsWithTheContainersCodeLikeRunc) {
  BusyboxBundle bundle({"sh", "-c", "echo hello; exit 3"});
  const std::string id = unique_id("oci-run");
  const CommandResult ours = runtime_.run(bundle.path(), id);
  EXPECT_EQ(ours.out, "hello\n");
  EXPECT_EQ(ours.exit_code, 3) << ours.err;
  EXPECT_EQ(ours.err, "");
  // run deletes the container once it exited.
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
  std::string error;
  EXPECT_FALSE(runtime_.state(id, &error));
  EXPECT_EQ(error, "error: container \"" + id + "\" does not exist\n");

  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle.path(), id + "-runc");
  EXPECT_EQ(theirs.out, ours.out);
  EXPECT_EQ(theirs.exit_code, ours.exit_code) << theirs.err;
}

TEST_F(RuntimeOciTest, CreateStartKillDeleteFollowTheOciStates) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("oci-life");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));

  const auto created = runtime_.state(id);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->value("ociVersion", ""), "1.0.2");
  EXPECT_EQ(created->value("id", ""), id);
  EXPECT_EQ(created->value("status", ""), "created");
  EXPECT_EQ(created->value("bundle", ""), bundle.path());
  EXPECT_THAT(created->value("created", ""), Not(IsEmpty()));
  EXPECT_FALSE(created->contains("exit"));
  const pid_t pid = created->value("pid", 0);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(process_exists(pid));
  // The init already sits in the container's cgroup, waiting for start.
  EXPECT_THAT(processes_in_cgroup(id), ElementsAre(pid));
  EXPECT_THAT(cgroup_dirs(id), Not(IsEmpty()));

  ASSERT_NO_FATAL_FAILURE(start_ok(id));
  const auto running = runtime_.state(id);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->value("status", ""), "running");
  EXPECT_EQ(running->value("pid", 0), pid);
  EXPECT_TRUE(poll_until([&] { return read_file("/proc/" + std::to_string(pid) + "/cmdline") == std::string("sleep\0" "30\0", 9); }))
      << "the init did not exec sleep 30";

  const CommandResult killed = runtime_.oci({"kill", id, "KILL"});
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  EXPECT_EQ(killed.err, "");
  const auto stopped = runtime_.wait_for_status(id, "stopped");
  ASSERT_TRUE(stopped);
  ASSERT_EQ(stopped->value("status", ""), "stopped") << stopped->dump();
  EXPECT_EQ(stopped->value("pid", -1), 0);
  ASSERT_TRUE(stopped->contains("exit")) << stopped->dump();
  const json& exit = (*stopped)["exit"];
  EXPECT_EQ(exit.value("signal", -1), 9);
  EXPECT_EQ(exit.value("exitCode", -1), 137);
  EXPECT_EQ(exit.value("oomKilled", true), false);
  EXPECT_THAT(exit.value("exitedAt", ""), Not(IsEmpty()));
  EXPECT_FALSE(exit.contains("error")) << exit.dump();
  EXPECT_TRUE(poll_until([&] { return !process_exists(pid); })) << "pid " << pid << " state " << process_state(pid);

  const CommandResult deleted = runtime_.oci({"delete", id});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.err, "");
  std::string error;
  EXPECT_FALSE(runtime_.state(id, &error));
  EXPECT_EQ(error, "error: container \"" + id + "\" does not exist\n");
  const CommandResult again = runtime_.oci({"state", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

TEST_F(RuntimeOciTest, DeleteOfARunningContainerNeedsForce) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("oci-force");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
  ASSERT_NO_FATAL_FAILURE(start_ok(id));
  const pid_t pid = runtime_.state(id).value_or(json::object()).value("pid", 0);
  ASSERT_GT(pid, 0);

  const CommandResult refused = runtime_.oci({"delete", id});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "error: cannot delete container \"" + id + "\" that is not stopped: running (use force)\n");
  EXPECT_EQ(runtime_.status(id), "running");
  EXPECT_TRUE(process_exists(pid));

  const CommandResult forced = runtime_.oci({"delete", "--force", id});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.err, "");
  EXPECT_TRUE(poll_until([&] { return !process_exists(pid); }));
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
  std::string error;
  EXPECT_FALSE(runtime_.state(id, &error));
}

TEST_F(RuntimeOciTest, AContainerIgnoringTermStopsOnKill) {
  BusyboxBundle bundle({"sh", "-c", "trap \"\" TERM; sleep 30"});
  const std::string id = unique_id("oci-term");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
  ASSERT_NO_FATAL_FAILURE(start_ok(id));

  const CommandResult term = runtime_.oci({"kill", id, "TERM"});
  EXPECT_EQ(term.exit_code, 0) << term.err;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(runtime_.status(id), "running");

  const CommandResult kill = runtime_.oci({"kill", id, "SIGKILL"});
  EXPECT_EQ(kill.exit_code, 0) << kill.err;
  const auto stopped = runtime_.wait_for_status(id, "stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->value("status", ""), "stopped");
  EXPECT_EQ(stopped->value("exit", json::object()).value("signal", -1), 9) << stopped->dump();
  EXPECT_EQ(stopped->value("exit", json::object()).value("exitCode", -1), 137);
}

TEST_F(RuntimeOciTest, ListShowsEveryContainerAndPidFileHoldsThePid) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string waiting = unique_id("oci-list-a");
  const std::string running = unique_id("oci-list-b");
  TempDir files("deckhand-pidfile");
  const std::string pid_file = files / "container.pid";
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, waiting, {"--pid-file", pid_file}));
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, running));
  ASSERT_NO_FATAL_FAILURE(start_ok(running));
  const pid_t waiting_pid = runtime_.state(waiting).value_or(json::object()).value("pid", 0);
  const pid_t running_pid = runtime_.state(running).value_or(json::object()).value("pid", 0);
  ASSERT_GT(waiting_pid, 0);
  ASSERT_GT(running_pid, 0);
  EXPECT_EQ(read_file(pid_file), std::to_string(waiting_pid));

  const CommandResult table = runtime_.oci({"list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto rows = table_rows(table.out);
  ASSERT_EQ(rows.size(), 3u) << table.out;
  EXPECT_THAT(rows[0], ElementsAre("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"));
  std::map<std::string, std::vector<std::string>> by_id;
  for (std::size_t i = 1; i < rows.size(); ++i) by_id[rows[i].at(0)] = rows[i];
  ASSERT_EQ(by_id.count(waiting), 1u) << table.out;
  ASSERT_EQ(by_id.count(running), 1u) << table.out;
  EXPECT_EQ(by_id[waiting].at(1), std::to_string(waiting_pid));
  EXPECT_EQ(by_id[waiting].at(2), "created");
  EXPECT_EQ(by_id[waiting].at(3), bundle.path());
  EXPECT_EQ(by_id[running].at(1), std::to_string(running_pid));
  EXPECT_EQ(by_id[running].at(2), "running");

  const CommandResult as_json = runtime_.oci({"list", "--format", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const json list = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(list.is_array()) << as_json.out;
  ASSERT_EQ(list.size(), 2u);
  std::map<std::string, json> items;
  for (const auto& item : list) items[item.value("id", "")] = item;
  EXPECT_EQ(items[waiting].value("status", ""), "created");
  EXPECT_EQ(items[waiting].value("pid", 0), waiting_pid);
  EXPECT_EQ(items[running].value("status", ""), "running");
  EXPECT_EQ(items[running].value("bundle", ""), bundle.path());

  const CommandResult quiet = runtime_.oci({"list", "-q"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  const auto ids = table_rows(quiet.out);
  std::set<std::string> listed;
  for (const auto& row : ids) listed.insert(row.at(0));
  EXPECT_EQ(ids.size(), 2u) << quiet.out;
  EXPECT_EQ(listed, (std::set<std::string>{waiting, running}));
}

// The OCI state of a stopped container says how it ended. Polled as fast as
// three CLIs can, every "stopped" answer must already carry "exit" (not just
// the ones after the monitor got round to recording it).
TEST_F(RuntimeOciTest, EveryStoppedStateCarriesTheExit) {
  BusyboxBundle bundle({"sh", "-c", "exit 7"});
  for (int round = 0; round < 6; ++round) {
    const std::string id = unique_id("oci-exit" + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
    std::atomic<bool> done{false};
    std::mutex mutex;
    std::vector<json> stopped_without_exit;
    auto poll = [&] {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!done && std::chrono::steady_clock::now() < deadline) {
        const auto state = runtime_.state(id);
        if (!state || state->value("status", "") != "stopped") continue;
        if (!state->contains("exit")) {
          std::lock_guard lock(mutex);
          stopped_without_exit.push_back(*state);
        }
        done = true;
      }
    };
    std::vector<std::thread> pollers;
    for (int i = 0; i < 3; ++i) pollers.emplace_back(poll);
    std::this_thread::sleep_for(50ms);
    const CommandResult started = runtime_.oci({"start", id});
    for (auto& poller : pollers) poller.join();
    ASSERT_EQ(started.exit_code, 0) << started.err;
    ASSERT_TRUE(done) << "never stopped";
    EXPECT_THAT(stopped_without_exit, IsEmpty()) << "round " << round << ": " << stopped_without_exit.front().dump();
    const auto final_state = runtime_.wait_for_status(id, "stopped");
    ASSERT_TRUE(final_state);
    EXPECT_EQ(final_state->value("exit", json::object()).value("exitCode", -1), 7) << final_state->dump();
    if (!stopped_without_exit.empty()) break;  // once is enough to show it
  }
}

TEST_F(RuntimeOciTest, StartAndKillOfAStoppedContainerFail) {
  BusyboxBundle bundle({"sh", "-c", "exit 0"});
  const std::string id = unique_id("oci-stopped");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
  ASSERT_NO_FATAL_FAILURE(start_ok(id));
  const auto stopped = runtime_.wait_for_status(id, "stopped");
  ASSERT_TRUE(stopped);
  ASSERT_EQ(stopped->value("status", ""), "stopped");
  EXPECT_EQ(stopped->value("exit", json::object()).value("exitCode", -1), 0) << stopped->dump();
  EXPECT_EQ(stopped->value("exit", json::object()).value("signal", -1), 0);

  const CommandResult start = runtime_.oci({"start", id});
  EXPECT_EQ(start.exit_code, 1);
  EXPECT_EQ(start.err, "error: cannot start container \"" + id + "\": it is stopped, not created\n");
  const CommandResult kill = runtime_.oci({"kill", id, "KILL"});
  EXPECT_EQ(kill.exit_code, 1);
  EXPECT_EQ(kill.err, "error: container \"" + id + "\" is not running\n");
  EXPECT_EQ(runtime_.status(id), "stopped");
  // A stopped container is deleted without --force.
  const CommandResult deleted = runtime_.oci({"delete", id});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

TEST_F(RuntimeOciTest, KillWithAnUnknownSignalFailsAndLeavesItRunning) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("oci-badsig");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
  ASSERT_NO_FATAL_FAILURE(start_ok(id));
  const CommandResult kill = runtime_.oci({"kill", id, "FOO"});
  EXPECT_EQ(kill.exit_code, 1);
  EXPECT_EQ(kill.err, "error: unknown signal \"FOO\"\n");
  EXPECT_EQ(runtime_.status(id), "running");
}

// ---- bad input: a clear error, and nothing left behind ----

TEST_F(RuntimeOciTest, ConfigThatIsNotJsonIsRefused) {
  BusyboxBundle bundle({"true"});
  write_file(bundle.config_path(), "{ \"ociVersion\": \"1.0.2\", not json");
  expect_create_fails(bundle, unique_id("oci-notjson"), bundle.config_path() + ": not valid JSON");
}

TEST_F(RuntimeOciTest, MissingRootFilesystemIsRefused) {
  BusyboxBundle bundle({"true"});
  const std::string missing = bundle.path() + "/no-such-rootfs";
  bundle.edit([&](json& c) { c["root"]["path"] = missing; });
  expect_create_fails(bundle, unique_id("oci-noroot"), "root.path " + missing + " is not a directory");
}

TEST_F(RuntimeOciTest, UidMinusOneIsRefused) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) { c["process"]["user"]["uid"] = -1; });
  expect_create_fails(bundle, unique_id("oci-uid-neg"),
                      bundle.config_path() + ": process.user.uid: expected a non-negative integer");
}

TEST_F(RuntimeOciTest, Uid4294967295IsRefused) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) { c["process"]["user"]["uid"] = 4294967295u; });
  expect_create_fails(bundle, unique_id("oci-uid-max"),
                      bundle.config_path() + ": process.user.uid: 4294967295 is out of range (at most 2147483647)");
}

TEST_F(RuntimeOciTest, UnknownNamespaceTypeIsRefused) {
  BusyboxBundle bundle({"true"});
  std::size_t index = 0;
  bundle.edit([&](json& c) {
    index = c["linux"]["namespaces"].size();
    c["linux"]["namespaces"].push_back({{"type", "foo"}});
  });
  expect_create_fails(bundle, unique_id("oci-ns"),
                      bundle.config_path() + ": linux.namespaces[" + std::to_string(index) +
                          "].type: unknown namespace type \"foo\"");
}

TEST_F(RuntimeOciTest, UnsupportedFieldIsNamedInTheError) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) { c["process"]["apparmorProfile"] = "docker-default"; });
  expect_create_fails(bundle, unique_id("oci-apparmor"),
                      bundle.config_path() +
                          ": process.apparmorProfile: not supported by this runtime (see plugins/runtime-native/README.md)");
}

TEST_F(RuntimeOciTest, CommandNotFoundInTheContainerFailsAtCreate) {
  BusyboxBundle bundle({"nope"});
  const std::string id = unique_id("oci-nope");
  const CommandResult created = runtime_.create(bundle.path(), id);
  EXPECT_EQ(created.exit_code, 1);
  EXPECT_THAT(created.err, StartsWith("error: "));
  EXPECT_THAT(created.err, HasSubstr("exec: \"nope\": executable file not found in $PATH"));
  EXPECT_EQ(std::count(created.err.begin(), created.err.end(), '\n'), 1) << created.err;
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
  std::string error;
  EXPECT_FALSE(runtime_.state(id, &error));
  // runc fails on the same bundle too (non-zero), and says why.
  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle.path(), id + "-runc");
  EXPECT_NE(theirs.exit_code, 0);
  EXPECT_THAT(theirs.err, HasSubstr("executable file not found in $PATH"));
}

TEST_F(RuntimeOciTest, DuplicateIdIsRefusedAndTheFirstIsUntouched) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("oci-dup");
  ASSERT_NO_FATAL_FAILURE(create_ok(bundle, id));
  const pid_t pid = runtime_.state(id).value_or(json::object()).value("pid", 0);
  ASSERT_GT(pid, 0);
  const CommandResult again = runtime_.create(bundle.path(), id);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "error: container \"" + id + "\" already exists\n");
  const auto state = runtime_.state(id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->value("status", ""), "created");
  EXPECT_EQ(state->value("pid", 0), pid);
  EXPECT_TRUE(process_exists(pid));
  EXPECT_THAT(processes_in_cgroup(id), ElementsAre(pid));
}

TEST_F(RuntimeOciTest, InvalidIdIsRefused) {
  BusyboxBundle bundle({"true"});
  const std::string id = "../x";
  const CommandResult created = runtime_.create(bundle.path(), id);
  EXPECT_EQ(created.exit_code, 1);
  EXPECT_EQ(created.err,
            "error: invalid container id \"../x\" (expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})\n");
  std::error_code ec;
  EXPECT_FALSE(fs::exists(runtime_.root() + "/../x", ec));
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());  // also no /sys/fs/cgroup/<ctrl>/x
  const CommandResult listed = runtime_.oci({"list", "-q"});
  EXPECT_EQ(listed.out, "");
}

}  // namespace
}  // namespace deckhand::test
