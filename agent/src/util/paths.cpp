#include "util/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace deckhand {

std::string install_prefix() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/local";
  const auto dir = exe.parent_path();
  if (dir.filename() == "deckhand" && dir.parent_path().filename() == "lib") return dir.parent_path().parent_path().string();
  return dir.parent_path().string();
}

std::string agent_program_path() {
  const std::string installed = install_prefix() + "/lib/deckhand/deckhand-agent";
  if (::access(installed.c_str(), X_OK) == 0) return installed;
  std::error_code ec;
  const auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "deckhand-agent";
  if (!ec && ::access(beside.c_str(), X_OK) == 0) return beside.string();
  return installed;
}

std::string default_config_path() {
  const std::string prefix = install_prefix();
  if (prefix == "/usr") return "/etc/deckhand/config.yaml";
  return prefix + "/etc/deckhand/config.yaml";
}

std::string default_plugin_dir() { return install_prefix() + "/lib/deckhand/plugins"; }

void make_private_dir(const std::string& dir, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("create directory " + dir + ": " + ec.message());
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) throw std::runtime_error("stat " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir + " exists and is not a directory");
  if (st.st_uid != geteuid()) {
    throw std::runtime_error(dir + " is owned by uid " + std::to_string(st.st_uid) + ", not by this agent (uid " +
                             std::to_string(geteuid()) + ")");
  }
  if ((st.st_mode & 07777) != mode && chmod(dir.c_str(), mode) != 0) {
    throw std::runtime_error("chmod " + dir + ": " + std::strerror(errno));
  }
}

}  // namespace deckhand
