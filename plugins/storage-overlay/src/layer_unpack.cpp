// unpack_layer: the pipeline source -> decompressor -> (sha256, stream cap) ->
// libarchive tar reader -> entry writer, then the rest of the stream drained
// into the hash. Each stage lives in its own layer_* file.
#include "layer_unpack.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "layer_decompress.hpp"
#include "layer_entry_writer.hpp"
#include "layer_errors.hpp"
#include "layer_tar_reader.hpp"
#include "safe_fd.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {

namespace {

// Room for the tar's own bytes beyond the file data: headers, pax records
// (libarchive takes up to 32 special headers of at most 1 MiB per entry, but
// real ones are a few KiB), padding, and whatever follows the end marker.
// With it the whole decompressed stream is bounded by
//   max_bytes + (entries + 1) * kTarOverheadPerEntry,
// so no part of it (skipped bodies of whiteouts and hard links, piles of pax
// headers, zeros after the end marker) can decompress without bound.
constexpr uint64_t kTarOverheadPerEntry = 1 << 20;

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

uint64_t saturating_multiply(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b ? std::numeric_limits<uint64_t>::max() : a * b;
}

Fd open_empty_target(const std::string& target_dir) {
  Fd root(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    const int error = errno;
    const std::string what = "cannot open the layer directory \"" + target_dir + "\": " + std::strerror(error);
    if (error == ENOENT) throw StorageError(Failure::not_found, what);
    if (error == ENOTDIR) throw StorageError(Failure::invalid, what);
    throw StorageError(Failure::internal, what);
  }
  const int listing_fd = ::dup(root.get());
  DIR* listing = listing_fd >= 0 ? ::fdopendir(listing_fd) : nullptr;
  if (listing == nullptr) {
    if (listing_fd >= 0) ::close(listing_fd);
    throw StorageError(Failure::internal, "cannot list the layer directory \"" + target_dir + "\"");
  }
  bool empty = true;
  while (const dirent* child = ::readdir(listing)) {
    if (std::strcmp(child->d_name, ".") != 0 && std::strcmp(child->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(listing);
  if (!empty) {
    throw StorageError(Failure::precondition, "the layer directory \"" + target_dir + "\" is not empty");
  }
  return root;
}

}  // namespace

UnpackResult unpack_layer(const ByteSource& source, const std::string& target_dir, const UnpackLimits& limits) {
  const Fd root = open_empty_target(target_dir);

  LayerDecompressor decompressor(source);
  Hasher diff_id("sha256");
  uint64_t stream_bytes = 0;
  uint64_t entries = 0;
  std::string current_entry;  // for messages about the stream cap

  // Every decompressed byte passes here exactly once, whether libarchive
  // reads it or the drain after the end marker does: that is the diff_id.
  const LayerTarReader::Pieces pieces = [&]() -> std::string_view {
    const std::string_view piece = decompressor.next();
    diff_id.update(piece.data(), piece.size());
    stream_bytes += piece.size();
    const uint64_t allowed =
        saturating_add(limits.max_bytes, saturating_multiply(entries + 1, kTarOverheadPerEntry));
    if (stream_bytes > allowed) {
      throw StorageError(Failure::exhausted,
                         "the layer's uncompressed stream passed " + std::to_string(allowed) + " bytes (the limit of " +
                             std::to_string(limits.max_bytes) + " file bytes plus 1 MiB of tar overhead per entry)" +
                             (current_entry.empty() ? std::string()
                                                    : " at or after entry " + quote_entry_name(current_entry)));
    }
    return piece;
  };

  LayerTarReader reader(pieces);
  LayerEntryWriter writer(root.get(), limits.max_bytes, limits.image_bytes);
  const LayerEntryWriter::DataReader read_data = [&](const LayerTarReader::DataSink& sink) { reader.read_data(sink); };
  while (std::optional<LayerEntry> entry = reader.next()) {
    ++entries;
    current_entry = entry->name;
    if (entries > limits.max_entries) {
      throw StorageError(Failure::exhausted, "the layer has more than " + std::to_string(limits.max_entries) +
                                                 " entries (the limit) at entry " + quote_entry_name(entry->name));
    }
    writer.apply(*entry, read_data);
  }
  writer.finish();

  // Padding and trailing blocks after the end-of-archive marker are part of
  // the stream that image-spec's diff_id covers.
  while (!pieces().empty()) {
  }
  return UnpackResult{diff_id.finish(), writer.unpacked_bytes(), entries};
}

}  // namespace deckhand::storage
