// The decompressing front of the layer unpacker: recognises gzip (also
// several members back to back), zstd (also several frames) or an
// uncompressed tar from the stream's first bytes, and hands out the plain
// bytes piece by piece, so a layer of any size passes through in bounded
// memory. A stream that is corrupt, truncated, or followed by bytes that are
// not another gzip member or zstd frame is StorageError(corrupt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "layer_unpack.hpp"

namespace deckhand::storage {

enum class Compression { none, gzip, zstd };

class LayerDecompressor {
 public:
  // Pieces are read from `source` 1 MiB at a time; it must outlive this.
  explicit LayerDecompressor(const ByteSource& source);
  ~LayerDecompressor();
  LayerDecompressor(const LayerDecompressor&) = delete;
  LayerDecompressor& operator=(const LayerDecompressor&) = delete;

  // The next piece of the decompressed stream, valid until the next call;
  // empty once the stream has ended (and on every call after). Exceptions
  // from the source pass through unchanged.
  std::string_view next();

  Compression compression() const { return compression_; }
  uint64_t compressed_bytes() const { return compressed_bytes_; }

 private:
  struct Codecs;

  void detect();
  std::size_t read_source(char* buffer, std::size_t capacity);
  bool refill();
  std::string_view next_plain();
  std::string_view next_gzip();
  std::string_view next_zstd();
  uint64_t compressed_offset() const { return compressed_bytes_ - (input_end_ - input_begin_); }

  const ByteSource& source_;
  Compression compression_ = Compression::none;
  bool detected_ = false;
  bool source_done_ = false;
  uint64_t compressed_bytes_ = 0;  // read from the source so far
  std::vector<char> input_;
  std::size_t input_begin_ = 0;  // unconsumed input is [input_begin_, input_end_)
  std::size_t input_end_ = 0;
  std::vector<char> output_;
  bool gzip_member_open_ = false;
  uint64_t gzip_members_ = 0;
  bool zstd_frame_complete_ = false;
  std::unique_ptr<Codecs> codecs_;
};

}  // namespace deckhand::storage
