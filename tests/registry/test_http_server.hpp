// A tiny threaded HTTP/1.1 server for tests, on 127.0.0.1 and a free port:
// one thread per connection, keep-alive, request bodies by Content-Length.
// The handler decides each reply; a reply can also misbehave on purpose
// (break the connection off after some body bytes, or send its body
// chunked with no length) for the fault-injection tests. Stopped, and
// every connection closed, when the object goes away.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace deckhand::test {

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: "/v2/x/manifests/v1?a=b"
  std::string path;    // the target up to '?'
  std::string query;   // after '?', still encoded
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string header(const std::string& name) const;  // "" if absent; any case
  // Every value of a query parameter, URL-decoded, in order.
  std::vector<std::string> query_values(const std::string& name) const;
  std::string query_value(const std::string& name) const;  // the first, or ""
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Faults. cut_after: the headers announce the whole body (Content-Length),
  // only this many body bytes are sent, then the connection is closed.
  std::optional<std::size_t> cut_after;
  // How long the connection stalls after those bytes before it is closed
  // (a network that hangs, then drops), so that the client has read the
  // headers and the bytes before it sees the break.
  std::chrono::milliseconds cut_delay{0};
  // The body goes chunked (Transfer-Encoding: chunked), with no length.
  bool chunked = false;

  std::string header(const std::string& name) const;  // "" if absent; any case
  static HttpReply json(int status, const std::string& body);
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

class TestHttpServer {
 public:
  explicit TestHttpServer(HttpHandler handler);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }  // also a registry name
  std::string url() const { return "http://" + address(); }
  std::size_t connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  HttpHandler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::set<int> open_fds_;
};

// The reason phrase of a status code ("OK", "Not Found", ...).
const char* reason_phrase(int status);

}  // namespace deckhand::test
