#include "oci_layout.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace deckhand::test {
namespace {

constexpr const char* kLayerTar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";
constexpr const char* kRefName = "org.opencontainers.image.ref.name";
constexpr time_t kEntryTime = 1700000000;  // fixed, so that equal entries make equal digests

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(sha256) failed");
  }
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

void check(archive* a, int rc, const std::string& what) {
  if (rc < ARCHIVE_WARN) {
    const char* message = archive_error_string(a);
    throw std::runtime_error("libarchive " + what + ": " + (message ? message : "unknown error"));
  }
}

// A writer whose output is not padded to tar's 10 KiB blocks.
ArchivePtr open_writer(int (*set_format)(archive*)) {
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (!a) throw std::runtime_error("archive_write_new failed");
  check(a.get(), set_format(a.get()), "set format");
  check(a.get(), archive_write_set_bytes_in_last_block(a.get(), 1), "set bytes in last block");
  return a;
}

void open_output(archive* a, std::string& out) {
  check(a, archive_write_open(a, &out, nullptr, append_to_string, nullptr), "open");
}

void write_entry(archive* a, const TarEntry& item) {
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  archive_entry_copy_pathname(entry.get(), item.name.c_str());
  archive_entry_set_uid(entry.get(), item.uid);
  archive_entry_set_gid(entry.get(), item.gid);
  archive_entry_set_mtime(entry.get(), kEntryTime, 0);
  std::size_t data_size = 0;
  switch (item.kind) {
    case TarEntry::Kind::file:
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      data_size = item.content.size();
      break;
    case TarEntry::Kind::directory:
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      break;
    case TarEntry::Kind::symlink:
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_copy_symlink(entry.get(), item.target.c_str());
      break;
    case TarEntry::Kind::hardlink:
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_copy_hardlink(entry.get(), item.target.c_str());
      break;
  }
  archive_entry_set_perm(entry.get(), item.mode & 07777);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data_size));
  for (const auto& [name, value] : item.xattrs) {
    archive_entry_xattr_add_entry(entry.get(), name.c_str(), value.data(), value.size());
  }
  check(a, archive_write_header(a, entry.get()), "write header " + item.name);
  std::size_t done = 0;
  while (done < data_size) {
    const la_ssize_t n = archive_write_data(a, item.content.data() + done, data_size - done);
    if (n <= 0) check(a, ARCHIVE_FATAL, "write data " + item.name);
    done += static_cast<std::size_t>(n);
  }
}

std::string compress(const std::string& bytes, Compression compression) {
  if (compression == Compression::none) return bytes;
  std::string out;
  auto a = open_writer(archive_write_set_format_raw);
  if (compression == Compression::gzip) {
    check(a.get(), archive_write_add_filter_gzip(a.get()), "gzip filter");
    // No timestamp in the gzip header (equal layers, equal digests); level 1 because
    // test data is mostly random and would not shrink at a higher level anyway.
    check(a.get(), archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr), "gzip !timestamp");
    check(a.get(), archive_write_set_filter_option(a.get(), "gzip", "compression-level", "1"), "gzip level");
  } else {
    check(a.get(), archive_write_add_filter_zstd(a.get()), "zstd filter");
  }
  open_output(a.get(), out);
  EntryPtr entry(archive_entry_new(), archive_entry_free);
  archive_entry_copy_pathname(entry.get(), "layer.tar");
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
  check(a.get(), archive_write_header(a.get(), entry.get()), "raw header");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const la_ssize_t n = archive_write_data(a.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) check(a.get(), ARCHIVE_FATAL, "compress");
    done += static_cast<std::size_t>(n);
  }
  check(a.get(), archive_write_close(a.get()), "close compressor");
  return out;
}

std::string layer_media_type(Compression compression) {
  switch (compression) {
    case Compression::none:
      return kLayerTar;
    case Compression::gzip:
      return std::string(kLayerTar) + "+gzip";
    case Compression::zstd:
      return std::string(kLayerTar) + "+zstd";
  }
  return kLayerTar;
}

nlohmann::json descriptor_json(const Descriptor& descriptor) {
  return {{"mediaType", descriptor.media_type}, {"digest", descriptor.digest}, {"size", descriptor.size}};
}

nlohmann::json platform_json(const Platform& platform) {
  nlohmann::json out = {{"architecture", platform.architecture}, {"os", platform.os}};
  if (!platform.variant.empty()) out["variant"] = platform.variant;
  return out;
}

}  // namespace

TarEntry TarEntry::file(std::string name, std::string content, mode_t mode) {
  TarEntry entry;
  entry.kind = Kind::file;
  entry.name = std::move(name);
  entry.content = std::move(content);
  entry.mode = mode;
  return entry;
}

TarEntry TarEntry::directory(std::string name, mode_t mode) {
  TarEntry entry;
  entry.kind = Kind::directory;
  entry.name = std::move(name);
  entry.mode = mode;
  return entry;
}

TarEntry TarEntry::symlink(std::string name, std::string target) {
  TarEntry entry;
  entry.kind = Kind::symlink;
  entry.name = std::move(name);
  entry.target = std::move(target);
  entry.mode = 0777;
  return entry;
}

TarEntry TarEntry::hardlink(std::string name, std::string target) {
  TarEntry entry;
  entry.kind = Kind::hardlink;
  entry.name = std::move(name);
  entry.target = std::move(target);
  return entry;
}

TarEntry TarEntry::whiteout(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return file(parent + ".wh." + base, "", 0644);
}

TarEntry TarEntry::opaque(const std::string& directory) {
  std::string dir = directory;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  return file(dir.empty() ? ".wh..wh..opq" : dir + "/.wh..wh..opq", "", 0644);
}

std::string pseudo_random_bytes(std::size_t size, uint32_t seed) {
  // splitmix64: fast, deterministic, incompressible enough.
  uint64_t state = 0x9e3779b97f4a7c15ull * (static_cast<uint64_t>(seed) + 1);
  std::string out(size, '\0');
  std::size_t i = 0;
  while (i < size) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    const std::size_t n = std::min<std::size_t>(8, size - i);
    for (std::size_t k = 0; k < n; ++k) out[i + k] = static_cast<char>((z >> (8 * k)) & 0xff);
    i += n;
  }
  return out;
}

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  auto a = open_writer(archive_write_set_format_pax_restricted);
  open_output(a.get(), out);
  for (const auto& entry : entries) write_entry(a.get(), entry);
  check(a.get(), archive_write_close(a.get()), "close tar");
  return out;
}

OciLayout::OciLayout(std::string path) : path_(std::move(path)) {
  std::filesystem::create_directories(path_ + "/blobs/sha256");
  write_file(path_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  const std::string index_path = path_ + "/index.json";
  if (std::filesystem::exists(index_path)) {
    const auto index = nlohmann::json::parse(read_file(index_path));
    for (const auto& manifest : index.value("manifests", nlohmann::json::array())) {
      const auto annotations = manifest.value("annotations", nlohmann::json::object());
      if (!annotations.contains(kRefName)) continue;
      tags_.emplace_back(annotations[kRefName].get<std::string>(),
                         Descriptor{manifest.at("mediaType").get<std::string>(), manifest.at("digest").get<std::string>(),
                                    manifest.at("size").get<uint64_t>()});
    }
  }
  write_index_json();
}

std::string OciLayout::blob_path(const std::string& digest) const {
  const std::string prefix = "sha256:";
  if (digest.rfind(prefix, 0) != 0) throw std::invalid_argument("not a sha256 digest: " + digest);
  return path_ + "/blobs/sha256/" + digest.substr(prefix.size());
}

Descriptor OciLayout::add_blob(const std::string& bytes, const std::string& media_type) {
  Descriptor descriptor{media_type, sha256_digest(bytes), bytes.size()};
  write_file(blob_path(descriptor.digest), bytes);
  return descriptor;
}

LayerBlob OciLayout::add_layer(const std::vector<TarEntry>& entries, Compression compression) {
  return add_raw_layer(make_tar(entries), compression);
}

LayerBlob OciLayout::add_raw_layer(const std::string& tar_bytes, Compression compression) {
  LayerBlob layer;
  layer.diff_id = sha256_digest(tar_bytes);
  layer.descriptor = add_blob(compress(tar_bytes, compression), layer_media_type(compression));
  return layer;
}

Descriptor OciLayout::add_image(const std::vector<LayerBlob>& layers, const Platform& platform,
                                const std::vector<std::string>& cmd) {
  nlohmann::json config = platform_json(platform);
  config["created"] = "2024-01-01T00:00:00Z";
  config["config"] = {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}, {"Cmd", cmd}};
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}};
  for (const auto& layer : layers) config["rootfs"]["diff_ids"].push_back(layer.diff_id);
  const Descriptor config_descriptor = add_blob(config.dump(), kConfigType);

  nlohmann::json manifest = {{"schemaVersion", 2}, {"mediaType", kManifestType},
                             {"config", descriptor_json(config_descriptor)}, {"layers", nlohmann::json::array()}};
  for (const auto& layer : layers) manifest["layers"].push_back(descriptor_json(layer.descriptor));
  return add_blob(manifest.dump(), kManifestType);
}

Descriptor OciLayout::add_index(const std::vector<std::pair<Descriptor, Platform>>& manifests) {
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", nlohmann::json::array()}};
  for (const auto& [descriptor, platform] : manifests) {
    auto item = descriptor_json(descriptor);
    item["platform"] = platform_json(platform);
    index["manifests"].push_back(item);
  }
  return add_blob(index.dump(), kIndexType);
}

void OciLayout::tag(const std::string& tag, const Descriptor& descriptor) {
  std::erase_if(tags_, [&](const auto& item) { return item.first == tag; });
  tags_.emplace_back(tag, descriptor);
  write_index_json();
}

void OciLayout::write_index_json() const {
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", nlohmann::json::array()}};
  for (const auto& [name, descriptor] : tags_) {
    auto item = descriptor_json(descriptor);
    item["annotations"] = {{kRefName, name}};
    index["manifests"].push_back(item);
  }
  write_file(path_ + "/index.json", index.dump());
}

std::vector<TarEntry> busybox_entries() {
  const std::string binary = read_file("/usr/bin/busybox");
  if (binary.empty()) throw std::runtime_error("cannot read /usr/bin/busybox (install busybox-static)");
  const auto list = run_command({"/usr/bin/busybox", "--list"});
  if (list.exit_code != 0) throw std::runtime_error("busybox --list: " + list.err);

  std::vector<TarEntry> entries{
      TarEntry::directory("bin"),   TarEntry::directory("etc"),        TarEntry::directory("tmp", 01777),
      TarEntry::directory("proc", 0555), TarEntry::directory("sys", 0555), TarEntry::directory("dev"),
      TarEntry::directory("root", 0700),
      TarEntry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
      TarEntry::file("etc/group", "root:x:0:\n"),
      TarEntry::file("bin/busybox", binary, 0755),
  };
  std::istringstream applets(list.out);
  std::string applet;
  while (std::getline(applets, applet)) {
    if (applet.empty() || applet == "busybox" || applet.find('/') != std::string::npos) continue;
    entries.push_back(TarEntry::symlink("bin/" + applet, "busybox"));
  }
  return entries;
}

}  // namespace deckhand::test
