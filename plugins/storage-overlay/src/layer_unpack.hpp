// Unpacking one image layer (a tar stream, plain, gzip or zstd) into an empty
// directory of its own, in the form overlayfs stacks: whiteouts become
// character devices 0/0 and opaque directories get trusted.overlay.opaque=y.
// Layers are untrusted input; what is refused is listed below.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "digest.hpp"

namespace deckhand::storage {

// Where the compressed bytes come from (the network, a file): fills `buffer`
// with up to `capacity` bytes and returns how many; 0 means the end. Throws
// to abort the unpack (the exception passes through unpack_layer unchanged).
using ByteSource = std::function<std::size_t(char* buffer, std::size_t capacity)>;

struct UnpackLimits {
  uint64_t max_bytes = 64ull << 30;  // sum of the regular files' sizes (decompression bombs)
  uint64_t max_entries = 4'000'000;  // tar entries
  // When set, max_bytes holds for the sum over every layer that charges this
  // counter (the layers of one image, unpacking in parallel), not for this
  // layer alone: each regular file is charged here before it is written.
  std::atomic<uint64_t>* image_bytes = nullptr;
};

struct UnpackResult {
  Digest diff_id;           // sha256 of the whole uncompressed tar stream, to check against the config
  uint64_t unpacked_bytes;  // sum of the regular files' sizes
  uint64_t entries;
};

// Reads the whole stream (the compression is detected from its first bytes:
// gzip, also multi-member, zstd, or none) and applies the tar (ustar, pax or
// GNU; read with libarchive) to `target_dir`, which must exist and be empty.
// Everything after the tar's end-of-archive marker is hashed too, so diff_id
// is that of the stream, as image-spec defines it.
//
// Kept: regular files, directories, symlinks, hard links (to an entry earlier
// in this layer), character and block devices, fifos; mode including setuid,
// setgid and sticky bits; owner and group (numeric); mtime; extended
// attributes from PAX SCHILY.xattr records (security.capability included).
// Directory modes and times are applied after their contents.
//
// Whiteouts (image-spec layer.md): ".wh.<name>" becomes a char device 0/0
// named <name> in the same directory; ".wh..wh..opq" marks its directory
// opaque (trusted.overlay.opaque = "y"); no ".wh." entry is written as a file.
//
// Refused with StorageError(corrupt) naming the entry, leaving `target_dir`
// for the caller to discard: an absolute name; a ".." component; a name that
// passes through a symlink (of this layer) to reach its place; a hard link
// whose target is absolute, has "..", passes through a symlink, or does not
// exist (yet) in this layer; ".wh." with no name, ".wh..wh." names other
// than the opaque marker (".wh..profile", the whiteout of ".profile", is
// fine), a whiteout of "." or ".."; device numbers out of range; unknown
// entry types; a broken or truncated archive or compressed stream. An entry
// that names the layer root itself sets the root's metadata only. An existing
// entry is replaced, unless both are directories (then the new metadata
// applies).
// StorageError(exhausted) when max_bytes or max_entries is passed.
// Nothing is ever created, changed or followed outside `target_dir`: every
// path is resolved with openat2 (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) below it.
UnpackResult unpack_layer(const ByteSource& source, const std::string& target_dir,
                          const UnpackLimits& limits = UnpackLimits{});

}  // namespace deckhand::storage
