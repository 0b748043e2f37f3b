// File descriptors for the runtime: an owning handle, and whole writes and
// bounded reads that retry on EINTR. Used on both sides of clone(), so
// nothing here throws.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>
#include <algorithm>
#include <utility>

namespace deckhand::runtime {

// Owns one descriptor and closes it; movable, not copyable.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  // The magic link that reaches this descriptor's file (mount targets, reopens).
  std::string proc_path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// Writes all of `data`; false if the descriptor failed before the end.
inline bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until end-of-file or an error, keeping at most `limit` bytes.
inline std::string read_all(int fd, std::size_t limit) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    if (text.size() < limit) text.append(buffer, std::min(static_cast<std::size_t>(n), limit - text.size()));
  }
}

}  // namespace deckhand::runtime
