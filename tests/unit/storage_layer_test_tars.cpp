#include "storage_layer_test_tars.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace deckhand::storage::test_tars {

namespace {

TarEntry entry_of_type(std::string name, mode_t type, unsigned mode) {
  TarEntry entry;
  entry.name = std::move(name);
  entry.type = type;
  entry.mode = mode;
  return entry;
}

// Names are written as UTF-8 bytes whatever the test's locale.
class Utf8Locale {
 public:
  Utf8Locale() : utf8_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (utf8_ != static_cast<locale_t>(0)) previous_ = uselocale(utf8_);
  }
  ~Utf8Locale() {
    if (utf8_ != static_cast<locale_t>(0)) {
      uselocale(previous_);
      freelocale(utf8_);
    }
  }

 private:
  locale_t utf8_;
  locale_t previous_ = static_cast<locale_t>(0);
};

la_ssize_t append_to_string(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void check(struct archive* writer, int status, const std::string& what) {
  if (status != ARCHIVE_OK) {
    const char* reason = archive_error_string(writer);
    throw std::runtime_error("test tar: " + what + ": " + (reason != nullptr ? reason : "?"));
  }
}

void put_octal(char* field, std::size_t width, uint64_t value) {
  // width - 1 octal digits and a NUL, as ustar writes them.
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
  if (value != 0) throw std::invalid_argument("ustar_header: value too large for its field");
}

}  // namespace

TarEntry file(std::string name, std::string content, unsigned mode) {
  TarEntry entry = entry_of_type(std::move(name), S_IFREG, mode);
  entry.content = std::move(content);
  return entry;
}

TarEntry dir(std::string name, unsigned mode) { return entry_of_type(std::move(name), S_IFDIR, mode); }

TarEntry symlink(std::string name, std::string target) {
  TarEntry entry = entry_of_type(std::move(name), S_IFLNK, 0777);
  entry.link = std::move(target);
  return entry;
}

TarEntry hardlink(std::string name, std::string target) {
  TarEntry entry = entry_of_type(std::move(name), S_IFREG, 0644);
  entry.is_hardlink = true;
  entry.link = std::move(target);
  return entry;
}

TarEntry char_device(std::string name, unsigned long major, unsigned long minor) {
  TarEntry entry = entry_of_type(std::move(name), S_IFCHR, 0666);
  entry.device_major = major;
  entry.device_minor = minor;
  return entry;
}

TarEntry block_device(std::string name, unsigned long major, unsigned long minor) {
  TarEntry entry = entry_of_type(std::move(name), S_IFBLK, 0660);
  entry.device_major = major;
  entry.device_minor = minor;
  return entry;
}

TarEntry fifo(std::string name) { return entry_of_type(std::move(name), S_IFIFO, 0644); }

std::string pax_tar(const std::vector<TarEntry>& entries) {
  const Utf8Locale locale;
  std::string out;
  struct archive* writer = archive_write_new();
  check(writer, archive_write_set_format_pax(writer), "pax format");
  check(writer, archive_write_open(writer, &out, nullptr, append_to_string, nullptr), "open");
  for (const TarEntry& spec : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, spec.name.c_str());
    archive_entry_set_filetype(entry, spec.type);
    archive_entry_set_perm(entry, spec.mode);
    archive_entry_set_uid(entry, spec.uid);
    archive_entry_set_gid(entry, spec.gid);
    archive_entry_set_mtime(entry, spec.mtime, spec.mtime_nsec);
    if (spec.is_hardlink) {
      archive_entry_set_hardlink(entry, spec.link.c_str());
      archive_entry_set_size(entry, 0);
    } else if (spec.type == S_IFLNK) {
      archive_entry_set_symlink(entry, spec.link.c_str());
    } else if (spec.type == S_IFREG) {
      archive_entry_set_size(entry, static_cast<la_int64_t>(spec.content.size()));
    } else if (spec.type == S_IFCHR || spec.type == S_IFBLK) {
      archive_entry_set_rdevmajor(entry, spec.device_major);
      archive_entry_set_rdevminor(entry, spec.device_minor);
    }
    for (const auto& [name, value] : spec.xattrs) {
      archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
    }
    check(writer, archive_write_header(writer, entry), "header of " + spec.name);
    if (!spec.is_hardlink && spec.type == S_IFREG && !spec.content.empty()) {
      const la_ssize_t written = archive_write_data(writer, spec.content.data(), spec.content.size());
      if (written != static_cast<la_ssize_t>(spec.content.size())) check(writer, ARCHIVE_FATAL, "data of " + spec.name);
    }
    archive_entry_free(entry);
  }
  check(writer, archive_write_close(writer), "close");
  archive_write_free(writer);
  return out;
}

std::string ustar_header(std::string_view name, char typeflag, uint64_t size, std::string_view link, unsigned mode) {
  if (name.size() > 100 || link.size() > 100) throw std::invalid_argument("ustar_header: name or link over 100 bytes");
  std::string block(512, '\0');
  std::memcpy(&block[0], name.data(), name.size());
  put_octal(&block[100], 8, mode);
  put_octal(&block[108], 8, 0);
  put_octal(&block[116], 8, 0);
  put_octal(&block[124], 12, size);
  put_octal(&block[136], 12, 1'600'000'000);
  block[156] = typeflag;
  std::memcpy(&block[157], link.data(), link.size());
  std::memcpy(&block[257], "ustar\0" "00", 8);
  std::memset(&block[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char byte : block) sum += byte;
  std::snprintf(&block[148], 8, "%06o", sum);  // six digits, NUL, and the space already there
  block[155] = ' ';
  return block;
}

std::string padded(std::string_view data) {
  std::string out(data);
  out.resize((out.size() + 511) / 512 * 512, '\0');
  return out;
}

std::string end_of_archive() { return std::string(1024, '\0'); }

std::string gzip(std::string_view data, int level, int strategy) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, strategy) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(stream.total_out);
  return out;
}

std::string zstd(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t size = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(size)) throw std::runtime_error(ZSTD_getErrorName(size));
  out.resize(size);
  return out;
}

ByteSource memory_source(const std::string& bytes, std::size_t max_piece) {
  auto offset = std::make_shared<std::size_t>(0);
  return [&bytes, max_piece, offset](char* buffer, std::size_t capacity) -> std::size_t {
    const std::size_t size = std::min({capacity, max_piece, bytes.size() - *offset});
    std::memcpy(buffer, bytes.data() + *offset, size);
    *offset += size;
    return size;
  };
}

StreamingGzip::StreamingGzip(Producer produce) : produce_(std::move(produce)), plain_(1 << 20) {
  // Level 1: quick, and still more than 1000:1 on zeros.
  if (deflateInit2(&stream_, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
}

StreamingGzip::~StreamingGzip() { deflateEnd(&stream_); }

ByteSource StreamingGzip::source() {
  return [this](char* buffer, std::size_t capacity) { return read(buffer, capacity); };
}

std::size_t StreamingGzip::read(char* buffer, std::size_t capacity) {
  if (finished_) return 0;
  stream_.next_out = reinterpret_cast<Bytef*>(buffer);
  stream_.avail_out = static_cast<uInt>(capacity);
  while (stream_.avail_out == capacity) {
    if (stream_.avail_in == 0 && !plain_done_) {
      const std::size_t size = produce_(plain_.data(), plain_.size());
      produced_ += size;
      plain_done_ = size == 0;
      stream_.next_in = reinterpret_cast<Bytef*>(plain_.data());
      stream_.avail_in = static_cast<uInt>(size);
    }
    const int status = deflate(&stream_, plain_done_ ? Z_FINISH : Z_NO_FLUSH);
    if (status == Z_STREAM_END) {
      finished_ = true;
      break;
    }
    if (status != Z_OK && status != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
  }
  const std::size_t size = capacity - stream_.avail_out;
  served_ += size;
  return size;
}

}  // namespace deckhand::storage::test_tars
