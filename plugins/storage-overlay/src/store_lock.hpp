// The store's lock between processes (the agent and `deckhand image`) and
// between threads: pulls, loads and root filesystem preparation share it;
// removal and garbage collection take it alone, so they never delete a
// layer that a pull has unpacked but not yet recorded, or that a root
// filesystem is about to stack. flock(2) on <root>/store.lock: each holder
// opens its own descriptor, so threads of one process exclude each other too.
#pragma once

#include <cstdint>
#include <string>

#include "store_files.hpp"

namespace deckhand::storage {

class StoreLock {
 public:
  enum class Mode { shared, exclusive };
  // Waits until the lock is granted or `deadline_ns` (CLOCK_MONOTONIC; 0 =
  // wait as long as it takes) passes: then StorageError(deadline) saying
  // the store is busy with `what` others do.
  StoreLock(const std::string& path, Mode mode, uint64_t deadline_ns = 0);
  // Released by closing the descriptor.

 private:
  OwnedFd fd_;
};

}  // namespace deckhand::storage
