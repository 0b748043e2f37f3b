// The cgroup drivers: flat-keyed parsing, path safety, the v1 and v2 drivers
// on fake trees (exact file contents), and both drivers on the real kernel
// (root only, skipped otherwise): limits read back, processes moved in,
// stats, a real OOM kill, a pids limit, kill_all and destroy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cgroups/cgroup.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::runtime {
namespace {

namespace fs = std::filesystem;
using deckhand::test::read_file;
using deckhand::test::TempDir;
using deckhand::test::write_file;
using namespace std::chrono_literals;

constexpr int64_t kMiB = 1024 * 1024;
const std::vector<std::string> kV1Controllers = {"cpu",    "cpuacct", "cpuset",  "memory",
                                                 "pids",   "devices", "freezer", "blkio"};

std::string trimmed(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == ' ')) --end;
  return text.substr(0, end);
}

// The CgroupError message `action` throws, or a marker.
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const CgroupError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception type: ") + e.what();
  }
  return "(no error)";
}

bool has_magic(const std::string& path, long magic) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == magic;
}

// The cgroup2 hierarchy of this host: /sys/fs/cgroup/unified (hybrid) or
// /sys/fs/cgroup (unified); "" if none.
std::string unified_root() {
  for (const char* path : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    if (has_magic(path, CGROUP2_SUPER_MAGIC)) return path;
  }
  return "";
}

bool v1_available() { return has_magic("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC); }

std::string test_cgroup_top() { return "deckhand-test-" + std::to_string(::getpid()); }

// ------------------------------------------------------------ child processes

// Touches `bytes` of fresh anonymous memory (so it is charged to the current cgroup).
bool touch_memory(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  for (size_t i = 0; i < bytes; i += 4096) static_cast<volatile char*>(p)[i] = 1;
  return true;
}

// A forked child that waits for go(), then runs body(ready_fd) and exits with
// its result. Killed and reaped when the test ends, also on failure.
class Child {
 public:
  explicit Child(const std::function<int(int)>& body) {
    int go[2];
    int ready[2];
    if (::pipe2(go, O_CLOEXEC) != 0 || ::pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::close(go[1]);
      ::close(ready[0]);
      char c;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(body(ready[1]));
    }
    ::close(go[0]);
    ::close(ready[1]);
    go_fd_ = go[1];
    ready_fd_ = ready[0];
  }
  ~Child() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(go_fd_);
    ::close(ready_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void go() { ASSERT_EQ(::write(go_fd_, "g", 1), 1); }
  bool wait_ready(std::chrono::milliseconds timeout) {
    pollfd p{ready_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    char c;
    return ::read(ready_fd_, &c, 1) == 1;
  }
  // The wait status once the child exits within `timeout`.
  std::optional<int> wait_status(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return status;
      }
      std::this_thread::sleep_for(5ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  int ready_fd_ = -1;
  bool reaped_ = false;
};

// Touches `bytes`, reports ready, sleeps until killed.
std::function<int(int)> sleeper(size_t bytes = 0) {
  return [bytes](int ready) {
    if (bytes > 0 && !touch_memory(bytes)) return 3;
    if (::write(ready, "r", 1) != 1) return 4;
    for (;;) ::pause();
  };
}

// Reports ready, then grows a tree while it is being killed: every process
// forks 3 children, 20 ms apart, 3 levels deep (40 processes), then sleeps.
int growing_tree(int ready) {
  if (::write(ready, "r", 1) != 1) return 4;
  int depth = 0;
  int forked = 0;
  while (forked < 3) {
    ::usleep(20000);
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (++depth == 3) break;
      forked = 0;
      continue;
    }
    ++forked;
  }
  for (;;) ::pause();
}

// Signals the tree mid-growth; every process of it must be gone soon after.
void expect_tree_killed(CgroupDriver& d, const std::string& path, int signal) {
  Child child(growing_tree);
  d.add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  std::this_thread::sleep_for(70ms);  // a few processes exist, more are coming
  ASSERT_GT(d.processes(path).size(), 1u);
  d.kill_all(path, signal);
  const std::optional<int> status = child.wait_status(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == signal) << *status;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!d.processes(path).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(d.processes(path).empty()) << d.processes(path).size() << " processes escaped";
}

// Moves itself into the cgroup (add_self, as a container's init does),
// reports ready, sleeps until killed.
std::function<int(int)> self_joiner(CgroupDriver& d, const std::string& path) {
  return [&d, path](int ready) {
    try {
      d.add_self(path);
    } catch (const std::exception&) {
      return 5;
    }
    if (::write(ready, "r", 1) != 1) return 4;
    for (;;) ::pause();
  };
}

// Kills (SIGKILL) every process of the listed cgroups, then removes them, at
// the end of the test whatever happened. Paths deepest first.
class CgroupGuard {
 public:
  CgroupGuard(CgroupDriver& driver, std::vector<std::string> paths) : driver_(driver), paths_(std::move(paths)) {}
  ~CgroupGuard() {
    for (const std::string& path : paths_) {
      try {
        driver_.kill_all(path, SIGKILL);
        const auto deadline = std::chrono::steady_clock::now() + 2s;
        while (!driver_.processes(path).empty() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(5ms);
        }
      } catch (const std::exception&) {
      }
    }
    for (const std::string& path : paths_) {
      try {
        driver_.destroy(path);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cleanup: " << e.what();
      }
    }
  }
  CgroupGuard(const CgroupGuard&) = delete;
  CgroupGuard& operator=(const CgroupGuard&) = delete;

 private:
  CgroupDriver& driver_;
  std::vector<std::string> paths_;
};

// ------------------------------------------------------------ parse_flat_keyed

TEST(CgroupParse, MemoryEvents) {
  const auto events = parse_flat_keyed("low 0\nhigh 12\nmax 345\noom 2\noom_kill 1\noom_group_kill 0\n");
  EXPECT_EQ(events.size(), 6u);
  EXPECT_EQ(events.at("low"), 0u);
  EXPECT_EQ(events.at("high"), 12u);
  EXPECT_EQ(events.at("max"), 345u);
  EXPECT_EQ(events.at("oom_kill"), 1u);
  EXPECT_EQ(events.at("oom_group_kill"), 0u);
}

TEST(CgroupParse, SkipsMalformedLines) {
  const auto parsed = parse_flat_keyed(
      "oom 1\n"
      "novalue\n"
      "negative -3\n"
      "word max\n"
      "three fields 7\n"
      "trailing 12x\n"
      "\n"
      "  spaced\t 18446744073709551615  \n"
      "overflow 18446744073709551616\n"
      "oom_kill 4");  // no final newline
  EXPECT_EQ(parsed, (std::map<std::string, uint64_t>{{"oom", 1}, {"spaced", UINT64_MAX}, {"oom_kill", 4}}));
  EXPECT_TRUE(parse_flat_keyed("").empty());
}

// ------------------------------------------------------------ path safety

TEST(CgroupPath, UnsafePathsAreRefusedByBothDrivers) {
  TempDir tmp("cgroup-path");
  fs::create_directories(tmp / "memory");
  const std::vector<std::string> bad = {"",      "..",  "../etc", "a/../../b", "a/..", "/..", std::string("a\0b", 3),
                                        "/",     "//",  "./.",    "a/b/../c"};
  for (const auto& driver : {make_cgroup_v1_driver(tmp.path()), make_cgroup_v2_driver(tmp.path())}) {
    for (const std::string& path : bad) {
      SCOPED_TRACE(driver->version() + " path \"" + path + "\"");
      EXPECT_NE(error_of([&] { driver->create(path, Resources{}); }).find("invalid cgroups path"), std::string::npos);
      EXPECT_NE(error_of([&] { driver->add_process(path, 1); }).find("invalid cgroups path"), std::string::npos);
      EXPECT_NE(error_of([&] { driver->destroy(path); }).find("invalid cgroups path"), std::string::npos);
      EXPECT_NE(error_of([&] { driver->kill_all(path, SIGKILL); }).find("invalid cgroups path"), std::string::npos);
      EXPECT_NE(error_of([&] { (void)driver->cgroup_dir("memory", path); }).find("invalid cgroups path"),
                std::string::npos);
    }
  }
  // Nothing was created anywhere.
  EXPECT_TRUE(fs::is_empty(tmp / "memory"));
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(CgroupPath, LeadingSlashAndDotsStayBelowTheRoot) {
  TempDir tmp("cgroup-path");
  fs::create_directories(tmp / "memory");
  auto v2 = make_cgroup_v2_driver(tmp.path());
  EXPECT_EQ(v2->cgroup_dir("", "/deckhand/pod-x/c1"), tmp / "deckhand/pod-x/c1");
  EXPECT_EQ(v2->cgroup_dir("", "deckhand//pod-x/./c1/"), tmp / "deckhand/pod-x/c1");
  auto v1 = make_cgroup_v1_driver(tmp.path());
  EXPECT_EQ(v1->cgroup_dir("memory", "/deckhand/c1"), tmp / "memory/deckhand/c1");
  EXPECT_NE(error_of([&] { (void)v1->cgroup_dir("cpu", "deckhand/c1"); }).find("\"cpu\" is not mounted"),
            std::string::npos);
}

TEST(CgroupPath, InvalidPidIsRefused) {
  TempDir tmp("cgroup-path");
  auto v2 = make_cgroup_v2_driver(tmp.path());
  v2->create("c1", Resources{});
  EXPECT_NE(error_of([&] { v2->add_process("c1", 0); }).find("invalid pid 0"), std::string::npos);
  EXPECT_NE(error_of([&] { v2->add_process("c1", -5); }).find("invalid pid -5"), std::string::npos);
}

// ------------------------------------------------------------ v2, fake tree

void make_files(const std::string& dir, const std::map<std::string, std::string>& files) {
  fs::create_directories(dir);
  for (const auto& [name, content] : files) write_file(dir + "/" + name, content);
}

const std::map<std::string, std::string> kV2Leaf = {
    {"cgroup.controllers", "cpu memory pids"},
    {"cgroup.subtree_control", ""},
    {"cgroup.procs", ""},
    {"cgroup.events", "populated 0\nfrozen 0\n"},
    {"cpu.weight", "100"},
    {"cpu.max", "max 100000"},
    {"memory.max", "max"},
    {"memory.swap.max", "max"},
    {"memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n"},
    {"pids.max", "max"},
};

// root offers cpuset cpu io memory pids; deckhand/pod-x/c1 fully populated.
void make_fake_v2(const TempDir& tmp, const std::string& controllers = "cpuset cpu io memory pids") {
  make_files(tmp.path(), {{"cgroup.controllers", controllers}, {"cgroup.subtree_control", ""}, {"cgroup.procs", ""}});
  make_files(tmp / "deckhand", {{"cgroup.controllers", "cpu memory pids"}, {"cgroup.subtree_control", ""}});
  make_files(tmp / "deckhand/pod-x", {{"cgroup.controllers", "cpu memory pids"}, {"cgroup.subtree_control", ""}});
  make_files(tmp / "deckhand/pod-x/c1", kV2Leaf);
}

TEST(CgroupV2Fake, CreateWritesExactValues) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  auto d = make_cgroup_v2_driver(tmp.path());
  EXPECT_EQ(d->version(), "v2");
  Resources r;
  r.cpu_shares = 1024;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.memory_limit = 64 * kMiB;
  r.memory_swap = 96 * kMiB;
  r.pids_limit = -1;
  d->create("/deckhand/pod-x/c1", r);

  const std::string leaf = tmp / "deckhand/pod-x/c1";
  EXPECT_EQ(d->cgroup_dir("memory", "deckhand/pod-x/c1"), leaf);
  EXPECT_EQ(read_file(leaf + "/cpu.weight"), "39");
  EXPECT_EQ(read_file(leaf + "/cpu.max"), "50000 100000");
  EXPECT_EQ(read_file(leaf + "/memory.max"), "67108864");
  EXPECT_EQ(read_file(leaf + "/memory.swap.max"), "33554432");  // swap minus memory
  EXPECT_EQ(read_file(leaf + "/pids.max"), "max");
  // Every ancestor enables the controllers; the leaf (which holds processes) does not.
  EXPECT_EQ(read_file(tmp / "cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read_file(tmp / "deckhand/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read_file(tmp / "deckhand/pod-x/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read_file(leaf + "/cgroup.subtree_control"), "");

  d->add_process("deckhand/pod-x/c1", 4242);
  EXPECT_EQ(read_file(leaf + "/cgroup.procs"), "4242");
  make_files(leaf + "/nested", {{"cgroup.procs", "77\n4242\n"}});
  EXPECT_EQ(d->processes("deckhand/pod-x/c1"), (std::vector<pid_t>{77, 4242}));
}

TEST(CgroupV2Fake, SubtreeControlGetsOnlyMissingOfferedControllers) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp, "cpu io memory");  // no pids offered
  write_file(tmp / "cgroup.subtree_control", "cpu io");
  auto d = make_cgroup_v2_driver(tmp.path());
  d->create("deckhand/pod-x/c1", Resources{});
  EXPECT_EQ(read_file(tmp / "cgroup.subtree_control"), "+memory");
  EXPECT_EQ(read_file(tmp / "deckhand/cgroup.subtree_control"), "+cpu +memory");
}

TEST(CgroupV2Fake, UnlimitedValuesAndKeptPeriod) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  const std::string leaf = tmp / "deckhand/pod-x/c1";
  write_file(leaf + "/cpu.max", "20000 50000\n");
  auto d = make_cgroup_v2_driver(tmp.path());
  Resources r;
  r.cpu_quota = -1;
  r.memory_limit = -1;
  r.pids_limit = 0;
  d->create("deckhand/pod-x/c1", r);
  EXPECT_EQ(read_file(leaf + "/cpu.max"), "max 50000");  // the current period is kept
  EXPECT_EQ(read_file(leaf + "/memory.max"), "max");
  EXPECT_EQ(read_file(leaf + "/memory.swap.max"), "max");
  EXPECT_EQ(read_file(leaf + "/pids.max"), "max");

  Resources period_only;
  period_only.cpu_period = 200000;
  d->update("deckhand/pod-x/c1", period_only);
  EXPECT_EQ(read_file(leaf + "/cpu.max"), "max 200000");
  Resources quota_only;
  quota_only.cpu_quota = 30000;
  quota_only.pids_limit = 7;
  d->update("deckhand/pod-x/c1", quota_only);
  EXPECT_EQ(read_file(leaf + "/cpu.max"), "30000 200000");
  EXPECT_EQ(read_file(leaf + "/pids.max"), "7");
}

TEST(CgroupV2Fake, SharesToWeight) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  auto d = make_cgroup_v2_driver(tmp.path());
  const std::string weight = tmp / "deckhand/pod-x/c1/cpu.weight";
  for (const auto& [shares, expected] : std::vector<std::pair<uint64_t, std::string>>{
           {2, "1"}, {1, "1"}, {1024, "39"}, {512, "20"}, {262144, "10000"}, {1000000, "10000"}}) {
    Resources r;
    r.cpu_shares = shares;
    d->update("deckhand/pod-x/c1", r);
    EXPECT_EQ(read_file(weight), expected) << "shares " << shares;
  }
  write_file(weight, "100");
  Resources zero;
  zero.cpu_shares = 0;  // not set
  d->update("deckhand/pod-x/c1", zero);
  EXPECT_EQ(read_file(weight), "100");
}

TEST(CgroupV2Fake, DeviceRulesAreRefused) {
  TempDir tmp("cgroup-v2");
  auto d = make_cgroup_v2_driver(tmp.path());
  Resources r;
  r.devices.push_back(DeviceRule{true, 'c', 1, 3, "rwm"});
  EXPECT_NE(error_of([&] { d->create("c1", r); }).find("device rules on cgroup v2 are not supported"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "c1"));
}

TEST(CgroupV2Fake, SwapWithoutAccounting) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  const std::string leaf = tmp / "deckhand/pod-x/c1";
  fs::remove(leaf + "/memory.swap.max");
  auto d = make_cgroup_v2_driver(tmp.path());
  Resources same;
  same.memory_limit = 32 * kMiB;
  same.memory_swap = 32 * kMiB;
  EXPECT_EQ(error_of([&] { d->update("deckhand/pod-x/c1", same); }), "(no error)");
  EXPECT_EQ(read_file(leaf + "/memory.max"), "33554432");
  Resources more;
  more.memory_limit = 16 * kMiB;
  more.memory_swap = 64 * kMiB;
  EXPECT_NE(error_of([&] { d->update("deckhand/pod-x/c1", more); }).find("swap accounting is disabled"),
            std::string::npos);
  EXPECT_EQ(read_file(leaf + "/memory.max"), "33554432");  // nothing written
  Resources below;
  below.memory_limit = 64 * kMiB;
  below.memory_swap = 32 * kMiB;
  EXPECT_NE(error_of([&] { d->update("deckhand/pod-x/c1", below); }).find("below the memory limit"),
            std::string::npos);
}

TEST(CgroupV2Fake, UnavailableControllerIsRefusedAndNewLeafRemoved) {
  TempDir tmp("cgroup-v2");
  make_files(tmp.path(), {{"cgroup.controllers", "cpu io"}, {"cgroup.subtree_control", ""}});
  auto d = make_cgroup_v2_driver(tmp.path());
  Resources r;
  r.memory_limit = 64 * kMiB;
  EXPECT_NE(error_of([&] { d->create("deckhand/c1", r); }).find("\"memory\" is not available"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "deckhand/c1"));
  // A write failure after mkdir removes the new leaf too (cpu.max does not exist there).
  Resources cpu;
  cpu.cpu_quota = 10000;
  EXPECT_NE(error_of([&] { d->create("deckhand/c2", cpu); }).find("/deckhand/c2/cpu.max: No such file"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "deckhand/c2"));
}

TEST(CgroupV2Fake, CreateIsMkdirPAndIdempotentDestroyToo) {
  TempDir tmp("cgroup-v2");
  auto d = make_cgroup_v2_driver(tmp.path());
  d->create("a/b/c", Resources{});
  d->create("a/b/c", Resources{});
  EXPECT_TRUE(fs::is_directory(tmp / "a/b/c"));
  fs::create_directories(tmp / "a/b/c/inner/deeper");
  d->destroy("a/b/c");
  EXPECT_FALSE(fs::exists(tmp / "a/b/c"));
  EXPECT_TRUE(fs::is_directory(tmp / "a/b"));  // ancestors are kept
  d->destroy("a/b/c");                         // missing = ok
  EXPECT_TRUE(d->processes("a/b/c").empty());
  d->kill_all("a/b/c", SIGKILL);  // nothing to signal
}

TEST(CgroupV2Fake, RefusesSymlinksAndFilesOnThePath) {
  TempDir tmp("cgroup-v2");
  TempDir outside("cgroup-outside");
  fs::create_directory_symlink(outside.path(), tmp / "link");
  write_file(tmp / "file", "");
  auto d = make_cgroup_v2_driver(tmp.path());
  EXPECT_NE(error_of([&] { d->create("link/c1", Resources{}); }).find("not a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { d->create("file/c1", Resources{}); }).find("not a directory"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST(CgroupV2Fake, OomKilledFromMemoryEvents) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  auto d = make_cgroup_v2_driver(tmp.path());
  const std::string events = tmp / "deckhand/pod-x/c1/memory.events";
  EXPECT_FALSE(d->oom_killed("deckhand/pod-x/c1"));
  write_file(events, "low 0\nhigh 0\nmax 9\noom 1\noom_kill 0\n");
  EXPECT_FALSE(d->oom_killed("deckhand/pod-x/c1"));  // hit the limit, nothing killed
  write_file(events, "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n");
  EXPECT_TRUE(d->oom_killed("deckhand/pod-x/c1"));
  EXPECT_FALSE(d->oom_killed("deckhand/missing"));
}

TEST(CgroupV2Fake, StatsParsingAndMissingFiles) {
  TempDir tmp("cgroup-v2");
  make_fake_v2(tmp);
  const std::string leaf = tmp / "deckhand/pod-x/c1";
  write_file(leaf + "/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  write_file(leaf + "/memory.current", "1048576\n");
  write_file(leaf + "/memory.stat", "anon 8192\nfile 8192\nactive_file 4096\ninactive_file 4096\n");
  write_file(leaf + "/pids.current", "3\n");
  auto d = make_cgroup_v2_driver(tmp.path());
  CgroupStats s = d->stats("deckhand/pod-x/c1");
  EXPECT_EQ(s.cpu_usage_ns, 1500000u);
  EXPECT_EQ(s.memory_usage_bytes, 1048576u);
  EXPECT_EQ(s.memory_working_set_bytes, 1048576u - 4096u);
  EXPECT_EQ(s.pids_current, 3u);

  write_file(leaf + "/memory.stat", "inactive_file 2000000\n");  // more than usage: floor 0
  EXPECT_EQ(d->stats("deckhand/pod-x/c1").memory_working_set_bytes, 0u);

  s = d->stats("deckhand/missing");
  EXPECT_EQ(s.cpu_usage_ns, 0u);
  EXPECT_EQ(s.memory_usage_bytes, 0u);
  EXPECT_EQ(s.memory_working_set_bytes, 0u);
  EXPECT_EQ(s.pids_current, 0u);
}

// ------------------------------------------------------------ v1, fake tree

// cpu and cpuacct joined, memory with swap accounting, pids, cpuset, devices,
// freezer; deckhand/c1 pre-populated with the files the kernel would make.
void make_fake_v1(const TempDir& tmp, bool memsw = true) {
  const std::string cpu = tmp / "cpu,cpuacct";
  make_files(cpu, {{"cpu.shares", "1024"}});
  make_files(cpu + "/deckhand/c1", {{"cpu.shares", "1024"},
                                    {"cpu.cfs_period_us", "100000"},
                                    {"cpu.cfs_quota_us", "-1"},
                                    {"cpuacct.usage", "12345\n"},
                                    {"cgroup.procs", ""}});
  std::map<std::string, std::string> memory_root = {{"memory.limit_in_bytes", "9223372036854771712"}};
  std::map<std::string, std::string> memory_leaf = {
      {"memory.limit_in_bytes", "9223372036854771712\n"},
      {"memory.usage_in_bytes", "1000000\n"},
      {"memory.stat", "cache 0\ninactive_file 1\ntotal_inactive_file 250000\n"},
      {"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"},
      {"cgroup.procs", ""}};
  if (memsw) {
    memory_root["memory.memsw.limit_in_bytes"] = "9223372036854771712\n";
    memory_leaf["memory.memsw.limit_in_bytes"] = "9223372036854771712\n";
  }
  make_files(tmp / "memory", memory_root);
  make_files(tmp / "memory/deckhand/c1", memory_leaf);
  make_files(tmp / "pids/deckhand/c1", {{"pids.max", "max"}, {"pids.current", "3\n"}, {"cgroup.procs", ""}});
  make_files(tmp / "cpuset", {{"cpuset.cpus", "0-3\n"}, {"cpuset.mems", "0\n"}});
  make_files(tmp / "cpuset/deckhand", {{"cpuset.cpus", "\n"}, {"cpuset.mems", ""}});
  make_files(tmp / "cpuset/deckhand/c1", {{"cpuset.cpus", ""}, {"cpuset.mems", ""}, {"cgroup.procs", ""}});
  make_files(tmp / "devices/deckhand/c1", {{"devices.allow", ""}, {"devices.deny", ""}, {"cgroup.procs", ""}});
  make_files(tmp / "freezer/deckhand/c1", {{"cgroup.procs", ""}});
  fs::create_directories(tmp / "systemd");  // not a controller the driver uses
}

Resources full_v1_resources() {
  Resources r;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.memory_limit = 64 * kMiB;
  r.pids_limit = 20;
  r.devices.push_back(DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"});
  r.devices.push_back(DeviceRule{true, 'c', 1, 3, "rwm"});
  r.devices.push_back(DeviceRule{true, 'c', 1, 5, "rwm"});
  return r;
}

TEST(CgroupV1Fake, CreateWritesEveryControllerAndJoinedCpuCpuacct) {
  TempDir tmp("cgroup-v1");
  make_fake_v1(tmp);
  auto d = make_cgroup_v1_driver(tmp.path());
  EXPECT_EQ(d->version(), "v1");
  Resources r = full_v1_resources();
  r.memory_swap = 128 * kMiB;
  d->create("deckhand/c1", r);

  const std::string cpu = tmp / "cpu,cpuacct/deckhand/c1";
  EXPECT_EQ(d->cgroup_dir("cpu", "deckhand/c1"), cpu);
  EXPECT_EQ(d->cgroup_dir("cpuacct", "deckhand/c1"), cpu);
  EXPECT_EQ(read_file(cpu + "/cpu.shares"), "512");
  EXPECT_EQ(read_file(cpu + "/cpu.cfs_period_us"), "100000");
  EXPECT_EQ(read_file(cpu + "/cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(read_file(tmp / "memory/deckhand/c1/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(read_file(tmp / "memory/deckhand/c1/memory.memsw.limit_in_bytes"), "134217728");
  EXPECT_EQ(read_file(tmp / "pids/deckhand/c1/pids.max"), "20");
  // Each write replaces a fake file: the last of each kind is left.
  EXPECT_EQ(read_file(tmp / "devices/deckhand/c1/devices.deny"), "a *:* rwm");
  EXPECT_EQ(read_file(tmp / "devices/deckhand/c1/devices.allow"), "c 1:5 rwm");
  // cpuset copied down from the first populated ancestor.
  EXPECT_EQ(read_file(tmp / "cpuset/deckhand/cpuset.cpus"), "0-3");
  EXPECT_EQ(read_file(tmp / "cpuset/deckhand/cpuset.mems"), "0");
  EXPECT_EQ(read_file(tmp / "cpuset/deckhand/c1/cpuset.cpus"), "0-3");
  EXPECT_EQ(read_file(tmp / "cpuset/deckhand/c1/cpuset.mems"), "0");
  EXPECT_FALSE(fs::exists(tmp / "systemd/deckhand"));

  d->add_process("deckhand/c1", 4242);
  for (const char* h : {"cpu,cpuacct", "memory", "pids", "cpuset", "devices", "freezer"}) {
    EXPECT_EQ(read_file(tmp / (std::string(h) + "/deckhand/c1/cgroup.procs")), "4242") << h;
  }
  // The calling process moves itself one thread at a time: "0" into every tasks file.
  for (const auto& source : d->mount_sources("deckhand/c1")) std::ofstream(source.dir + "/tasks") << "";
  d->add_self("deckhand/c1");
  std::vector<std::string> names;
  for (const auto& source : d->mount_sources("deckhand/c1")) {
    names.push_back(source.name);
    EXPECT_EQ(source.dir, tmp / (source.name + "/deckhand/c1"));
    EXPECT_EQ(read_file(source.dir + "/tasks"), "0") << source.name;
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"cpu,cpuacct", "cpuset", "devices", "freezer", "memory", "pids"}));
  EXPECT_EQ(d->processes("deckhand/c1"), std::vector<pid_t>{4242});

  const CgroupStats s = d->stats("deckhand/c1");
  EXPECT_EQ(s.cpu_usage_ns, 12345u);
  EXPECT_EQ(s.memory_usage_bytes, 1000000u);
  EXPECT_EQ(s.memory_working_set_bytes, 750000u);  // total_inactive_file wins over inactive_file
  EXPECT_EQ(s.pids_current, 3u);
  EXPECT_TRUE(d->oom_killed("deckhand/c1"));
  write_file(tmp / "memory/deckhand/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 0\n");
  EXPECT_TRUE(d->oom_killed("deckhand/c1"));
  write_file(tmp / "memory/deckhand/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  EXPECT_FALSE(d->oom_killed("deckhand/c1"));
}

TEST(CgroupV1Fake, EmptyDeviceListLeavesDevicesAlone) {
  TempDir tmp("cgroup-v1");
  make_fake_v1(tmp);
  auto d = make_cgroup_v1_driver(tmp.path());
  Resources r;
  r.pids_limit = 0;
  d->create("deckhand/c1", r);
  EXPECT_EQ(read_file(tmp / "devices/deckhand/c1/devices.deny"), "");
  EXPECT_EQ(read_file(tmp / "devices/deckhand/c1/devices.allow"), "");
  EXPECT_EQ(read_file(tmp / "pids/deckhand/c1/pids.max"), "max");
}

TEST(CgroupV1Fake, InvalidDeviceRuleIsRefusedBeforeAnyWrite) {
  TempDir tmp("cgroup-v1");
  make_fake_v1(tmp);
  auto d = make_cgroup_v1_driver(tmp.path());
  Resources r = full_v1_resources();
  r.devices.push_back(DeviceRule{true, 'c', 1, 9, "rwx"});
  EXPECT_NE(error_of([&] { d->update("deckhand/c1", r); }).find("invalid device rule access \"rwx\""),
            std::string::npos);
  r.devices.back() = DeviceRule{true, 'p', 1, 9, "r"};
  EXPECT_NE(error_of([&] { d->update("deckhand/c1", r); }).find("invalid device rule type 'p'"), std::string::npos);
  r.devices.back() = DeviceRule{true, 'c', -1, 9, "r"};
  EXPECT_NE(error_of([&] { d->update("deckhand/c1", r); }).find("invalid device number -1"), std::string::npos);
  EXPECT_EQ(read_file(tmp / "devices/deckhand/c1/devices.deny"), "");
  EXPECT_EQ(read_file(tmp / "cpu,cpuacct/deckhand/c1/cpu.shares"), "1024");
}

TEST(CgroupV1Fake, SwapWithoutAccounting) {
  TempDir tmp("cgroup-v1");
  make_fake_v1(tmp, /*memsw=*/false);
  auto d = make_cgroup_v1_driver(tmp.path());
  Resources r;
  r.memory_limit = 64 * kMiB;
  r.memory_swap = 128 * kMiB;
  EXPECT_NE(error_of([&] { d->create("deckhand/c1", r); }).find("swap accounting is disabled"), std::string::npos);
  EXPECT_EQ(read_file(tmp / "memory/deckhand/c1/memory.limit_in_bytes"), "9223372036854771712\n");
  r.memory_swap = 64 * kMiB;  // equal: fine without accounting
  d->create("deckhand/c1", r);
  EXPECT_EQ(read_file(tmp / "memory/deckhand/c1/memory.limit_in_bytes"), "67108864");
  r.memory_swap = -1;
  d->update("deckhand/c1", r);
  EXPECT_FALSE(fs::exists(tmp / "memory/deckhand/c1/memory.memsw.limit_in_bytes"));
}

TEST(CgroupV1Fake, MissingControllerIsAClearError) {
  TempDir tmp("cgroup-v1");
  fs::create_directories(tmp / "memory");
  auto d = make_cgroup_v1_driver(tmp.path());
  Resources r;
  r.pids_limit = 10;
  EXPECT_NE(error_of([&] { d->create("c1", r); }).find("\"pids\" is not mounted"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "memory/c1"));
  TempDir empty("cgroup-v1");
  EXPECT_NE(error_of([&] { make_cgroup_v1_driver(empty.path())->create("c1", Resources{}); })
                .find("no cgroup v1 controllers are mounted"),
            std::string::npos);
}

// ------------------------------------------------------------ detection

TEST(CgroupDetect, PicksTheDriverByFilesystem) {
  TempDir tmp("cgroup-detect");
  EXPECT_EQ(detect_cgroup_driver(tmp.path())->version(), "v1");
  const std::string unified = unified_root();
  if (!unified.empty()) {
    EXPECT_EQ(detect_cgroup_driver(unified)->version(), "v2");
  }
  if (has_magic("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
    EXPECT_EQ(detect_cgroup_driver()->version(), "v2");
  } else if (fs::exists("/sys/fs/cgroup")) {
    EXPECT_EQ(detect_cgroup_driver()->version(), "v1");
  }
  EXPECT_NE(error_of([&] { detect_cgroup_driver(tmp / "missing"); }).find("No such file"), std::string::npos);
}

// ------------------------------------------------------------ v2, real kernel

class CgroupV2Real : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    root_ = unified_root();
    if (root_.empty()) GTEST_SKIP() << "no cgroup2 hierarchy mounted";
  }
  std::string root_;
};

TEST_F(CgroupV2Real, AddSelfMovesTheCallingProcess) {
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  const std::string path = top + "/self";
  CgroupGuard guard(*d, {path, top});
  d->create(path, Resources{});
  Child child(self_joiner(*d, path));
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  EXPECT_EQ(d->processes(path), std::vector<pid_t>{child.pid()});
  const auto sources = d->mount_sources(path);
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].name, "");
  EXPECT_EQ(sources[0].dir, root_ + "/" + path);
}

TEST_F(CgroupV2Real, ProcessLifecycleWithSigkill) {
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  const std::string path = top + "/x";
  CgroupGuard guard(*d, {path, top});
  d->create(path, Resources{});
  d->create(path, Resources{});  // idempotent
  const std::string dir = d->cgroup_dir("", path);
  ASSERT_EQ(dir, root_ + "/" + path);
  ASSERT_TRUE(fs::is_directory(dir));

  Child child(sleeper());
  d->add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  EXPECT_EQ(d->processes(path), std::vector<pid_t>{child.pid()});
  EXPECT_EQ(d->processes(top), std::vector<pid_t>{child.pid()});  // descendants count
  EXPECT_EQ(trimmed(read_file(dir + "/cgroup.procs")), std::to_string(child.pid()));
  EXPECT_FALSE(d->oom_killed(path));

  d->kill_all(path, SIGKILL);
  const std::optional<int> status = child.wait_status(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << *status;

  d->destroy(path);
  d->destroy(top);
  d->destroy(top);  // missing = ok
  EXPECT_FALSE(fs::exists(root_ + "/" + top));
}

TEST_F(CgroupV2Real, KillAllWithSigtermFreezesAndThaws) {
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  const std::string path = top + "/x";
  CgroupGuard guard(*d, {path, top});
  d->create(path, Resources{});
  Child child(sleeper());
  d->add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));

  d->kill_all(path, SIGTERM);
  const std::optional<int> status = child.wait_status(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM) << *status;
  const std::string freeze = d->cgroup_dir("", path) + "/cgroup.freeze";
  if (fs::exists(freeze)) {
    EXPECT_EQ(trimmed(read_file(freeze)), "0");
  }
  d->destroy(path);
  d->destroy(top);
  EXPECT_FALSE(fs::exists(root_ + "/" + top));
}

TEST_F(CgroupV2Real, DestroyRightAfterKillAllWaitsForTheExit) {
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  const std::string path = top + "/x";
  CgroupGuard guard(*d, {path, top});
  d->create(path, Resources{});
  Child child(sleeper());
  d->add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  d->kill_all(path, SIGKILL);
  d->destroy(path);  // the process is still exiting (EBUSY), and stays an unreaped zombie
  EXPECT_FALSE(fs::exists(root_ + "/" + path));
  EXPECT_TRUE(child.wait_status(5s).has_value());
  d->destroy(top);
}

TEST_F(CgroupV2Real, KillAllStopsAGrowingProcessTree) {
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  const std::string path = top + "/x";
  CgroupGuard guard(*d, {path, top});
  d->create(path, Resources{});
  expect_tree_killed(*d, path, SIGTERM);
}

TEST_F(CgroupV2Real, LimitsNeedTheirControllers) {
  const std::string offered = read_file(root_ + "/cgroup.controllers");
  if (offered.find("memory") != std::string::npos) GTEST_SKIP() << "the memory controller is available here";
  auto d = make_cgroup_v2_driver(root_);
  const std::string top = test_cgroup_top();
  CgroupGuard guard(*d, {top + "/x", top});
  Resources r;
  r.memory_limit = 64 * kMiB;
  EXPECT_NE(error_of([&] { d->create(top + "/x", r); }).find("\"memory\" is not available"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ + "/" + top));
}

// ------------------------------------------------------------ v1, real kernel

class CgroupV1Real : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!v1_available()) GTEST_SKIP() << "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory";
    driver_ = make_cgroup_v1_driver();
  }

  // Nothing named top is left in any controller's hierarchy.
  void expect_gone(const std::string& top) {
    for (const std::string& controller : kV1Controllers) {
      std::string dir;
      try {
        dir = driver_->cgroup_dir(controller, top);
      } catch (const CgroupError&) {
        continue;  // not mounted here
      }
      EXPECT_FALSE(fs::exists(dir)) << dir;
    }
  }

  bool has_memsw() const {
    const fs::path hierarchy = fs::path(driver_->cgroup_dir("memory", "x")).parent_path();
    return fs::exists(hierarchy / "memory.memsw.limit_in_bytes");
  }

  std::unique_ptr<CgroupDriver> driver_;
  const std::string top_ = test_cgroup_top();
};

// The init's way in: it writes "0" to each hierarchy's tasks file itself.
TEST_F(CgroupV1Real, AddSelfMovesTheCallingProcessIntoEveryHierarchy) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/self";
  CgroupGuard guard(d, {path, top_});
  d.create(path, Resources{});
  Child child(self_joiner(d, path));
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  EXPECT_EQ(d.processes(path), std::vector<pid_t>{child.pid()});
  const std::string membership = read_file("/proc/" + std::to_string(child.pid()) + "/cgroup");
  for (const auto& source : d.mount_sources(path)) {
    EXPECT_NE(membership.find(":" + source.name + ":/" + path + "\n"), std::string::npos) << source.name << "\n" << membership;
    EXPECT_EQ(trimmed(read_file(source.dir + "/cgroup.procs")), std::to_string(child.pid())) << source.dir;
  }
}

TEST_F(CgroupV1Real, WritesLimitsMovesProcessesAndReadsStats) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/c1";
  CgroupGuard guard(d, {path, top_});
  EXPECT_EQ(d.cgroup_dir("memory", path), "/sys/fs/cgroup/memory/" + path);
  const Resources r = full_v1_resources();
  d.create(path, r);
  d.create(path, r);  // idempotent

  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("cpu", path) + "/cpu.shares")), "512");
  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("cpu", path) + "/cpu.cfs_quota_us")), "50000");
  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("cpu", path) + "/cpu.cfs_period_us")), "100000");
  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("memory", path) + "/memory.limit_in_bytes")), "67108864");
  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("pids", path) + "/pids.max")), "20");
  const std::string devices = read_file(d.cgroup_dir("devices", path) + "/devices.list");
  EXPECT_NE(devices.find("c 1:3 rwm"), std::string::npos) << devices;
  EXPECT_NE(devices.find("c 1:5 rwm"), std::string::npos) << devices;
  EXPECT_EQ(devices.find("a *:*"), std::string::npos) << devices;
  EXPECT_EQ(trimmed(read_file(d.cgroup_dir("cpuset", path) + "/cpuset.cpus")),
            trimmed(read_file("/sys/fs/cgroup/cpuset/cpuset.cpus")));

  Child child(sleeper(8 * kMiB));
  d.add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  EXPECT_EQ(d.processes(path), std::vector<pid_t>{child.pid()});
  const CgroupStats s = d.stats(path);
  EXPECT_GE(s.memory_usage_bytes, static_cast<uint64_t>(8 * kMiB));
  EXPECT_GT(s.memory_working_set_bytes, 0u);
  EXPECT_LE(s.memory_working_set_bytes, s.memory_usage_bytes);
  EXPECT_EQ(s.pids_current, 1u);
  EXPECT_GT(s.cpu_usage_ns, 0u);
  EXPECT_FALSE(d.oom_killed(path));

  d.kill_all(path, SIGKILL);
  const std::optional<int> status = child.wait_status(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << *status;
  d.destroy(path);
  d.destroy(top_);
  d.destroy(top_);  // missing = ok
  expect_gone(top_);
}

TEST_F(CgroupV1Real, DeviceRulesStartFromDenyAll) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/dev";
  CgroupGuard guard(d, {path, top_});
  Resources r;
  r.devices.push_back(DeviceRule{true, 'c', 1, 3, "rw"});
  r.devices.push_back(DeviceRule{true, 'b', std::nullopt, std::nullopt, "m"});
  d.create(path, r);
  const std::string list = d.cgroup_dir("devices", path) + "/devices.list";
  EXPECT_EQ(read_file(list), "c 1:3 rw\nb *:* m\n");
  Resources all;
  all.devices.push_back(DeviceRule{true, 'a', std::nullopt, std::nullopt, "rwm"});
  d.update(path, all);
  EXPECT_EQ(read_file(list), "a *:* rwm\n");
  d.update(path, Resources{});  // no rules: left alone
  EXPECT_EQ(read_file(list), "a *:* rwm\n");
  d.destroy(path);
  d.destroy(top_);
  expect_gone(top_);
}

TEST_F(CgroupV1Real, DestroyRightAfterKillAllWaitsForTheExit) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/c1";
  CgroupGuard guard(d, {path, top_});
  d.create(path, Resources{});
  Child child(sleeper());
  d.add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  d.kill_all(path, SIGKILL);
  d.destroy(path);  // the process is still exiting (EBUSY), and stays an unreaped zombie
  d.destroy(top_);
  expect_gone(top_);
  EXPECT_TRUE(child.wait_status(5s).has_value());
}

TEST_F(CgroupV1Real, KillAllWithSigtermThawsAfterSignalling) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/c1";
  CgroupGuard guard(d, {path, top_});
  d.create(path, Resources{});
  Child child(sleeper());
  d.add_process(path, child.pid());
  child.go();
  ASSERT_TRUE(child.wait_ready(5s));
  d.kill_all(path, SIGTERM);
  const std::optional<int> status = child.wait_status(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM) << *status;
  std::string freezer;
  try {
    freezer = d.cgroup_dir("freezer", path) + "/freezer.state";
  } catch (const CgroupError&) {
  }
  if (!freezer.empty()) {
    EXPECT_EQ(trimmed(read_file(freezer)), "THAWED");
  }
  d.destroy(path);
  d.destroy(top_);
  expect_gone(top_);
}

TEST_F(CgroupV1Real, KillAllStopsAGrowingProcessTree) {
  const std::string path = top_ + "/tree";
  CgroupGuard guard(*driver_, {path, top_});
  Resources r;
  r.pids_limit = 64;
  driver_->create(path, r);
  expect_tree_killed(*driver_, path, SIGTERM);
}

TEST_F(CgroupV1Real, OomKillIsReported) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/oom";
  CgroupGuard guard(d, {path, top_});
  Resources r;
  r.memory_limit = 16 * kMiB;
  if (has_memsw()) r.memory_swap = 16 * kMiB;  // no escape into swap
  d.create(path, r);
  Child child([](int) { return touch_memory(64 * kMiB) ? 0 : 3; });
  d.add_process(path, child.pid());
  child.go();
  const std::optional<int> status = child.wait_status(30s);
  ASSERT_TRUE(status.has_value()) << "the child neither finished nor was killed";
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << "wait status " << *status;
  EXPECT_TRUE(d.oom_killed(path));
  d.destroy(path);
  d.destroy(top_);
  expect_gone(top_);
}

TEST_F(CgroupV1Real, PidsLimitStopsForks) {
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/pids";
  CgroupGuard guard(d, {path, top_});
  Resources r;
  r.pids_limit = 5;
  d.create(path, r);
  // Forks 10 sleepers; exits with the number forked when a fork failed with
  // EAGAIN (100: none failed, 200: another errno).
  Child child([](int) {
    pid_t kids[10];
    int forked = 0;
    int error = 0;
    for (int i = 0; i < 10; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        for (;;) ::pause();
      }
      if (pid < 0) {
        error = errno;
        break;
      }
      kids[forked++] = pid;
    }
    for (int i = 0; i < forked; ++i) {
      ::kill(kids[i], SIGKILL);
      ::waitpid(kids[i], nullptr, 0);
    }
    if (error == EAGAIN) return forked;
    return error == 0 ? 100 : 200;
  });
  d.add_process(path, child.pid());
  child.go();
  const std::optional<int> status = child.wait_status(10s);
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status)) << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 4);  // itself plus 4 children = 5
  d.destroy(path);
  d.destroy(top_);
  expect_gone(top_);
}

TEST_F(CgroupV1Real, MemoryAndSwapLimitsInEitherOrder) {
  if (!has_memsw()) GTEST_SKIP() << "swap accounting is off";
  CgroupDriver& d = *driver_;
  const std::string path = top_ + "/mem";
  CgroupGuard guard(d, {path, top_});
  const std::string dir = d.cgroup_dir("memory", path);
  auto limits = [&] {
    return trimmed(read_file(dir + "/memory.limit_in_bytes")) + " " +
           trimmed(read_file(dir + "/memory.memsw.limit_in_bytes"));
  };
  Resources r;
  r.memory_limit = 32 * kMiB;
  r.memory_swap = 32 * kMiB;
  d.create(path, r);
  EXPECT_EQ(limits(), "33554432 33554432");
  r.memory_limit = 128 * kMiB;  // above the current memsw: memsw must go first
  r.memory_swap = 256 * kMiB;
  d.update(path, r);
  EXPECT_EQ(limits(), "134217728 268435456");
  r.memory_limit = 16 * kMiB;  // below: memory must go first
  r.memory_swap = 16 * kMiB;
  d.update(path, r);
  EXPECT_EQ(limits(), "16777216 16777216");
  Resources memory_only;
  memory_only.memory_limit = 64 * kMiB;
  EXPECT_NE(error_of([&] { d.update(path, memory_only); }).find("set memory_swap too"), std::string::npos);
  Resources unlimited;
  unlimited.memory_limit = -1;  // memsw follows
  d.update(path, unlimited);
  const std::string unlimited_value = trimmed(read_file("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  EXPECT_EQ(limits(), unlimited_value + " " + unlimited_value);
  d.destroy(path);
  d.destroy(top_);
  expect_gone(top_);
}

}  // namespace
}  // namespace deckhand::runtime
