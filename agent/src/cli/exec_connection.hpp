// The CLI's side of the exec stream's opening: connect to the agent's unix
// socket, send the upgrade request (and any first frames with it), and read
// the answer's head. After a 101 the socket carries the framed channels of
// http/stream_frames.hpp; any other answer comes with its body (a Status).
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cli/api_client.hpp"
#include "http/stream_frames.hpp"

namespace deckhand::cli {

struct ExecConnection {
  int fd = -1;               // the socket; the caller closes it
  int status = 0;            // the HTTP status (101 when upgraded)
  std::string body;          // without the upgrade: the answer's body
  std::string after_head;    // with the upgrade: frame bytes read with the head
};

namespace exec_connection_detail {

// The Content-Length of a response head, or -1 when it has none.
inline long content_length(const std::string& head) {
  std::string lower = head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return -1;
  return std::strtol(head.c_str() + at + 17, nullptr, 10);
}

}  // namespace exec_connection_detail

// Throws ApiUnreachable when the agent cannot be reached or answers garbage.
inline ExecConnection open_exec_stream(const std::string& socket_path, const std::string& target,
                                       const std::string& first_frames) {
  namespace detail = exec_connection_detail;
  ExecConnection connection;
  connection.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connection.fd < 0) throw ApiUnreachable(std::string("cannot create a socket: ") + std::strerror(errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    ::close(connection.fd);
    throw ApiUnreachable("the agent's socket path is too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(connection.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string why = std::strerror(errno);
    ::close(connection.fd);
    throw ApiUnreachable("cannot connect to the deckhand agent at " + socket_path + ": " + why +
                         " (is the agent running? `deckhand agent` starts it)");
  }
  const std::string request = "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: deckhand-cli\r\n"
                              "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: " +
                              std::string(http::kExecProtocol) + "\r\n\r\n";
  if (!http::send_all(connection.fd, request + first_frames)) {
    ::close(connection.fd);
    throw ApiUnreachable("cannot send the exec request to the deckhand agent at " + socket_path);
  }
  std::string received;
  std::size_t head_end = std::string::npos;
  char buffer[16384];
  while (head_end == std::string::npos) {
    const ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || received.size() > 64 * 1024) {
      ::close(connection.fd);
      throw ApiUnreachable("the deckhand agent at " + socket_path + " closed the exec request without an answer");
    }
    received.append(buffer, static_cast<std::size_t>(n));
    head_end = received.find("\r\n\r\n");
  }
  const std::string head = received.substr(0, head_end);
  std::string rest = received.substr(head_end + 4);
  // "HTTP/1.1 101 Switching Protocols"
  const auto space = head.find(' ');
  connection.status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
  if (connection.status == 101) {
    connection.after_head = std::move(rest);
    return connection;
  }
  // Not upgraded: the body is the agent's Status; it ends at its length or the connection's end.
  const long length = detail::content_length(head);
  while (length < 0 || static_cast<long>(rest.size()) < length) {
    const ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.append(buffer, static_cast<std::size_t>(n));
  }
  connection.body = length >= 0 ? rest.substr(0, static_cast<std::size_t>(length)) : rest;
  return connection;
}

}  // namespace deckhand::cli
