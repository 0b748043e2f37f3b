// The OCI image-spec and Docker schema 2 documents a pull reads: manifests,
// indexes (manifest lists) and image configs, parsed strictly and bounded in
// size; and the choice of a platform from an index.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "digest.hpp"

namespace deckhand::storage {

// containerd's MaxManifestSize (4 * 1048 * 1048) and its 20 MiB limit for
// JSON read during import (used for configs).
constexpr std::size_t kMaxManifestBytes = 4 * 1048 * 1048;
constexpr std::size_t kMaxConfigBytes = 20u << 20;

namespace media_type {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

// The Accept header a client sends for manifests (every type above that it reads).
std::string manifest_accept_header();

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", "arm", ...
  std::string variant;       // "v8", "v7", ... or ""
  std::string string() const;  // "linux/amd64", "linux/arm/v7"
};

// This host: linux and the GOARCH name of the machine (x86_64 -> amd64,
// aarch64 -> arm64 with variant v8, armv7l -> arm/v7, ...).
Platform host_platform();

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;  // never negative (refused)
  std::optional<Platform> platform;          // index entries
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;             // foreign layers
};

struct Manifest {
  std::string media_type;  // kOciManifest or kDockerManifest
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string media_type;  // kOciIndex or kDockerManifestList
  std::vector<Descriptor> manifests;
};

// One of the two, as a registry (or an OCI layout's index.json) returned it.
struct ManifestDocument {
  std::optional<Manifest> manifest;
  std::optional<Index> index;
};

// Parses a manifest or index. The type comes from the Content-Type the
// registry sent (parameters such as "; charset=utf-8" ignored), else from the
// document's mediaType, else from its shape (an OCI index has "manifests",
// an OCI manifest "config" and "layers"). Throws StorageError with a clear
// message: invalid (not JSON, a required field missing or of the wrong type,
// a negative size, a bad digest, a content type that disagrees with the
// document's mediaType), exhausted (over kMaxManifestBytes), and for schema 1
// "...uses Docker image manifest schema 1, which deckhand does not support
// (deprecated since 2017): push it again with a current docker or skopeo".
// Layer media types other than the OCI and Docker tar/gzip/zstd ones (and
// foreign, non-distributable layers) are refused naming the type.
ManifestDocument parse_manifest(std::string_view body, std::string_view content_type = "");

// The index entry for `platform`: os and architecture equal, the variant
// equal when the wanted one has a variant (arm64 treats "" and "v8" as the
// same), entries without a platform skipped. Throws StorageError(not_found)
// listing the platforms the index offers when none matches.
const Descriptor& choose_platform(const Index& index, const Platform& platform);

// What deckhand needs of an image config (the rest stays in the blob).
struct ImageConfig {
  Platform platform;              // os, architecture, variant
  std::vector<Digest> diff_ids;   // rootfs.diff_ids, one per layer
  nlohmann::json config;          // the "config" object (Env, Entrypoint, Cmd, WorkingDir, User, ...), or {}
};

// Throws StorageError(invalid) for a config that is not JSON, has no
// rootfs.type "layers" or bad diff_ids; exhausted over kMaxConfigBytes.
ImageConfig parse_image_config(std::string_view body);

}  // namespace deckhand::storage
