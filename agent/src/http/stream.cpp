#include "http/stream.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace deckhand::http {

bool StreamSet::add(int fd) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  fds_.insert(fd);
  return true;
}

void StreamSet::remove(int fd) {
  std::lock_guard lock(mutex_);
  fds_.erase(fd);
  if (fds_.empty()) emptied_.notify_all();
}

void StreamSet::shut_down_all() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  // The fds stay open (their streams close them), so the numbers cannot be reused under us.
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

bool StreamSet::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return emptied_.wait_for(lock, timeout, [this] { return fds_.empty(); });
}

}  // namespace deckhand::http
