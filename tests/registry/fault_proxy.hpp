// A misbehaving registry for tests: an HTTP proxy (test_http_server.hpp) in
// front of a real one (local_registry.hpp) that passes requests through
// unless a rule says otherwise. Rules, each matched by a piece of the
// request path and applied to the first `times` matching requests:
//   - fail:    answer with an HTTP status (500, 503, ...) instead;
//   - cut:     forward, but break the connection off after some body bytes
//              of the response (the headers still announce the whole body);
//   - replace: answer with a reply of the test's own (a manifest that the
//              real registry would never serve, for instance).
// Every request is logged, so a test can assert that a retry or a Range
// resume really happened. Pull references name proxy.address() as their
// registry (loopback, so the client speaks plain HTTP to it).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "test_http_server.hpp"

namespace deckhand::test {

struct ProxiedRequest {
  std::string method;
  std::string target;
  std::string range;          // the Range header, or ""
  std::string authorization;  // the Authorization header, or ""
  int status = 0;             // what the client was answered
  std::string action;         // "forward", "fail", "cut" or "replace"
};

class FaultProxy {
 public:
  explicit FaultProxy(int upstream_port);

  std::string address() const { return server_.address(); }

  // The next `times` requests whose path contains `path_part` get `status`
  // (with a distribution-style error body) instead of being forwarded.
  void fail(const std::string& path_part, int times, int status = 500);
  // The next `times` responses for paths containing `path_part` are cut
  // after `bytes` body bytes, the connection stalling `delay` before it closes.
  void cut(const std::string& path_part, std::size_t bytes, int times = 1,
           std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  // Requests whose path contains `path_part` get `reply` (`times` < 0: always).
  void replace(const std::string& path_part, HttpReply reply, int times = -1);

  std::vector<ProxiedRequest> requests() const;
  // Requests whose target contains `target_part`.
  std::vector<ProxiedRequest> requests_for(const std::string& target_part) const;

 private:
  struct Rule {
    enum class Kind { fail, cut, replace } kind;
    std::string path_part;
    int remaining;  // < 0: unlimited
    int status = 0;
    std::size_t bytes = 0;
    std::chrono::milliseconds delay{0};
    HttpReply reply;
  };
  HttpReply handle(const HttpRequest& request);

  int upstream_port_;
  mutable std::mutex mutex_;
  std::vector<Rule> rules_;
  std::vector<ProxiedRequest> log_;
  TestHttpServer server_;  // last: stopped first, while the rest still exists
};

// Sends `request` to 127.0.0.1:`port` (one connection, Connection: close)
// and returns the response, the body de-chunked. Host and hop-by-hop
// headers are replaced; Content-Length is kept only for HEAD.
HttpReply forward_request(const HttpRequest& request, int port);

}  // namespace deckhand::test
