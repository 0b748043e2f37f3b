#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace deckhand::test {
namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string dechunk(const std::string& raw) {
  std::string body;
  std::size_t position = 0;
  for (;;) {
    const auto line_end = raw.find("\r\n", position);
    if (line_end == std::string::npos) throw std::runtime_error("forward: a chunked body ends early");
    const std::size_t size = std::stoul(raw.substr(position, line_end - position), nullptr, 16);
    position = line_end + 2;
    if (size == 0) return body;
    if (position + size > raw.size()) throw std::runtime_error("forward: a chunk runs past the body");
    body.append(raw, position, size);
    position += size + 2;
  }
}

}  // namespace

HttpReply forward_request(const HttpRequest& request, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("forward: socket: " + std::string(std::strerror(errno)));
  timeval timeout{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("forward: cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : request.headers) {
    if (name == "host" || name == "connection" || name == "content-length" || name == "transfer-encoding") continue;
    out += name + ": " + value + "\r\n";
  }
  if (!request.body.empty()) out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n" + request.body;
  for (std::size_t sent = 0; sent < out.size();) {
    const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("forward: send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);

  const auto header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) {
    throw std::runtime_error("forward: no HTTP response from 127.0.0.1:" + std::to_string(port));
  }
  HttpReply reply;
  reply.status = std::stoi(raw.substr(9, 3));
  std::string body = raw.substr(header_end + 4);
  bool chunked = false;
  std::size_t line_end = raw.find("\r\n");
  while (line_end < header_end) {
    const std::size_t start = line_end + 2;
    line_end = raw.find("\r\n", start);
    const std::string line = raw.substr(start, line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string name = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    const std::string lower = lowercase(name);
    if (lower == "transfer-encoding") {
      chunked = lowercase(value).find("chunked") != std::string::npos;
      continue;
    }
    if (lower == "connection" || lower == "keep-alive") continue;
    if (lower == "content-length" && request.method != "HEAD") continue;  // the proxy's server sets it
    reply.headers.emplace_back(name, value);
  }
  reply.body = chunked ? dechunk(body) : body;
  return reply;
}

FaultProxy::FaultProxy(int upstream_port)
    : upstream_port_(upstream_port), server_([this](const HttpRequest& request) { return handle(request); }) {}

void FaultProxy::fail(const std::string& path_part, int times, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.push_back(Rule{Rule::Kind::fail, path_part, times, status, 0, {}, {}});
}

void FaultProxy::cut(const std::string& path_part, std::size_t bytes, int times, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.push_back(Rule{Rule::Kind::cut, path_part, times, 0, bytes, delay, {}});
}

void FaultProxy::replace(const std::string& path_part, HttpReply reply, int times) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.push_back(Rule{Rule::Kind::replace, path_part, times, 0, 0, {}, std::move(reply)});
}

std::vector<ProxiedRequest> FaultProxy::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

std::vector<ProxiedRequest> FaultProxy::requests_for(const std::string& target_part) const {
  std::vector<ProxiedRequest> out;
  for (const ProxiedRequest& request : requests()) {
    if (request.target.find(target_part) != std::string::npos) out.push_back(request);
  }
  return out;
}

HttpReply FaultProxy::handle(const HttpRequest& request) {
  std::optional<Rule> applied;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Rule& rule : rules_) {
      if (rule.remaining == 0 || request.path.find(rule.path_part) == std::string::npos) continue;
      if (rule.remaining > 0) --rule.remaining;
      applied = rule;
      break;
    }
  }
  ProxiedRequest entry{request.method, request.target, request.header("range"), request.header("authorization"), 0,
                       "forward"};
  HttpReply reply;
  if (applied && applied->kind == Rule::Kind::fail) {
    entry.action = "fail";
    reply = HttpReply::json(applied->status,
                            "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected by the test's fault proxy\"}]}");
    reply.status = applied->status;
  } else if (applied && applied->kind == Rule::Kind::replace) {
    entry.action = "replace";
    reply = applied->reply;
  } else {
    reply = forward_request(request, upstream_port_);
    if (applied && applied->kind == Rule::Kind::cut) {
      entry.action = "cut";
      reply.cut_after = applied->bytes;
      reply.cut_delay = applied->delay;
    }
  }
  // Locations the registry names (upload sessions) point back through the proxy.
  const std::string upstream = "http://127.0.0.1:" + std::to_string(upstream_port_);
  for (auto& [name, value] : reply.headers) {
    if (lowercase(name) == "location" && value.rfind(upstream, 0) == 0) {
      value = server_.url() + value.substr(upstream.size());
    }
  }
  entry.status = reply.status;
  std::lock_guard<std::mutex> lock(mutex_);
  log_.push_back(entry);
  return reply;
}

}  // namespace deckhand::test
