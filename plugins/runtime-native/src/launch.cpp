#include "launch.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <vector>

#include "fd_io.hpp"
#include "rootfs.hpp"

namespace deckhand::runtime {
namespace {

constexpr std::size_t kStackSize = 1 << 20;

const std::map<std::string, int>& clone_flags_by_type() {
  static const std::map<std::string, int> flags = {{"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET},
                                                   {"mount", CLONE_NEWNS},  {"ipc", CLONE_NEWIPC},
                                                   {"uts", CLONE_NEWUTS},   {"cgroup", CLONE_NEWCGROUP}};
  return flags;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void join_namespaces(const Spec& spec) {
  for (const auto& ns : spec.namespaces) {
    if (ns.path.empty() || ns.type == "pid") continue;  // pid is joined by the monitor before clone
    if (ns.type == "mount") {
      errno = EINVAL;
      fail("joining an existing mount namespace is not supported");
    }
    const int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open " + ns.type + " namespace " + ns.path);
    const int rc = ::setns(fd, clone_flags_by_type().at(ns.type));
    ::close(fd);
    if (rc != 0) fail("join " + ns.type + " namespace " + ns.path);
  }
}

void switch_user(const Process& process) {
  std::vector<gid_t> groups(process.additional_gids.begin(), process.additional_gids.end());
  if (::setgroups(groups.size(), groups.data()) != 0) fail("setgroups");
  // Keep the permitted set across the uid change; apply_capabilities trims it.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail("keep capabilities");
  if (::setresgid(process.gid, process.gid, process.gid) != 0) fail("setgid " + std::to_string(process.gid));
  if (::setresuid(process.uid, process.uid, process.uid) != 0) fail("setuid " + std::to_string(process.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) fail("clear keep capabilities");
}

void set_rlimits(const Process& process) {
  for (const auto& limit : process.rlimits) {
    rlimit value{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)};
    if (::setrlimit(limit.resource, &value) != 0) fail("setrlimit " + std::to_string(limit.resource));
  }
}

void set_oom_score_adj(const Process& process) {
  if (!process.oom_score_adj) return;
  const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("open /proc/self/oom_score_adj (is /proc mounted?)");
  const std::string value = std::to_string(*process.oom_score_adj);
  const bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  if (!ok) fail("set oom_score_adj");
}

// The container init, from clone to execve. Never returns.
[[noreturn]] void container_init(const LaunchPlan& plan, const LaunchPipes& pipes) {
  const Spec& spec = plan.spec;
  try {
    // Die with the monitor rather than run unsupervised.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // The monitor blocks SIGCHLD for its signalfd; the program must not inherit that.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored signals survive execve: the agent ignores SIGPIPE, and the
    // program must start with every signal at its default, as from a shell.
    // The raw system call, because glibc refuses to touch its own two
    // real-time signals (32, 33), which may arrive ignored as well.
    struct {
      void (*handler)(int);
      unsigned long flags;
      void (*restorer)();
      uint64_t mask;
    } default_action{SIG_DFL, 0, nullptr, 0};
    for (int number = 1; number <= 64; ++number) {
      if (number != SIGKILL && number != SIGSTOP) {
        ::syscall(SYS_rt_sigaction, number, &default_action, nullptr, sizeof default_action.mask);
      }
    }
    if (pipes.stdout_write >= 0) {
      const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(pipes.stdout_write, 1) < 0 ||
          ::dup2(pipes.stderr_write, 2) < 0) {
        fail("connect stdio to the log");
      }
      ::close(null_fd);
    }
    // Its cgroup first, so all of setup is accounted and limited; then the
    // namespaces: a cgroup namespace is rooted where the init now is.
    if (plan.clone_into_cgroup_fd < 0) plan.cgroups->add_self(plan.cgroups_path);
    if (plan.netns_fd >= 0) {
      if (::setns(plan.netns_fd, CLONE_NEWNET) != 0) fail("join the new network namespace");
      ::close(plan.netns_fd);
    }
    if (spec.new_namespace("cgroup") && ::unshare(CLONE_NEWCGROUP) != 0) fail("new cgroup namespace");
    join_namespaces(spec);
    // Opened read-write before pivot_root, so it never blocks here and the
    // "start" side can open it for writing as long as this process lives.
    const int start_fd = plan.start_fifo.empty() ? -1 : ::open(plan.start_fifo.c_str(), O_RDWR | O_CLOEXEC);
    if (!plan.start_fifo.empty() && start_fd < 0) fail("open the start fifo");
    prepare_rootfs(spec, CgroupMountInfo{plan.cgroups, plan.cgroups_path});
    pivot_into_rootfs(spec);
    finish_rootfs(spec);
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
      fail("sethostname");
    }
    set_rlimits(spec.process);
    set_oom_score_adj(spec.process);
    std::error_code ec;
    if (!std::filesystem::exists(spec.process.cwd, ec)) std::filesystem::create_directories(spec.process.cwd, ec);
    const std::string executable = find_executable(spec.process.args[0], spec.process.env);
    if (executable.empty()) {
      throw std::runtime_error("exec: \"" + spec.process.args[0] + "\": executable file not found in $PATH");
    }
    // Seccomp needs no_new_privs or CAP_SYS_ADMIN: without no_new_privs it goes
    // in while this process still holds every capability (runc's order).
    if (plan.seccomp && !spec.process.no_new_privileges) {
      if (const int rc = install_seccomp(*plan.seccomp); rc != 0) {
        errno = -rc;
        fail("install the seccomp filter");
      }
    }
    switch_user(spec.process);
    if (const int rc = apply_capabilities(plan.capabilities); rc != 0) {
      errno = -rc;
      fail("set capabilities");
    }
    if (spec.process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("set no_new_privs");
    if (plan.seccomp && spec.process.no_new_privileges) {
      if (const int rc = install_seccomp(*plan.seccomp); rc != 0) {
        errno = -rc;
        fail("install the seccomp filter");
      }
    }
    if (::chdir(spec.process.cwd.c_str()) != 0) fail("chdir to " + spec.process.cwd);
    // No descriptor of the monitor may reach the program (runc CVE-2024-21626):
    // everything above stdio closes on exec.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail("mark descriptors close-on-exec");
    write_all(pipes.report_write, "R");
    if (start_fd >= 0) {
      char byte = 0;
      ssize_t n;
      do {
        n = ::read(start_fd, &byte, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1) fail("wait for start");
    }
    // A working directory outside the root means something leaked (CVE-2024-21626's check).
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr || cwd[0] != '/') {
      errno = EPERM;
      fail("the working directory is outside the container");
    }
    std::vector<char*> argv, envp;
    for (const auto& arg : spec.process.args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    for (const auto& entry : spec.process.env) envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    ::execve(executable.c_str(), argv.data(), envp.data());
    fail("exec " + executable);
  } catch (const std::exception& e) {
    write_all(pipes.report_write, std::string("E") + e.what());
  }
  ::_exit(127);
}

struct CloneArgs {
  const LaunchPlan* plan;
  const LaunchPipes* pipes;
};

int clone_entry(void* raw) {
  const auto* args = static_cast<CloneArgs*>(raw);
  container_init(*args->plan, *args->pipes);
}

}  // namespace

std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto runnable = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
  };
  if (name.find('/') != std::string::npos) return runnable(name) ? name : "";
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    if (runnable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

long fork_into_cgroup(int cgroup_fd, uint64_t namespace_flags) {
  // clone3 without a stack works like fork: the child runs on a copy of the
  // caller's stack.
  clone_args args{};
  args.flags = namespace_flags | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  return syscall(SYS_clone3, &args, sizeof args);
}

pid_t clone_container(const LaunchPlan& plan, const LaunchPipes& pipes) {
  uint64_t flags = 0;
  for (const auto& ns : plan.spec.namespaces) {
    // cgroup: unshared by the init once in its cgroup; joins: setns in the
    // init; a network namespace made beforehand: joined too.
    if (!ns.path.empty() || ns.type == "cgroup" || (ns.type == "network" && plan.netns_fd >= 0)) continue;
    flags |= static_cast<uint64_t>(clone_flags_by_type().at(ns.type));
  }
  if (!plan.spec.has_namespace("mount")) {
    throw std::runtime_error("config.json: linux.namespaces: a mount namespace is required");
  }
  if (plan.clone_into_cgroup_fd >= 0) {
    const long pid = fork_into_cgroup(plan.clone_into_cgroup_fd, flags);
    if (pid == 0) container_init(plan, pipes);
    if (pid < 0) fail("clone the container into its cgroup");
    return static_cast<pid_t>(pid);
  }
  // The init's stack: mapped lazily (only touched pages cost memory) and
  // unmapped here after clone, since the child has its own copy.
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) fail("map the init's stack");
  CloneArgs args{&plan, &pipes};
  const pid_t pid = ::clone(clone_entry, static_cast<char*>(stack) + kStackSize, static_cast<int>(flags) | SIGCHLD, &args);
  const int saved = errno;
  ::munmap(stack, kStackSize);
  errno = saved;
  if (pid < 0) fail("clone the container");
  return pid;
}

}  // namespace deckhand::runtime
