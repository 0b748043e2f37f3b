// A minimal blocking HTTP/1.1 client for tests: one request per connection to
// 127.0.0.1 (or a unix socket), the whole response read until close.
#pragma once

#include <string>

namespace deckhand::test {

struct HttpResult {
  int status = 0;       // 0 when the connection failed
  std::string headers;  // the raw header block
  std::string body;
};

HttpResult http_get(int port, const std::string& path);
HttpResult http_request_unix(const std::string& socket_path, const std::string& method, const std::string& path,
                             const std::string& body = "");

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace deckhand::test
