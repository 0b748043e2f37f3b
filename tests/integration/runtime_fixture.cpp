#include "runtime_fixture.hpp"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "agent_fixture.hpp"

namespace deckhand::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One bundle built by the fixture script per test process; each test copies it.
const std::string& template_bundle() {
  static std::once_flag once;
  static std::unique_ptr<TempDir> dir;
  static std::string path;
  std::call_once(once, [] {
    dir = std::make_unique<TempDir>("deckhand-busybox-template");
    path = *dir / "bundle";
    const CommandResult made = run_command(
        {"bash", std::string(DECKHAND_SOURCE_DIR) + "/tests/fixtures/make-busybox-bundle.sh", path, "sh"}, "",
        std::chrono::seconds(60));
    if (made.exit_code != 0) {
      throw std::runtime_error("make-busybox-bundle.sh failed (" + std::to_string(made.exit_code) + "): " + made.err);
    }
  });
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool unified_only() {
  std::error_code ec;
  return fs::exists("/sys/fs/cgroup/cgroup.controllers", ec);
}

// The hierarchy directories under /sys/fs/cgroup (v1: one per mount; v2: the root).
std::vector<std::string> hierarchies() {
  if (unified_only()) return {"/sys/fs/cgroup"};
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (entry.is_symlink(ec) || !entry.is_directory(ec)) continue;
    out.push_back(entry.path().string());
  }
  return out;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

std::vector<std::string> cmdline(pid_t pid) {
  const std::string text = slurp("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (c == '\0') {
      words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return words;
}

}  // namespace

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

BusyboxBundle::BusyboxBundle(const std::vector<std::string>& args) {
  const std::string& source = template_bundle();
  path_ = dir_ / "bundle";
  fs::create_directories(path_);
  const CommandResult copied = run_command({"cp", "-a", source + "/rootfs", source + "/config.json", path_ + "/"});
  if (copied.exit_code != 0) throw std::runtime_error("copy the busybox bundle: " + copied.err);
  set_args(args);
}

json BusyboxBundle::config() const {
  const json value = json::parse(read_file(config_path()), nullptr, false);
  if (value.is_discarded()) throw std::runtime_error(config_path() + " is not JSON");
  return value;
}

void BusyboxBundle::save(const json& config) const { write_file(config_path(), config.dump(2) + "\n"); }

void BusyboxBundle::set_args(const std::vector<std::string>& args) const {
  edit([&](json& c) { c["process"]["args"] = args; });
}

std::string unique_id(const std::string& name) { return name + "-" + std::to_string(::getpid()); }

std::vector<std::string> cgroup_dirs(const std::string& id) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& hierarchy : hierarchies()) {
    const std::string dir = hierarchy + "/deckhand/" + id;
    if (fs::exists(dir, ec)) out.push_back(dir);
  }
  return out;
}

std::string cgroup_dir(const std::string& controller, const std::string& id) {
  if (unified_only()) return "/sys/fs/cgroup/deckhand/" + id;
  for (const auto& hierarchy : hierarchies()) {
    std::stringstream names(fs::path(hierarchy).filename().string());
    for (std::string name; std::getline(names, name, ',');) {
      if (name == controller) return hierarchy + "/deckhand/" + id;
    }
  }
  return "/sys/fs/cgroup/" + controller + "/deckhand/" + id;
}

std::vector<pid_t> processes_in_cgroup(const std::string& id) {
  const std::string needle = "/deckhand/" + id;
  std::vector<pid_t> found;
  for (pid_t pid : all_pids()) {
    std::istringstream lines(slurp("/proc/" + std::to_string(pid) + "/cgroup"));
    for (std::string line; std::getline(lines, line);) {
      const auto at = line.find(needle);
      if (at == std::string::npos) continue;
      const std::size_t end = at + needle.size();
      if (end == line.size() || line[end] == '/') {
        found.push_back(pid);
        break;
      }
    }
  }
  return found;
}

bool process_exists(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

std::string process_state(pid_t pid) {
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return "";
  return stat.substr(close + 2, 1);
}

std::vector<std::string> host_mounts_containing(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(slurp("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    if (line.find(text) != std::string::npos) out.push_back(line);
  }
  return out;
}

OciRuntime::OciRuntime() : root_(dir_ / "state") {}

OciRuntime::~OciRuntime() {
  try {
    cleanup();
  } catch (const std::exception&) {
  }
}

CommandResult OciRuntime::oci(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{"oci", "--root", root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_deckhand(argv, "", timeout);
}

CommandResult OciRuntime::run(const std::string& bundle, const std::string& id, const std::vector<std::string>& extra,
                              std::chrono::milliseconds timeout) {
  track(id);
  std::vector<std::string> args{"run", "--bundle", bundle};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(id);
  return oci(args, timeout);
}

namespace {
// Output files per id, named by a counter (an id may be "../x").
std::string stdio_file(const std::string& dir, const std::string& id, const char* stream) {
  static std::mutex mutex;
  static std::map<std::string, int> numbers;
  static int next = 0;
  std::lock_guard lock(mutex);
  const std::string key = dir + "\n" + id;
  auto it = numbers.find(key);
  if (it == numbers.end()) it = numbers.emplace(key, next++).first;
  return dir + "/stdio-" + std::to_string(it->second) + "." + stream;
}
}  // namespace

CommandResult OciRuntime::create(const std::string& bundle, const std::string& id,
                                 const std::vector<std::string>& extra, std::chrono::milliseconds timeout) {
  track(id);
  std::vector<std::string> argv{stage_deckhand(), "oci", "--root", root_, "create", "--bundle", bundle};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(id);
  CommandResult result;
  const std::string out = stdio_file(dir_.path(), id, "out");
  const std::string err = stdio_file(dir_.path(), id, "err");
  ChildProcess cli(argv, out, err);
  if (auto code = cli.wait(timeout)) {
    result.exit_code = *code;
  } else {
    cli.stop(std::chrono::seconds(1));
    result.exit_code = -1;
  }
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

std::string OciRuntime::container_stdout(const std::string& id) const {
  return slurp(stdio_file(dir_.path(), id, "out"));
}

std::string OciRuntime::container_stderr(const std::string& id) const {
  return slurp(stdio_file(dir_.path(), id, "err"));
}

std::optional<json> OciRuntime::state(const std::string& id, std::string* error) const {
  const CommandResult result = oci({"state", id});
  if (result.exit_code != 0) {
    if (error) *error = result.err;
    return std::nullopt;
  }
  json value = json::parse(result.out, nullptr, false);
  if (value.is_discarded()) {
    if (error) *error = "state printed no JSON: " + result.out;
    return std::nullopt;
  }
  return value;
}

std::string OciRuntime::status(const std::string& id) const {
  const auto value = state(id);
  return value && value->contains("status") && (*value)["status"].is_string() ? (*value)["status"].get<std::string>()
                                                                                : "";
}

std::optional<json> OciRuntime::wait_for_status(const std::string& id, const std::string& status,
                                                std::chrono::milliseconds timeout) const {
  std::optional<json> last;
  poll_until(
      [&] {
        last = state(id);
        // A stopped state is final only with its exit: the runtime can say
        // "stopped" a moment before the monitor recorded the exit (see
        // RuntimeOciTest.EveryStoppedStateCarriesTheExit); the other tests
        // wait that moment out.
        return last && last->value("status", "") == status && (status != "stopped" || last->contains("exit"));
      },
      timeout);
  return last;
}

std::vector<std::string> OciRuntime::leftovers(const std::string& id) const {
  std::vector<std::string> left;
  std::error_code ec;
  if (fs::exists(container_dir(id), ec)) left.push_back("state directory " + container_dir(id));
  for (const auto& dir : cgroup_dirs(id)) left.push_back("cgroup " + dir);
  for (pid_t pid : processes_in_cgroup(id)) {
    left.push_back("pid " + std::to_string(pid) + " (state " + process_state(pid) + ") in cgroup deckhand/" + id);
  }
  for (pid_t pid : all_pids()) {
    const auto words = cmdline(pid);
    if (words.size() == 3 && words[0].ends_with("deckhand-monitor") && words[1] == root_ && words[2] == id) {
      left.push_back("monitor pid " + std::to_string(pid) + " (state " + process_state(pid) + ")");
    }
  }
  return left;
}

std::vector<std::string> OciRuntime::cleanup() {
  std::vector<std::string> left;
  for (const auto& id : ids_) {
    const CommandResult deleted = oci({"delete", "--force", id});
    if (deleted.exit_code != 0 && deleted.err.find("does not exist") == std::string::npos &&
        deleted.err.find("invalid container id") == std::string::npos) {
      left.push_back("delete --force " + id + " failed: " + deleted.err);
    }
    for (auto& item : leftovers(id)) left.push_back(id + ": " + item);
  }
  ids_.clear();
  return left;
}

CommandResult run_in(OciRuntime& runtime, const BusyboxBundle& bundle, const std::string& id,
                     const std::vector<std::string>& args) {
  bundle.set_args(args);
  return runtime.run(bundle.path(), id);
}

}  // namespace deckhand::test
