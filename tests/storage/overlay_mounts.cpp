#include "overlay_mounts.hpp"

#include <fstream>
#include <sstream>

namespace deckhand::test {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string octal = text.substr(i + 1, 3);
      if (octal.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(octal, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

bool under(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

}  // namespace

std::vector<OverlayMount> overlay_mounts_under(const std::string& root) {
  std::vector<OverlayMount> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto fields = split(line, ' ');
    std::size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (fields.size() < 5 || dash + 3 >= fields.size() || fields[dash + 1] != "overlay") continue;
    OverlayMount mount;
    mount.mount_point = unescape(fields[4]);
    if (!under(mount.mount_point, root)) continue;
    for (const auto& option : split(fields[5], ',')) {
      if (option == "ro") mount.readonly = true;
    }
    for (const auto& option : split(fields[dash + 3], ',')) {
      if (option.rfind("lowerdir+=", 0) == 0) {
        mount.lower_dirs.push_back(unescape(option.substr(10)));
      } else if (option.rfind("lowerdir=", 0) == 0) {
        for (const auto& dir : split(option.substr(9), ':')) mount.lower_dirs.push_back(unescape(dir));
      } else if (option.rfind("upperdir=", 0) == 0) {
        mount.upper_dir = unescape(option.substr(9));
      }
    }
    mounts.push_back(mount);
  }
  return mounts;
}

}  // namespace deckhand::test
