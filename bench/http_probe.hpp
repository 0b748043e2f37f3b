// A minimal HTTP/1.1 GET client for the benchmarks: one TCP connection to
// 127.0.0.1 (the only address it can reach), keep-alive, Content-Length,
// chunked and read-to-close bodies. POSIX sockets and the standard library only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "bench_util.hpp"

namespace bench {

struct HttpResponse {
  int status = 0;
  std::string body;
  bool keep_alive = true;  // false when the server will close the connection
};

class HttpClient {
 public:
  // timeout_ms bounds each connect, send and receive on the socket.
  HttpClient(std::uint16_t port, int timeout_ms) : port_(port), timeout_ms_(timeout_ms) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool is_open() const { return fd_ >= 0; }

  // Connects to 127.0.0.1:port. Returns 0, or the errno of the failure
  // (ECONNREFUSED while the agent is not listening yet).
  int open() {
    close();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    timeval tv{};
    tv.tv_sec = timeout_ms_ / 1000;
    tv.tv_usec = (timeout_ms_ % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) {
      const int e = (errno == EINPROGRESS) ? ETIMEDOUT : errno;
      ::close(fd);
      return e;
    }
    fd_ = fd;
    buf_.clear();
    return 0;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  // Sends "GET path" (connecting first if needed) and reads the whole
  // response. On failure returns false with err set and the connection
  // closed. close_conn asks the server to close after answering.
  bool get(std::string_view path, HttpResponse& out, std::string& err, bool close_conn = false) {
    out.status = 0;
    out.body.clear();
    out.keep_alive = true;
    if (fd_ < 0) {
      if (const int e = open(); e != 0) {
        err = std::string("connect: ") + std::strerror(e);
        return false;
      }
    }
    std::string req;
    req.reserve(160);
    req += "GET ";
    req += path;
    req += " HTTP/1.1\r\nHost: 127.0.0.1:";
    req += std::to_string(port_);
    req += "\r\nUser-Agent: deckhand-bench\r\nAccept: */*\r\n";
    if (close_conn) req += "Connection: close\r\n";
    req += "\r\n";
    if (!send_all(req, err)) return fail();

    // Status line and headers; skip interim 1xx responses.
    bool chunked = false;
    long long content_length = -1;
    for (;;) {
      std::size_t end;
      while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (buf_.size() > 256 * 1024) {
          err = "response headers too large";
          return fail();
        }
        if (fill(err) <= 0) {
          if (err.empty()) err = "connection closed before the response headers";
          return fail();
        }
      }
      const std::string_view head(buf_.data(), end);
      if (!parse_head(head, out, chunked, content_length, err)) return fail();
      buf_.erase(0, end + 4);
      if (out.status >= 100 && out.status < 200 && out.status != 101) continue;
      break;
    }
    if (close_conn) out.keep_alive = false;

    if (out.status == 204 || out.status == 304) {
      // no body
    } else if (chunked) {
      if (!read_chunked(out.body, err)) return fail();
    } else if (content_length >= 0) {
      const auto len = static_cast<std::size_t>(content_length);
      while (buf_.size() < len) {
        if (fill(err) <= 0) {
          if (err.empty()) err = "connection closed in the middle of the body";
          return fail();
        }
      }
      out.body.assign(buf_, 0, len);
      buf_.erase(0, len);
    } else {
      // No length: the body runs to the end of the connection.
      out.keep_alive = false;
      for (;;) {
        const long n = fill(err);
        if (n < 0) return fail();
        if (n == 0) break;
      }
      out.body.swap(buf_);
      buf_.clear();
    }
    if (!out.keep_alive) close();
    return true;
  }

 private:
  bool fail() {
    close();
    return false;
  }

  bool send_all(std::string_view data, std::string& err) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR && !g_interrupted) continue;
        err = std::string("send: ") + (errno == EAGAIN ? "timed out" : std::strerror(errno));
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Appends what the socket has to buf_. Returns bytes read, 0 at end of
  // stream (err left empty), or -1 with err set.
  long fill(std::string& err) {
    constexpr std::size_t kChunk = 16 * 1024;
    const std::size_t old = buf_.size();
    buf_.resize(old + kChunk);
    for (;;) {
      const ssize_t n = ::recv(fd_, buf_.data() + old, kChunk, 0);
      if (n < 0 && errno == EINTR && !g_interrupted) continue;
      if (n < 0) {
        const int e = errno;
        buf_.resize(old);
        err = std::string("recv: ") +
              ((e == EAGAIN || e == EWOULDBLOCK) ? "timed out" : std::strerror(e));
        return -1;
      }
      buf_.resize(old + static_cast<std::size_t>(n));
      return static_cast<long>(n);
    }
  }

  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }

  static bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
      if (iequals(hay.substr(i, needle.size()), needle)) return true;
    return false;
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }

  static bool parse_head(std::string_view head, HttpResponse& out, bool& chunked,
                         long long& content_length, std::string& err) {
    chunked = false;
    content_length = -1;
    std::size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
      err = "malformed status line: " + std::string(status_line.substr(0, 80));
      return false;
    }
    const bool http10 = status_line.substr(0, 8) == "HTTP/1.0";
    int code = 0;
    const auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, code);
    if (ec != std::errc() || p != status_line.data() + 12) {
      err = "malformed status line: " + std::string(status_line.substr(0, 80));
      return false;
    }
    out.status = code;
    out.keep_alive = !http10;
    while (eol != std::string_view::npos) {
      const std::size_t start = eol + 2;
      eol = head.find("\r\n", start);
      const std::string_view line =
          head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view name = trim(line.substr(0, colon));
      const std::string_view value = trim(line.substr(colon + 1));
      if (iequals(name, "content-length")) {
        long long v = -1;
        const auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec2 != std::errc() || q != value.data() + value.size() || v < 0) {
          err = "bad Content-Length: " + std::string(value);
          return false;
        }
        content_length = v;
      } else if (iequals(name, "transfer-encoding")) {
        if (icontains(value, "chunked")) chunked = true;
      } else if (iequals(name, "connection")) {
        if (icontains(value, "close")) out.keep_alive = false;
        if (icontains(value, "keep-alive")) out.keep_alive = true;
      }
    }
    return true;
  }

  // Reads one CRLF-terminated line from the connection into line (without the CRLF).
  bool read_line(std::string& line, std::string& err) {
    std::size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (fill(err) <= 0) {
        if (err.empty()) err = "connection closed in a chunked body";
        return false;
      }
    }
    line.assign(buf_, 0, eol);
    buf_.erase(0, eol + 2);
    return true;
  }

  bool read_chunked(std::string& body, std::string& err) {
    std::string line;
    for (;;) {
      if (!read_line(line, err)) return false;
      std::size_t size = 0;
      const char* b = line.data();
      const char* e = b + line.size();
      const auto [p, ec] = std::from_chars(b, e, size, 16);
      if (ec != std::errc() || (p != e && *p != ';' && *p != ' ')) {
        err = "bad chunk size line: " + line.substr(0, 40);
        return false;
      }
      if (size == 0) {
        // Trailers, up to an empty line.
        do {
          if (!read_line(line, err)) return false;
        } while (!line.empty());
        return true;
      }
      while (buf_.size() < size + 2) {
        if (fill(err) <= 0) {
          if (err.empty()) err = "connection closed in a chunk";
          return false;
        }
      }
      body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
  }

  int fd_ = -1;
  std::uint16_t port_;
  int timeout_ms_;
  std::string buf_;  // received, not yet consumed
};

}  // namespace bench
