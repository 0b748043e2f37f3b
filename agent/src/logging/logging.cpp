#include "logging/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/details/fmt_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <stdexcept>

namespace deckhand {
namespace {

// Writes formatted lines to a file descriptor: stderr, or a file opened in
// append mode that reopen() replaces atomically with respect to writers.
class ReopenableSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableSink(std::string path) : path_(std::move(path)) { fd_ = open_file(); }
  ~ReopenableSink() override {
    if (fd_ > STDERR_FILENO) ::close(fd_);
  }

  bool reopens() const { return !path_.empty(); }

  void reopen() {
    if (path_.empty()) return;
    const int fresh = open_file();
    std::lock_guard<std::mutex> lock(mutex_);
    ::close(fd_);
    fd_ = fresh;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere to report a failing log; drop the line
      data += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int open_file() const {
    if (path_.empty()) return STDERR_FILENO;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("open log file " + path_ + ": " + std::strerror(errno));
    return fd;
  }

  std::string path_;
  int fd_ = STDERR_FILENO;
};

// {"time":"2026-11-26T20:01:02.123456Z","level":"info","msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line;
    line["time"] = time_formatter_.format_time(msg);
    line["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size());
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  struct TimeFormatter {
    std::string format_time(const spdlog::details::log_msg& msg) {
      spdlog::memory_buf_t buf;
      pattern.format(msg, buf);
      return {buf.data(), buf.size()};
    }
    spdlog::pattern_formatter pattern{"%Y-%m-%dT%H:%M:%S.%fZ", spdlog::pattern_time_type::utc, ""};
  } time_formatter_;
};

std::shared_ptr<ReopenableSink> g_sink;  // the one sink SIGHUP reopens

}  // namespace

spdlog::level::level_enum parse_log_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  throw std::invalid_argument("unknown log level \"" + level + "\"");
}

void setup_logging(const LogConfig& config) {
  auto sink = std::make_shared<ReopenableSink>(config.file);
  if (config.format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc));
  }
  auto logger = std::make_shared<spdlog::logger>("deckhand", sink);
  logger->set_level(parse_log_level(config.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  g_sink = sink;
}

void reopen_log() {
  if (!g_sink || !g_sink->reopens()) return;  // standard error has nothing to reopen
  try {
    g_sink->reopen();
    spdlog::info("log file reopened");
  } catch (const std::exception& e) {
    spdlog::error("log file not reopened: {}", e.what());
  }
}

}  // namespace deckhand
