// The pod benchmark's client of the agent's local API: HTTP/1.1 over the
// agent's unix socket, one keep-alive connection reused for every request
// (so polling a pod every 2 ms costs the agent one request, not a connect
// and an accept each), reconnecting once when the agent closed it.
// Content-Length, chunked and read-to-close bodies. POSIX sockets only.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bench_util.hpp"

namespace bench {

struct ApiResponse {
  int status = 0;
  std::string body;
};

class UnixApiClient {
 public:
  UnixApiClient(std::string socket_path, int timeout_ms) : path_(std::move(socket_path)), timeout_ms_(timeout_ms) {}
  ~UnixApiClient() { close(); }
  UnixApiClient(const UnixApiClient&) = delete;
  UnixApiClient& operator=(const UnixApiClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  // One request; throws std::runtime_error when the agent cannot be reached
  // or answers something that is not HTTP. A request on a connection the
  // agent had closed is sent again once on a fresh one.
  ApiResponse request(std::string_view method, std::string_view target, std::string_view body = {}) {
    std::string err;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      if (fd_ < 0 && !connect(err)) break;
      ApiResponse out;
      if (exchange(method, target, body, out, err)) return out;
      close();
      if (!reused) break;  // a fresh connection failed: the agent is gone
    }
    throw std::runtime_error(std::string(method) + " " + std::string(target) + " on " + path_ + ": " + err);
  }

  // Whether a connection could be made and answered (the agent is serving).
  bool try_get(std::string_view target, ApiResponse& out) {
    std::string err;
    if (fd_ < 0 && !connect(err)) return false;
    if (exchange("GET", target, {}, out, err)) return true;
    close();
    return false;
  }

 private:
  bool connect(std::string& err) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = std::string("socket: ") + std::strerror(errno);
      return false;
    }
    timeval tv{};
    tv.tv_sec = timeout_ms_ / 1000;
    tv.tv_usec = (timeout_ms_ % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path_.size() >= sizeof sa.sun_path) {
      ::close(fd);
      err = "socket path too long";
      return false;
    }
    std::memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
      err = std::string("connect: ") + std::strerror(errno);
      ::close(fd);
      return false;
    }
    fd_ = fd;
    buf_.clear();
    return true;
  }

  bool exchange(std::string_view method, std::string_view target, std::string_view body, ApiResponse& out,
                std::string& err) {
    std::string req;
    req.reserve(160 + body.size());
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: deckhand-bench\r\n");
    if (!body.empty() || method == "POST") {
      req.append("Content-Type: application/yaml\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    req.append("\r\n").append(body);
    for (std::string_view left = req; !left.empty();) {
      const ssize_t n = ::send(fd_, left.data(), left.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR && !g_interrupted) continue;
      if (n < 0) {
        err = std::string("send: ") + std::strerror(errno);
        return false;
      }
      left.remove_prefix(static_cast<std::size_t>(n));
    }
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (fill(err) <= 0) {
        if (err.empty()) err = "connection closed before the response";
        return false;
      }
    }
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
      err = "not an HTTP response: " + head.substr(0, 60);
      return false;
    }
    std::from_chars(head.data() + 9, head.data() + 12, out.status);
    long long length = -1;
    bool chunked = false, keep_alive = true;
    for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
      const std::size_t next = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
      for (char& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (line.rfind("content-length:", 0) == 0) length = std::stoll(line.substr(15));
      if (line.rfind("transfer-encoding:", 0) == 0 && line.find("chunked") != std::string::npos) chunked = true;
      if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos) keep_alive = false;
      at = next;
    }
    out.body.clear();
    if (chunked) {
      if (!read_chunked(out.body, err)) return false;
    } else if (length >= 0) {
      while (buf_.size() < static_cast<std::size_t>(length)) {
        if (fill(err) <= 0) {
          if (err.empty()) err = "connection closed in the body";
          return false;
        }
      }
      out.body = buf_.substr(0, static_cast<std::size_t>(length));
      buf_.erase(0, static_cast<std::size_t>(length));
    } else {
      for (long n; (n = fill(err)) > 0;) {
      }
      if (!err.empty()) return false;
      out.body.swap(buf_);
      keep_alive = false;
    }
    if (!keep_alive) close();
    return true;
  }

  bool read_chunked(std::string& body, std::string& err) {
    for (;;) {
      std::size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (fill(err) <= 0) return err.empty() ? (err = "connection closed in a chunk", false) : false;
      }
      std::size_t size = 0;
      std::from_chars(buf_.data(), buf_.data() + eol, size, 16);
      buf_.erase(0, eol + 2);
      while (buf_.size() < size + 2) {
        if (fill(err) <= 0) return err.empty() ? (err = "connection closed in a chunk", false) : false;
      }
      body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
      if (size == 0) return true;  // no trailers from this server
    }
  }

  // Appends what the socket has; bytes read, 0 at end of stream, -1 with err set.
  long fill(std::string& err) {
    char chunk[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR && !g_interrupted) continue;
      if (n < 0) {
        err = std::string("recv: ") + (errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : std::strerror(errno));
        return -1;
      }
      buf_.append(chunk, static_cast<std::size_t>(n));
      return static_cast<long>(n);
    }
  }

  std::string path_;
  int timeout_ms_;
  int fd_ = -1;
  std::string buf_;
};

}  // namespace bench
