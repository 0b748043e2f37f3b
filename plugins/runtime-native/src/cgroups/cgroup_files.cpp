// File and directory primitives of the cgroup drivers: every failure is a
// CgroupError naming the path and the errno text.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "cgroups/cgroup_internal.hpp"
#include "fd_io.hpp"

namespace deckhand::runtime {

std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const std::vector<std::string> fields = cgroup_detail::words(line);
    if (fields.size() != 2) continue;
    const std::string& value = fields[1];
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size()) continue;
    out[fields[0]] = number;
  }
  return out;
}

namespace cgroup_detail {
namespace {

constexpr size_t kMaxRead = 16 * 1024 * 1024;
constexpr auto kBusyRetry = std::chrono::milliseconds(100);


// Reads the whole file; returns errno (0 = ok).
int read_into(const std::string& path, std::string& out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return errno;
  out.clear();
  char buffer[8192];
  while (out.size() < kMaxRead) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return 0;
}

// The directories directly inside dir (symlinks are never followed).
std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  // cgroupfs (kernfs) and tmpfs count a directory's links as 2 + its
  // subdirectories: 2 means none, and a leaf cgroup's ~30 files need no listing.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || (S_ISDIR(st.st_mode) && st.st_nlink == 2)) return out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.push_back(path);
  }
  ::closedir(d);
  return out;
}

}  // namespace

void fail(const std::string& what, const std::string& path, int err) {
  throw CgroupError(what + " " + path + ": " + std::strerror(err));
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::optional<std::string> read_optional(const std::string& path) {
  std::string text;
  if (read_into(path, text) != 0) return std::nullopt;
  return text;
}

std::string read_text(const std::string& path) {
  std::string text;
  if (int err = read_into(path, text); err != 0) fail("cannot read", path, err);
  return text;
}

void write_text(const std::string& path, const std::string& value) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) fail("cannot write \"" + value + "\" to", path, errno);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) fail("cannot write \"" + value + "\" to", path, errno);
  if (static_cast<size_t>(n) != value.size()) fail("short write of \"" + value + "\" to", path, EIO);
}

uint64_t read_u64_or_zero(const std::string& path) {
  const std::optional<std::string> text = read_optional(path);
  if (!text) return 0;
  const std::string value = trim(*text);
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size()) return 0;
  return number;
}

std::string trim(const std::string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

bool make_dirs(const std::string& root, const std::vector<std::string>& parts) {
  bool created_leaf = false;
  for (size_t i = 1; i <= parts.size(); ++i) {
    const std::string path = join(root, parts, i);
    if (::mkdir(path.c_str(), 0755) == 0) {
      created_leaf = i == parts.size();
      continue;
    }
    if (errno != EEXIST) fail("cannot create cgroup directory", path, errno);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) fail("cannot inspect", path, errno);
    if (!S_ISDIR(st.st_mode)) {
      throw CgroupError("cannot create cgroup directory " + path + ": exists and is not a directory");
    }
  }
  return created_leaf;
}

void remove_tree(const std::string& dir) {
  // A leaf first: one rmdir is the whole job in the usual case.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
  for (const std::string& sub : subdirectories(dir)) remove_tree(sub);
  const auto deadline = std::chrono::steady_clock::now() + kBusyRetry;
  while (::rmdir(dir.c_str()) != 0) {
    const int err = errno;
    if (err == ENOENT) return;
    if (err == EINTR) continue;
    if (err == EBUSY && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    fail("cannot remove cgroup", dir, err);
  }
}

void collect_procs(const std::string& dir, std::vector<pid_t>& out) {
  if (const std::optional<std::string> text = read_optional(dir + "/cgroup.procs")) {
    for (const std::string& word : words(*text)) {
      pid_t pid = 0;
      auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
      if (ec == std::errc() && end == word.data() + word.size() && pid > 0) out.push_back(pid);
    }
  }
  for (const std::string& sub : subdirectories(dir)) collect_procs(sub, out);
}

std::vector<pid_t> unique_pids(std::vector<pid_t> pids) {
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

void signal_listed(const std::function<std::vector<pid_t>()>& list, int signal) {
  constexpr int kMaxPasses = 10;  // new pids can appear while unfrozen processes fork
  std::set<pid_t> signalled;
  int first_error = 0;
  pid_t error_pid = 0;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    bool any_new = false;
    for (pid_t pid : list()) {
      if (!signalled.insert(pid).second) continue;
      any_new = true;
      if (::kill(pid, signal) != 0 && errno != ESRCH && first_error == 0) {
        first_error = errno;
        error_pid = pid;
      }
    }
    if (!any_new) break;
  }
  if (first_error != 0) {
    fail("cannot send signal " + std::to_string(signal) + " to", "pid " + std::to_string(error_pid), first_error);
  }
}

void run_frozen(const std::string& control_file, const std::string& freeze_value, const std::string& thaw_value,
                const std::function<bool()>& is_frozen, const std::function<void()>& body) {
  constexpr auto kFreezeWait = std::chrono::milliseconds(500);
  bool frozen = false;
  if (exists(control_file)) {
    try {
      write_text(control_file, freeze_value);
      frozen = true;
    } catch (const CgroupError&) {
      // No freezing (e.g. a read-only freezer): signal unfrozen, as without one.
    }
  }
  if (frozen) {
    const auto deadline = std::chrono::steady_clock::now() + kFreezeWait;
    while (!is_frozen() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  try {
    body();
  } catch (...) {
    if (frozen) {
      try {
        write_text(control_file, thaw_value);
      } catch (const CgroupError&) {
        // The body's error is the one to report.
      }
    }
    throw;
  }
  if (frozen) write_text(control_file, thaw_value);
}

}  // namespace cgroup_detail
}  // namespace deckhand::runtime
