// What the storage plugin remembers besides blobs: image records (a name and
// what it resolved to) and unpacked layers (by chain id), as small JSON files
// written atomically (temporary file, fsync, rename, directory fsync).
//
//   <root>/images/<sha256 of the name>.json   one ImageRecord
//   <root>/layers/<id>/layer.json             one LayerRecord
//   <root>/layers/<id>/diff/                  the unpacked layer
//   <root>/layers/tmp-<random>/diff/          a layer being unpacked
//
// Layer directories get short numeric ids ("17") rather than chain ids, so
// that an overlay mount of a long chain fits the kernel's one-page limit on
// mount options. Safe for concurrent use by the plugin's threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "digest.hpp"

namespace deckhand::storage {

struct ImageRecord {
  std::string name;                // the reference as pulled or loaded: "docker.io/library/nginx:1.27"
  Digest manifest_digest;          // what the name resolved to (the platform's manifest)
  std::string manifest_media_type;
  Digest index_digest;             // the index it was chosen from, if any
  Digest config_digest;
  std::vector<Digest> layers;      // compressed blobs, bottom first
  std::vector<Digest> chain_ids;   // unpacked layers, bottom first
  uint64_t size = 0;               // manifest + config + compressed layers, bytes
  std::string created;             // RFC 3339: when pulled or loaded
  std::string last_used;           // RFC 3339: last pull, or last root filesystem made from it
};

struct LayerRecord {
  std::string id;         // the directory name under layers/
  Digest chain_id;
  Digest diff_id;
  Digest blob;            // the compressed blob it was unpacked from
  uint64_t unpacked_bytes = 0;
};

class ImageStore {
 public:
  explicit ImageStore(std::string root);  // creates images/ and layers/

  // Removes what a crash left: record temporaries and layers/tmp-*. Only
  // while no other process uses the store (the caller holds the store lock
  // exclusively): those are another process's work in progress otherwise.
  void remove_leftovers();

  // find_image and find_layer throw StorageError(internal) naming a record
  // file that cannot be read; images() and layers() skip such files.
  std::optional<ImageRecord> find_image(const std::string& name) const;
  void put_image(const ImageRecord& record);      // replaces a record of the same name
  void remove_image(const std::string& name);     // missing is fine
  std::vector<ImageRecord> images() const;
  void touch_image(const std::string& name);      // last_used = now; missing is fine

  // From memory, re-read when another process (or thread) has changed the
  // layer set since (<root>/layers.generation). A chain id not found while some
  // layer.json is unreadable throws (that file may hold it) rather than
  // answer "absent".
  std::optional<LayerRecord> find_layer(const Digest& chain_id) const;
  std::vector<LayerRecord> layers() const;
  std::string diff_dir(const LayerRecord& layer) const;  // <root>/layers/<id>/diff

  // A fresh, empty <root>/layers/tmp-<random>/diff to unpack into.
  std::string begin_layer();
  // Moves a finished unpack into place under a new id and records it.
  // If the chain id is already present (another pull, of this process or
  // another, won), the new copy is removed and the existing record returned.
  LayerRecord commit_layer(const std::string& unpack_dir, const Digest& chain_id, const Digest& diff_id,
                           const Digest& blob, uint64_t unpacked_bytes);
  void abort_layer(const std::string& unpack_dir);  // removes it, whatever it holds
  void remove_layer(const Digest& chain_id);        // missing is fine

  uint64_t layers_bytes() const;  // unpacked_bytes of every layer

 private:
  std::string image_path(const std::string& name) const;
  std::string tmp_layer_directory(const std::string& unpack_dir) const;  // checks it came from begin_layer
  void refresh_layers_locked() const;  // layers_mutex_ held

  std::string root_;
  std::string images_dir_;
  std::string layers_dir_;

  // Orders put_image, touch_image and remove_image, so that a touch (read,
  // then write) cannot bring back an older record. Readers need no lock:
  // every file is replaced by rename.
  std::mutex images_mutex_;

  // Every readable layer.json, cached and re-read when <root>/layers.generation
  // has grown (another process committed or removed a layer), so that
  // find_layer does not read thousands of files per pull.
  std::string generation_path_;
  mutable std::mutex layers_mutex_;
  mutable std::map<Digest, LayerRecord> layers_by_chain_id_;
  mutable std::vector<std::string> unreadable_layer_files_;
  mutable uint64_t layers_generation_ = 0;
  mutable bool layers_loaded_ = false;
};

// What garbage collection may delete: blobs no image record names (manifest,
// index, config, layers) and layers whose chain id no image record lists and
// no root filesystem in use holds.
struct Garbage {
  std::vector<Digest> blobs;
  std::vector<Digest> layers;  // chain ids
};
Garbage find_garbage(const std::vector<ImageRecord>& images, const std::vector<Digest>& blobs,
                     const std::vector<LayerRecord>& layers, const std::set<Digest>& chain_ids_in_use);

}  // namespace deckhand::storage
