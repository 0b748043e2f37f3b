#include "exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "capabilities.hpp"
#include "cgroups/cgroup.hpp"
#include "container_state.hpp"
#include "fd_io.hpp"
#include "launch.hpp"
#include "seccomp.hpp"
#include "spec.hpp"

namespace deckhand::runtime {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

// One JSON line to the caller (if it went away, there is no one left to tell).
void report(int fd, const nlohmann::json& message) { write_all(fd, message.dump() + "\n"); }

// The container's process with the request's fields laid over it.
Process merged_process(const Spec& spec, const std::string& process_json, const std::string& bundle) {
  nlohmann::json request = nlohmann::json::parse(process_json, nullptr, false);
  if (!request.is_object()) throw SpecError("exec: the process must be a JSON object");
  request.erase("terminal");  // run_exec's to handle (the container spec's parser refuses it)
  nlohmann::json config = {{"ociVersion", "1.0.2"}, {"root", {{"path", spec.root_path}}}};
  nlohmann::json process = request;
  if (!process.contains("env")) process["env"] = spec.process.env;
  if (!process.contains("cwd")) process["cwd"] = spec.process.cwd;
  if (!process.contains("user")) {
    process["user"] = {{"uid", spec.process.uid}, {"gid", spec.process.gid}, {"additionalGids", spec.process.additional_gids}};
  }
  if (!process.contains("noNewPrivileges")) process["noNewPrivileges"] = spec.process.no_new_privileges;
  config["process"] = process;
  Process merged = parse_spec(config, bundle).process;
  if (!request.contains("capabilities")) merged.capabilities = spec.process.capabilities;
  return merged;
}

// Joins every namespace of `pid` the container has, in an order that works:
// user-visible ones first, the mount namespace last (paths change after it).
void join_namespaces(pid_t pid, const Spec& spec) {
  const std::pair<const char*, int> order[] = {{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC},
                                               {"uts", CLONE_NEWUTS},       {"net", CLONE_NEWNET},
                                               {"pid", CLONE_NEWPID},       {"mnt", CLONE_NEWNS}};
  for (const auto& [name, flag] : order) {
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open " + path);
    // Joining our own namespace is harmless; skip the pointless call for the ones the container shares with us.
    const std::string mine = "/proc/self/ns/" + std::string(name);
    char a[64] = {}, b[64] = {};
    const bool same = ::readlink(path.c_str(), a, sizeof a - 1) > 0 && ::readlink(mine.c_str(), b, sizeof b - 1) > 0 &&
                      std::strcmp(a, b) == 0;
    if (!same && ::setns(fd, flag) != 0) fail(std::string("join the container's ") + name + " namespace");
    ::close(fd);
  }
  (void)spec;
}

}  // namespace

int run_exec(const ExecArgs& args) {
  // Not dumpable: a process in the container cannot ptrace us or open our
  // /proc/<pid>/exe while we still run host code (runc CVE-2016-9962, CVE-2019-5736).
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const std::string dir = args.root + "/" + args.id;
  Spec spec;
  Process process;
  ContainerState state;
  std::optional<SeccompProgram> seccomp;
  PreparedCapabilities capabilities;
  Fd cgroup_dir;  // v2: the container's cgroup, for the fork below
  bool terminal = false;  // process.terminal: stdin (a pty slave the caller made) becomes the controlling terminal
  try {
    auto saved = read_json_file(dir + "/state.json");
    if (!saved) throw std::runtime_error("container \"" + args.id + "\" does not exist");
    state = state_from_json(*saved);
    if (std::filesystem::exists(dir + "/exit.json") || process_start_time(state.pid) != state.pid_start_time) {
      throw std::runtime_error("cannot exec in container \"" + args.id + "\": it is not running");
    }
    spec = load_spec(state.bundle);
    process = merged_process(spec, args.process_json, state.bundle);
    const auto request = nlohmann::json::parse(args.process_json, nullptr, false);
    if (request.is_object() && request.contains("terminal")) {
      if (!request["terminal"].is_boolean()) throw SpecError("process.terminal must be a boolean");
      terminal = request["terminal"].get<bool>();
    }
    capabilities = prepare_capabilities(process.capabilities);
    if (spec.seccomp) seccomp = compile_seccomp(*spec.seccomp);
    // The cgroup first: its files are host paths, gone once we enter the
    // mount namespace. v1: this process moves itself (the cheap
    // single-thread path); v2: the process that runs the program is forked
    // straight into it below.
    const auto cgroups = detect_cgroup_driver(state.cgroup_root);
    if (cgroups->version() == "v2") {
      const std::string path = cgroups->cgroup_dir("", state.cgroups_path);
      cgroup_dir = Fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (cgroup_dir.get() < 0) fail("open the cgroup " + path);
    } else {
      cgroups->add_self(state.cgroups_path);
    }
    join_namespaces(state.pid, spec);
  } catch (const std::exception& e) {
    report(args.report_fd, {{"error", e.what()}});
    return 255;
  }
  int errors[2];
  if (::pipe2(errors, O_CLOEXEC) != 0) {
    report(args.report_fd, {{"error", "pipe failed"}});
    return 255;
  }
  // setns(pid) applies to children: fork to really be inside.
  const pid_t child = cgroup_dir.get() >= 0 ? static_cast<pid_t>(fork_into_cgroup(cgroup_dir.get())) : ::fork();
  if (child == 0) {
    ::close(errors[0]);
    try {
      // A session of its own with the terminal as its controlling tty, as
      // runc does for terminal: true: job control, ^C as SIGINT, and SIGHUP
      // when the caller closes the terminal's master.
      if (terminal) {
        if (::setsid() < 0) fail("setsid");
        if (::ioctl(0, TIOCSCTTY, 0) != 0) fail("make stdin the controlling terminal (process.terminal)");
      }
      if (::chdir("/") != 0) fail("chdir /");
      const std::string executable = find_executable(process.args[0], process.env);
      if (executable.empty()) {
        throw std::runtime_error("exec: \"" + process.args[0] + "\": executable file not found in $PATH");
      }
      if (seccomp && !process.no_new_privileges) {
        if (const int rc = install_seccomp(*seccomp); rc != 0) {
          errno = -rc;
          fail("install the seccomp filter");
        }
      }
      std::vector<gid_t> groups(process.additional_gids.begin(), process.additional_gids.end());
      if (::setgroups(groups.size(), groups.data()) != 0) fail("setgroups");
      ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
      if (::setresgid(process.gid, process.gid, process.gid) != 0) fail("setgid");
      if (::setresuid(process.uid, process.uid, process.uid) != 0) fail("setuid");
      ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
      if (const int rc = apply_capabilities(capabilities); rc != 0) {
        errno = -rc;
        fail("set capabilities");
      }
      if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("set no_new_privs");
      if (seccomp && process.no_new_privileges) {
        if (const int rc = install_seccomp(*seccomp); rc != 0) {
          errno = -rc;
          fail("install the seccomp filter");
        }
      }
      if (::chdir(process.cwd.c_str()) != 0) fail("chdir to " + process.cwd);
      if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail("mark descriptors close-on-exec");
      std::vector<char*> argv, envp;
      for (auto& arg : process.args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      for (auto& entry : process.env) envp.push_back(entry.data());
      envp.push_back(nullptr);
      ::execve(executable.c_str(), argv.data(), envp.data());
      fail("exec " + executable);
    } catch (const std::exception& e) {
      write_all(errors[1], e.what());
    }
    ::_exit(255);
  }
  ::close(errors[1]);
  if (child < 0) {
    report(args.report_fd, {{"error", std::string("fork: ") + std::strerror(errno)}});
    return 255;
  }
  // End-of-file on the error pipe means execve succeeded.
  const std::string error = read_all(errors[0], 64 * 1024);
  ::close(errors[0]);
  report(args.report_fd, error.empty() ? nlohmann::json{{"pid", child}} : nlohmann::json{{"error", error}});
  ::close(args.report_fd);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!error.empty()) return 255;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace deckhand::runtime
