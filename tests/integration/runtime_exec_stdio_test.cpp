// runtime-native's exec with stdio "fds": the plugin runs in its caller's
// process, so the caller passes descriptor numbers (pipes, or one pty slave
// with process.terminal). The staged plugin is loaded here through the SDK's
// C ABI with a minimal host, as the agent loads it, so that the descriptors
// are this test's own.
#include <deckhand/plugin.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "runtime_fixture.hpp"

namespace deckhand::test {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What a host gives one call: its output or error.
struct CallRecord {
  std::string output;
  int32_t status = DH_OK;
  std::string error;
};

void host_log(dh_host*, int32_t, const char*) {}
void set_output(dh_call* call, const char* data, size_t len) { reinterpret_cast<CallRecord*>(call)->output.assign(data, len); }
void set_error(dh_call* call, int32_t status, const char* message) {
  auto* record = reinterpret_cast<CallRecord*>(call);
  record->status = status;
  record->error = message != nullptr ? message : "";
}
void report_progress(dh_call*, const char*) {}
uint64_t no_deadline(dh_call*) { return 0; }
dh_metric* metric_register(dh_host*, int32_t, const char*, const char*) { return nullptr; }
void metric_change(dh_metric*, double) {}

const dh_host_services kServices = {sizeof(dh_host_services), 0, host_log, set_output, set_error, report_progress,
                                    no_deadline, metric_register, metric_change, metric_change};

// The staged runtime-native plugin, loaded into this process with `root`.
class InProcessRuntime {
 public:
  explicit InProcessRuntime(const std::string& root) {
    const std::string path = std::string(DECKHAND_STAGE_PREFIX) + "/lib/deckhand/plugins/libdeckhand-runtime-native.so";
    library_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library_ == nullptr) throw std::runtime_error(std::string("dlopen: ") + ::dlerror());
    auto entry = reinterpret_cast<dh_plugin_entry_fn>(::dlsym(library_, DH_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error("no entry symbol in " + path);
    descriptor_ = entry();
    const std::string config = json{{"root", root}}.dump();
    const std::string state_dir = root + "/.plugin-state";
    ::mkdir(state_dir.c_str(), 0700);
    dh_init_params params{};
    params.struct_size = sizeof params;
    params.abi_major = DH_ABI_MAJOR;
    params.abi_minor = DH_ABI_MINOR;
    params.agent_version = "test";
    params.name = "runtime-native";
    params.state_dir = state_dir.c_str();
    params.config_json = config.c_str();
    params.host = nullptr;
    params.services = &kServices;
    CallRecord record;
    if (descriptor_->create(&params, reinterpret_cast<dh_call*>(&record), &instance_) != DH_OK) {
      throw std::runtime_error("create the runtime instance: " + record.error);
    }
  }
  ~InProcessRuntime() {
    if (instance_ != nullptr) descriptor_->destroy(instance_);
    // The library stays loaded, as the agent keeps it.
  }

  CallRecord exec(const json& request) const {
    const auto* ops = static_cast<const dh_runtime_ops*>(descriptor_->ops);
    CallRecord record;
    const std::string text = request.dump();
    record.status = ops->exec(instance_, reinterpret_cast<dh_call*>(&record), text.c_str());
    return record;
  }

 private:
  void* library_ = nullptr;
  const dh_plugin_descriptor* descriptor_ = nullptr;
  dh_instance* instance_ = nullptr;
};

std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

class RuntimeExecStdioTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped()) return;
    id_ = unique_id("exec-stdio");
    const CommandResult created = runtime_.create(bundle_.path(), id_);
    ASSERT_EQ(created.exit_code, 0) << created.err;
    const CommandResult started = runtime_.oci({"start", id_});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    plugin_ = std::make_unique<InProcessRuntime>(runtime_.root());
  }

  BusyboxBundle bundle_{{"sleep", "60"}};
  std::string id_;
  std::unique_ptr<InProcessRuntime> plugin_;
};

TEST_F(RuntimeExecStdioTest, FdsGiveTheProcessTheCallersPipes) {
  int in[2], out[2], err[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  const std::string input = "from the caller\n";
  ASSERT_EQ(::write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(in[1]);
  CallRecord result;
  std::thread call([&] {
    result = plugin_->exec({{"id", id_},
                            {"process", {{"args", {"sh", "-c", "cat; echo to-stderr >&2; test -t 0 || echo no-tty; exit 5"}}}},
                            {"stdio", "fds"},
                            {"stdin_fd", in[0]},
                            {"stdout_fd", out[1]},
                            {"stderr_fd", err[1]}});
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
  });
  const std::string stdout_text = read_to_end(out[0]);
  const std::string stderr_text = read_to_end(err[0]);
  call.join();
  ::close(out[0]);
  ::close(err[0]);
  ASSERT_EQ(result.status, DH_OK) << result.error;
  EXPECT_EQ(json::parse(result.output).value("exit_code", -1), 5);
  EXPECT_EQ(stdout_text, input + "no-tty\n");
  EXPECT_EQ(stderr_text, "to-stderr\n");
}

TEST_F(RuntimeExecStdioTest, TerminalMakesThePtySlaveTheControllingTerminal) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  winsize size{};
  size.ws_row = 21;
  size.ws_col = 77;
  ASSERT_EQ(::ioctl(master, TIOCSWINSZ, &size), 0);
  CallRecord result;
  std::thread call([&] {
    // The session leader check: $$ is the process's own pid and its session id (ps -o sid is not in busybox).
    result = plugin_->exec({{"id", id_},
                            {"process", {{"args", {"sh", "-c", "test -t 0 && echo is-a-tty; stty size; "
                                                               "test \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ && echo session-leader; "
                                                               "test \"$(cut -d' ' -f7 /proc/$$/stat)\" != 0 && echo has-ctty"}},
                                         {"terminal", true}}},
                            {"stdio", "fds"},
                            {"stdin_fd", slave},
                            {"stdout_fd", slave},
                            {"stderr_fd", slave}});
    ::close(slave);  // now nothing holds the slave: reading the master ends with EIO
  });
  const std::string output = read_to_end(master);
  call.join();
  ::close(master);
  ASSERT_EQ(result.status, DH_OK) << result.error;
  EXPECT_EQ(json::parse(result.output).value("exit_code", -1), 0);
  EXPECT_THAT(output, HasSubstr("is-a-tty\r\n"));
  EXPECT_THAT(output, HasSubstr("21 77\r\n"));
  EXPECT_THAT(output, HasSubstr("session-leader\r\n"));
  EXPECT_THAT(output, HasSubstr("has-ctty\r\n"));
}

TEST_F(RuntimeExecStdioTest, FdsAreCheckedAndTerminalNeedsATerminal) {
  const CallRecord missing = plugin_->exec({{"id", id_}, {"process", {{"args", {"true"}}}}, {"stdio", "fds"}, {"stdin_fd", 0}});
  EXPECT_EQ(missing.status, DH_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(missing.error, HasSubstr("stdin_fd, stdout_fd and stderr_fd"));

  const CallRecord closed = plugin_->exec(
      {{"id", id_}, {"process", {{"args", {"true"}}}}, {"stdio", "fds"}, {"stdin_fd", 0}, {"stdout_fd", 1}, {"stderr_fd", 987}});
  EXPECT_EQ(closed.status, DH_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(closed.error, HasSubstr("stderr_fd 987 is not an open descriptor"));

  const CallRecord mixed = plugin_->exec({{"id", id_}, {"process", {{"args", {"true"}}}}, {"stdio", "capture"}, {"stdout_fd", 1}});
  EXPECT_EQ(mixed.status, DH_ERR_INVALID_ARGUMENT);

  // terminal: true over a pipe: the process cannot get a controlling terminal.
  int pipe_ends[2];
  ASSERT_EQ(::pipe2(pipe_ends, O_CLOEXEC), 0);
  const CallRecord no_tty = plugin_->exec({{"id", id_},
                                           {"process", {{"args", {"true"}}, {"terminal", true}}},
                                           {"stdio", "fds"},
                                           {"stdin_fd", pipe_ends[0]},
                                           {"stdout_fd", pipe_ends[1]},
                                           {"stderr_fd", pipe_ends[1]}});
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
  EXPECT_NE(no_tty.status, DH_OK);
  EXPECT_THAT(no_tty.error, HasSubstr("controlling terminal"));

  // capture still works.
  const CallRecord captured = plugin_->exec({{"id", id_}, {"process", {{"args", {"sh", "-c", "echo captured"}}}}});
  ASSERT_EQ(captured.status, DH_OK) << captured.error;
  EXPECT_EQ(json::parse(captured.output).value("stdout", ""), "captured\n");
}

}  // namespace
}  // namespace deckhand::test
