#include "test_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace deckhand::test {
namespace {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 64u << 20;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string url_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& text) { return send_all(fd, text.data(), text.size()); }

}  // namespace

std::string HttpRequest::header(const std::string& name) const {
  const auto it = headers.find(lowercase(name));
  return it == headers.end() ? "" : it->second;
}

std::vector<std::string> HttpRequest::query_values(const std::string& name) const {
  std::vector<std::string> values;
  std::size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const auto equals = pair.find('=');
    if (url_decode(pair.substr(0, equals)) == name) {
      values.push_back(equals == std::string::npos ? "" : url_decode(pair.substr(equals + 1)));
    }
    start = end + 1;
  }
  return values;
}

std::string HttpRequest::query_value(const std::string& name) const {
  const auto values = query_values(name);
  return values.empty() ? "" : values.front();
}

std::string HttpReply::header(const std::string& name) const {
  const std::string wanted = lowercase(name);
  for (const auto& [key, value] : headers) {
    if (lowercase(key) == wanted) return value;
  }
  return "";
}

HttpReply HttpReply::json(int status, const std::string& body) {
  HttpReply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = body;
  return reply;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

TestHttpServer::TestHttpServer(HttpHandler handler) : handler_(std::move(handler)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw std::runtime_error("test http server: socket: " + std::string(std::strerror(errno)));
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(listener_);
    throw std::runtime_error("test http server: bind/listen on 127.0.0.1: " + reason);
  }
  socklen_t length = sizeof address;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listener_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
}

void TestHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd waiting{listener_, POLLIN, 0};
    if (::poll(&waiting, 1, 100) <= 0) continue;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestHttpServer::serve(int fd) {
  std::string buffer;
  // More bytes from the client; false at its end, on an error or when stopping.
  auto read_more = [&]() -> bool {
    for (;;) {
      if (stopping_) return false;
      pollfd waiting{fd, POLLIN, 0};
      const int ready = ::poll(&waiting, 1, 100);
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) continue;
      char chunk[16384];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
  };

  for (bool keep_alive = true; keep_alive;) {
    std::size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > kMaxHeaderBytes || !read_more()) {
        keep_alive = false;
        break;
      }
    }
    if (!keep_alive) break;

    HttpRequest request;
    const std::string head = buffer.substr(0, header_end);
    buffer.erase(0, header_end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    const auto first_space = request_line.find(' ');
    const auto second_space = request_line.find(' ', first_space + 1);
    if (first_space == std::string::npos || second_space == std::string::npos) break;
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    const std::string version = request_line.substr(second_space + 1);
    const auto question = request.target.find('?');
    request.path = request.target.substr(0, question);
    request.query = question == std::string::npos ? "" : request.target.substr(question + 1);
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const auto colon = line.find(':');
      if (colon != std::string::npos) request.headers[lowercase(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    }
    const std::string length_text = request.header("content-length");
    const std::size_t length = length_text.empty() ? 0 : std::stoull(length_text);
    if (length > kMaxBodyBytes) break;
    while (buffer.size() < length) {
      if (!read_more()) {
        keep_alive = false;
        break;
      }
    }
    if (!keep_alive) break;
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);

    HttpReply reply;
    try {
      reply = handler_(request);
    } catch (const std::exception& e) {
      reply = HttpReply::json(500, std::string("{\"errors\":[{\"code\":\"TEST_SERVER\",\"message\":\"") + "handler threw" +
                                       "\"}]}");
      reply.headers.emplace_back("X-Test-Handler-Error", e.what());
    }

    const bool head_only = request.method == "HEAD";
    keep_alive = lowercase(request.header("connection")) != "close" && version == "HTTP/1.1" && !reply.cut_after;
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason_phrase(reply.status) + "\r\n";
    for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
    if (reply.chunked) {
      out += "Transfer-Encoding: chunked\r\n";
    } else if (reply.header("content-length").empty()) {
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    }
    if (!keep_alive) out += "Connection: close\r\n";
    out += "\r\n";
    bool sent = send_all(fd, out);
    if (sent && !head_only) {
      if (reply.cut_after) {
        sent = send_all(fd, reply.body.data(), std::min(*reply.cut_after, reply.body.size()));
        if (sent && reply.cut_delay.count() > 0) std::this_thread::sleep_for(reply.cut_delay);
      } else if (reply.chunked) {
        constexpr std::size_t kChunk = 256 * 1024;
        for (std::size_t offset = 0; sent && offset < reply.body.size(); offset += kChunk) {
          const std::size_t n = std::min(kChunk, reply.body.size() - offset);
          char size_line[32];
          std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
          sent = send_all(fd, size_line) && send_all(fd, reply.body.data() + offset, n) && send_all(fd, "\r\n");
        }
        if (sent) sent = send_all(fd, "0\r\n\r\n");
      } else {
        sent = send_all(fd, reply.body);
      }
    }
    if (!sent) break;
  }
  // An orderly end: what was sent arrives before the FIN (the client's
  // request was read whole, so closing does not reset the connection).
  ::shutdown(fd, SHUT_WR);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.erase(fd);
  }
  ::close(fd);
}

}  // namespace deckhand::test
