// The files of an image archive (an OCI image layout or a `docker save`
// tar, plain or compressed), unpacked into a private scratch directory so
// that they can be read in any order. The archive is untrusted: its entries
// are never written under their own names (each regular file becomes
// <scratch>/<n>), links are resolved to the entry they name inside the
// archive or refused, and the sizes are capped. Every file is hashed
// (sha256) as it is written, so a blob's digest is checked against its name
// without reading it twice.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "digest.hpp"
#include "layer_unpack.hpp"

namespace deckhand::storage {

struct ArchiveLimits {
  uint64_t max_bytes = 64ull << 30;  // the sum of the regular files
  uint64_t max_entries = 100'000;
};

class ArchiveFiles {
 public:
  struct File {
    std::string path;  // in the scratch directory
    uint64_t size = 0;
    Digest digest;     // sha256 of the content
  };

  // Reads the whole archive at `archive_path` into `scratch_dir` (which must
  // exist, be empty and be private). Throws StorageError: invalid for what
  // is not a tar archive or has an entry that is not a regular file, a
  // directory or a link to a file in the archive; exhausted past `limits`.
  static ArchiveFiles extract(const std::string& archive_path, const std::string& scratch_dir,
                              const ArchiveLimits& limits);

  // By the entry's name, normalised ("./a//b" is "a/b"); links resolved.
  const File* find(const std::string& name) const;
  // The whole file, at most max_bytes (StorageError(exhausted) beyond);
  // StorageError(invalid) naming the entry when it is missing.
  std::string read(const std::string& name, std::size_t max_bytes) const;
  // The file as a stream, for the layer unpacker.
  ByteSource open(const File& file) const;

  // "<alg>/<hex>" blob path of an OCI layout: blobs/sha256/<hex>.
  static std::string blob_name(const Digest& digest) { return "blobs/" + digest.algorithm + "/" + digest.hex; }

 private:
  std::map<std::string, File> files_;
};

// The entry name as the archive gives it, normalised: leading "./" and
// repeated or trailing "/" removed. Throws StorageError(invalid) for an
// empty, absolute or ".."-containing name.
std::string normalise_archive_name(const std::string& name);

}  // namespace deckhand::storage
