// Helpers shared by the cgroup drivers (not part of the runtime's interface):
// path validation, file I/O that reports CgroupError, directory trees,
// process lists and signalling, v1 controller discovery.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroup.hpp"

namespace deckhand::runtime::cgroup_detail {

// ---- cgroup_path.cpp
// The components of an untrusted cgroups path ("" and "." dropped); throws
// CgroupError "invalid cgroups path ..." for "..", NUL, or no component.
std::vector<std::string> split_path(const std::string& path);
// root + "/" + the first `count` components (all by default).
std::string join(const std::string& root, const std::vector<std::string>& parts, size_t count = SIZE_MAX);

// ---- cgroup_files.cpp
[[noreturn]] void fail(const std::string& what, const std::string& path, int err);
bool exists(const std::string& path);
std::optional<std::string> read_optional(const std::string& path);  // nullopt if unreadable
std::string read_text(const std::string& path);                     // throws CgroupError
void write_text(const std::string& path, const std::string& value);  // one write(2); throws
uint64_t read_u64_or_zero(const std::string& path);
std::string trim(const std::string& text);
std::vector<std::string> words(const std::string& text);  // split on whitespace

// mkdir each missing component below root (refusing symlinks and non-directories);
// returns true if the leaf did not exist before.
bool make_dirs(const std::string& root, const std::vector<std::string>& parts);
// rmdir dir and its descendant directories, deepest first; missing = ok; EBUSY
// retried for up to ~100 ms; throws CgroupError otherwise.
void remove_tree(const std::string& dir);
// The pids in dir/cgroup.procs and its descendants' (unsorted, may repeat).
void collect_procs(const std::string& dir, std::vector<pid_t>& out);
// Sorts and removes duplicates.
std::vector<pid_t> unique_pids(std::vector<pid_t> pids);
// Signals each pid `list` returns, listing again until no new pid appears
// (bounded); ESRCH is ignored, other errors throw after every pid was tried.
void signal_listed(const std::function<std::vector<pid_t>()>& list, int signal);
// Runs body with the cgroup frozen: writes freeze_value to control_file, waits
// (up to ~500 ms) until is_frozen(), runs body, writes thaw_value. Without the
// control file (no freezer) or when freezing fails, body runs unfrozen.
void run_frozen(const std::string& control_file, const std::string& freeze_value, const std::string& thaw_value,
                const std::function<bool()>& is_frozen, const std::function<void()>& body);

// ---- cgroup_resources.cpp
// The value, or nullopt when unset or 0 (runc's "not set").
std::optional<int64_t> nonzero(const std::optional<int64_t>& value);
std::optional<uint64_t> nonzero(const std::optional<uint64_t>& value);
// memory_limit and memory_swap are >= -1, and swap >= memory when both are limits.
void validate_memory(const Resources& r);
// The message for a swap limit that cannot be applied without swap accounting,
// or "" when the request is satisfiable without it (unset, -1, or equal to memory).
std::string swap_needs_accounting(const Resources& r, const std::string& missing_file);

// ---- cgroup_v1_mounts.cpp
// controller name → hierarchy directory, for the v1 controllers the driver
// uses, from /proc/self/mountinfo (cgroup mounts directly below root) or,
// when none is found there (a fake tree), from root's directory names
// ("cpu,cpuacct" maps both).
std::map<std::string, std::string> discover_v1_hierarchies(const std::string& root);

}  // namespace deckhand::runtime::cgroup_detail
