// `kubectl logs` over a CRI log file (what the runtime writes: one
// "<RFC 3339 time> <stdout|stderr> <P|F> <text>" line per write, P for a
// partial line continued by the next): the text back as the container wrote
// it, or with each line's time first (--timestamps), limited to the last N
// lines (--tail) and to lines since a time (--since); and the same file
// followed as it grows (--follow).
#pragma once

#include <sys/types.h>

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

// A CRI log file read as the runtime appends to it (`logs -f`). The first
// read() gives what is there, rendered with `options` (tail, since) as
// read_container_log does; each later read() gives the lines completed since.
// A line whose newline (or whose F piece) is not written yet waits for the
// next read. Follows the runtime's rotation (the live file renamed to
// <path>.1, a new one created): the old file is read to its end first.
class ContainerLogFollower {
 public:
  ContainerLogFollower(std::string path, LogOptions options);
  ~ContainerLogFollower();
  ContainerLogFollower(const ContainerLogFollower&) = delete;
  ContainerLogFollower& operator=(const ContainerLogFollower&) = delete;

  std::string read();

 private:
  bool open_file();
  void read_to_end();

  std::string path_;
  LogOptions options_;
  int fd_ = -1;
  ino_t inode_ = 0;
  bool first_ = true;
  bool cut_first_line_ = false;  // the first read started mid-file (past 64 MiB)
  std::string unread_;           // CRI bytes after the last newline
  std::string pending_[2];       // P pieces of stdout, stderr waiting for their F
  std::string pending_time_[2];
};

}  // namespace deckhand
