#include "cri_log.hpp"

#include "container_state.hpp"
#include "fd_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace deckhand::runtime {
namespace {

constexpr std::size_t kMaxLine = 16 * 1024;  // as containerd: longer lines are split into P parts

}  // namespace

CriLogWriter::CriLogWriter(std::string path, uint64_t max_bytes, unsigned max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files < 1 ? 1 : max_files) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
}

CriLogWriter::~CriLogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

std::string& CriLogWriter::buffer_for(const std::string& stream) {
  return stream == "stderr" ? stderr_buffer_ : stdout_buffer_;
}

void CriLogWriter::append(const std::string& stream, std::string_view data) {
  std::string& buffer = buffer_for(stream);
  buffer.append(data);
  std::size_t start = 0;
  for (;;) {
    const std::size_t newline = buffer.find('\n', start);
    if (newline == std::string::npos) break;
    // A whole line longer than 16 KiB still goes out as P parts and a last F.
    while (newline - start > kMaxLine) {
      write_line(stream, 'P', std::string_view(buffer).substr(start, kMaxLine));
      start += kMaxLine;
    }
    write_line(stream, 'F', std::string_view(buffer).substr(start, newline - start));
    start = newline + 1;
  }
  buffer.erase(0, start);
  while (buffer.size() >= kMaxLine) {
    write_line(stream, 'P', std::string_view(buffer).substr(0, kMaxLine));
    buffer.erase(0, kMaxLine);
  }
}

void CriLogWriter::flush(const std::string& stream) {
  std::string& buffer = buffer_for(stream);
  if (!buffer.empty()) write_line(stream, 'F', buffer);
  buffer.clear();
}

void CriLogWriter::write_line(const std::string& stream, char tag, std::string_view text) {
  // "<time> <stream> <tag> " from a stack buffer, the text, the newline: one
  // writev, no allocation (this runs for every line a container prints).
  char prefix[kRfc3339Length + 16];
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  format_rfc3339(now, prefix);
  std::size_t length = kRfc3339Length;
  prefix[length++] = ' ';
  const std::size_t stream_length = std::min<std::size_t>(stream.size(), 8);
  std::memcpy(prefix + length, stream.data(), stream_length);
  length += stream_length;
  prefix[length++] = ' ';
  prefix[length++] = tag;
  prefix[length++] = ' ';
  const std::size_t line_size = length + text.size() + 1;
  if (max_bytes_ > 0 && size_ > 0 && size_ + line_size > max_bytes_) rotate();
  if (fd_ < 0) return;
  char newline = '\n';
  iovec parts[3] = {{prefix, length}, {const_cast<char*>(text.data()), text.size()}, {&newline, 1}};
  ssize_t written;
  do {
    written = ::writev(fd_, parts, 3);
  } while (written < 0 && errno == EINTR);
  // A full disk drops output rather than stopping the container. A short
  // write (rare on a regular file) is completed piece by piece.
  if (written < 0) return;
  std::size_t done = static_cast<std::size_t>(written);
  for (const iovec& part : parts) {
    if (done >= part.iov_len) {
      done -= part.iov_len;
      continue;
    }
    if (!write_all(fd_, std::string_view(static_cast<const char*>(part.iov_base) + done, part.iov_len - done))) return;
    done = 0;
  }
  size_ += line_size;
}

void CriLogWriter::rotate() {
  if (fd_ >= 0) ::close(fd_);
  // <path>.(n-1) is dropped; each older file moves up one; the live file becomes .1
  if (max_files_ <= 1) {
    ::unlink(path_.c_str());
  } else {
    ::unlink((path_ + "." + std::to_string(max_files_ - 1)).c_str());
    for (unsigned i = max_files_ - 1; i > 1; --i) {
      ::rename((path_ + "." + std::to_string(i - 1)).c_str(), (path_ + "." + std::to_string(i)).c_str());
    }
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  size_ = 0;
}

}  // namespace deckhand::runtime
