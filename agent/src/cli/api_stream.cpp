// Streamed local API responses; see api_stream.hpp. Plain blocking socket
// I/O: the agent answers a stream with a head without a length and
// "Connection: close", so the body is everything until the agent closes;
// an ordinary (error) answer has a Content-Length.
#include "cli/api_stream.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "cli/api_client.hpp"

namespace deckhand::cli {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

void set_receive_timeout(int fd, std::chrono::seconds timeout) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(timeout.count());
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
}

// The value of header `name` (case-insensitive) in `head`, if present.
std::optional<std::string> header(const std::string& head, const std::string& name) {
  std::size_t start = head.find("\r\n");
  while (start != std::string::npos && start + 2 < head.size()) {
    start += 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string line = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size() && ::strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      const std::size_t value = line.find_first_not_of(" \t", colon + 1);
      return value == std::string::npos ? "" : line.substr(value, line.find_last_not_of(" \t") - value + 1);
    }
    start = end;
  }
  return std::nullopt;
}

}  // namespace

ApiStream::ApiStream(const std::string& socket_path, const std::string& target, std::chrono::seconds head_timeout) {
  const std::string where = " to the deckhand agent at " + socket_path + ": ";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) throw ApiUnreachable("cannot connect" + where + "the socket path is too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ApiUnreachable("cannot connect" + where + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    throw ApiUnreachable("cannot connect" + where + reason + " (is the agent running? `deckhand agent` starts it)");
  }
  const std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: deckhand-cli\r\nConnection: close\r\n\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = std::strerror(errno);
      ::close(fd_);
      throw ApiUnreachable("cannot send the request" + where + reason);
    }
    sent += static_cast<std::size_t>(n);
  }

  set_receive_timeout(fd_, head_timeout);
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || buffer_.size() > kMaxHead) {
      const std::string reason = n < 0 ? (errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : std::strerror(errno))
                                       : n == 0 ? "the agent closed the connection" : "the response head is too large";
      ::close(fd_);
      throw ApiUnreachable("cannot read the answer" + where + reason);
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  set_receive_timeout(fd_, std::chrono::seconds(0));  // 0: no timeout
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  // "HTTP/1.1 200 OK"
  const std::size_t space = head.find(' ');
  if (head.rfind("HTTP/1.", 0) != 0 || space == std::string::npos) {
    ::close(fd_);
    throw ApiUnreachable("cannot read the answer" + where + "not an HTTP response");
  }
  status_ = std::atoi(head.c_str() + space + 1);
  if (const auto encoding = header(head, "Transfer-Encoding"); encoding && *encoding != "identity") {
    ::close(fd_);
    throw ApiUnreachable("cannot read the answer" + where + "unexpected Transfer-Encoding " + *encoding);
  }
  if (const auto length = header(head, "Content-Length")) {
    remaining_ = static_cast<std::size_t>(std::stoull(*length));
    if (buffer_.size() > *remaining_) buffer_.resize(*remaining_);
    *remaining_ -= buffer_.size();
  }
}

ApiStream::~ApiStream() {
  if (fd_ >= 0) ::close(fd_);
}

bool ApiStream::fill() {
  if (remaining_ && *remaining_ == 0) return false;
  char chunk[64 * 1024];
  for (;;) {
    std::size_t want = sizeof chunk;
    if (remaining_) want = std::min(want, *remaining_);
    const ssize_t n = ::recv(fd_, chunk, want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the end (or the connection dropped: the body ends there too)
    buffer_.append(chunk, static_cast<std::size_t>(n));
    if (remaining_) *remaining_ -= static_cast<std::size_t>(n);
    return true;
  }
}

std::optional<std::string> ApiStream::read_some() {
  if (buffer_.empty() && !fill()) return std::nullopt;
  std::string out;
  out.swap(buffer_);
  return out;
}

std::optional<std::string> ApiStream::read_line() {
  std::size_t newline;
  while ((newline = buffer_.find('\n')) == std::string::npos) {
    if (!fill()) {
      if (buffer_.empty()) return std::nullopt;
      std::string last;
      last.swap(buffer_);
      return last;
    }
  }
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  return line;
}

std::string ApiStream::read_rest() {
  while (fill()) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

}  // namespace deckhand::cli
