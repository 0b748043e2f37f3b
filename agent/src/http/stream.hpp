// Long-lived answers on the local API: `logs -f`, `get -w` and `exec` keep the
// connection after the response head. The handler hands the server a Stream;
// the server writes the head, takes the socket out of the event loop and runs
// the Stream on a thread of its own with blocking I/O, so a slow or idle
// stream never holds the loop. Streams count against the connection cap, and
// stopping the server shuts every stream socket down and waits for them.
#pragma once

#include <sys/socket.h>

#include <cerrno>

#include <condition_variable>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace deckhand::http {

// What a Stream gets: the connection's socket in blocking mode (the Stream
// owns it and must not close it: the server does, after the Stream returns),
// and the bytes the client sent after its request that were already read.
struct StreamConnection {
  int fd = -1;
  std::string already_read;
};
using Stream = std::function<void(StreamConnection&)>;

// The streams of one server: counted, and ended together at stop.
class StreamSet {
 public:
  // Registers a stream's socket; false when the set is stopping (refuse it).
  bool add(int fd);
  void remove(int fd);
  // Shuts down every stream's socket (their reads and writes fail at once).
  void shut_down_all();
  // Waits until every stream has returned; false on timeout.
  bool wait_empty(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable emptied_;
  std::set<int> fds_;
  bool stopping_ = false;
};

// Writes all of `data` to a blocking socket (MSG_NOSIGNAL); false when the
// peer went away.
inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace deckhand::http
