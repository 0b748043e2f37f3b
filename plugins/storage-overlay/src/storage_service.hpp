// The storage plugin's work, without the SDK: images (pull, load, list,
// remove, prune, garbage collection), container root filesystems and pod
// volumes over one store root:
//
//   <root>/content/     blobs by digest (content_store.hpp)
//   <root>/images/      image records (image_store.hpp)
//   <root>/layers/      unpacked layers by short id
//   <root>/containers/  one overlay per container (rootfs_mount.hpp)
//   <root>/pods/        pod volumes (volumes.hpp)
//   <root>/tmp/         archive extraction scratch
//   <root>/store.lock   the lock between processes (store_lock.hpp)
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive_import.hpp"
#include "content_store.hpp"
#include "image_puller.hpp"
#include "image_store.hpp"
#include "layer_installer.hpp"
#include "rootfs_mount.hpp"
#include "storage_config.hpp"
#include "volumes.hpp"

namespace deckhand::storage {

// An image as `deckhand image ls` and the CRI's ListImages show it.
struct ImageView {
  ImageRecord record;
  ImageReference reference;   // the record's name, parsed
  uint64_t unpacked_bytes = 0;
  bool in_use = false;        // a container's root filesystem stacks its layers
  std::string last_used;      // RFC 3339; this process's memory first, then the record's
};

struct PruneResult {
  std::vector<std::string> images_removed;  // names
  uint64_t layers_removed = 0;
  uint64_t blobs_removed = 0;
  uint64_t bytes_freed = 0;  // unpacked layer bytes plus blob bytes
};

struct StoreUsage {
  uint64_t images = 0;
  uint64_t layers = 0;
  uint64_t layer_bytes = 0;  // unpacked
  uint64_t blob_bytes = 0;   // manifests and configs
  uint64_t root_filesystems = 0;
};

class StorageService {
 public:
  explicit StorageService(StorageConfig config);

  const StorageConfig& config() const { return config_; }

  // deadline_ns (CLOCK_MONOTONIC, 0 = none) bounds the wait for the store lock.
  PullResult pull(const PullRequest& request, const InstallOptions& options, uint64_t deadline_ns);
  std::vector<ImageRecord> load(const std::string& archive_path, const ImportOptions& options, uint64_t deadline_ns);

  // By reference ("busybox", "127.0.0.1:5000/app:v1", "...@sha256:..."), by
  // image id (the config digest, "sha256:<hex>" or a unique prefix of at
  // least 12 hex digits) or by manifest digest.
  std::optional<ImageView> find(const std::string& image) const;
  // The same lookup without the view (no scan of the root filesystems).
  std::optional<ImageRecord> find_record(const std::string& image) const;
  std::vector<ImageView> list() const;
  // The image's config (Env, Entrypoint, Cmd, ...), read from the store.
  ImageConfig image_config(const ImageRecord& record) const;
  // Removes one name (all names of an id). An image a container uses is
  // StorageError(precondition) unless force. Unused layers and blobs go at once.
  std::vector<std::string> remove(const std::string& image, bool force, uint64_t deadline_ns);
  // Removes every image no container uses, then the garbage.
  PruneResult prune(uint64_t deadline_ns);
  // Deletes blobs and layers that no image record and no root filesystem needs.
  PruneResult collect_garbage(uint64_t deadline_ns);

  // The merged directory of the container's overlay. The image must be
  // present (StorageError(not_found) saying to pull it).
  std::string prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly,
                             uint64_t deadline_ns);
  void release_rootfs(const std::string& container_id);

  Volumes& volumes() { return volumes_; }

  StoreUsage usage() const;

  // Loads each archive of the import directory that was not loaded before
  // (by name, size and modification time, remembered in
  // <root>/imported.json). Returns one line per archive for the log.
  std::vector<std::string> import_directory(const InstallOptions& options);

 private:
  std::string lock_path() const { return config_.root + "/store.lock"; }
  std::set<std::vector<Digest>> stacks_in_use() const;  // chain id lists of mounted roots
  std::vector<ImageView> views(const std::vector<ImageRecord>& records) const;
  PruneResult collect_garbage_locked();

  StorageConfig config_;
  ContentStore content_;
  ImageStore images_;
  LayerInstaller installer_;
  ImagePuller puller_;
  ArchiveImporter importer_;
  RootfsManager rootfs_;
  Volumes volumes_;
  // last_used stamps of root filesystem preparation, kept in memory (as the
  // kubelet does) so that preparing a root costs no synced write.
  mutable std::mutex last_used_mutex_;
  std::map<std::string, std::string> last_used_;
};

}  // namespace deckhand::storage
