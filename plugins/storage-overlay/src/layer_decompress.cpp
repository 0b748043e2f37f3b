#include "layer_decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <initializer_list>
#include <string>

#include "storage_error.hpp"

namespace deckhand::storage {

namespace {

// Large pieces keep the per-call overhead (source calls, libarchive
// callbacks, write(2)s) negligible next to hashing and copying.
constexpr std::size_t kInputBytes = 1 << 20;
constexpr std::size_t kOutputBytes = 1 << 20;
// Enough to recognise every magic number below.
constexpr std::size_t kSniffBytes = 10;

bool starts_with_bytes(std::string_view data, std::initializer_list<unsigned char> magic) {
  if (data.size() < magic.size()) return false;
  std::size_t i = 0;
  for (unsigned char byte : magic) {
    if (static_cast<unsigned char>(data[i++]) != byte) return false;
  }
  return true;
}

bool is_zstd(std::string_view head) {
  if (starts_with_bytes(head, {0x28, 0xb5, 0x2f, 0xfd})) return true;
  // A skippable frame (magic 0x184D2A50..5F, little-endian) may lead a zstd stream.
  return head.size() >= 4 && (static_cast<unsigned char>(head[0]) & 0xf0) == 0x50 &&
         starts_with_bytes(head.substr(1), {0x2a, 0x4d, 0x18});
}

[[noreturn]] void corrupt(const std::string& message) { throw StorageError(Failure::corrupt, message); }

}  // namespace

struct LayerDecompressor::Codecs {
  z_stream gzip{};
  bool gzip_ready = false;
  ZSTD_DStream* zstd = nullptr;
  ZSTD_inBuffer zstd_in{};

  ~Codecs() {
    if (gzip_ready) inflateEnd(&gzip);
    ZSTD_freeDStream(zstd);
  }
};

LayerDecompressor::LayerDecompressor(const ByteSource& source)
    : source_(source), input_(kInputBytes), codecs_(std::make_unique<Codecs>()) {}

LayerDecompressor::~LayerDecompressor() = default;

std::size_t LayerDecompressor::read_source(char* buffer, std::size_t capacity) {
  if (source_done_) return 0;
  const std::size_t got = source_(buffer, capacity);
  if (got > capacity) {
    throw StorageError(Failure::internal, "the layer's byte source returned " + std::to_string(got) +
                                              " bytes for a buffer of " + std::to_string(capacity));
  }
  if (got == 0) source_done_ = true;
  compressed_bytes_ += got;
  return got;
}

bool LayerDecompressor::refill() {
  input_begin_ = 0;
  input_end_ = read_source(input_.data(), input_.size());
  return input_end_ > 0;
}

void LayerDecompressor::detect() {
  detected_ = true;
  // Sources may hand out a few bytes at a time; gather enough to decide.
  while (input_end_ < kSniffBytes) {
    const std::size_t got = read_source(input_.data() + input_end_, input_.size() - input_end_);
    if (got == 0) break;
    input_end_ += got;
  }
  const std::string_view head(input_.data(), input_end_);
  if (starts_with_bytes(head, {0x1f, 0x8b})) {
    compression_ = Compression::gzip;
  } else if (is_zstd(head)) {
    compression_ = Compression::zstd;
  } else if (starts_with_bytes(head, {0xfd, '7', 'z', 'X', 'Z', 0x00})) {
    corrupt("the layer is xz-compressed; only gzip, zstd and uncompressed tar layers are supported");
  } else if (head.size() >= 10 && starts_with_bytes(head, {'B', 'Z', 'h'}) && head[3] >= '1' && head[3] <= '9' &&
             starts_with_bytes(head.substr(4), {0x31, 0x41, 0x59, 0x26, 0x53, 0x59})) {
    corrupt("the layer is bzip2-compressed; only gzip, zstd and uncompressed tar layers are supported");
  } else {
    compression_ = Compression::none;
  }

  if (compression_ != Compression::none) output_.resize(kOutputBytes);
  if (compression_ == Compression::gzip) {
    // 16 + MAX_WBITS: gzip framing only, its CRC-32 and length checked by zlib.
    if (inflateInit2(&codecs_->gzip, 16 + MAX_WBITS) != Z_OK) {
      throw StorageError(Failure::internal, "cannot start a gzip decompressor");
    }
    codecs_->gzip_ready = true;
    gzip_member_open_ = true;
    gzip_members_ = 1;
  } else if (compression_ == Compression::zstd) {
    // The default window limit (128 MiB, ZSTD_WINDOWLOG_LIMIT_DEFAULT) stays:
    // it bounds the memory a hostile frame header can demand.
    codecs_->zstd = ZSTD_createDStream();
    if (codecs_->zstd == nullptr || ZSTD_isError(ZSTD_initDStream(codecs_->zstd))) {
      throw StorageError(Failure::internal, "cannot start a zstd decompressor");
    }
  }
}

std::string_view LayerDecompressor::next() {
  if (!detected_) detect();
  switch (compression_) {
    case Compression::gzip:
      return next_gzip();
    case Compression::zstd:
      return next_zstd();
    case Compression::none:
      break;
  }
  return next_plain();
}

std::string_view LayerDecompressor::next_plain() {
  if (input_begin_ == input_end_ && !refill()) return {};
  const std::string_view piece(input_.data() + input_begin_, input_end_ - input_begin_);
  input_begin_ = input_end_;
  return piece;
}

std::string_view LayerDecompressor::next_gzip() {
  z_stream& z = codecs_->gzip;
  for (;;) {
    if (input_begin_ == input_end_ && !refill()) {
      if (gzip_member_open_) {
        corrupt("the gzip stream is truncated: it ends inside member " + std::to_string(gzip_members_) + " after " +
                std::to_string(compressed_bytes_) + " compressed bytes");
      }
      return {};
    }
    if (!gzip_member_open_) {
      // More bytes after a complete member: they must be another member
      // (a multi-member gzip, as pigz and concatenated files make).
      inflateReset(&z);
      gzip_member_open_ = true;
      ++gzip_members_;
    }
    z.next_in = reinterpret_cast<Bytef*>(input_.data() + input_begin_);
    z.avail_in = static_cast<uInt>(input_end_ - input_begin_);
    z.next_out = reinterpret_cast<Bytef*>(output_.data());
    z.avail_out = static_cast<uInt>(output_.size());
    const int status = inflate(&z, Z_NO_FLUSH);
    input_begin_ = input_end_ - z.avail_in;
    const std::size_t produced = output_.size() - z.avail_out;
    if (status == Z_STREAM_END) {
      gzip_member_open_ = false;
    } else if (status == Z_MEM_ERROR) {
      throw StorageError(Failure::internal, "out of memory while decompressing gzip");
    } else if ((status != Z_OK && status != Z_BUF_ERROR) || (status == Z_BUF_ERROR && produced == 0 && z.avail_in > 0)) {
      corrupt("the gzip stream is corrupt in member " + std::to_string(gzip_members_) + " near compressed byte " +
              std::to_string(compressed_offset()) + ": " + (z.msg != nullptr ? z.msg : "inflate failed") +
              (gzip_members_ > 1 ? " (bytes after a gzip member must be another gzip member)" : ""));
    }
    if (produced > 0) return {output_.data(), produced};
  }
}

std::string_view LayerDecompressor::next_zstd() {
  ZSTD_inBuffer& in = codecs_->zstd_in;
  for (;;) {
    if (input_begin_ == input_end_) refill();
    in.src = input_.data();
    in.size = input_end_;
    in.pos = input_begin_;
    ZSTD_outBuffer out{output_.data(), output_.size(), 0};
    const std::size_t consumed_before = in.pos;
    const std::size_t hint = ZSTD_decompressStream(codecs_->zstd, &out, &in);
    input_begin_ = in.pos;
    if (ZSTD_isError(hint)) {
      corrupt("the zstd stream is corrupt near compressed byte " + std::to_string(compressed_offset()) + ": " +
              ZSTD_getErrorName(hint));
    }
    // 0 means a frame was decoded and flushed completely; any progress after
    // that belongs to the next frame. A call without progress needs input.
    if (hint == 0) {
      zstd_frame_complete_ = true;
    } else if (in.pos > consumed_before || out.pos > 0) {
      zstd_frame_complete_ = false;
    }
    if (out.pos > 0) return {output_.data(), out.pos};
    if (in.pos == consumed_before && input_begin_ != input_end_) {
      throw StorageError(Failure::internal, "the zstd decompressor made no progress near compressed byte " +
                                                std::to_string(compressed_offset()));
    }
    if (input_begin_ == input_end_ && source_done_) {
      if (!zstd_frame_complete_) {
        corrupt("the zstd stream is truncated: it ends inside a frame after " + std::to_string(compressed_bytes_) +
                " compressed bytes");
      }
      return {};
    }
  }
}

}  // namespace deckhand::storage
