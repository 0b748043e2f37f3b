#include "store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace

StoreLock::StoreLock(const std::string& path, Mode mode, uint64_t deadline_ns)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
  if (!fd_.valid()) throw_system_error("open the store lock " + path, errno);
  const int operation = mode == Mode::exclusive ? LOCK_EX : LOCK_SH;
  for (;;) {
    if (::flock(fd_.get(), operation | (deadline_ns != 0 ? LOCK_NB : 0)) == 0) return;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) throw_system_error("lock " + path, errno);
    if (deadline_ns != 0 && monotonic_ns() >= deadline_ns) {
      throw StorageError(Failure::deadline, mode == Mode::exclusive
                                                ? "the image store is busy (a pull, load or root filesystem "
                                                  "preparation is in progress); try again"
                                                : "the image store is busy (a removal or prune is in progress); "
                                                  "try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace deckhand::storage
