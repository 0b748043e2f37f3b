// Validation of untrusted cgroups paths: every result stays below the root.
#include <string>
#include <vector>

#include "cgroups/cgroup_internal.hpp"

namespace deckhand::runtime::cgroup_detail {
namespace {

std::string printable(const std::string& path) {
  std::string out = "\"";
  for (char c : path) {
    if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

[[noreturn]] void invalid(const std::string& path, const std::string& why) {
  throw CgroupError("invalid cgroups path " + printable(path) + ": " + why);
}

}  // namespace

std::vector<std::string> split_path(const std::string& path) {
  if (path.empty()) invalid(path, "empty");
  if (path.find('\0') != std::string::npos) invalid(path, "contains NUL");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") invalid(path, "contains a \"..\" component");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  if (parts.empty()) invalid(path, "names no cgroup below the root");
  return parts;
}

std::string join(const std::string& root, const std::vector<std::string>& parts, size_t count) {
  std::string out = root;
  while (!out.empty() && out.back() == '/') out.pop_back();
  for (size_t i = 0; i < parts.size() && i < count; ++i) out += "/" + parts[i];
  return out.empty() ? "/" : out;
}

}  // namespace deckhand::runtime::cgroup_detail
