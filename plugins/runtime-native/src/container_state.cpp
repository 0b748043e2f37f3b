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
  return format_rfc3339(now);
}

std::string format_rfc3339(const timespec& now) {
  std::string text(kRfc3339Length, ' ');
  format_rfc3339(now, text.data());
  return text;
}

void format_rfc3339(const timespec& now, char* out) {
  // Days since 1970 to a civil date (Howard Hinnant's algorithm), written
  // digit by digit: this runs for every log line a monitor writes, and
  // strftime/printf would keep much more of libc's code resident in it.
  const int64_t days = now.tv_sec >= 0 ? now.tv_sec / 86400 : (now.tv_sec - 86399) / 86400;
  const int64_t seconds_of_day = now.tv_sec - days * 86400;
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  static constexpr char kPattern[] = "0000-00-00T00:00:00.000000000Z";
  std::memcpy(out, kPattern, kRfc3339Length);
  auto put = [out](std::size_t end, int64_t value, int digits) {
    for (int i = 0; i < digits; ++i, value /= 10) out[end - static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(3, year, 4);
  put(6, month, 2);
  put(9, day, 2);
  put(12, seconds_of_day / 3600, 2);
  put(15, seconds_of_day / 60 % 60, 2);
  put(18, seconds_of_day % 60, 2);
  put(28, now.tv_nsec, 9);
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
