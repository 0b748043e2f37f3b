// The storage plugin's configuration: the "config" object of its entry in
// the agent's config.yaml (plugin README, "Configuration", has every key).
// Parsed strictly: an unknown key or a value of the wrong type is an error
// naming it, so that a typo cannot silently turn TLS off or lose a mirror.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "registry_client.hpp"
#include "rootfs_mount.hpp"

namespace deckhand::storage {

struct StorageConfig {
  std::string root = "/var/lib/deckhand/storage";  // blobs, layers, image records, container roots, volumes
  RegistrySettings registries;                      // per-registry settings and the auth file's credentials
  std::string auth_file;                            // a Docker config.json; "" = none
  std::size_t max_concurrent_downloads = 3;
  uint64_t max_unpacked_bytes = 64ull << 30;        // per image
  std::string import_dir;                           // archives loaded when the agent starts; "" = none
  OverlayMethod overlay_method = OverlayMethod::automatic;
};

// Throws StorageError(invalid) naming the key and the problem. Reads the
// auth file, if one is named (a missing file is an error: it was asked for).
StorageConfig parse_storage_config(const nlohmann::json& config);

}  // namespace deckhand::storage
