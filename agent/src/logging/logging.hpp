// The agent's log: spdlog, human text by default or one JSON object per line,
// to standard error or to a file that SIGHUP reopens (for logrotate).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "config/config.hpp"

namespace deckhand {

// Installs the process-wide logger described by `config`. Throws
// std::runtime_error if the log file cannot be opened.
void setup_logging(const LogConfig& config);

// Reopens the log file (after rotation); a no-op when logging to stderr.
void reopen_log();

// Parses "info" etc.; throws std::invalid_argument for anything else.
spdlog::level::level_enum parse_log_level(const std::string& level);

}  // namespace deckhand
