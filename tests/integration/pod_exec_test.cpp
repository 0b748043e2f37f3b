// `deckhand exec` end to end, as kubectl exec: the installed agent and CLI,
// the real runtime-native and storage-overlay plugins, a hostNetwork busybox
// pod. Output and exit code, stdin, a real terminal (run under util-linux
// `script`, which gives the CLI a pseudo-terminal of its own), the errors
// kubectl shows, and no process left behind when the client goes away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent_fixture.hpp"
#include "pod_test_support.hpp"
#include "process.hpp"

namespace deckhand::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

const std::string kDeckhand = std::string(DECKHAND_STAGE_PREFIX) + "/bin/deckhand";

class PodExecTest : public pods::PodTest {
 protected:
  void SetUp() override {
    PodTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Two containers: exec without -c picks the first and says so.
    const std::string manifest =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: shell\nspec:\n  hostNetwork: true\n"
        "  terminationGracePeriodSeconds: 1\n  containers:\n"
        "  - name: main\n    image: local/busybox:1\n    command: [\"sleep\", \"3600\"]\n"
        "  - name: side\n    image: local/busybox:1\n    command: [\"sleep\", \"3600\"]\n";
    const CommandResult applied = apply(manifest);
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
    ASSERT_TRUE(pods_->eventually_running("shell", 60s)) << agent_->cli("describe", "pod", "shell").out;
  }

  // `deckhand exec --socket S ARGS...` (the socket before --, unlike cli()).
  CommandResult exec(const std::vector<std::string>& args, const std::string& input = "",
                     std::chrono::milliseconds timeout = 30s) const {
    std::vector<std::string> argv = {"exec", "--socket", agent_->socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_deckhand(argv, input, timeout);
  }
};

TEST_F(PodExecTest, StreamsOutputPassesTheExitCodeAndFeedsStdin) {
  const CommandResult failed = exec({"shell", "--", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(failed.exit_code, 3) << failed.err;
  EXPECT_EQ(failed.out, "out\n");
  EXPECT_THAT(failed.err, HasSubstr("Defaulted container \"main\" out of: main, side\n"));
  EXPECT_THAT(failed.err, HasSubstr("err\n"));
  EXPECT_THAT(failed.err, HasSubstr("command terminated with exit code 3\n"));

  // -c picks the container (its hostname is the pod's; its processes its own).
  const CommandResult side = exec({"shell", "-c", "side", "--", "sh", "-c", "echo $((6 * 7)); exit 0"});
  EXPECT_EQ(side.exit_code, 0) << side.err;
  EXPECT_EQ(side.out, "42\n");
  EXPECT_EQ(side.err, "");

  // -i: stdin reaches the command, and its end ends `cat`.
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "line " + std::to_string(i) + "\n";
  const CommandResult echoed = exec({"-i", "shell", "-c", "main", "--", "cat"}, input);
  EXPECT_EQ(echoed.exit_code, 0) << echoed.err;
  EXPECT_EQ(echoed.out, input);

  // Without -i the command's stdin is empty.
  const CommandResult no_stdin = exec({"shell", "-c", "main", "--", "cat"}, "ignored\n");
  EXPECT_EQ(no_stdin.exit_code, 0) << no_stdin.err;
  EXPECT_EQ(no_stdin.out, "");

  // -t with input that is not a terminal: kubectl's warning, and no terminal.
  const CommandResult not_tty = exec({"-i", "-t", "shell", "-c", "main", "--", "sh", "-c", "test -t 0 || echo no-tty"});
  EXPECT_EQ(not_tty.exit_code, 0) << not_tty.err;
  EXPECT_EQ(not_tty.out, "no-tty\n");
  EXPECT_THAT(not_tty.err, HasSubstr("Unable to use a TTY - input is not a terminal or the right kind of file"));
}

TEST_F(PodExecTest, TtyGivesTheCommandATerminalWithTheClientsWindowSize) {
  // script(1) runs the CLI on a pseudo-terminal whose size stty sets first.
  const std::string inner = "stty rows 33 cols 101; " + kDeckhand + " exec --socket " + agent_->socket() +
                            " -it shell -c main -- sh -c 'test -t 0 && echo stdin-is-a-tty; stty size; exit 4'";
  const CommandResult r = run_command({"script", "-qec", inner, "/dev/null"}, "", 30s);
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("stdin-is-a-tty"));
  EXPECT_THAT(r.out, HasSubstr("33 101"));
  EXPECT_THAT(r.out, HasSubstr("command terminated with exit code 4"));
}

TEST_F(PodExecTest, ErrorsReadAsKubectlShowsThem) {
  const CommandResult no_pod = exec({"nope", "--", "true"});
  EXPECT_EQ(no_pod.exit_code, 1);
  EXPECT_EQ(no_pod.err, "Error from server (NotFound): pods \"nope\" not found\n");

  const CommandResult no_container = exec({"shell", "-c", "nope", "--", "true"});
  EXPECT_EQ(no_container.exit_code, 1);
  EXPECT_EQ(no_container.err, "Error from server (BadRequest): container nope is not valid for pod shell\n");

  const CommandResult no_binary = exec({"shell", "-c", "main", "--", "no-such-binary", "x"});
  EXPECT_NE(no_binary.exit_code, 0);
  EXPECT_THAT(no_binary.err, HasSubstr("error: Internal error occurred: error executing command in container: "));
  EXPECT_THAT(no_binary.err, HasSubstr("exec: \"no-such-binary\": executable file not found in $PATH"));

  const CommandResult no_command = exec({"shell"});
  EXPECT_EQ(no_command.exit_code, 1);
  EXPECT_THAT(no_command.err, HasSubstr("you must specify at least one command for the container"));

  // The API itself: an exec without the upgrade, and with no command.
  const auto plain = agent_->api("POST", "/api/v1/namespaces/default/pods/shell/exec?command=true", "");
  EXPECT_EQ(plain.status, 400);
  const auto no_upgrade_body = json::parse(plain.body, nullptr, false);
  EXPECT_EQ(no_upgrade_body.value("reason", ""), "BadRequest");
}

TEST_F(PodExecTest, AClientThatGoesAwayLeavesNoProcessBehind) {
  // A loop that writes forever: once the CLI is killed, its output pipe breaks.
  ChildProcess client({kDeckhand, "exec", "--socket", agent_->socket(), "shell", "-c", "main", "--", "sh", "-c",
                       "while true; do echo tick; sleep 0.1; done"},
                      agent_->path("client.out"), agent_->path("client.err"));
  const std::string out_path = agent_->path("client.out");
  ASSERT_TRUE(eventually([&] { return read_file(out_path).find("tick") != std::string::npos; }, 15s));
  client.signal(SIGKILL);
  client.wait(5s);
  EXPECT_TRUE(eventually(
      [&] {
        const CommandResult ps = exec({"shell", "-c", "main", "--", "ps"});
        return ps.exit_code == 0 && ps.out.find("while true") == std::string::npos && ps.out.find("sleep 0.1") == std::string::npos;
      },
      15s))
      << exec({"shell", "-c", "main", "--", "ps"}).out;
}

}  // namespace
}  // namespace deckhand::test
