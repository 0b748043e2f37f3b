// Pulling one image from a registry: resolve the reference to a manifest
// (choosing this host's platform from an index), keep the manifest and the
// config in the content store, and have the layer installer unpack every
// layer the store lacks. The compressed layer blobs stream from the socket
// into the unpacker and are not kept: a node runs images, it does not push
// them, and the unpacked layer is what it needs (plugin README, "Store").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "content_store.hpp"
#include "image_store.hpp"
#include "layer_installer.hpp"
#include "reference.hpp"
#include "registry_client.hpp"

namespace deckhand::storage {

// Kubernetes' imagePullPolicy.
enum class PullPolicy { always, if_not_present, never };
// "Always", "IfNotPresent", "Never"; anything else is StorageError(invalid).
PullPolicy parse_pull_policy(const std::string& text);

struct PullRequest {
  ImageReference reference;
  PullPolicy policy = PullPolicy::if_not_present;
  std::optional<Credentials> credentials;  // for this pull only (a pod's imagePullSecrets)
  Platform platform = host_platform();
};

struct PullResult {
  ImageRecord image;
  bool fetched = false;           // the registry was asked (policy Always, or the image was absent)
  uint64_t downloaded_bytes = 0;  // compressed layer bytes actually downloaded
  uint64_t layers_downloaded = 0;
};

class ImagePuller {
 public:
  ImagePuller(ContentStore& content, ImageStore& images, LayerInstaller& installer)
      : content_(content), images_(images), installer_(installer) {}

  // Throws StorageError with "pull <reference>: ..." context. On failure the
  // image record is left as it was; layers that were completed stay (they
  // are valid and another pull may use them), nothing partial does.
  PullResult pull(const PullRequest& request, const RegistrySettings& settings, const InstallOptions& options);

  // The record for `reference` if it and all of its layers are present.
  std::optional<ImageRecord> find_complete(const ImageReference& reference) const;

 private:
  ContentStore& content_;
  ImageStore& images_;
  LayerInstaller& installer_;
};

// The layers an image config and manifest describe, with their chain ids.
// Throws StorageError(corrupt) when the counts differ.
std::vector<LayerToInstall> layers_to_install(const Manifest& manifest, const ImageConfig& config);

}  // namespace deckhand::storage
