// The local API's unix socket: created mode 0600 in a 0700 directory, a stale
// socket from a crashed agent replaced, a live one left alone, and every peer
// checked with SO_PEERCRED (root or the agent's own user only).
#pragma once

#include <boost/asio.hpp>
#include <string>

namespace deckhand {

// Makes `path` ready to bind: creates its directory, removes a stale socket.
// Throws std::runtime_error if another agent answers there or the path is not a socket.
void prepare_socket_path(const std::string& path);

// Restricts a bound socket file to its owner (the bind runs under umask 0177 too).
void restrict_socket_file(const std::string& path);

// SO_PEERCRED: true for root or the agent's own uid.
bool peer_is_trusted(boost::asio::local::stream_protocol::socket& socket);

}  // namespace deckhand
