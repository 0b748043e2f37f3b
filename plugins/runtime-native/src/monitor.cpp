#include "monitor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>
#include <nlohmann/json.hpp>

#include "cgroups/cgroup.hpp"
#include "container_state.hpp"
#include "cri_log.hpp"
#include "fd_io.hpp"
#include "fd_passing.hpp"
#include "launch.hpp"
#include "resident_memory.hpp"

namespace deckhand::runtime {
namespace {

// What the init reports is small; more than this is not a report.
constexpr std::size_t kMaxReport = 64 * 1024;

void join_pid_namespace(const Spec& spec) {
  for (const auto& ns : spec.namespaces) {
    if (ns.type != "pid" || ns.path.empty()) continue;
    const int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWPID) != 0) {
      throw std::runtime_error("join pid namespace " + ns.path + ": " + std::strerror(errno));
    }
    ::close(fd);
  }
}

// Waits for the init to exit while copying its output to the log and
// collecting a late execve error. Returns the init's wait status.
int supervise(pid_t pid, int signal_fd, int report_fd, int out_fd, int err_fd, CriLogWriter* log,
              std::string& late_error) {
  struct Source {
    int fd;
    const char* stream;  // nullptr: the init's report pipe
  };
  std::vector<Source> sources = {{report_fd, nullptr}};
  if (out_fd >= 0) sources.push_back({out_fd, "stdout"});
  if (err_fd >= 0) sources.push_back({err_fd, "stderr"});
  int status = 0;
  bool exited = false;
  // After the init exits, output still in flight is drained for a moment; a
  // daemonised grandchild holding the pipe must not keep the exit unreported.
  constexpr int kDrainMs = 200;
  for (;;) {
    std::vector<pollfd> items = {{signal_fd, POLLIN, 0}};
    for (const auto& source : sources) items.push_back({source.fd, POLLIN, 0});
    if (exited && items.size() == 1) break;
    const int ready = ::poll(items.data(), items.size(), exited ? kDrainMs : -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) break;  // drained
    if (items[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
      int reaped_status = 0;
      pid_t reaped;
      while ((reaped = ::waitpid(-1, &reaped_status, WNOHANG)) > 0) {
        if (reaped == pid) {
          status = reaped_status;
          exited = true;
        }
      }
    }
    for (std::size_t i = 1; i < items.size(); ++i) {
      if (!(items[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Source& source = sources[i - 1];
      char buffer[65536];
      const ssize_t got = ::read(source.fd, buffer, sizeof buffer);
      if (got > 0) {
        if (source.stream == nullptr) {
          if (late_error.size() < 65536) late_error.append(buffer, static_cast<std::size_t>(got));
        } else if (log != nullptr) {
          log->append(source.stream, std::string_view(buffer, static_cast<std::size_t>(got)));
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        if (source.stream != nullptr && log != nullptr) log->flush(source.stream);
        ::close(source.fd);
        source.fd = -1;
      }
    }
    sources.erase(std::remove_if(sources.begin(), sources.end(), [](const Source& s) { return s.fd < 0; }),
                  sources.end());
  }
  if (log != nullptr) {
    log->flush("stdout");
    log->flush("stderr");
  }
  for (const auto& source : sources) ::close(source.fd);
  if (!exited) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  return status;
}

}  // namespace

int run_monitor(const MonitorArgs& args) {
  const std::string dir = args.root + "/" + args.id;
  std::string late_error;  // an execve failure the init reports after start
  auto fail_to_creator = [&](const std::string& message) {
    write_all(args.report_fd, nlohmann::json({{"error", message}}).dump() + "\n");
    ::close(args.report_fd);
    return 1;
  };
  // Orphans of the container (without a pid namespace of its own) come to us.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  LaunchPlan plan;
  std::unique_ptr<CgroupDriver> cgroups;
  ContainerState state;
  try {
    auto saved = read_json_file(dir + "/state.json");
    if (!saved) return fail_to_creator("no state.json in " + dir);
    state = state_from_json(*saved);
    plan.spec = load_spec(state.bundle);
    plan.capabilities = prepare_capabilities(plan.spec.process.capabilities);
    if (plan.spec.seccomp) plan.seccomp = compile_seccomp(*plan.spec.seccomp);
    plan.start_fifo = dir + "/start.fifo";
    plan.cgroups_path = state.cgroups_path;
    cgroups = detect_cgroup_driver(state.cgroup_root);
    plan.cgroups = cgroups.get();
    join_pid_namespace(plan.spec);
  } catch (const std::exception& e) {
    return fail_to_creator(e.what());
  }

  int report[2], out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(report, O_CLOEXEC) != 0) return fail_to_creator("pipe failed");
  const bool logging = state.stdio == "log";
  if (logging && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)) return fail_to_creator("pipe failed");
  // SIGCHLD arrives through a signalfd, so one poll() serves output and exits.
  sigset_t child_signal;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &child_signal, nullptr);
  const int signal_fd = ::signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  // The creator made the cgroup, and a new network namespace if one is
  // wanted, while this process started; it says so with one byte (EOF: it
  // failed and reports why itself).
  pid_t pid = -1;
  try {
    char ready = 0;
    int netns = -1;
    if (!receive_byte_and_fd(args.setup_fd, ready, netns) || ready != 'r') {
      throw std::runtime_error("the creator gave up before the container's cgroup and namespaces were ready");
    }
    plan.netns_fd = netns;
    Fd netns_owner(netns);
    Fd cgroup_dir;
    if (cgroups->version() == "v2") {
      const std::string path = cgroups->cgroup_dir("", state.cgroups_path);
      cgroup_dir = Fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (cgroup_dir.get() < 0) throw std::runtime_error("open the cgroup " + path + ": " + std::strerror(errno));
      plan.clone_into_cgroup_fd = cgroup_dir.get();
    }
    pid = clone_container(plan, LaunchPipes{report[1], out[1], err[1]});
  } catch (const std::exception& e) {
    return fail_to_creator(e.what());
  }
  ::close(args.setup_fd);
  ::close(report[1]);
  if (logging) {
    ::close(out[1]);
    ::close(err[1]);
  }

  // "R": set up and waiting for start. Anything else: it failed.
  char first = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &first, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || first != 'R') {
    std::string message = n == 1 ? read_all(report[0], kMaxReport) : "the container init exited during setup";
    ::waitpid(pid, nullptr, 0);
    return fail_to_creator(message.empty() ? "the container init failed" : message);
  }
  write_all(args.report_fd, nlohmann::json({{"pid", pid}, {"monitorPid", ::getpid()}}).dump() + "\n");
  ::close(args.report_fd);

  std::unique_ptr<CriLogWriter> log;
  if (logging) log = std::make_unique<CriLogWriter>(state.log_path, state.log_max_bytes, state.log_max_files);
  plan = LaunchPlan{};  // the spec and seccomp program are not needed any more
  release_setup_memory();
  const int status = supervise(pid, signal_fd, report[0], out[0], err[0], log.get(), late_error);
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.exit_code = 128 + info.signal;
  }
  info.exited_at = rfc3339_now();
  if (!late_error.empty() && late_error.front() == 'E') info.error = late_error.substr(1);
  try {
    // Any OOM kill in the container's cgroup, not only of its first process:
    // containerd reports OOMKilled on the cgroup's OOM event the same way
    // (a shell whose child was killed exits 137 itself, or 1).
    info.oom_killed = cgroups->oom_killed(state.cgroups_path);
  } catch (const std::exception&) {
  }
  try {
    write_file_atomically(dir + "/exit.json", to_json(info).dump() + "\n");
  } catch (const std::exception&) {
    return 1;
  }
  // Reap whatever else the container left to us, without blocking.
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return 0;
}

}  // namespace deckhand::runtime
