// The CLI's client for the agent's local API: HTTP/1.1 over the unix socket,
// with a timeout on the whole exchange.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace deckhand::cli {

struct ApiResponse {
  int status = 0;
  std::string body;
};

// Cannot reach the agent; what() says where and why, for the user.
class ApiUnreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path, std::chrono::seconds timeout = std::chrono::seconds(150))
      : socket_path_(std::move(socket_path)), timeout_(timeout) {}

  ApiResponse get(const std::string& target) const { return request("GET", target, ""); }
  ApiResponse post(const std::string& target, const std::string& json) const { return request("POST", target, json); }
  ApiResponse del(const std::string& target) const { return request("DELETE", target, ""); }

  // The message of a Kubernetes-style Status body, or the body itself.
  static std::string error_message(const ApiResponse& response);

 private:
  ApiResponse request(const std::string& method, const std::string& target, const std::string& body) const;

  std::string socket_path_;
  std::chrono::seconds timeout_;
};

// --socket, else $DECKHAND_SOCKET, else the socket of the default config, else
// /run/deckhand/deckhand.sock.
std::string resolve_socket(const std::string& flag_value);

}  // namespace deckhand::cli
