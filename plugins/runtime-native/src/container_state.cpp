#include "container_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace deckhand::runtime {

bool valid_container_id(const std::string& id) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  return std::regex_match(id, pattern);
}

std::string rfc3339_now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char text[64];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%09ldZ", now.tv_nsec);
  return text;
}

uint64_t process_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int index = 3; fields >> field; ++index) {
    if (index == 22) return std::stoull(field);
  }
  return 0;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw std::runtime_error("write " + temporary + ": " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temporary.c_str());
    throw std::runtime_error("write " + path + ": " + why);
  }
}

nlohmann::json to_json(const ContainerState& state) {
  return {{"id", state.id},
          {"bundle", state.bundle},
          {"created", state.created},
          {"cgroupsPath", state.cgroups_path},
          {"cgroupRoot", state.cgroup_root},
          {"pid", state.pid},
          {"pidStartTime", state.pid_start_time},
          {"monitorPid", state.monitor_pid},
          {"monitorStartTime", state.monitor_start_time},
          {"stdio", state.stdio},
          {"logPath", state.log_path},
          {"logMaxBytes", state.log_max_bytes},
          {"logMaxFiles", state.log_max_files},
          {"annotations", state.annotations}};
}

ContainerState state_from_json(const nlohmann::json& value) {
  ContainerState state;
  state.id = value.at("id").get<std::string>();
  state.bundle = value.at("bundle").get<std::string>();
  state.created = value.value("created", "");
  state.cgroups_path = value.value("cgroupsPath", "");
  state.cgroup_root = value.value("cgroupRoot", "/sys/fs/cgroup");
  state.pid = value.value("pid", 0);
  state.pid_start_time = value.value("pidStartTime", uint64_t{0});
  state.monitor_pid = value.value("monitorPid", 0);
  state.monitor_start_time = value.value("monitorStartTime", uint64_t{0});
  state.stdio = value.value("stdio", "null");
  state.log_path = value.value("logPath", "");
  state.log_max_bytes = value.value("logMaxBytes", uint64_t{0});
  state.log_max_files = value.value("logMaxFiles", 0u);
  if (value.contains("annotations")) state.annotations = value["annotations"].get<std::map<std::string, std::string>>();
  return state;
}

nlohmann::json to_json(const ExitInfo& info) {
  nlohmann::json out = {{"exitCode", info.exit_code}, {"signal", info.signal}, {"oomKilled", info.oom_killed},
                        {"exitedAt", info.exited_at}};
  if (!info.error.empty()) out["error"] = info.error;
  return out;
}

ExitInfo exit_from_json(const nlohmann::json& value) {
  ExitInfo info;
  info.exit_code = value.value("exitCode", 0);
  info.signal = value.value("signal", 0);
  info.oom_killed = value.value("oomKilled", false);
  info.exited_at = value.value("exitedAt", "");
  info.error = value.value("error", "");
  return info;
}

std::optional<nlohmann::json> read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > (1u << 20)) throw std::runtime_error(path + ": larger than 1 MiB");
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  return value;
}

}  // namespace deckhand::runtime
