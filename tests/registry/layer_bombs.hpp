// Decompression bombs as image layers: a gigabyte of zeros that gzip packs
// into about a megabyte. The uncompressed stream is never held in memory:
// it is generated piece by piece, hashed (its diff_id) and gzipped as it
// goes (libarchive's raw format with its gzip filter, which is zlib).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "oci_layout.hpp"

namespace deckhand::test {

class GzipLayerStream {
 public:
  GzipLayerStream();
  ~GzipLayerStream();
  GzipLayerStream(const GzipLayerStream&) = delete;
  GzipLayerStream& operator=(const GzipLayerStream&) = delete;

  void write(const void* data, std::size_t size);
  void write(const std::string& data) { write(data.data(), data.size()); }
  void write_zeros(uint64_t count);
  // Ends the stream and stores the gzip blob in `layout` as a gzip layer
  // whose diff_id is the sha256 of everything written.
  LayerBlob finish(OciLayout& layout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A ustar header block (512 bytes) for a regular file of `size` bytes.
std::string ustar_file_header(const std::string& name, uint64_t size, mode_t mode = 0644);

// A layer with one regular file, "zeros", of `size` zero bytes.
LayerBlob add_zero_file_bomb(OciLayout& layout, uint64_t size);
// A layer with one small file, its end-of-archive marker, and then `size`
// zero bytes: nothing a tar reader would unpack, all of it to decompress.
LayerBlob add_trailing_zeros_bomb(OciLayout& layout, uint64_t size);

}  // namespace deckhand::test
