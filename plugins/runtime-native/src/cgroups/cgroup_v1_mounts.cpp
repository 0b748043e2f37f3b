// Where each cgroup v1 controller is mounted below a root: from
// /proc/self/mountinfo, or from the directory names of a fake tree.
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime::cgroup_detail {
namespace {

const std::set<std::string>& used_controllers() {
  static const std::set<std::string> names = {"cpu",     "cpuacct", "cpuset",  "memory",
                                              "pids",    "devices", "freezer", "blkio"};
  return names;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, separator)) out.push_back(item);
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
        text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string normal(const std::string& path) {
  std::string out = std::filesystem::path(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

void add(std::map<std::string, std::string>& out, const std::string& dir, const std::string& options) {
  for (const std::string& option : split(options, ',')) {
    if (used_controllers().count(option) != 0 && out.count(option) == 0) out[option] = dir;
  }
}

std::map<std::string, std::string> from_mountinfo(const std::string& root) {
  std::map<std::string, std::string> out;
  const std::optional<std::string> text = read_optional("/proc/self/mountinfo");
  if (!text) return out;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const std::vector<std::string> fields = words(line);
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 >= fields.size() || fields[dash + 1] != "cgroup") continue;
    const std::string mount_point = unescape(fields[4]);
    if (normal(std::filesystem::path(mount_point).parent_path().string()) != root) continue;
    add(out, mount_point, fields[dash + 3]);
  }
  return out;
}

std::map<std::string, std::string> from_directory_names(const std::string& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    std::error_code type_ec;
    if (entry.is_symlink(type_ec) || !entry.is_directory(type_ec)) continue;
    add(out, normal(entry.path().string()), entry.path().filename().string());
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> discover_v1_hierarchies(const std::string& root) {
  const std::string normal_root = normal(root);
  std::map<std::string, std::string> out = from_mountinfo(normal_root);
  if (out.empty()) out = from_directory_names(normal_root);
  return out;
}

}  // namespace deckhand::runtime::cgroup_detail
