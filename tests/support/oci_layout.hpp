// Builds OCI image layouts (image-spec 1.1: oci-layout, index.json,
// blobs/sha256/...) for tests and benchmarks, with layers written by
// libarchive exactly as given: ordinary trees, OCI whiteouts and opaque
// markers, and hostile entries (`../`, absolute names, links out of the
// layer) that tools such as umoci refuse to produce. The layouts are pushed
// to a real registry with skopeo (local_registry.hpp) or archived.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace deckhand::test {

// One tar entry, written verbatim (no name cleaning).
struct TarEntry {
  enum class Kind { file, directory, symlink, hardlink };
  Kind kind = Kind::file;
  std::string name;       // as stored in the tar header, e.g. "etc/hosts", "../x", "/abs"
  std::string content;    // file contents
  std::string target;     // symlink or hard link target
  mode_t mode = 0644;     // permission bits (0755 is a sensible directory mode)
  uid_t uid = 0;
  gid_t gid = 0;
  std::map<std::string, std::string> xattrs;  // e.g. {"user.test", "1"}

  static TarEntry file(std::string name, std::string content, mode_t mode = 0644);
  static TarEntry directory(std::string name, mode_t mode = 0755);
  static TarEntry symlink(std::string name, std::string target);
  static TarEntry hardlink(std::string name, std::string target);
  // OCI whiteout of `path` ("dir/.wh.name") and opaque marker of `dir` ("dir/.wh..wh..opq").
  static TarEntry whiteout(const std::string& path);
  static TarEntry opaque(const std::string& directory);
};

enum class Compression { none, gzip, zstd };

// A file of `size` pseudo-random bytes (deterministic for a seed) that a
// layer can carry: compresses as badly as real binaries do.
std::string pseudo_random_bytes(std::size_t size, uint32_t seed);

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
};

struct LayerBlob {
  Descriptor descriptor;  // the (compressed) blob
  std::string diff_id;    // sha256 of the uncompressed tar
};

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "" or e.g. "v8"
};

class OciLayout {
 public:
  // Creates (or reuses) an OCI image layout at `path`.
  explicit OciLayout(std::string path);

  const std::string& path() const { return path_; }
  std::string blob_path(const std::string& digest) const;

  // Stores bytes as a blob; returns its descriptor.
  Descriptor add_blob(const std::string& bytes, const std::string& media_type);
  // Writes the entries as a tar, compresses it, stores it.
  LayerBlob add_layer(const std::vector<TarEntry>& entries, Compression compression = Compression::gzip);
  // A layer whose tar is `bytes` already (e.g. hand-made or a bomb), compressed as asked.
  LayerBlob add_raw_layer(const std::string& tar_bytes, Compression compression = Compression::gzip);

  // An image config (rootfs.diff_ids from the layers, the platform, `cmd`)
  // and its manifest; returns the manifest's descriptor.
  Descriptor add_image(const std::vector<LayerBlob>& layers, const Platform& platform = {},
                       const std::vector<std::string>& cmd = {"sh"});
  // An image index listing the manifests with their platforms.
  Descriptor add_index(const std::vector<std::pair<Descriptor, Platform>>& manifests);

  // Names a manifest or index in index.json (org.opencontainers.image.ref.name = tag).
  void tag(const std::string& tag, const Descriptor& descriptor);

 private:
  void write_index_json() const;

  std::string path_;
  std::vector<std::pair<std::string, Descriptor>> tags_;
};

// The bytes of a tar of `entries` (uncompressed), as add_layer writes it.
std::string make_tar(const std::vector<TarEntry>& entries);

// A layer tree of Debian's busybox-static: /bin/busybox and a symlink per
// applet, /etc/passwd and /etc/group with root, empty /tmp, /proc, /sys, /dev.
std::vector<TarEntry> busybox_entries();

}  // namespace deckhand::test
