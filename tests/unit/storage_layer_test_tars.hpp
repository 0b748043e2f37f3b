// Test helpers for the layer unpacker: tar streams built in memory with
// libarchive's writer (pax format), raw ustar headers for the forms that
// writer refuses to make, gzip/zstd compression, and byte sources.
#pragma once

#include <sys/stat.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "layer_unpack.hpp"

namespace deckhand::storage::test_tars {

struct TarEntry {
  std::string name;
  mode_t type = S_IFREG;  // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO; see hardlink()
  bool is_hardlink = false;
  std::string content;  // a regular file's data
  std::string link;     // a symlink's or hard link's target
  unsigned mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1'600'000'000;
  long mtime_nsec = 0;
  unsigned long device_major = 0;
  unsigned long device_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;

  TarEntry& owned_by(int64_t user, int64_t group) {
    uid = user;
    gid = group;
    return *this;
  }
  TarEntry& with_mode(unsigned bits) {
    mode = bits;
    return *this;
  }
  TarEntry& modified_at(int64_t seconds, long nanoseconds = 0) {
    mtime = seconds;
    mtime_nsec = nanoseconds;
    return *this;
  }
  TarEntry& with_xattr(std::string name_, std::string value) {
    xattrs.emplace_back(std::move(name_), std::move(value));
    return *this;
  }
};

TarEntry file(std::string name, std::string content = "", unsigned mode = 0644);
TarEntry dir(std::string name, unsigned mode = 0755);
TarEntry symlink(std::string name, std::string target);
TarEntry hardlink(std::string name, std::string target);
TarEntry char_device(std::string name, unsigned long major, unsigned long minor);
TarEntry block_device(std::string name, unsigned long major, unsigned long minor);
TarEntry fifo(std::string name);

// A pax tar of the entries, ending as libarchive ends it (two zero blocks,
// padded to its 10240-byte records).
std::string pax_tar(const std::vector<TarEntry>& entries);

// One raw 512-byte ustar header with a correct checksum, for what
// libarchive's writer will not produce (empty names, odd type flags, names
// that are not text). The data (padded to 512) and the end marker are the
// caller's.
std::string ustar_header(std::string_view name, char typeflag, uint64_t size, std::string_view link = "",
                         unsigned mode = 0644);
// `data` padded with zeros to a multiple of 512 bytes.
std::string padded(std::string_view data);
// Two zero blocks.
std::string end_of_archive();

std::string gzip(std::string_view data, int level = 6, int strategy = Z_DEFAULT_STRATEGY);
std::string zstd(std::string_view data, int level = 3);

// Hands out `bytes` (which must outlive the source) at most `max_piece`
// bytes per call.
ByteSource memory_source(const std::string& bytes, std::size_t max_piece = SIZE_MAX);

// A gzip stream compressed only as the unpacker pulls it, from plain bytes
// that `produce` generates on demand (fills the buffer, 0 at the end): a
// decompression bomb without storing it.
class StreamingGzip {
 public:
  using Producer = std::function<std::size_t(char* buffer, std::size_t capacity)>;
  explicit StreamingGzip(Producer produce);
  ~StreamingGzip();
  StreamingGzip(const StreamingGzip&) = delete;
  StreamingGzip& operator=(const StreamingGzip&) = delete;

  ByteSource source();  // valid while this object lives
  uint64_t compressed_bytes_served() const { return served_; }
  uint64_t plain_bytes_produced() const { return produced_; }

 private:
  std::size_t read(char* buffer, std::size_t capacity);

  Producer produce_;
  z_stream stream_{};
  std::vector<char> plain_;
  bool plain_done_ = false;
  bool finished_ = false;
  uint64_t served_ = 0;
  uint64_t produced_ = 0;
};

}  // namespace deckhand::storage::test_tars
