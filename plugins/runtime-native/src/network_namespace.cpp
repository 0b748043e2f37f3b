#include "network_namespace.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cstring>
#include <stdexcept>

namespace deckhand::runtime {

NetworkNamespaceMaker::NetworkNamespaceMaker() {
  // unshare moves only this short-lived thread into the new namespace; the
  // process's other threads never see it, and the thread ends right after.
  thread_ = std::thread([this] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error_ = errno;
      step_ = "make a network namespace";
      return;
    }
    fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      error_ = errno;
      step_ = "open the new network namespace";
    }
  });
}

NetworkNamespaceMaker::~NetworkNamespaceMaker() {
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

Fd NetworkNamespaceMaker::take() {
  if (thread_.joinable()) thread_.join();
  if (fd_ < 0) throw std::runtime_error(step_ + ": " + std::strerror(error_));
  Fd out(fd_);
  fd_ = -1;
  return out;
}

}  // namespace deckhand::runtime
