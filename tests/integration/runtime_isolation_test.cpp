// What a process inside a native-runtime container sees: a busybox command
// runs in a real container (`deckhand oci run` or create/start) and its
// output is parsed. The bundle is what `runc spec` writes unless a test says
// otherwise, and where runc defines the expectation runc runs it too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "agent_fixture.hpp"
#include "runtime_fixture.hpp"

namespace deckhand::test {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

const char* const kRunc = "/usr/sbin/runc";

class RuntimeIsolationTest : public RuntimeTest {};

// runc on the same bundle, for side-by-side expectations.
struct RuncGuard {
  TempDir root{"deckhand-runc-root"};
  std::vector<std::string> ids;
  ~RuncGuard() {
    for (const auto& id : ids) run_command({kRunc, "--root", root.path(), "delete", "--force", id}, "", 10s);
  }
  CommandResult run(const BusyboxBundle& bundle, const std::string& id, const std::vector<std::string>& args) {
    bundle.set_args(args);
    ids.push_back(id);
    return run_command({kRunc, "--root", root.path(), "run", "--bundle", bundle.path(), id}, "", 20s);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "Key:\tvalue" lines (/proc/<pid>/status) → map.
std::map<std::string, std::string> status_fields(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& line : lines_of(text)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return out;
}

struct MountInfo {
  std::string root;         // field 4: the mount's root inside its filesystem
  std::string mount_point;  // field 5
  std::string line;
};

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
  std::vector<MountInfo> mounts;
  for (const auto& line : lines_of(text)) {
    std::istringstream words(line);
    std::string id, parent, device, root, point;
    if (words >> id >> parent >> device >> root >> point) mounts.push_back({root, point, line});
  }
  return mounts;
}

std::vector<std::string> mount_points(const std::vector<MountInfo>& mounts) {
  std::vector<std::string> points;
  for (const auto& m : mounts) points.push_back(m.mount_point);
  std::sort(points.begin(), points.end());
  return points;
}

std::string trimmed(const std::string& text) {
  const auto end = text.find_last_not_of(" \t\n");
  return end == std::string::npos ? "" : text.substr(0, end + 1);
}

TEST_F(RuntimeIsolationTest, TheProcessIsPid1AndSeesTheSpecHostname) {
  const std::string host_name = read_file("/proc/sys/kernel/hostname");
  BusyboxBundle bundle({"true"});
  const CommandResult defaults = run_in(runtime_, bundle, unique_id("iso-pid1"), {"sh", "-c", "echo $$; hostname"});
  EXPECT_EQ(defaults.exit_code, 0) << defaults.err;
  EXPECT_EQ(defaults.out, "1\nrunc\n");

  bundle.edit([](json& c) { c["hostname"] = "box"; });
  const CommandResult named = run_in(runtime_, bundle, unique_id("iso-host"), {"sh", "-c", "echo $$; hostname"});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(named.out, "1\nbox\n");
  EXPECT_EQ(read_file("/proc/sys/kernel/hostname"), host_name);
}

// The mount points a runc-spec bundle must produce on this host: the spec's
// mounts, one bind per cgroup v1 hierarchy of a controller the runtime uses,
// and the masked and read-only paths that exist on the host.
std::vector<std::string> expected_mount_points(const json& config) {
  std::vector<std::string> points{"/"};
  for (const auto& mount : config["mounts"]) points.push_back(mount["destination"].get<std::string>());
  const std::set<std::string> controllers = {"cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer", "blkio"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (entry.is_symlink(ec) || !entry.is_directory(ec)) continue;
    std::stringstream names(entry.path().filename().string());
    for (std::string name; std::getline(names, name, ',');) {
      if (controllers.count(name)) {
        points.push_back("/sys/fs/cgroup/" + entry.path().filename().string());
        break;
      }
    }
  }
  for (const char* key : {"maskedPaths", "readonlyPaths"}) {
    for (const auto& path : config["linux"][key]) {
      if (fs::exists(path.get<std::string>(), ec)) points.push_back(path.get<std::string>());
    }
  }
  std::sort(points.begin(), points.end());
  return points;
}

TEST_F(RuntimeIsolationTest, TheMountTableHoldsOnlyContainerMountsAsWithRunc) {
  BusyboxBundle bundle({"true"});
  const std::vector<std::string> args{"cat", "/proc/self/mountinfo"};
  const CommandResult ours = run_in(runtime_, bundle, unique_id("iso-mounts"), args);
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle, unique_id("iso-mounts-runc"), args);
  ASSERT_EQ(theirs.exit_code, 0) << theirs.err;

  const auto mounts = parse_mountinfo(ours.out);
  const auto expected = expected_mount_points(bundle.config());
  ASSERT_GE(expected.size(), 20u);  // 8 spec mounts, >= 8 cgroup binds, masked and read-only paths
  EXPECT_EQ(lines_of(ours.out).size(), expected.size()) << ours.out;
  EXPECT_EQ(mount_points(mounts), expected) << ours.out;
  // runc makes the same mount points, except that it also joins (and so
  // binds) the name=systemd hierarchy, which the runtime does not use.
  std::vector<std::string> runc_points;
  for (const auto& point : mount_points(parse_mountinfo(theirs.out))) {
    if (point != "/sys/fs/cgroup/systemd") runc_points.push_back(point);
  }
  EXPECT_EQ(mount_points(mounts), runc_points) << "deckhand:\n" << ours.out << "runc:\n" << theirs.out;
  for (const auto& m : mounts) {
    EXPECT_THAT(m.line, Not(HasSubstr("/work"))) << m.line;
    EXPECT_THAT(m.mount_point, Not(HasSubstr(bundle.path()))) << m.line;
    // The kernel shows the root bind's source directory (field 4) for "/";
    // runc's table has the same line. No other mount may name the bundle.
    if (m.mount_point != "/") {
      EXPECT_THAT(m.line, Not(HasSubstr(bundle.path()))) << m.line;
    } else {
      EXPECT_EQ(m.root, bundle.rootfs()) << m.line;
    }
  }
}

TEST_F(RuntimeIsolationTest, TheNetworkNamespaceHasOnlyLoopback) {
  BusyboxBundle bundle({"true"});
  const CommandResult result = run_in(runtime_, bundle, unique_id("iso-net"), {"ls", "/sys/class/net"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "lo\n");
}

TEST_F(RuntimeIsolationTest, CapabilitiesAreExactlyTheSpecsAndNoNewPrivsIsSet) {
  BusyboxBundle bundle({"true"});
  const std::vector<std::string> args{"grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"};
  const CommandResult ours = run_in(runtime_, bundle, unique_id("iso-caps"), args);
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  auto fields = status_fields(ours.out);
  // runc spec: AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10); its ambient
  // list has no inheritable counterpart, so the kernel keeps ambient empty.
  EXPECT_EQ(fields["CapInh"], "0000000000000000");
  EXPECT_EQ(fields["CapPrm"], "0000000020000420");
  EXPECT_EQ(fields["CapEff"], "0000000020000420");
  EXPECT_EQ(fields["CapBnd"], "0000000020000420");
  EXPECT_EQ(fields["CapAmb"], "0000000000000000");
  EXPECT_EQ(fields["NoNewPrivs"], "1");
  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle, unique_id("iso-caps-runc"), args);
  EXPECT_EQ(theirs.exit_code, 0) << theirs.err;
  EXPECT_EQ(ours.out, theirs.out);

  // Docker's / containerd's 14 defaults (SECURITY-BASELINE 1.1).
  const json docker14 = {"CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FSETID",     "CAP_FOWNER", "CAP_MKNOD",
                         "CAP_NET_RAW", "CAP_SETGID",           "CAP_SETUID",     "CAP_SETFCAP", "CAP_SETPCAP",
                         "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  bundle.edit([&](json& c) {
    c["process"]["capabilities"] = {{"bounding", docker14}, {"effective", docker14}, {"permitted", docker14}};
  });
  const CommandResult docker = run_in(runtime_, bundle, unique_id("iso-caps14"), args);
  ASSERT_EQ(docker.exit_code, 0) << docker.err;
  fields = status_fields(docker.out);
  EXPECT_EQ(fields["CapInh"], "0000000000000000");
  EXPECT_EQ(fields["CapPrm"], "00000000a80425fb");
  EXPECT_EQ(fields["CapEff"], "00000000a80425fb");
  EXPECT_EQ(fields["CapBnd"], "00000000a80425fb");
  EXPECT_EQ(fields["CapAmb"], "0000000000000000");
  EXPECT_EQ(fields["NoNewPrivs"], "1");
}

TEST_F(RuntimeIsolationTest, MaskedPathsAreEmptyAndReadonlyPathsRefuseWrites) {
  // Preconditions on this host, so the checks below can fail: the host's
  // versions of the masked paths have content.
  ASSERT_GT(read_file("/proc/timer_list").size(), 0u);
  std::error_code ec;
  ASSERT_FALSE(fs::is_empty("/sys/firmware", ec));
  const std::string host_domain = read_file("/proc/sys/kernel/domainname");

  BusyboxBundle bundle({"true"});
  const std::string script =
      "echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c);"
      "echo keys=$(cat /proc/keys 2>/dev/null | wc -c);"
      "echo timer_list=$(cat /proc/timer_list 2>/dev/null | wc -c);"
      "[ -d /sys/firmware ] && echo firmware=dir;"
      "ls -A /sys/firmware; echo firmware_ls=$?;"
      "touch /sys/firmware/x 2>/dev/null || echo firmware=readonly;"
      "echo 1 > /proc/sys/kernel/domainname;"
      "echo domainname=$?";
  const CommandResult result = run_in(runtime_, bundle, unique_id("iso-mask"), {"sh", "-c", script});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out,
            "kcore=0\nkeys=0\ntimer_list=0\nfirmware=dir\nfirmware_ls=0\nfirmware=readonly\ndomainname=1\n");
  // A masked directory is an empty, listable, read-only directory (runc's
  // tests/integration/mask.bats: `ls /testdir` succeeds with no output).
  EXPECT_EQ(result.err, "sh: can't create /proc/sys/kernel/domainname: Read-only file system\n");
  EXPECT_EQ(read_file("/proc/sys/kernel/domainname"), host_domain);
  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle, unique_id("iso-mask-runc"), {"sh", "-c", script});
  EXPECT_EQ(theirs.out, result.out);
  EXPECT_EQ(theirs.err, result.err);
}

TEST_F(RuntimeIsolationTest, AReadonlyRootRefusesWritesAndAWritableOneTakesThem) {
  BusyboxBundle bundle({"true"});
  const CommandResult readonly = run_in(runtime_, bundle, unique_id("iso-ro"), {"touch", "/x"});
  EXPECT_EQ(readonly.exit_code, 1);
  EXPECT_EQ(readonly.err, "touch: /x: Read-only file system\n");
  std::error_code ec;
  EXPECT_FALSE(fs::exists(bundle.rootfs() + "/x", ec));

  bundle.edit([](json& c) { c["root"]["readonly"] = false; });
  const CommandResult writable = run_in(runtime_, bundle, unique_id("iso-rw"), {"touch", "/x"});
  EXPECT_EQ(writable.exit_code, 0) << writable.err;
  EXPECT_EQ(writable.err, "");
  EXPECT_TRUE(fs::exists(bundle.rootfs() + "/x", ec));
}

TEST_F(RuntimeIsolationTest, TheSeccompSectionOfConfigIsEnforced) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) { c["root"]["readonly"] = false; });  // mkdir may succeed without the filter
  const std::vector<std::string> args{"sh", "-c", "echo ok; mkdir /tmp/d; echo mkdir=$?; grep '^Seccomp:' /proc/self/status"};

  const CommandResult without = run_in(runtime_, bundle, unique_id("iso-noseccomp"), args);
  EXPECT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(without.out, "ok\nmkdir=0\nSeccomp:\t0\n");
  EXPECT_EQ(without.err, "");
  fs::remove(bundle.rootfs() + "/tmp/d");

  bundle.edit([](json& c) {
    c["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls", json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}})}};
  });
  const CommandResult with = run_in(runtime_, bundle, unique_id("iso-seccomp"), args);
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out, "ok\nmkdir=1\nSeccomp:\t2\n");
  EXPECT_EQ(with.err, "mkdir: can't create directory '/tmp/d': Operation not permitted\n");
  std::error_code ec;
  EXPECT_FALSE(fs::exists(bundle.rootfs() + "/tmp/d", ec));

  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle, unique_id("iso-seccomp-runc"), args);
  EXPECT_EQ(theirs.out, with.out);
  EXPECT_EQ(theirs.err, with.err);
}

TEST_F(RuntimeIsolationTest, ResourceLimitsReachTheCgroupsSeenInsideAndOnTheHost) {
  const std::string id = unique_id("iso-cgroup");
  const std::string cpu_hierarchy = fs::path(cgroup_dir("cpu", id)).parent_path().parent_path().filename().string();
  ASSERT_TRUE(cpu_hierarchy == "cpu" || cpu_hierarchy == "cpu,cpuacct") << cpu_hierarchy;
  const std::string inside_cpu = "/sys/fs/cgroup/" + cpu_hierarchy;
  BusyboxBundle bundle({"cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max",
                        inside_cpu + "/cpu.cfs_quota_us", inside_cpu + "/cpu.cfs_period_us",
                        inside_cpu + "/cpu.shares"});
  bundle.edit([](json& c) {
    ASSERT_FALSE(c["linux"].contains("cgroupsPath"));  // so the default, deckhand/<id>, applies
    c["linux"]["resources"]["memory"] = {{"limit", 32 * 1024 * 1024}};
    c["linux"]["resources"]["pids"] = {{"limit", 16}};
    c["linux"]["resources"]["cpu"] = {{"quota", 50000}, {"period", 100000}, {"shares", 512}};
  });
  const CommandResult created = runtime_.create(bundle.path(), id);
  ASSERT_EQ(created.exit_code, 0) << created.err;

  // On the host, while it exists.
  for (const char* controller : {"memory", "pids", "cpu", "devices", "freezer"}) {
    EXPECT_TRUE(fs::is_directory(cgroup_dir(controller, id))) << cgroup_dir(controller, id);
  }
  EXPECT_EQ(trimmed(read_file(cgroup_dir("memory", id) + "/memory.limit_in_bytes")), "33554432");
  EXPECT_EQ(trimmed(read_file(cgroup_dir("pids", id) + "/pids.max")), "16");
  EXPECT_EQ(trimmed(read_file(cgroup_dir("cpu", id) + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(trimmed(read_file(cgroup_dir("cpu", id) + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(trimmed(read_file(cgroup_dir("cpu", id) + "/cpu.shares")), "512");
  const pid_t pid = runtime_.state(id).value_or(json::object()).value("pid", 0);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(trimmed(read_file(cgroup_dir("memory", id) + "/cgroup.procs")), std::to_string(pid));

  const CommandResult started = runtime_.oci({"start", id});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto stopped = runtime_.wait_for_status(id, "stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->value("exit", json::object()).value("exitCode", -1), 0)
      << stopped->dump() << runtime_.container_stderr(id);
  EXPECT_EQ(runtime_.container_stdout(id), "33554432\n16\n50000\n100000\n512\n");
}

TEST_F(RuntimeIsolationTest, ExceedingTheMemoryLimitIsReportedAsOomKilled) {
  BusyboxBundle bundle({"sh", "-c", "a=aaaaaaaa; while true; do a=\"$a$a\"; done"});
  bundle.edit([](json& c) { c["linux"]["resources"]["memory"] = {{"limit", 16 * 1024 * 1024}}; });
  const std::string id = unique_id("iso-oom");
  const CommandResult created = runtime_.create(bundle.path(), id);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const CommandResult started = runtime_.oci({"start", id});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const auto stopped = runtime_.wait_for_status(id, "stopped", 20s);
  ASSERT_TRUE(stopped);
  ASSERT_EQ(stopped->value("status", ""), "stopped") << stopped->dump();
  const json exit = stopped->value("exit", json::object());
  EXPECT_EQ(exit.value("oomKilled", false), true) << exit.dump();
  EXPECT_EQ(exit.value("exitCode", -1), 137);
  EXPECT_EQ(exit.value("signal", -1), 9);
}

TEST_F(RuntimeIsolationTest, ThePidsLimitStopsForks) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) { c["linux"]["resources"]["pids"] = {{"limit", 10}}; });
  // busybox sh gives up at its first failed fork, so an inner shell forks
  // until it hits the limit (itself, the outer shell and 8 sleeps = 10); the
  // outer one then reads the counters with builtins only: the inner shell is
  // gone, its 8 sleeps are still there.
  const std::string script =
      "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 10 & i=$((i+1)); done';"
      "echo inner=$?;"
      "read n < /sys/fs/cgroup/pids/pids.current; echo pids.current=$n;"
      "read m < /sys/fs/cgroup/pids/pids.max; echo pids.max=$m; exit 0";
  const auto began = std::chrono::steady_clock::now();
  const CommandResult result = run_in(runtime_, bundle, unique_id("iso-pids"), {"sh", "-c", script});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "inner=2\npids.current=9\npids.max=10\n");
  EXPECT_EQ(result.err, "sh: can't fork: Resource temporarily unavailable\n");
  // The init's exit took the background sleeps with it.
  EXPECT_LT(std::chrono::steady_clock::now() - began, 8s);
}

TEST_F(RuntimeIsolationTest, OnlyStdioReachesTheProgramLikeRunc) {
  BusyboxBundle bundle({"true"});
  const std::vector<std::string> args{"ls", "/proc/self/fd"};
  const CommandResult ours = run_in(runtime_, bundle, unique_id("iso-fds"), args);
  EXPECT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_EQ(ours.out, "0\n1\n2\n3\n");  // 3: ls's own directory descriptor
  RuncGuard runc;
  const CommandResult theirs = runc.run(bundle, unique_id("iso-fds-runc"), args);
  EXPECT_EQ(theirs.out, ours.out);
}

TEST_F(RuntimeIsolationTest, BackgroundChildrenLeaveNoProcessOrZombie) {
  BusyboxBundle bundle({"true"});
  const std::string id = unique_id("iso-orphan");
  const CommandResult result = run_in(runtime_, bundle, id, {"sh", "-c", "sleep 0.1 & exit 0"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(processes_in_cgroup(id), IsEmpty());
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

TEST_F(RuntimeIsolationTest, WithoutAPidNamespaceOrphansAreStillKilled) {
  BusyboxBundle bundle({"true"});
  bundle.edit([](json& c) {
    json kept = json::array();
    for (const auto& ns : c["linux"]["namespaces"]) {
      if (ns.value("type", "") != "pid") kept.push_back(ns);
    }
    c["linux"]["namespaces"] = kept;
  });
  const std::string id = unique_id("iso-nopidns");
  const auto began = std::chrono::steady_clock::now();
  const CommandResult result = run_in(runtime_, bundle, id, {"sh", "-c", "sleep 30 & echo $!; exit 0"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
  const pid_t orphan = static_cast<pid_t>(std::atol(result.out.c_str()));
  ASSERT_GT(orphan, 1) << result.out;
  // Killed: gone, or a zombie waiting for the host's init (the monitor, its
  // subreaper, has exited by then; this sandbox's pid 1 reaps lazily).
  EXPECT_TRUE(poll_until([&] { return !process_exists(orphan) || process_state(orphan) == "Z"; }))
      << "the orphaned sleep " << orphan << " is still running, state " << process_state(orphan);
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

TEST_F(RuntimeIsolationTest, DeleteLeavesNoCgroupStateProcessOrMount) {
  BusyboxBundle bundle({"sleep", "30"});
  const std::string id = unique_id("iso-delete");
  const CommandResult created = runtime_.create(bundle.path(), id);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const CommandResult started = runtime_.oci({"start", id});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const pid_t pid = runtime_.state(id).value_or(json::object()).value("pid", 0);
  ASSERT_GT(pid, 0);

  // While it runs: its own namespaces (the spec's five; cgroup is not in it),
  // its cgroups, and none of its mounts in the host's table.
  const std::string self = "/proc/self/ns/", theirs = "/proc/" + std::to_string(pid) + "/ns/";
  for (const char* ns : {"mnt", "pid", "net", "uts", "ipc"}) {
    EXPECT_NE(fs::read_symlink(self + ns), fs::read_symlink(theirs + ns)) << ns;
  }
  EXPECT_EQ(fs::read_symlink(self + "cgroup"), fs::read_symlink(theirs + "cgroup"));
  EXPECT_THAT(cgroup_dirs(id), Not(IsEmpty()));
  EXPECT_THAT(processes_in_cgroup(id), ElementsAre(pid));
  EXPECT_THAT(host_mounts_containing(bundle.path()), IsEmpty());

  const CommandResult deleted = runtime_.oci({"delete", "--force", id});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_THAT(cgroup_dirs(id), IsEmpty());
  std::error_code ec;
  EXPECT_FALSE(fs::exists(runtime_.container_dir(id), ec));
  EXPECT_TRUE(poll_until([&] { return !process_exists(pid); })) << "state " << process_state(pid);
  EXPECT_THAT(processes_in_cgroup(id), IsEmpty());
  EXPECT_THAT(host_mounts_containing(bundle.rootfs()), IsEmpty());
  EXPECT_THAT(runtime_.leftovers(id), IsEmpty());
}

}  // namespace
}  // namespace deckhand::test
