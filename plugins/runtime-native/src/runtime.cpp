#include "runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "cgroups/cgroup.hpp"
#include "default_devices.hpp"
#include "fd_io.hpp"
#include "fd_passing.hpp"
#include "network_namespace.hpp"
#include "spec.hpp"

extern char** environ;

namespace deckhand::runtime {
namespace {

constexpr int kCreateTimeoutMs = 30000;

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

bool alive(pid_t pid, uint64_t start_time) {
  return pid > 0 && start_time != 0 && process_start_time(pid) == start_time;
}

// Waits for a process that is not our child to exit (pidfd, so no polling).
bool wait_for_exit(pid_t pid, uint64_t start_time, uint64_t deadline_ns) {
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return true;  // already gone
  if (!alive(pid, start_time)) {
    ::close(fd);
    return true;
  }
  pollfd item{fd, POLLIN, 0};
  for (;;) {
    int timeout = -1;
    if (deadline_ns != 0) {
      const uint64_t now = monotonic_ns();
      if (now >= deadline_ns) break;
      timeout = static_cast<int>((deadline_ns - now) / 1000000u) + 1;
    }
    const int rc = ::poll(&item, 1, timeout);
    if (rc > 0) {
      ::close(fd);
      return true;
    }
    if (rc == 0) break;
    if (errno != EINTR) break;
  }
  ::close(fd);
  return false;
}

std::string read_line(int fd, int timeout_ms) {
  std::string text;
  const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000u;
  for (;;) {
    const uint64_t now = monotonic_ns();
    if (now >= deadline) throw RuntimeError(Failure::internal, "the monitor did not report within 30s");
    pollfd item{fd, POLLIN, 0};
    const int rc = ::poll(&item, 1, static_cast<int>((deadline - now) / 1000000u) + 1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.find('\n') != std::string::npos || text.size() > 65536) return text;
  }
}

}  // namespace

int parse_signal(const std::string& text) {
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
      {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
      {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"PWR", SIGPWR},   {"SYS", SIGSYS}};
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const int number = text.size() > 3 ? 0 : std::stoi(text);
    if (number >= 1 && number <= SIGRTMAX) return number;
  } else {
    std::string name = text;
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (auto it = names.find(name); it != names.end()) return it->second;
  }
  throw RuntimeError(Failure::invalid, "unknown signal \"" + text + "\"");
}

namespace {

std::shared_ptr<CgroupDriver> detect_or_fail(const std::string& cgroup_root) {
  try {
    return detect_cgroup_driver(cgroup_root);
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, e.what());
  }
}

}  // namespace

Runtime::Runtime(RuntimeConfig config)
    : root_(std::move(config.root)),
      monitor_path_(std::move(config.monitor_path)),
      cgroup_root_(std::move(config.cgroup_root)),
      cgroups_(detect_or_fail(cgroup_root_)),
      sandboxes_(root_ + "/.sandboxes", config.netns_dir, cgroups_, config.cgroup_parent) {
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) throw RuntimeError(Failure::internal, "create the state root " + root_ + ": " + ec.message());
  ::chmod(root_.c_str(), 0700);
}

std::shared_ptr<CgroupDriver> Runtime::cgroups_for(const ContainerState& state) const {
  if (state.cgroup_root == cgroup_root_) return cgroups_;
  return detect_cgroup_driver(state.cgroup_root);
}

std::string Runtime::dir(const std::string& id) const {
  if (!valid_container_id(id)) {
    throw RuntimeError(Failure::invalid, "invalid container id \"" + id + "\" (expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})");
  }
  return root_ + "/" + id;
}

ContainerState Runtime::load(const std::string& id) const {
  const std::string path = dir(id) + "/state.json";
  std::optional<nlohmann::json> saved;
  try {
    saved = read_json_file(path);
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, e.what());
  }
  if (!saved) throw RuntimeError(Failure::not_found, "container \"" + id + "\" does not exist");
  try {
    return state_from_json(*saved);
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, path + ": " + e.what());
  }
}

std::string Runtime::status(const ContainerState& state) const {
  const std::string base = dir(state.id);
  std::error_code ec;
  if (std::filesystem::exists(base + "/exit.json", ec)) return "stopped";
  if (state.pid == 0) return "creating";
  if (!alive(state.pid, state.pid_start_time)) {
    // The init is gone, but "stopped" must come with its exit: give the
    // monitor, which writes exit.json and then exits, a moment to finish.
    if (state.monitor_pid > 0) wait_for_exit(state.monitor_pid, state.monitor_start_time, monotonic_ns() + 2000000000u);
    return "stopped";
  }
  return std::filesystem::exists(base + "/start.fifo", ec) ? "created" : "running";
}

nlohmann::json Runtime::oci_state(const ContainerState& state) const {
  const std::string current = status(state);
  nlohmann::json out = {{"ociVersion", "1.0.2"}, {"id", state.id},         {"status", current},
                        {"pid", current == "stopped" ? 0 : state.pid}, {"bundle", state.bundle},
                        {"created", state.created}};
  if (!state.annotations.empty()) out["annotations"] = state.annotations;
  if (current == "stopped") {
    if (auto saved = read_json_file(dir(state.id) + "/exit.json")) out["exit"] = to_json(exit_from_json(*saved));
  }
  return out;
}

pid_t Runtime::spawn_monitor(const CreateOptions& options, int report_fd, int setup_fd) const {
  // Copies above the target numbers, so neither dup2 can clobber the other's source.
  const Fd report(::fcntl(report_fd, F_DUPFD_CLOEXEC, 10));
  const Fd setup(::fcntl(setup_fd, F_DUPFD_CLOEXEC, 10));
  if (report.get() < 0 || setup.get() < 0) throw RuntimeError(Failure::internal, "dup failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, report.get(), 3);
  posix_spawn_file_actions_adddup2(&actions, setup.get(), 4);
  if (options.stdio != "inherit") {
    for (int fd = 0; fd <= 2; ++fd) posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  // Nothing else of the caller's: the monitor outlives the agent, and a
  // descriptor the caller opened without O_CLOEXEC (the agent's listening
  // sockets were) would stay open in every monitor, so a restarted agent
  // could not bind its port again.
  posix_spawn_file_actions_addclosefrom_np(&actions, 5);
  std::vector<std::string> words = {monitor_path_, root_, options.id};
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, monitor_path_.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw RuntimeError(Failure::internal, "start the monitor " + monitor_path_ + ": " + std::strerror(rc));
  return pid;
}

nlohmann::json Runtime::create(const CreateOptions& options) {
  const std::string base = dir(options.id);
  if (options.stdio != "null" && options.stdio != "inherit" && options.stdio != "log") {
    throw RuntimeError(Failure::invalid, "stdio must be \"null\", \"inherit\" or \"log\", got \"" + options.stdio + "\"");
  }
  if (options.stdio == "log" && (options.log_path.empty() || options.log_path.front() != '/')) {
    throw RuntimeError(Failure::invalid, "stdio \"log\" needs an absolute log_path");
  }
  if (options.stdio == "log" && (options.log_max_files < 1 || options.log_max_bytes < 1024)) {
    throw RuntimeError(Failure::invalid, "log_max_files must be at least 1 and log_max_bytes at least 1024");
  }
  // Validate before touching anything: a bad bundle leaves nothing behind.
  std::error_code ec;
  const std::string bundle = std::filesystem::absolute(options.bundle, ec).lexically_normal().string();
  Spec spec;
  try {
    spec = load_spec(bundle);
  } catch (const SpecError& e) {
    throw RuntimeError(Failure::invalid, e.what());
  }
  struct stat root_st {};
  if (::stat(spec.root_path.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
    throw RuntimeError(Failure::invalid, "root.path " + spec.root_path + " is not a directory");
  }
  if (::mkdir(base.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw RuntimeError(Failure::exists, "container \"" + options.id + "\" already exists");
    throw RuntimeError(Failure::internal, "create " + base + ": " + std::strerror(errno));
  }
  auto cleanup = [&] { std::filesystem::remove_all(base, ec); };
  ContainerState state;
  state.id = options.id;
  state.bundle = bundle;
  state.created = rfc3339_now();
  state.cgroups_path = spec.cgroups_path.empty() ? "deckhand/" + options.id : spec.cgroups_path;
  state.cgroup_root = cgroup_root_;
  state.stdio = options.stdio;
  state.log_path = options.log_path;
  state.log_max_bytes = options.log_max_bytes;
  state.log_max_files = options.log_max_files;
  state.annotations = spec.annotations;
  int report[2], setup[2];
  try {
    write_file_atomically(base + "/state.json", to_json(state).dump() + "\n");
    if (::mkfifo((base + "/start.fifo").c_str(), 0600) != 0) {
      throw RuntimeError(Failure::internal, "create the start fifo: " + std::string(std::strerror(errno)));
    }
    if (::pipe2(report, O_CLOEXEC) != 0) throw RuntimeError(Failure::internal, "pipe failed");
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, setup) != 0) {
      ::close(report[0]);
      ::close(report[1]);
      throw RuntimeError(Failure::internal, "socketpair failed");
    }
  } catch (...) {
    cleanup();
    throw;
  }
  // While the monitor starts (exec, fork, reading the spec), this side makes
  // what the init needs from the host: its cgroup and, on another thread, a
  // new network namespace. The monitor waits for them before it clones.
  std::optional<NetworkNamespaceMaker> netns;
  if (spec.new_namespace("network")) netns.emplace();
  pid_t spawned = -1;
  try {
    spawned = spawn_monitor(options, report[1], setup[1]);
  } catch (...) {
    for (int fd : {report[0], report[1], setup[0], setup[1]}) ::close(fd);
    cleanup();
    throw;
  }
  ::close(report[1]);
  ::close(setup[1]);
  const auto cgroups = cgroups_for(state);
  std::string setup_error;
  try {
    Resources resources = resources_with_default_devices(spec);
    // cgroup v2 has no device files (it needs a BPF program, not written yet):
    // there the rules are not enforced; README.md says so.
    if (cgroups->version() == "v2") resources.devices.clear();
    cgroups->create(state.cgroups_path, resources);
    const Fd namespace_fd = netns ? netns->take() : Fd();
    if (!send_byte_and_fd(setup[0], 'r', namespace_fd.get())) throw std::runtime_error("the monitor went away");
  } catch (const std::exception& e) {
    setup_error = e.what();
  }
  netns.reset();
  ::close(setup[0]);  // without "r": end-of-file, and the monitor gives up
  ::waitpid(spawned, nullptr, 0);  // the monitor's first half exits at once (double fork)
  auto undo = [&] {
    try {
      cgroups->destroy(state.cgroups_path);
    } catch (const std::exception&) {
      // Reporting the original failure matters more.
    }
    cleanup();
  };
  std::string line;
  try {
    line = read_line(report[0], kCreateTimeoutMs);
  } catch (...) {
    ::close(report[0]);
    undo();
    throw;
  }
  ::close(report[0]);
  const auto answer = nlohmann::json::parse(line, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || answer.contains("error") || !answer.contains("pid") ||
      !setup_error.empty()) {
    undo();
    std::string why = !setup_error.empty() ? setup_error
                      : answer.is_object() && answer.contains("error") ? answer["error"].get<std::string>()
                                                                      : "the monitor exited without a report";
    throw RuntimeError(Failure::invalid, "create " + options.id + ": " + why);
  }
  state.pid = answer["pid"].get<pid_t>();
  state.pid_start_time = process_start_time(state.pid);
  state.monitor_pid = answer.value("monitorPid", 0);
  state.monitor_start_time = process_start_time(state.monitor_pid);
  write_file_atomically(base + "/state.json", to_json(state).dump() + "\n");
  if (!options.pid_file.empty()) write_file_atomically(options.pid_file, std::to_string(state.pid));
  return oci_state(state);
}

nlohmann::json Runtime::start(const std::string& id) {
  ContainerState state = load(id);
  const std::string current = status(state);
  if (current != "created") {
    throw RuntimeError(Failure::precondition, "cannot start container \"" + id + "\": it is " + current + ", not created");
  }
  const std::string fifo = dir(id) + "/start.fifo";
  // Non-blocking: succeeds only while the init holds the fifo open, i.e. is alive and waiting.
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw RuntimeError(Failure::precondition, "cannot start container \"" + id + "\": its init is gone");
  const bool ok = ::write(fd, "s", 1) == 1;
  ::close(fd);
  ::unlink(fifo.c_str());
  if (!ok) throw RuntimeError(Failure::internal, "start " + id + ": " + std::strerror(errno));
  return oci_state(state);
}

nlohmann::json Runtime::state(const std::string& id) { return oci_state(load(id)); }

void Runtime::kill(const std::string& id, int signal) {
  const ContainerState state = load(id);
  const std::string current = status(state);
  if (current != "created" && current != "running") {
    throw RuntimeError(Failure::precondition, "container \"" + id + "\" is not running");
  }
  // pidfd: the signal cannot reach another process that reused the pid.
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, state.pid, 0));
  if (fd < 0 || !alive(state.pid, state.pid_start_time)) {
    if (fd >= 0) ::close(fd);
    throw RuntimeError(Failure::precondition, "container \"" + id + "\" is not running");
  }
  const long rc = syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0);
  ::close(fd);
  if (rc != 0) throw RuntimeError(Failure::internal, "signal " + id + ": " + std::strerror(errno));
}

void Runtime::remove(const std::string& id, bool force) {
  const ContainerState state = load(id);
  const std::string current = status(state);
  if (current != "stopped") {
    if (!force) {
      throw RuntimeError(Failure::precondition,
                         "cannot delete container \"" + id + "\" that is not stopped: " + current + " (use force)");
    }
    try {
      kill(id, SIGKILL);
    } catch (const RuntimeError&) {
      // it stopped in the meantime
    }
  }
  if (state.monitor_pid > 0) wait_for_exit(state.monitor_pid, state.monitor_start_time, monotonic_ns() + 10000000000u);
  try {
    auto cgroups = cgroups_for(state);
    cgroups->kill_all(state.cgroups_path, SIGKILL);
    cgroups->destroy(state.cgroups_path);
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, "delete " + id + ": " + e.what());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir(id), ec);
  if (ec) throw RuntimeError(Failure::internal, "delete " + id + ": " + ec.message());
}

ExitInfo Runtime::wait(const std::string& id, uint64_t deadline_ns) {
  const ContainerState state = load(id);
  if (state.monitor_pid > 0 && !wait_for_exit(state.monitor_pid, state.monitor_start_time, deadline_ns)) {
    throw RuntimeError(Failure::precondition, "container \"" + id + "\" is still running at the deadline");
  }
  auto saved = read_json_file(dir(id) + "/exit.json");
  if (!saved) throw RuntimeError(Failure::internal, "container \"" + id + "\" exited but its monitor recorded no exit");
  return exit_from_json(*saved);
}

nlohmann::json Runtime::exec(const std::string& id, const nlohmann::json& process, const ExecStdio& stdio) {
  const ContainerState state = load(id);
  if (status(state) != "running") throw RuntimeError(Failure::precondition, "cannot exec in container \"" + id + "\": it is not running");
  if (stdio.mode != "inherit" && stdio.mode != "capture" && stdio.mode != "fds") {
    throw RuntimeError(Failure::invalid, "stdio must be \"inherit\", \"capture\" or \"fds\"");
  }
  if (stdio.mode == "fds") {
    // The numbers are the caller's own descriptors (the plugin runs in its process): they must be open.
    for (const auto& [name, fd] : {std::pair{"stdin_fd", stdio.stdin_fd}, {"stdout_fd", stdio.stdout_fd}, {"stderr_fd", stdio.stderr_fd}}) {
      if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) {
        throw RuntimeError(Failure::invalid, std::string(name) + " " + std::to_string(fd) + " is not an open descriptor");
      }
    }
  }
  if (!process.is_object() || !process.contains("args")) throw RuntimeError(Failure::invalid, "process.args is required");
  int report[2], out[2] = {-1, -1}, err[2] = {-1, -1};
  if (::pipe2(report, O_CLOEXEC) != 0) throw RuntimeError(Failure::internal, "pipe failed");
  const bool capture = stdio.mode == "capture";
  if (capture && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)) throw RuntimeError(Failure::internal, "pipe failed");
  // The caller's descriptors may have any number, 0-3 included, which the
  // dup2s below would overwrite before using: copies above them go instead
  // (close-on-exec; closed on return).
  const bool given = stdio.mode == "fds";
  Fd copies[4] = {Fd(::fcntl(report[1], F_DUPFD_CLOEXEC, 10)), Fd(given ? ::fcntl(stdio.stdin_fd, F_DUPFD_CLOEXEC, 10) : -1),
                   Fd(given ? ::fcntl(stdio.stdout_fd, F_DUPFD_CLOEXEC, 10) : -1),
                   Fd(given ? ::fcntl(stdio.stderr_fd, F_DUPFD_CLOEXEC, 10) : -1)};
  if (copies[0].get() < 0 || (given && (copies[1].get() < 0 || copies[2].get() < 0 || copies[3].get() < 0))) {
    const std::string why = std::strerror(errno);
    for (const int fd : {report[0], report[1], out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    throw RuntimeError(Failure::internal, "dup a descriptor: " + why);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, copies[0].get(), 3);
  if (given) {
    for (int target = 0; target < 3; ++target) posix_spawn_file_actions_adddup2(&actions, copies[target + 1].get(), target);
  }
  if (capture) {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);  // none of the caller's (see spawn_monitor)
  std::vector<std::string> words = {monitor_path_, "exec", root_, id, process.dump()};
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  // Default signal handling and no blocked signals: the caller's (an agent
  // ignores SIGPIPE) would pass through exec into the container's process,
  // which must die of SIGPIPE when its reader goes away.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t helper = -1;
  const int rc = posix_spawn(&helper, monitor_path_.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  for (Fd& copy : copies) copy = Fd();  // the helper has them now; ours would keep the report pipe open
  ::close(report[1]);
  if (capture) {
    ::close(out[1]);
    ::close(err[1]);
  }
  if (rc != 0) {
    ::close(report[0]);
    if (capture) {
      ::close(out[0]);
      ::close(err[0]);
    }
    throw RuntimeError(Failure::internal, "start the exec helper: " + std::string(std::strerror(rc)));
  }
  // Read the report and any captured output until every pipe closes.
  std::string report_text, out_text, err_text;
  std::vector<std::pair<int, std::string*>> sources = {{report[0], &report_text}};
  if (capture) {
    sources.push_back({out[0], &out_text});
    sources.push_back({err[0], &err_text});
  }
  constexpr std::size_t kCaptureLimit = 1u << 20;
  while (!sources.empty()) {
    std::vector<pollfd> items;
    for (const auto& source : sources) items.push_back({source.first, POLLIN, 0});
    if (::poll(items.data(), items.size(), -1) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[65536];
      const ssize_t n = ::read(items[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        std::string& text = *sources[i].second;
        if (text.size() < kCaptureLimit) text.append(buffer, std::min<std::size_t>(static_cast<std::size_t>(n), kCaptureLimit - text.size()));
      } else if (n == 0 || errno != EINTR) {
        ::close(items[i].fd);
        sources[i].first = -1;
      }
    }
    sources.erase(std::remove_if(sources.begin(), sources.end(), [](const auto& s) { return s.first < 0; }), sources.end());
  }
  int wait_status = 0;
  while (::waitpid(helper, &wait_status, 0) < 0 && errno == EINTR) {
  }
  const auto answer = nlohmann::json::parse(report_text.substr(0, report_text.find('\n')), nullptr, false);
  if (!answer.is_object() || answer.contains("error")) {
    const std::string why = answer.is_object() ? answer.value("error", "exec failed") : "the exec helper reported nothing";
    throw RuntimeError(Failure::invalid, "exec in " + id + ": " + why);
  }
  nlohmann::json result = {{"exit_code", WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status)}};
  if (capture) {
    result["stdout"] = out_text;
    result["stderr"] = err_text;
  }
  return result;
}

nlohmann::json Runtime::stats(const std::string& id) {
  const ContainerState state = load(id);
  try {
    const CgroupStats figures = cgroups_for(state)->stats(state.cgroups_path);
    return {{"cpu_usage_ns", figures.cpu_usage_ns},
            {"memory_usage_bytes", figures.memory_usage_bytes},
            {"memory_working_set_bytes", figures.memory_working_set_bytes},
            {"pids", figures.pids_current}};
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, "stats " + id + ": " + e.what());
  }
}

nlohmann::json Runtime::list() {
  nlohmann::json containers = nlohmann::json::array();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string id = entry.path().filename().string();
    if (!entry.is_directory() || !valid_container_id(id)) continue;
    try {
      containers.push_back(oci_state(load(id)));
    } catch (const RuntimeError&) {
      // half-created or damaged: not listed
    }
  }
  return {{"containers", containers}};
}

}  // namespace deckhand::runtime
