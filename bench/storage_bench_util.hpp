// Helpers for the storage benchmark (storage_bench.cpp): timed commands with
// their output in files, a daemon started by the benchmark and stopped by its
// PID, dropping the page cache, unmounting what was left under a directory,
// and counting the bytes of an unpacked tree. POSIX and the standard library.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"

extern char** environ;

namespace storage_bench {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The last `max` bytes of a text, for error messages.
inline std::string tail(const std::string& text, std::size_t max = 1500) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// Waits for `pid`, retrying when a signal interrupts the wait (the child got
// the same terminal signal and ends by itself). Returns the exit code, or
// 128 + signal.
inline int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

struct Timed {
  int exit_code = -1;
  double ms = bench::kNaN;  // from just before the spawn to the reaped exit
  std::string out;
  std::string err;
};

// Runs argv with stdin from /dev/null and stdout/stderr into `out_path` and
// `out_path`.err (files, not pipes: nothing of the benchmark runs while the
// command does). The clock covers the whole command, its own start included.
inline Timed run_timed(const std::vector<std::string>& argv, const std::string& out_path) {
  std::vector<char*> args;
  for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  const std::string err_path = out_path + ".err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  Timed result;
  pid_t pid = -1;
  const auto start = bench::Clock::now();
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result.err = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  result.exit_code = wait_exit(pid);
  result.ms = bench::ms_since(start);
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  return result;
}

// A long-running child (containerd) with its output in a log file. It gets
// SIGTERM if the benchmark dies (PR_SET_PDEATHSIG) and is stopped by its PID.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::string& log_path) {
    std::vector<char*> args;
    for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      const int null = ::open("/dev/null", O_RDONLY);
      const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (null >= 0) ::dup2(null, 0);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return !exited_;
  }
  // SIGTERM, up to 10 s, then SIGKILL. Returns the exit code (128+sig if
  // killed), or -1 if it had to be killed.
  int stop() {
    if (pid_ <= 0 || !running()) return exit_code_;
    ::kill(pid_, SIGTERM);
    const auto deadline = bench::Clock::now() + std::chrono::seconds(10);
    while (running() && bench::Clock::now() < deadline) bench::nap(std::chrono::milliseconds(5));
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_);
      exited_ = true;
      exit_code_ = -1;
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

// sync, then drops the page cache, dentries and inodes. Returns "" or why not.
inline std::string drop_caches() {
  ::sync();
  const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::string("open /proc/sys/vm/drop_caches: ") + std::strerror(errno);
  const bool ok = ::write(fd, "3\n", 2) == 2;
  const int error = errno;
  ::close(fd);
  return ok ? "" : std::string("write /proc/sys/vm/drop_caches: ") + std::strerror(error);
}

// Mount points in this mount namespace at or below `dir`, deepest first
// (mountinfo's fifth field, with its octal escapes decoded).
inline std::vector<std::string> mounts_under(const std::string& dir) {
  std::vector<std::string> found;
  std::istringstream lines(read_text("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string id, parent, devices, root, point;
    if (!(fields >> id >> parent >> devices >> root >> point)) continue;
    std::string decoded;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    if (decoded == dir || decoded.rfind(dir + "/", 0) == 0) found.push_back(decoded);
  }
  std::sort(found.begin(), found.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return found;
}

// Detaches every mount at or below `dir`; returns how many there were.
inline std::size_t unmount_under(const std::string& dir) {
  const auto points = mounts_under(dir);
  for (const auto& point : points) ::umount2(point.c_str(), MNT_DETACH);
  return points.size();
}

// Unmounts what is left below `dir`, then removes it. Never throws.
inline void remove_tree(const std::string& dir) {
  if (dir.empty()) return;
  unmount_under(dir);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

struct TreeSize {
  uint64_t files = 0;
  uint64_t bytes = 0;        // regular files' sizes
  bool found_suffix = false;  // a file whose path ends in the suffix asked for
};

// Regular files (and their sizes) below `dir`, symlinks not followed; notes
// whether a path ending in `suffix` is among them.
inline TreeSize tree_size(const std::string& dir, const std::string& suffix) {
  TreeSize size;
  std::error_code ec;
  namespace fs = std::filesystem;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec || !fs::is_regular_file(status)) continue;
    ++size.files;
    size.bytes += it->file_size(ec);
    const std::string path = it->path().string();
    if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      size.found_suffix = true;
    }
  }
  return size;
}

// A Go duration as ctr prints it ("530.2ms", "1.5s", "1m2.5s", "812µs") in ms.
inline std::optional<double> parse_go_duration(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  double total = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text.substr(i), &used);
    } catch (...) {
      return std::nullopt;
    }
    i += used;
    std::string unit;
    while (i < text.size() && !(std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) unit += text[i++];
    double scale = 0;
    if (unit == "h") scale = 3600e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "s") scale = 1e3;
    else if (unit == "ms") scale = 1;
    else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs") scale = 1e-3;
    else if (unit == "ns") scale = 1e-6;
    else return std::nullopt;
    total += value * scale;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

}  // namespace storage_bench
