// The content store: blobs (layers, manifests, configs) by digest under
// <root>/blobs/<algorithm>/<hex>, containerd's ingest-then-commit discipline:
// data goes to <root>/ingest/<random> while it arrives; commit checks the
// size, then the digest, fsyncs the data, renames it into blobs/ and fsyncs
// the directory. So a crash, a full disk or a wrong byte mid-pull never
// leaves a blob that later counts as present. Safe for concurrent use by the
// plugin's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digest.hpp"

namespace deckhand::storage {

class ContentStore {
 public:
  // Creates the directories (mode 0700).
  explicit ContentStore(std::string root);

  // Removes ingests a crash left. Only while no other process uses the store
  // (the caller holds the store lock exclusively): they are another
  // process's blobs in progress otherwise.
  void remove_leftovers();

  bool contains(const Digest& digest) const;
  std::string blob_path(const Digest& digest) const;
  // The blob's size, or -1 if absent.
  int64_t size(const Digest& digest) const;

  // A small blob (manifest, index, config), read whole and checked against
  // its digest. Throws StorageError: not_found; exhausted above max_bytes;
  // corrupt if the bytes do not match the digest.
  std::string read(const Digest& digest, std::size_t max_bytes) const;

  // Writes one blob. Until commit() nothing is visible under blobs/; the
  // destructor discards an uncommitted ingest.
  class Writer {
   public:
    virtual ~Writer() = default;
    // Throws StorageError(exhausted) on ENOSPC/EDQUOT, (corrupt) once more
    // bytes arrive than the expected size, (internal) otherwise.
    virtual void write(const void* data, std::size_t size) = 0;
    virtual uint64_t written() const = 0;
    // Size check, digest check, fsync, rename, directory fsync. A blob that
    // is already present (another writer won) is fine: this ingest is
    // discarded. Throws StorageError(corrupt) naming the expected and actual
    // size or digest.
    virtual void commit() = 0;
  };
  // expected_size < 0: unknown (checked only by digest).
  std::unique_ptr<Writer> begin(const Digest& expected, int64_t expected_size);
  // begin + write + commit, for blobs already in memory.
  void put(const Digest& expected, std::string_view data);

  // Missing is fine.
  void remove(const Digest& digest);
  std::vector<Digest> list() const;
  uint64_t total_bytes() const;  // of the committed blobs

 private:
  std::string root_;
};

}  // namespace deckhand::storage
