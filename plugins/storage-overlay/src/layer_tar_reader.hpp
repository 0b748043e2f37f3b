// Reading a layer's tar (ustar, pax or GNU) with libarchive, fed from memory
// pieces through archive_read_open callbacks, with only the tar format
// enabled and no filters: decompression happens before (layer_decompress),
// so libarchive only ever sees the plain tar. Names are taken as the bytes
// stored, whatever the process locale.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "layer_entry.hpp"

struct archive;

namespace deckhand::storage {

class LayerTarReader {
 public:
  // Hands out the next piece of the plain tar stream, valid until the next
  // call; empty at the end. May throw: the exception is carried across
  // libarchive and rethrown unchanged from next() or read_data().
  using Pieces = std::function<std::string_view()>;
  // Receives a regular file's data: `data` belongs at byte `offset` of the
  // file (offsets only grow; a sparse file's holes are skipped).
  using DataSink = std::function<void(uint64_t offset, std::string_view data)>;

  explicit LayerTarReader(Pieces pieces);
  ~LayerTarReader();
  LayerTarReader(const LayerTarReader&) = delete;
  LayerTarReader& operator=(const LayerTarReader&) = delete;

  // The next entry, or nothing once the end-of-archive marker (or the end of
  // the stream at an entry boundary) is reached. A damaged or truncated tar,
  // a malformed pax record and an entry type other than those of EntryType
  // are StorageError(corrupt).
  std::optional<LayerEntry> next();

  // Streams the data of the entry last returned by next() into `sink`.
  // Data not read is skipped by the next call to next().
  void read_data(const DataSink& sink);

 private:
  static long read_piece(struct archive* archive, void* self, const void** buffer);
  [[noreturn]] void fail(const std::string& context);

  Pieces pieces_;
  struct archive* archive_ = nullptr;
  std::exception_ptr pending_;  // thrown by pieces_ inside a libarchive callback
  std::string last_name_;
};

}  // namespace deckhand::storage
