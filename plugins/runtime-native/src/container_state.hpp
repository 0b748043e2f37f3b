// What the runtime remembers about a container, under <root>/<id>/:
//   state.json   written by the runtime (atomically): id, bundle, pids, times
//   start.fifo   exists from create until start (the init waits on it)
//   exit.json    written by the monitor when the container's init exits
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstddef>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace deckhand::runtime {

struct ExitInfo {
  int exit_code = 0;   // 128 + signal when killed by a signal
  int signal = 0;
  bool oom_killed = false;
  std::string exited_at;  // RFC 3339
  std::string error;      // a setup or execve error, if the program never ran
};

struct ContainerState {
  std::string id;
  std::string bundle;
  std::string created;       // RFC 3339, nanoseconds
  std::string cgroups_path;
  std::string cgroup_root = "/sys/fs/cgroup";  // where the hierarchies are mounted
  pid_t pid = 0;             // the init, in the host pid namespace
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  pid_t monitor_pid = 0;
  uint64_t monitor_start_time = 0;
  std::string stdio = "null";  // null, inherit or log
  std::string log_path;        // stdio "log": the CRI log file
  uint64_t log_max_bytes = 0;
  unsigned log_max_files = 0;
  std::map<std::string, std::string> annotations;
};

// [A-Za-z0-9][A-Za-z0-9_.-]{0,127}: safe as a directory name and a cgroup name.
bool valid_container_id(const std::string& id);

// Now, UTC, RFC 3339 with nanoseconds (what the CRI log format and OCI state use).
std::string rfc3339_now();
// `time` (CLOCK_REALTIME, years 0-9999), as rfc3339_now formats it.
std::string format_rfc3339(const timespec& time);
// The same into out[0..29] ("2026-11-28T01:02:25.169852375Z", 30 characters,
// no NUL), for callers that must not allocate.
constexpr std::size_t kRfc3339Length = 30;
void format_rfc3339(const timespec& time, char* out);

// /proc/<pid>/stat start time, 0 if the process does not exist.
uint64_t process_start_time(pid_t pid);

// Writes `text` to `path` atomically (temporary file, rename), so a crash
// never leaves a half-written file. Not fsync'ed: this state describes live
// processes, and a power loss that could lose the write ends them too.
void write_file_atomically(const std::string& path, const std::string& text);

nlohmann::json to_json(const ContainerState& state);
ContainerState state_from_json(const nlohmann::json& value);
nlohmann::json to_json(const ExitInfo& info);
ExitInfo exit_from_json(const nlohmann::json& value);

// Reads a JSON file of at most 1 MiB; nullopt if missing; throws if malformed.
std::optional<nlohmann::json> read_json_file(const std::string& path);

}  // namespace deckhand::runtime
