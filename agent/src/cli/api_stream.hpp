// A response of the agent's local API read as it arrives, for the answers
// that go on (`logs -f`, `get -w`): the head first, then the body a piece or
// a line at a time until the agent ends it (or the connection drops).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace deckhand::cli {

class ApiStream {
 public:
  // Connects to the unix socket, sends `GET target` and reads the response
  // head, waiting up to `head_timeout` for it (the body may then be idle for
  // as long as it likes). Throws ApiUnreachable (api_client.hpp).
  ApiStream(const std::string& socket_path, const std::string& target,
            std::chrono::seconds head_timeout = std::chrono::seconds(150));
  ~ApiStream();
  ApiStream(const ApiStream&) = delete;
  ApiStream& operator=(const ApiStream&) = delete;

  int status() const { return status_; }

  // The next bytes of the body as they come; nullopt at its end.
  std::optional<std::string> read_some();
  // The next line of the body, without its newline (a last line without
  // one too); nullopt at the end.
  std::optional<std::string> read_line();
  // The rest of the body (an error's Status, say).
  std::string read_rest();

 private:
  bool fill();  // reads more into buffer_; false at the end of the body

  int fd_ = -1;
  int status_ = 0;
  std::optional<std::size_t> remaining_;  // Content-Length left, when the head gave one
  std::string buffer_;                   // body bytes read, not handed out yet
};

}  // namespace deckhand::cli
