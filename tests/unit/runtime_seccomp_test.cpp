// Seccomp for the container's process: parsing OCI linux.seccomp (and refusing
// what is not supported), the RuntimeDefault profile's shape, compiling with
// libseccomp, and installing the program for real in forked children.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "capabilities.hpp"
#include "default_spec.hpp"
#include "seccomp.hpp"

namespace deckhand::runtime {
namespace {

using nlohmann::json;

// A Docker-shaped OCI linux.seccomp object.
json sample() {
  return json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
    "syscalls": [
      {"names": ["read", "write", "getpid"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
      {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"}
    ]
  })");
}

std::string parse_error(const json& j) {
  try {
    parse_seccomp(j);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RuntimeSeccompTest, ParsesAnOciSample) {
  Seccomp s = parse_seccomp(sample());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, 1u);
  EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  ASSERT_EQ(s.syscalls.size(), 5u);
  EXPECT_EQ(s.syscalls[0].names, (std::vector<std::string>{"read", "write", "getpid"}));
  EXPECT_EQ(s.syscalls[0].action, "SCMP_ACT_ALLOW");
  EXPECT_FALSE(s.syscalls[0].errno_ret);
  ASSERT_EQ(s.syscalls[2].args.size(), 1u);
  EXPECT_EQ(s.syscalls[2].args[0].index, 0u);
  EXPECT_EQ(s.syscalls[2].args[0].value, 0x7E020000u);
  EXPECT_EQ(s.syscalls[2].args[0].value_two, 0u);
  EXPECT_EQ(s.syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(s.syscalls[3].errno_ret, 38u);
  EXPECT_EQ(s.syscalls[4].action, "SCMP_ACT_KILL_PROCESS");
  EXPECT_NO_THROW(compile_seccomp(s));

  // The smallest valid object, explicit nulls for optional fields, the other
  // accepted flags, full-range 64-bit values.
  EXPECT_EQ(parse_seccomp(json{{"defaultAction", "SCMP_ACT_ALLOW"}}).syscalls.size(), 0u);
  json nulls = sample();
  nulls["architectures"] = nullptr;
  nulls["flags"] = nullptr;
  nulls["syscalls"][3]["args"] = nullptr;
  EXPECT_TRUE(parse_seccomp(nulls).architectures.empty());
  json flags = sample();
  flags["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC"};
  EXPECT_NO_THROW(parse_seccomp(flags));
  // Flags the runtime does not apply yet are refused, never dropped.
  for (const char* unapplied : {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG"}) {
    json refused = sample();
    refused["flags"] = {unapplied};
    EXPECT_THROW(parse_seccomp(refused), SpecError) << unapplied;
  }
  json big = sample();
  big["syscalls"][1]["args"][0] = json::parse(R"({"index": 5, "value": 18446744073709551615, "op": "SCMP_CMP_LE"})");
  EXPECT_EQ(parse_seccomp(big).syscalls[1].args[0].value, UINT64_MAX);
}

TEST(RuntimeSeccompTest, RefusesWhatIsNotSupportedNamingTheField) {
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"notify socket", [](json& j) { j["listenerPath"] = "/run/notify.sock"; }, "linux.seccomp.listenerPath"},
      {"notify metadata", [](json& j) { j["listenerMetadata"] = "x"; }, "linux.seccomp.listenerMetadata"},
      {"listener flag", [](json& j) { j["flags"] = {"SECCOMP_FILTER_FLAG_NEW_LISTENER"}; },
       "linux.seccomp.flags[0]"},
      {"unknown flag", [](json& j) { j["flags"] = {"SECCOMP_FILTER_FLAG_TSYNC", "FAST"}; },
       "linux.seccomp.flags[1]"},
      {"flags type", [](json& j) { j["flags"] = "SECCOMP_FILTER_FLAG_LOG"; }, "linux.seccomp.flags"},
      {"unknown field", [](json& j) { j["comment"] = "hi"; }, "linux.seccomp.comment"},
      {"missing default", [](json& j) { j.erase("defaultAction"); }, "linux.seccomp.defaultAction"},
      {"default type", [](json& j) { j["defaultAction"] = 0; }, "linux.seccomp.defaultAction"},
      {"notify default", [](json& j) { j["defaultAction"] = "SCMP_ACT_NOTIFY"; }, "linux.seccomp.defaultAction"},
      {"default errno not errno",
       [](json& j) {
         j["defaultAction"] = "SCMP_ACT_KILL";
       },
       "linux.seccomp.defaultErrnoRet"},
      {"default errno range", [](json& j) { j["defaultErrnoRet"] = 70000; }, "linux.seccomp.defaultErrnoRet"},
      {"default errno negative", [](json& j) { j["defaultErrnoRet"] = -1; }, "linux.seccomp.defaultErrnoRet"},
      {"arch", [](json& j) { j["architectures"] = {"SCMP_ARCH_Z80"}; }, "linux.seccomp.architectures[0]"},
      {"arch type", [](json& j) { j["architectures"] = "SCMP_ARCH_X86"; }, "linux.seccomp.architectures"},
      {"syscalls type", [](json& j) { j["syscalls"] = json::object(); }, "linux.seccomp.syscalls"},
      {"rule type", [](json& j) { j["syscalls"][0] = "read"; }, "linux.seccomp.syscalls[0]"},
      {"rule field", [](json& j) { j["syscalls"][0]["comment"] = "x"; }, "linux.seccomp.syscalls[0].comment"},
      {"legacy name", [](json& j) { j["syscalls"][0]["name"] = "read"; }, "linux.seccomp.syscalls[0].name"},
      {"names missing", [](json& j) { j["syscalls"][0].erase("names"); }, "linux.seccomp.syscalls[0].names"},
      {"names type", [](json& j) { j["syscalls"][0]["names"] = "read"; }, "linux.seccomp.syscalls[0].names"},
      {"names empty", [](json& j) { j["syscalls"][0]["names"] = json::array(); }, "linux.seccomp.syscalls[0].names"},
      {"name type", [](json& j) { j["syscalls"][0]["names"] = {"read", 1}; }, "linux.seccomp.syscalls[0].names[1]"},
      {"name empty", [](json& j) { j["syscalls"][0]["names"] = {""}; }, "linux.seccomp.syscalls[0].names[0]"},
      {"action missing", [](json& j) { j["syscalls"][0].erase("action"); }, "linux.seccomp.syscalls[0].action"},
      {"notify action", [](json& j) { j["syscalls"][0]["action"] = "SCMP_ACT_NOTIFY"; },
       "linux.seccomp.syscalls[0].action"},
      {"trace action", [](json& j) { j["syscalls"][0]["action"] = "SCMP_ACT_TRACE"; },
       "linux.seccomp.syscalls[0].action"},
      {"unknown action", [](json& j) { j["syscalls"][4]["action"] = "SCMP_ACT_PANIC"; },
       "linux.seccomp.syscalls[4].action"},
      {"errno on allow", [](json& j) { j["syscalls"][0]["errnoRet"] = 1; }, "linux.seccomp.syscalls[0].errnoRet"},
      {"errno range", [](json& j) { j["syscalls"][3]["errnoRet"] = 4096; }, "linux.seccomp.syscalls[3].errnoRet"},
      {"errno type", [](json& j) { j["syscalls"][3]["errnoRet"] = "38"; }, "linux.seccomp.syscalls[3].errnoRet"},
      {"args type", [](json& j) { j["syscalls"][1]["args"] = json::object(); }, "linux.seccomp.syscalls[1].args"},
      {"arg field", [](json& j) { j["syscalls"][1]["args"][0]["mask"] = 1; },
       "linux.seccomp.syscalls[1].args[0].mask"},
      {"arg op", [](json& j) { j["syscalls"][1]["args"][0]["op"] = "SCMP_CMP_LIKE"; },
       "linux.seccomp.syscalls[1].args[0].op"},
      {"arg op missing", [](json& j) { j["syscalls"][1]["args"][0].erase("op"); },
       "linux.seccomp.syscalls[1].args[0].op"},
      {"arg index range", [](json& j) { j["syscalls"][1]["args"][0]["index"] = 6; },
       "linux.seccomp.syscalls[1].args[0].index"},
      {"arg index missing", [](json& j) { j["syscalls"][1]["args"][0].erase("index"); },
       "linux.seccomp.syscalls[1].args[0].index"},
      {"arg value negative", [](json& j) { j["syscalls"][1]["args"][0]["value"] = -40; },
       "linux.seccomp.syscalls[1].args[0].value"},
      {"arg value string", [](json& j) { j["syscalls"][1]["args"][0]["value"] = "40"; },
       "linux.seccomp.syscalls[1].args[0].value"},
      {"arg value float", [](json& j) { j["syscalls"][1]["args"][0]["value"] = 40.5; },
       "linux.seccomp.syscalls[1].args[0].value"},
      {"valueTwo without mask", [](json& j) { j["syscalls"][1]["args"][0]["valueTwo"] = 7; },
       "linux.seccomp.syscalls[1].args[0].valueTwo"},
  };
  EXPECT_EQ(parse_error(json::array()), "linux.seccomp: must be an object");
  for (const Case& c : cases) {
    json j = sample();
    c.edit(j);
    std::string error = parse_error(j);
    EXPECT_EQ(error.rfind(std::string(c.field) + ":", 0), 0u) << c.what << ": " << error;
  }
}

// --- the default profile's shape --------------------------------------------

std::set<std::string> unconditional(const Seccomp& s, const std::string& action = "SCMP_ACT_ALLOW") {
  std::set<std::string> out;
  for (const auto& rule : s.syscalls) {
    if (rule.action == action && rule.args.empty()) out.insert(rule.names.begin(), rule.names.end());
  }
  return out;
}

std::set<std::string> mentioned(const Seccomp& s) {
  std::set<std::string> out;
  for (const auto& rule : s.syscalls) out.insert(rule.names.begin(), rule.names.end());
  return out;
}

const SeccompRule* rule_for(const Seccomp& s, const std::string& name) {
  for (const auto& rule : s.syscalls) {
    if (std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end()) return &rule;
  }
  return nullptr;
}

std::vector<int> with(std::vector<int> caps, int extra) {
  caps.push_back(extra);
  return caps;
}

TEST(RuntimeSeccompTest, DefaultProfileShape) {
  Seccomp s = default_seccomp_profile(default_capabilities());
  EXPECT_EQ(s.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(s.default_errno_ret, 1u);
#if defined(__x86_64__)
  EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
#elif defined(__aarch64__)
  EXPECT_EQ(s.architectures, (std::vector<std::string>{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}));
#endif

  std::set<std::string> allowed = unconditional(s);
  EXPECT_GE(allowed.size(), 330u);
  EXPECT_LE(allowed.size(), 400u);
  for (const char* name : {"read", "write", "openat", "openat2", "faccessat2", "epoll_pwait2", "close_range",
                           "pidfd_open", "pidfd_send_signal", "rseq", "statx", "execveat", "membarrier", "futex",
                           "getrandom", "memfd_create", "copy_file_range", "landlock_create_ruleset", "seccomp",
                           "chroot", "ptrace", "socketpair", "mknodat", "name_to_handle_at", "clock_adjtime"}) {
    EXPECT_TRUE(allowed.count(name)) << name;
  }
  // Argument-filtered, capability-gated, never allowed.
  for (const char* name : {"socket", "personality", "clone", "clone3", "mount", "umount2", "unshare", "setns",
                           "bpf", "perf_event_open", "kcmp", "pidfd_getfd", "init_module", "settimeofday", "iopl",
                           "reboot", "acct", "mbind", "syslog", "open_by_handle_at", "vhangup", "fsopen"}) {
    EXPECT_FALSE(allowed.count(name)) << name;
  }
  std::set<std::string> all = mentioned(s);
  for (const std::string& name : default_seccomp_never_allowed()) EXPECT_FALSE(all.count(name)) << name;
  for (const char* name : {"keyctl", "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd",
                           "kexec_load", "pivot_root", "swapon"}) {
    EXPECT_FALSE(all.count(name)) << name;
  }

  const SeccompRule* clone3 = rule_for(s, "clone3");
  ASSERT_NE(clone3, nullptr);
  EXPECT_EQ(clone3->action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(clone3->errno_ret, 38u);
  const SeccompRule* clone = rule_for(s, "clone");
  ASSERT_NE(clone, nullptr);
  ASSERT_EQ(clone->args.size(), 1u);
  EXPECT_EQ(clone->args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(clone->args[0].value, 0x7E020000u);
  EXPECT_EQ(clone->args[0].value_two, 0u);
  const SeccompRule* personality = rule_for(s, "personality");
  ASSERT_NE(personality, nullptr);
  std::set<uint64_t> personas;
  for (const auto& arg : personality->args) personas.insert(arg.value);
  EXPECT_EQ(personas, (std::set<uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
}

TEST(RuntimeSeccompTest, DefaultProfileFollowsCapabilities) {
  Seccomp admin = default_seccomp_profile(with(default_capabilities(), CAP_SYS_ADMIN));
  std::set<std::string> allowed = unconditional(admin);
  for (const char* name : {"mount", "umount2", "unshare", "setns", "bpf", "clone", "clone3", "fsopen",
                           "move_mount", "sethostname", "perf_event_open", "syslog"}) {
    EXPECT_TRUE(allowed.count(name)) << name;
  }
  EXPECT_EQ(unconditional(admin, "SCMP_ACT_ERRNO").count("clone3"), 0u);  // no ENOSYS rule left

  struct Gate {
    int cap;
    std::vector<const char*> names;
  };
  for (const Gate& gate : std::vector<Gate>{{CAP_SYS_PTRACE, {"kcmp", "pidfd_getfd", "process_madvise"}},
                                            {CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
                                            {CAP_SYS_TIME, {"settimeofday", "clock_settime"}},
                                            {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
                                            {CAP_SYS_BOOT, {"reboot"}},
                                            {CAP_SYS_PACCT, {"acct"}},
                                            {CAP_SYS_NICE, {"mbind", "get_mempolicy", "set_mempolicy"}},
                                            {CAP_SYSLOG, {"syslog"}},
                                            {CAP_BPF, {"bpf"}},
                                            {CAP_PERFMON, {"perf_event_open"}},
                                            {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
                                            {CAP_SYS_TTY_CONFIG, {"vhangup"}}}) {
    std::set<std::string> without = unconditional(default_seccomp_profile(default_capabilities()));
    std::set<std::string> granted = unconditional(default_seccomp_profile(with(default_capabilities(), gate.cap)));
    for (const char* name : gate.names) {
      EXPECT_FALSE(without.count(name)) << name;
      EXPECT_TRUE(granted.count(name)) << capability_name(gate.cap) << " " << name;
    }
    EXPECT_FALSE(granted.count("mount")) << capability_name(gate.cap);
  }
  // chroot is gated on CAP_SYS_CHROOT, which the default set has.
  EXPECT_FALSE(unconditional(default_seccomp_profile({})).count("chroot"));

  // Even a fully privileged profile never allows these.
  std::set<std::string> everything = mentioned(default_seccomp_profile(all_capabilities()));
  for (const std::string& name : default_seccomp_never_allowed()) EXPECT_FALSE(everything.count(name)) << name;
}

TEST(RuntimeSeccompTest, CompilesTheDefaultProfile) {
  SeccompProgram program = compile_seccomp(default_seccomp_profile(default_capabilities()));
  EXPECT_GT(program.instructions.size(), 100u);
  EXPECT_LE(program.instructions.size(), static_cast<std::size_t>(BPF_MAXINSNS));
  EXPECT_EQ(program.flags, 0u);
  // Whatever this libseccomp does not know is reported, and only those.
  std::set<std::string> names = mentioned(default_seccomp_profile(default_capabilities()));
  for (const std::string& name : program.unknown_syscalls) EXPECT_TRUE(names.count(name)) << name;

  SeccompProgram privileged = compile_seccomp(default_seccomp_profile(all_capabilities()));
  EXPECT_FALSE(privileged.instructions.empty());
  EXPECT_LE(privileged.instructions.size(), static_cast<std::size_t>(BPF_MAXINSNS));
}

TEST(RuntimeSeccompTest, CompileRefusesABadModelNamingTheRule) {
  auto compile_error = [](const Seccomp& s) -> std::string {
    try {
      compile_seccomp(s);
    } catch (const SpecError& e) {
      return e.what();
    }
    return "(no error)";
  };
  Seccomp s;
  s.default_action = "SCMP_ACT_ERRNO";
  s.syscalls.push_back({{"getpid"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
  s.syscalls.push_back({{"getppid"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.syscalls[1].action:", 0), 0u) << compile_error(s);
  s.syscalls[1] = {{"getppid"}, "SCMP_ACT_ALLOW", std::nullopt, {{7, 0, 0, "SCMP_CMP_EQ"}}};
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.syscalls[1].args[0].index:", 0), 0u) << compile_error(s);
  s.syscalls[1] = {{"getppid"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 0, 0, "SCMP_CMP_SOMETIMES"}}};
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.syscalls[1].args[0].op:", 0), 0u) << compile_error(s);
  s.syscalls.pop_back();
  s.architectures = {"SCMP_ARCH_PDP11"};
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.architectures[0]:", 0), 0u) << compile_error(s);
  s.architectures = {"SCMP_ARCH_S390X"};  // big-endian: cannot share a filter with the native arch
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.architectures[0]:", 0), 0u) << compile_error(s);
  s.architectures.clear();
  s.default_errno_ret = 5000;
  EXPECT_EQ(compile_error(s).rfind("linux.seccomp.defaultAction:", 0), 0u) << compile_error(s);

  // Unknown names are skipped and reported, not fatal (as runc).
  Seccomp unknown;
  unknown.default_action = "SCMP_ACT_ERRNO";
  unknown.syscalls.push_back({{"getpid", "not_a_syscall_at_all"}, "SCMP_ACT_ALLOW", std::nullopt, {}});
  SeccompProgram program = compile_seccomp(unknown);
  EXPECT_EQ(program.unknown_syscalls, std::vector<std::string>{"not_a_syscall_at_all"});
}

TEST(RuntimeSeccompTest, InstallRefusesAnEmptyProgram) {
  EXPECT_EQ(install_seccomp(SeccompProgram{}), -EINVAL);
  SeccompProgram huge;
  huge.instructions.resize(BPF_MAXINSNS + 1);
  EXPECT_EQ(install_seccomp(huge), -EINVAL);
}

// --- for real ---------------------------------------------------------------

struct ChildResult {
  int status = -1;
  std::string output;
};

// Forks; the child gets the write end of a pipe and exits with body()'s value.
ChildResult run_in_child(const std::function<int(int)>& body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(body(fds[1]));
  }
  close(fds[1]);
  ChildResult result;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.output.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

// One probe's outcome: the return value and errno right after it.
struct Outcome {
  long ret = 0;
  int err = 0;
};

enum Probe : std::size_t {
  kMount,
  kUnshare,
  kKeyctl,
  kSocketVsock,
  kSocketAlg,
  kSocketAlgHighBits,
  kSocketVsockHighBits,
  kPersonalityOdd,
  kClone3,
  kCloneNewns,
  kIoUring,
  kPivotRoot,
  kSetns,
  kBpf,
  kBeyondProfile,
  kGetpid,
  kSocketInet,
  kSocketUnix,
  kSocketNetlinkHighBits,
  kPersonalityQuery,
  kFork,
  kThread,
  kPipeWrite,
  kProbeCount
};

void* thread_body(void*) { return nullptr; }

// Runs in the child after the filter is installed: no gtest here.
void run_probes(std::array<Outcome, kProbeCount>& out) {
  auto record = [&out](Probe p, long ret) { out[p] = Outcome{ret, ret < 0 ? errno : 0}; };
  errno = 0;
  record(kMount, mount("none", "/nonexistent-deckhand-seccomp-test", "tmpfs", 0, nullptr));
  record(kUnshare, unshare(CLONE_NEWNS));
  record(kKeyctl, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session keyring */, 0));
  long fd = socket(AF_VSOCK, SOCK_STREAM, 0);
  record(kSocketVsock, fd);
  fd = socket(AF_ALG, SOCK_SEQPACKET, 0);
  record(kSocketAlg, fd);
  // The kernel reads an int; garbage in the upper half must not get past.
  record(kSocketAlgHighBits, syscall(SYS_socket, (1UL << 32) | AF_ALG, SOCK_SEQPACKET, 0));
  record(kSocketVsockHighBits, syscall(SYS_socket, (1UL << 32) | AF_VSOCK, SOCK_STREAM, 0));
  record(kPersonalityOdd, personality(0x1234567));
  record(kClone3, syscall(SYS_clone3, nullptr, 0));  // EINVAL if it got through
  long cloned = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
  if (cloned == 0) _exit(0);
  record(kCloneNewns, cloned);
  record(kIoUring, syscall(SYS_io_uring_setup, 1, nullptr));
  record(kPivotRoot, syscall(SYS_pivot_root, "/nonexistent-a", "/nonexistent-b"));
  record(kSetns, setns(-1, 0));
  record(kBpf, syscall(SYS_bpf, 0, nullptr, 0));
  record(kBeyondProfile, syscall(1000));
  record(kGetpid, getpid());
  record(kSocketInet, socket(AF_INET, SOCK_STREAM, 0));
  record(kSocketUnix, socket(AF_UNIX, SOCK_STREAM, 0));
  record(kSocketNetlinkHighBits, syscall(SYS_socket, (1UL << 32) | AF_NETLINK, SOCK_RAW, 0));  // allowed family
  record(kPersonalityQuery, personality(0xffffffff));
  pid_t child = fork();
  if (child == 0) _exit(7);
  int status = 0;
  if (child > 0) waitpid(child, &status, 0);
  record(kFork, child < 0 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -2));
  pthread_t thread;  // glibc tries clone3, gets ENOSYS, falls back to clone
  int rc = pthread_create(&thread, nullptr, thread_body, nullptr);
  if (rc == 0) rc = pthread_join(thread, nullptr);
  errno = rc;
  record(kThread, rc == 0 ? 0 : -1);
  int fds[2];
  long wrote = -1;
  if (pipe(fds) == 0) wrote = write(fds[1], "x", 1);
  record(kPipeWrite, wrote);
}

// Installs `program` in a child (with no_new_privs) and runs the probes.
std::array<Outcome, kProbeCount> probe_under(const SeccompProgram& program, int* status) {
  ChildResult child = run_in_child([&program](int fd) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return 10;
    if (int rc = install_seccomp(program); rc != 0) return 100 + (-rc & 0x7f);
    std::array<Outcome, kProbeCount> out{};
    run_probes(out);
    return write(fd, out.data(), sizeof out) == static_cast<ssize_t>(sizeof out) ? 0 : 11;
  });
  *status = child.status;
  std::array<Outcome, kProbeCount> out{};
  if (child.output.size() == sizeof out) std::memcpy(out.data(), child.output.data(), sizeof out);
  return out;
}

#define EXPECT_DENIED(outcome, error)                                                \
  do {                                                                               \
    EXPECT_EQ((outcome).ret, -1) << #outcome;                                        \
    EXPECT_EQ((outcome).err, error) << #outcome << ": " << std::strerror((outcome).err); \
  } while (0)

TEST(RuntimeSeccompTest, DefaultProfileIsEnforcedInAChild) {
  const SeccompProgram program = compile_seccomp(default_seccomp_profile(default_capabilities()));
  int status = 0;
  std::array<Outcome, kProbeCount> r = probe_under(program, &status);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << "(100 + errno from install_seccomp)";

  EXPECT_DENIED(r[kMount], EPERM);
  EXPECT_DENIED(r[kUnshare], EPERM);
  EXPECT_DENIED(r[kKeyctl], EPERM);
  EXPECT_DENIED(r[kSocketVsock], EPERM);  // not EAFNOSUPPORT: the filter, not the kernel
  EXPECT_DENIED(r[kSocketAlg], EPERM);
  EXPECT_DENIED(r[kSocketAlgHighBits], EPERM);
  EXPECT_DENIED(r[kSocketVsockHighBits], EPERM);
  EXPECT_DENIED(r[kPersonalityOdd], EPERM);
  EXPECT_DENIED(r[kClone3], ENOSYS);
  EXPECT_DENIED(r[kCloneNewns], EPERM);
  EXPECT_DENIED(r[kIoUring], EPERM);
  EXPECT_DENIED(r[kPivotRoot], EPERM);
  EXPECT_DENIED(r[kSetns], EPERM);
  EXPECT_DENIED(r[kBpf], EPERM);
  EXPECT_DENIED(r[kBeyondProfile], ENOSYS);  // newer than the profile: ENOSYS stub

  EXPECT_GT(r[kGetpid].ret, 1);
  EXPECT_GE(r[kSocketInet].ret, 0) << std::strerror(r[kSocketInet].err);
  EXPECT_GE(r[kSocketUnix].ret, 0) << std::strerror(r[kSocketUnix].err);
  EXPECT_GE(r[kSocketNetlinkHighBits].ret, 0) << std::strerror(r[kSocketNetlinkHighBits].err);
  EXPECT_GE(r[kPersonalityQuery].ret, 0) << std::strerror(r[kPersonalityQuery].err);
  EXPECT_EQ(r[kFork].ret, 7);
  EXPECT_EQ(r[kThread].ret, 0) << std::strerror(r[kThread].err);
  EXPECT_EQ(r[kPipeWrite].ret, 1);
}

TEST(RuntimeSeccompTest, SysAdminProfileLetsNamespacesThrough) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to unshare";
  const SeccompProgram program =
      compile_seccomp(default_seccomp_profile(with(default_capabilities(), CAP_SYS_ADMIN)));
  int status = 0;
  std::array<Outcome, kProbeCount> r = probe_under(program, &status);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(r[kUnshare].ret, 0) << std::strerror(r[kUnshare].err);
  EXPECT_DENIED(r[kMount], ENOENT);   // reached the kernel
  EXPECT_DENIED(r[kClone3], EINVAL);  // reached the kernel
  EXPECT_DENIED(r[kSetns], EBADF);
  EXPECT_DENIED(r[kKeyctl], EPERM);  // never allowed
  EXPECT_DENIED(r[kIoUring], EPERM);
  EXPECT_DENIED(r[kSocketAlg], EPERM);
  EXPECT_EQ(r[kThread].ret, 0);
}

TEST(RuntimeSeccompTest, CustomProfileReturnsTheRequestedErrno) {
  const SeccompProgram program = compile_seccomp(parse_seccomp(json::parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99}]
  })")));
  ChildResult child = run_in_child([&program](int fd) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return 10;
    if (int rc = install_seccomp(program); rc != 0) return 100 + (-rc & 0x7f);
    errno = 0;
    std::array<Outcome, 3> out{};
    long ret = syscall(SYS_getppid);  // glibc's getppid() "cannot fail": it returns -99, errno untouched
    out[0] = {ret, errno};
    out[1] = {getpid(), 0};
    ret = syscall(1000);  // default ALLOW: no ENOSYS stub, the kernel's own ENOSYS
    out[2] = {ret, errno};
    return write(fd, out.data(), sizeof out) == static_cast<ssize_t>(sizeof out) ? 0 : 11;
  });
  ASSERT_TRUE(WIFEXITED(child.status));
  ASSERT_EQ(WEXITSTATUS(child.status), 0);
  std::array<Outcome, 3> out{};
  ASSERT_EQ(child.output.size(), sizeof out);
  std::memcpy(out.data(), child.output.data(), sizeof out);
  EXPECT_DENIED(out[0], 99);
  EXPECT_GT(out[1].ret, 1);
  EXPECT_DENIED(out[2], ENOSYS);
}

TEST(RuntimeSeccompTest, KillProcessActionKillsWithSigsys) {
  const SeccompProgram program = compile_seccomp(parse_seccomp(json::parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]
  })")));
  ChildResult child = run_in_child([&program](int) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return 10;
    if (install_seccomp(program) != 0) return 11;
    getppid();
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(child.status)) << child.status;
  EXPECT_EQ(WTERMSIG(child.status), SIGSYS);
}

TEST(RuntimeSeccompTest, InstallWithoutNoNewPrivsNeedsSysAdmin) {
  const SeccompProgram program = compile_seccomp(parse_seccomp(json{{"defaultAction", "SCMP_ACT_ALLOW"}}));
  ChildResult child = run_in_child([&program](int) {
    // Drop CAP_SYS_ADMIN from the effective set only; no no_new_privs.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (syscall(SYS_capget, &header, data) != 0) return 10;
    data[0].effective &= ~(1u << CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &header, data) != 0) return 11;
    return install_seccomp(program) == -EACCES ? 0 : 12;
  });
  ASSERT_TRUE(WIFEXITED(child.status));
  EXPECT_EQ(WEXITSTATUS(child.status), 0);
}

}  // namespace
}  // namespace deckhand::runtime

namespace deckhand::runtime {
namespace {

bool same_program(const SeccompProgram& a, const SeccompProgram& b) {
  if (a.instructions.size() != b.instructions.size()) return false;
  for (std::size_t i = 0; i < a.instructions.size(); ++i) {
    const auto& x = a.instructions[i];
    const auto& y = b.instructions[i];
    if (x.code != y.code || x.jt != y.jt || x.jf != y.jf || x.k != y.k) return false;
  }
  return true;
}

// What `deckhand oci spec` writes is the profile itself: read back, it
// compiles to the very same filter.
TEST(RuntimeSeccompTest, TheDefaultProfileSurvivesTheTripThroughOciJson) {
  for (const auto& capabilities : {default_capabilities(), all_capabilities()}) {
    const Seccomp profile = default_seccomp_profile(capabilities);
    const nlohmann::json text = nlohmann::json::parse(seccomp_to_json(profile).dump());
    EXPECT_TRUE(same_program(compile_seccomp(parse_seccomp(text)), compile_seccomp(profile)));
  }
  Seccomp custom;
  custom.default_action = "SCMP_ACT_ERRNO";
  custom.default_errno_ret = 38;
  custom.syscalls.push_back({{"personality"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 8, 0, "SCMP_CMP_EQ"}}});
  custom.syscalls.push_back({{"socket"}, "SCMP_ACT_ERRNO", 97, {{0, 40, 0xffffffff, "SCMP_CMP_MASKED_EQ"}}});
  EXPECT_TRUE(same_program(compile_seccomp(parse_seccomp(seccomp_to_json(custom))), compile_seccomp(custom)));
}

// Both templates are valid for this runtime's own parser.
TEST(RuntimeSeccompTest, BothSpecTemplatesParse) {
  for (const SpecProfile profile : {SpecProfile::runtime_default, SpecProfile::privileged}) {
    SpecTemplate options;
    options.profile = profile;
    options.args = {"sleep", "1"};
    const Spec spec = parse_spec(default_spec(options), "/bundle");
    EXPECT_EQ(spec.root_path, "/bundle/rootfs");
    EXPECT_EQ(spec.process.args, (std::vector<std::string>{"sleep", "1"}));
    EXPECT_EQ(spec.seccomp.has_value(), profile == SpecProfile::runtime_default);
    EXPECT_EQ(spec.process.no_new_privileges, profile == SpecProfile::runtime_default);
    EXPECT_EQ(spec.masked_paths.size(), profile == SpecProfile::runtime_default ? 11u : 0u);
  }
}

}  // namespace
}  // namespace deckhand::runtime
