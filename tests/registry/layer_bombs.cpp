#include "layer_bombs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace deckhand::test {

struct GzipLayerStream::State {
  archive* writer = nullptr;
  archive_entry* entry = nullptr;
  EVP_MD_CTX* hash = nullptr;
  std::string compressed;
  bool finished = false;

  ~State() {
    if (writer != nullptr) archive_write_free(writer);
    if (entry != nullptr) archive_entry_free(entry);
    if (hash != nullptr) EVP_MD_CTX_free(hash);
  }

  static la_ssize_t on_write(archive*, void* self, const void* data, size_t size) {
    static_cast<State*>(self)->compressed.append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("gzip layer stream: " + what + ": " +
                             (writer != nullptr && archive_error_string(writer) != nullptr ? archive_error_string(writer)
                                                                                           : "failed"));
  }
};

GzipLayerStream::GzipLayerStream() : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.hash = EVP_MD_CTX_new();
  if (s.hash == nullptr || EVP_DigestInit_ex(s.hash, EVP_sha256(), nullptr) != 1) s.fail("sha256");
  s.writer = archive_write_new();
  if (s.writer == nullptr) s.fail("archive_write_new");
  // "raw": the data of one entry, no headers, so the stream is exactly what
  // write() is given; the gzip filter compresses it as it comes.
  if (archive_write_set_format_raw(s.writer) != ARCHIVE_OK) s.fail("raw format");
  if (archive_write_add_filter_gzip(s.writer) != ARCHIVE_OK) s.fail("gzip filter");
  if (archive_write_set_filter_option(s.writer, "gzip", "compression-level", "9") != ARCHIVE_OK) s.fail("level");
  // No zero padding after the gzip stream.
  archive_write_set_bytes_in_last_block(s.writer, 1);
  if (archive_write_open2(s.writer, &s, nullptr, &State::on_write, nullptr, nullptr) != ARCHIVE_OK) s.fail("open");
  s.entry = archive_entry_new();
  archive_entry_set_pathname(s.entry, "layer.tar");
  archive_entry_set_filetype(s.entry, AE_IFREG);
  archive_entry_set_perm(s.entry, 0644);
  if (archive_write_header(s.writer, s.entry) != ARCHIVE_OK) s.fail("header");
}

GzipLayerStream::~GzipLayerStream() = default;

void GzipLayerStream::write(const void* data, std::size_t size) {
  State& s = *state_;
  if (s.finished) throw std::logic_error("gzip layer stream: write after finish");
  if (EVP_DigestUpdate(s.hash, data, size) != 1) s.fail("sha256");
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const la_ssize_t n = archive_write_data(s.writer, bytes, size);
    if (n <= 0) s.fail("write");
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

void GzipLayerStream::write_zeros(uint64_t count) {
  static const std::vector<char> zeros(1 << 20, '\0');
  while (count > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(count, zeros.size()));
    write(zeros.data(), n);
    count -= n;
  }
}

LayerBlob GzipLayerStream::finish(OciLayout& layout) {
  State& s = *state_;
  if (s.finished) throw std::logic_error("gzip layer stream: finished twice");
  s.finished = true;
  if (archive_write_close(s.writer) != ARCHIVE_OK) s.fail("close");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(s.hash, digest, &size) != 1) s.fail("sha256");
  static const char* const kHex = "0123456789abcdef";
  std::string diff_id = "sha256:";
  for (unsigned int i = 0; i < size; ++i) {
    diff_id += kHex[digest[i] >> 4];
    diff_id += kHex[digest[i] & 15];
  }
  LayerBlob layer;
  layer.descriptor = layout.add_blob(s.compressed, "application/vnd.oci.image.layer.v1.tar+gzip");
  layer.diff_id = diff_id;
  s.compressed.clear();
  return layer;
}

std::string ustar_file_header(const std::string& name, uint64_t size, mode_t mode) {
  if (name.size() >= 100) throw std::invalid_argument("ustar_file_header: name too long");
  std::string block(512, '\0');
  auto put = [&](std::size_t offset, const std::string& text) { std::memcpy(block.data() + offset, text.data(), text.size()); };
  auto octal = [](uint64_t value, int digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%0*llo", digits, static_cast<unsigned long long>(value));
    return std::string(text);
  };
  put(0, name);
  put(100, octal(mode & 07777, 7));
  put(108, octal(0, 7));
  put(116, octal(0, 7));
  if (size >= (uint64_t{1} << 33)) throw std::invalid_argument("ustar_file_header: size over 8 GiB");
  put(124, octal(size, 11));
  put(136, octal(1700000000, 11));
  block[156] = '0';
  put(257, std::string("ustar\0", 6));
  put(263, "00");
  put(148, "        ");
  unsigned checksum = 0;
  for (const char c : block) checksum += static_cast<unsigned char>(c);
  put(148, octal(checksum, 6));
  block[154] = '\0';
  block[155] = ' ';
  return block;
}

LayerBlob add_zero_file_bomb(OciLayout& layout, uint64_t size) {
  GzipLayerStream stream;
  stream.write(ustar_file_header("zeros", size));
  stream.write_zeros(size);
  stream.write_zeros((512 - size % 512) % 512);  // padding to a whole block
  stream.write_zeros(1024);                     // end of archive
  return stream.finish(layout);
}

LayerBlob add_trailing_zeros_bomb(OciLayout& layout, uint64_t size) {
  GzipLayerStream stream;
  stream.write(make_tar({TarEntry::file("hello", "a small file before a long silence\n")}));
  stream.write_zeros(size);
  return stream.finish(layout);
}

}  // namespace deckhand::test
