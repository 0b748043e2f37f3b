// Capabilities for the container's process: names, the default set, the
// parent-side bitmasks, /proc status parsing, and applying them for real in a
// forked child that changes uid first (as the container's init does).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "capabilities.hpp"

namespace deckhand::runtime {
namespace {

constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `body` in a forked child with the write end of a pipe; returns the
// child's exit status (as from waitpid) and everything it wrote.
struct ChildResult {
  int status = -1;
  std::string output;
};
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

// Writes /proc/self/status to fd with a stack buffer only.
int write_own_status(int fd) {
  char buf[8192];
  int in = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (in < 0) return 30;
  ssize_t n = read(in, buf, sizeof buf);
  close(in);
  if (n <= 0) return 31;
  return write(fd, buf, static_cast<std::size_t>(n)) == n ? 0 : 32;
}

bool can_change_identity() {
  ProcessPrivileges self = parse_proc_status(read_file("/proc/self/status"));
  uint64_t needed = bit(CAP_SETUID) | bit(CAP_SETGID) | bit(CAP_SETPCAP);
  return geteuid() == 0 && (self.effective & needed) == needed;
}

TEST(RuntimeCapabilitiesTest, NamesBothWays) {
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_from_name("CAP_NET_BIND_SERVICE"), 10);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CAP_AUDIT_WRITE"), 29);
  EXPECT_EQ(capability_from_name("CAP_BPF"), 39);
  EXPECT_EQ(capability_from_name("CAP_CHECKPOINT_RESTORE"), 40);
  EXPECT_EQ(capability_name(0), "CAP_CHOWN");
  EXPECT_EQ(capability_name(13), "CAP_NET_RAW");
  EXPECT_EQ(capability_name(38), "CAP_PERFMON");
  EXPECT_EQ(capability_name(41), "41");
  for (int cap = 0; cap <= 40; ++cap) EXPECT_EQ(capability_from_name(capability_name(cap)), cap) << cap;
}

TEST(RuntimeCapabilitiesTest, UnknownNameThrows) {
  try {
    capability_from_name("CAP_FLY");
    FAIL() << "no exception";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(), "unknown capability \"CAP_FLY\"");
  }
  EXPECT_THROW(capability_from_name("cap_chown"), SpecError);  // OCI spelling only
  EXPECT_THROW(capability_from_name("CHOWN"), SpecError);
  EXPECT_THROW(capability_from_name(""), SpecError);
  EXPECT_THROW(capability_from_name("0"), SpecError);
}

TEST(RuntimeCapabilitiesTest, DefaultListIsTheFourteen) {
  std::vector<int> caps = default_capabilities();
  std::vector<std::string> names;
  for (int cap : caps) names.push_back(capability_name(cap));
  std::sort(names.begin(), names.end());
  std::vector<std::string> expected = {
      "CAP_AUDIT_WRITE", "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",           "CAP_KILL",
      "CAP_MKNOD",       "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
      "CAP_SETUID",      "CAP_SYS_CHROOT"};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(names, expected);
}

TEST(RuntimeCapabilitiesTest, AllCapabilitiesMatchTheKernel) {
  int last = last_capability();
  EXPECT_GE(last, 36);  // CAP_BLOCK_SUSPEND: any kernel from 3.5 on
  EXPECT_LE(last, 63);
  EXPECT_EQ(last, std::stoi(read_file("/proc/sys/kernel/cap_last_cap")));
  std::vector<int> all = all_capabilities();
  ASSERT_EQ(all.size(), static_cast<std::size_t>(last + 1));
  for (int i = 0; i <= last; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
}

TEST(RuntimeCapabilitiesTest, PrepareBuildsBitmasks) {
  Capabilities caps;
  caps.bounding = default_capabilities();
  caps.effective = caps.bounding;
  caps.permitted = caps.bounding;
  caps.inheritable = {CAP_NET_BIND_SERVICE};
  caps.ambient = {CAP_NET_BIND_SERVICE};
  PreparedCapabilities p = prepare_capabilities(caps);
  constexpr uint64_t kDefaults = 0x00000000a80425fbULL;  // Docker's CapBnd
  EXPECT_EQ(p.bounding, kDefaults);
  EXPECT_EQ(p.effective, kDefaults);
  EXPECT_EQ(p.permitted, kDefaults);
  EXPECT_EQ(p.inheritable, bit(10));
  EXPECT_EQ(p.ambient, bit(10));
  EXPECT_EQ(p.last_cap, last_capability());

  PreparedCapabilities empty = prepare_capabilities(Capabilities{});
  EXPECT_EQ(empty.bounding | empty.effective | empty.permitted | empty.inheritable | empty.ambient, 0u);

  Capabilities all;
  all.bounding = all.effective = all.permitted = all_capabilities();
  PreparedCapabilities q = prepare_capabilities(all);
  EXPECT_EQ(q.bounding, last_capability() == 63 ? ~uint64_t{0} : bit(last_capability() + 1) - 1);
}

std::string prepare_error(const Capabilities& caps) {
  try {
    prepare_capabilities(caps);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RuntimeCapabilitiesTest, PrepareRejectsNumbersTheKernelLacks) {
  Capabilities caps;
  caps.bounding = {0, last_capability() + 1};
  EXPECT_NE(prepare_error(caps).find("process.capabilities.bounding: capability " +
                                     std::to_string(last_capability() + 1)),
            std::string::npos)
      << prepare_error(caps);
  caps = {};
  caps.ambient = {-1};
  EXPECT_NE(prepare_error(caps).find("process.capabilities.ambient"), std::string::npos);
  caps = {};
  caps.permitted = {64};
  EXPECT_NE(prepare_error(caps).find("process.capabilities.permitted"), std::string::npos);
}

TEST(RuntimeCapabilitiesTest, PrepareRejectsSetsTheKernelWouldRefuse) {
  Capabilities caps;
  caps.bounding = caps.permitted = {CAP_CHOWN};
  caps.effective = {CAP_CHOWN, CAP_KILL};
  EXPECT_EQ(prepare_error(caps), "process.capabilities.effective: CAP_KILL is not in the permitted set");

  caps = {};
  caps.bounding = caps.permitted = caps.effective = {CAP_CHOWN};
  caps.inheritable = {CAP_SYS_ADMIN};
  EXPECT_EQ(prepare_error(caps), "process.capabilities.inheritable: CAP_SYS_ADMIN is not in the bounding set");

}

// `runc spec` lists ambient capabilities without an inheritable set; the kernel
// cannot raise those, and (as runc) they are skipped for the caller to warn.
TEST(RuntimeCapabilitiesTest, PrepareSkipsAmbientCapabilitiesTheKernelCannotRaise) {
  Capabilities caps;
  caps.bounding = caps.permitted = caps.effective = {CAP_NET_RAW, CAP_KILL};
  caps.inheritable = {CAP_KILL};
  caps.ambient = {CAP_NET_RAW, CAP_KILL, CAP_CHOWN};  // NET_RAW not inheritable; CHOWN nowhere
  PreparedCapabilities p = prepare_capabilities(caps);
  EXPECT_EQ(p.ambient, bit(CAP_KILL));
  EXPECT_EQ(p.skipped_ambient, bit(CAP_NET_RAW) | bit(CAP_CHOWN));
  caps.inheritable = {CAP_KILL, CAP_NET_RAW};
  caps.ambient = {CAP_NET_RAW};
  p = prepare_capabilities(caps);
  EXPECT_EQ(p.ambient, bit(CAP_NET_RAW));
  EXPECT_EQ(p.skipped_ambient, 0u);
}

constexpr const char* kSampleStatus =
    "Name:\tsleep\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Uid:\t0\t0\t0\t0\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t00000000a80425fb\n"
    "CapEff:\t00000000a80425fb\n"
    "CapBnd:\t000001ffffffffff\n"
    "CapAmb:\t0000000000000400\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t2\n"
    "Seccomp_filters:\t1\n"
    "Speculation_Store_Bypass:\tthread force mitigated\n";

TEST(RuntimeCapabilitiesTest, ParsesProcStatus) {
  ProcessPrivileges p = parse_proc_status(kSampleStatus);
  EXPECT_EQ(p.inheritable, 0u);
  EXPECT_EQ(p.permitted, 0xa80425fbULL);
  EXPECT_EQ(p.effective, 0xa80425fbULL);
  EXPECT_EQ(p.bounding, 0x1ffffffffffULL);
  EXPECT_EQ(p.ambient, 0x400u);
  EXPECT_EQ(p.no_new_privs, 1);
  EXPECT_EQ(p.seccomp_mode, 2);  // not confused with Seccomp_filters

  ProcessPrivileges old = parse_proc_status("CapEff:\t0000000000000001\n");  // no NoNewPrivs line
  EXPECT_EQ(old.effective, 1u);
  EXPECT_EQ(old.no_new_privs, -1);
  EXPECT_EQ(old.seccomp_mode, -1);

  ProcessPrivileges self = parse_proc_status(read_file("/proc/self/status"));
  EXPECT_NE(self.bounding, 0u);
  EXPECT_GE(self.no_new_privs, 0);
}

TEST(RuntimeCapabilitiesTest, MalformedProcStatusThrows) {
  EXPECT_THROW(parse_proc_status("CapEff:\tzzzz\n"), std::runtime_error);
  EXPECT_THROW(parse_proc_status("CapEff:\t\n"), std::runtime_error);
  EXPECT_THROW(parse_proc_status("NoNewPrivs:\t1x\n"), std::runtime_error);
  EXPECT_THROW(parse_proc_status("CapBnd:\t1ffffffffffffffffff\n"), std::runtime_error);  // > 64 bits
}

// The container's init path: keep caps across the uid change, become
// nobody, apply, set no_new_privs, and look at /proc/self/status.
TEST(RuntimeCapabilitiesTest, ApplyAfterUidChangeLeavesOnlyTheRequestedCapability) {
  if (!can_change_identity()) GTEST_SKIP() << "needs root with CAP_SETUID, CAP_SETGID and CAP_SETPCAP";
  Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = caps.inheritable = caps.ambient = {CAP_NET_BIND_SERVICE};
  const PreparedCapabilities prepared = prepare_capabilities(caps);

  ChildResult child = run_in_child([&prepared](int fd) {
    if (prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) != 0) return 10;
    if (setgroups(0, nullptr) != 0) return 11;
    if (setresgid(65534, 65534, 65534) != 0) return 12;
    if (setresuid(65534, 65534, 65534) != 0) return 13;
    if (int rc = apply_capabilities(prepared); rc != 0) return 100 + (-rc & 0x7f);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0) return 15;
    return write_own_status(fd);
  });
  ASSERT_TRUE(WIFEXITED(child.status)) << child.status;
  ASSERT_EQ(WEXITSTATUS(child.status), 0) << "(100 + errno from apply_capabilities)";
  ProcessPrivileges p = parse_proc_status(child.output);
  EXPECT_EQ(p.effective, bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(p.permitted, bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(p.bounding, bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(p.inheritable, bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(p.ambient, bit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(p.no_new_privs, 1);
  EXPECT_NE(child.output.find("Uid:\t65534\t65534\t65534\t65534"), std::string::npos) << child.output;
}

// A root container with the RuntimeDefault set: no uid change, inheritable
// and ambient empty, everything else dropped from the bounding set.
TEST(RuntimeCapabilitiesTest, ApplyDefaultsAsRoot) {
  if (!can_change_identity()) GTEST_SKIP() << "needs root with CAP_SETPCAP";
  Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = default_capabilities();
  const PreparedCapabilities prepared = prepare_capabilities(caps);

  ChildResult child = run_in_child([&prepared](int fd) {
    if (int rc = apply_capabilities(prepared); rc != 0) return 100 + (-rc & 0x7f);
    // What is outside the set left the bounding set; what is inside stayed.
    if (prctl(PR_CAPBSET_READ, static_cast<unsigned long>(CAP_SYS_ADMIN), 0UL, 0UL, 0UL) != 0) return 20;
    if (prctl(PR_CAPBSET_READ, static_cast<unsigned long>(CAP_CHOWN), 0UL, 0UL, 0UL) != 1) return 21;
    return write_own_status(fd);
  });
  ASSERT_TRUE(WIFEXITED(child.status)) << child.status;
  ASSERT_EQ(WEXITSTATUS(child.status), 0);
  ProcessPrivileges p = parse_proc_status(child.output);
  EXPECT_EQ(p.effective, 0xa80425fbULL);
  EXPECT_EQ(p.permitted, 0xa80425fbULL);
  EXPECT_EQ(p.bounding, 0xa80425fbULL);
  EXPECT_EQ(p.inheritable, 0u);
  EXPECT_EQ(p.ambient, 0u);
}

}  // namespace
}  // namespace deckhand::runtime
