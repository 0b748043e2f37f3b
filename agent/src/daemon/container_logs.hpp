// `kubectl logs` over a CRI log file (what the runtime writes: one
// "<RFC 3339 time> <stdout|stderr> <P|F> <text>" line per write, P for a
// partial line continued by the next): the text back as the container wrote
// it, or with each line's time first (--timestamps), limited to the last N
// lines (--tail) and to lines since a time (--since).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace deckhand {

struct LogOptions {
  std::optional<int64_t> tail_lines;
  std::optional<std::chrono::system_clock::time_point> since;
  bool timestamps = false;
};

// Reads `path` (at most its last 64 MiB). A missing file is empty text.
std::string read_container_log(const std::string& path, const LogOptions& options);

// The same over CRI log text (for tests).
std::string render_container_log(const std::string& text, const LogOptions& options);

}  // namespace deckhand
