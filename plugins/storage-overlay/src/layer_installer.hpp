// Makes the unpacked layers of one image present: each layer that the store
// does not hold yet (by chain id) is streamed from its source straight into
// the unpacker, several layers at once, its diff_id checked against the
// image config before it is committed. A layer that another pull in this
// process is unpacking right now is waited for, not unpacked twice; layers
// are independent directories (overlayfs stacks them), so none waits for
// its parent.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "image_store.hpp"
#include "layer_unpack.hpp"
#include "manifest.hpp"

namespace deckhand::storage {

struct LayerToInstall {
  Descriptor blob;  // the compressed blob (digest, size, media type)
  Digest diff_id;   // from the image config: what the uncompressed tar must hash to
  Digest chain_id;  // the layer with every layer below it
};

// Progress of one layer, for progress bars and events.
struct LayerProgress {
  std::size_t index = 0;  // in the image, bottom first
  Digest blob;
  enum class Phase { waiting, downloading, unpacking_done, present } phase = Phase::waiting;
  uint64_t done = 0;   // compressed bytes read so far
  uint64_t total = 0;  // the blob's size
};
const char* phase_name(LayerProgress::Phase phase);

struct InstallOptions {
  std::size_t parallel = 3;           // containerd's max_concurrent_downloads
  uint64_t max_unpacked_bytes = 64ull << 30;  // for the whole image
  // Called from worker threads, one call at a time, at most every 100 ms per
  // layer plus once per phase change.
  std::function<void(const LayerProgress&)> on_progress;
  // Polled between reads: true aborts the install (a deadline passed).
  std::function<bool()> cancelled;
  // Set by install() for its workers: the file bytes the image's layers have
  // charged so far (present layers too), so max_unpacked_bytes holds for the
  // image while its layers unpack in parallel.
  std::atomic<uint64_t>* image_bytes = nullptr;
};

// Opens the compressed bytes of a layer (the installer counts what it
// reads). The source throws StorageError for a network or digest failure,
// which it must check when it reaches the end.
using LayerOpener = std::function<ByteSource(const LayerToInstall& layer)>;

class LayerInstaller {
 public:
  explicit LayerInstaller(ImageStore& store) : store_(store) {}

  // The layer records, bottom first. On failure nothing of a failed layer is
  // left behind (layers that did finish stay: they are valid and shared) and
  // the first error is rethrown.
  std::vector<LayerRecord> install(const std::vector<LayerToInstall>& layers, const LayerOpener& open,
                                   const InstallOptions& options);

 private:
  struct Inflight {
    std::mutex mutex;
    std::condition_variable finished_cv;
    bool finished = false;
  };
  LayerRecord install_one(std::size_t index, const LayerToInstall& layer, const LayerOpener& open,
                          const InstallOptions& options, const std::function<void(const LayerProgress&)>& report);
  LayerRecord unpack_one(std::size_t index, const LayerToInstall& layer, const LayerOpener& open,
                         const InstallOptions& options, const std::function<void(const LayerProgress&)>& report);

  ImageStore& store_;
  std::mutex inflight_mutex_;
  std::map<Digest, std::shared_ptr<Inflight>> inflight_;  // chain id -> the install in progress
};

}  // namespace deckhand::storage
