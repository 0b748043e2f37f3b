// Host-local IPAM: the node's IPv4 pod range, one file per allocated address
// under <state_dir>/ipam (named by the address, holding the pod id), written
// and fsync'd unnamed, then linked into place (the link is the atomic claim),
// so two pods or two processes can never get one address, and an agent killed
// mid-attach leaves either nothing or a whole file that is honoured (and
// reclaimed at start-up once its pod is gone).
//
// Allocation is O(1): an in-memory FIFO free list of offsets, built once at
// start from the range minus the files. FIFO (rather than a stack) hands out
// the address freed longest ago, so a just-released address is not reused at
// once while neighbours may still hold it in ARP or conntrack. A claim that
// finds the file (another process took it) drops that entry and takes the
// next one, which is O(1) amortized: each entry is dropped once.
//
// The pool may be a part of the range (config range_start/range_end): only
// its offsets are handed out, while a file anywhere in the range is still
// honoured (a pool shrunk across a restart keeps the pods it had).
//
// A pod's IPv6 address (dual-stack) is not allocated separately: it has the
// same offset in the v6 range as its IPv4 address in the v4 range.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "address.hpp"

namespace deckhand::network {

class Ipam {
 public:
  // Offsets in the range, both included.
  struct Pool {
    uint64_t first;
    uint64_t last;
  };
  // Reads <dir>/ with the files already there (creating it if needed). The
  // default pool is every host address after the gateway.
  Ipam(const std::string& dir, const Prefix& range);
  Ipam(const std::string& dir, const Prefix& range, Pool pool);

  // The pod's address: the one it holds already (idempotent), or the next
  // free one. Throws NetworkError(exhausted) when none is free.
  std::array<uint8_t, 16> allocate(const std::string& pod_id);
  // Frees the pod's address; false when it had none.
  bool release(const std::string& pod_id);
  std::optional<std::array<uint8_t, 16>> address_of(const std::string& pod_id) const;
  // Pods that hold an address.
  std::set<std::string> pods() const;

  std::size_t free_count() const;
  // Pods holding an address, in O(1).
  std::size_t pod_count() const;
  std::size_t size() const { return total_; }  // every address of the range, reserved ones included
  std::size_t pool_size() const { return pool_.last - pool_.first + 1; }
  const Prefix& range() const { return range_; }
  // The gateway: the first host address of the range.
  std::array<uint8_t, 16> gateway() const { return range_.at(1); }

 private:
  std::string path_of(uint64_t offset) const;
  // Creates `path` holding pod_id; false when the file exists already.
  bool claim(const std::string& path, const std::string& pod_id);

  std::string dir_;
  Prefix range_;
  uint64_t total_ = 0;
  Pool pool_{};
  mutable std::mutex mutex_;
  std::deque<uint64_t> free_;                       // offsets, oldest freed first
  std::unordered_map<std::string, uint64_t> owner_; // pod id -> offset
};

}  // namespace deckhand::network
