#include "layer_installer.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// Thrown into a worker whose sibling failed first: never reported.
struct Abandoned {};

}  // namespace

const char* phase_name(LayerProgress::Phase phase) {
  switch (phase) {
    case LayerProgress::Phase::waiting: return "waiting";
    case LayerProgress::Phase::downloading: return "downloading";
    case LayerProgress::Phase::unpacking_done: return "unpacked";
    case LayerProgress::Phase::present: return "present";
  }
  return "unknown";
}

std::vector<LayerRecord> LayerInstaller::install(const std::vector<LayerToInstall>& layers, const LayerOpener& open,
                                                 const InstallOptions& options) {
  std::vector<LayerRecord> records(layers.size());
  std::mutex report_mutex;
  auto report = [&](const LayerProgress& progress) {
    if (!options.on_progress) return;
    std::lock_guard<std::mutex> lock(report_mutex);
    options.on_progress(progress);
  };

  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::atomic<uint64_t> image_bytes{0};
  InstallOptions worker_options = options;
  worker_options.image_bytes = &image_bytes;
  worker_options.cancelled = [&] {
    if (failed.load()) throw Abandoned{};
    return options.cancelled && options.cancelled();
  };

  auto work = [&] {
    for (std::size_t i = next++; i < layers.size(); i = next++) {
      if (failed.load()) return;
      try {
        records[i] = install_one(i, layers[i], open, worker_options, report);
      } catch (const Abandoned&) {
        return;
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
        return;
      }
    }
  };
  const std::size_t threads = std::min(std::max<std::size_t>(options.parallel, 1), layers.size());
  std::vector<std::thread> workers;
  for (std::size_t i = 1; i < threads; ++i) workers.emplace_back(work);
  work();  // this thread is one of the workers
  for (auto& worker : workers) worker.join();
  if (first_error) std::rethrow_exception(first_error);

  uint64_t unpacked = 0;
  for (const LayerRecord& record : records) unpacked += record.unpacked_bytes;
  if (unpacked > options.max_unpacked_bytes) {
    throw StorageError(Failure::exhausted, "the image unpacks to " + std::to_string(unpacked) +
                                               " bytes, more than the limit of " +
                                               std::to_string(options.max_unpacked_bytes) + " (max_unpacked_bytes)");
  }
  return records;
}

LayerRecord LayerInstaller::install_one(std::size_t index, const LayerToInstall& layer, const LayerOpener& open,
                                        const InstallOptions& options,
                                        const std::function<void(const LayerProgress&)>& report) {
  const auto total = static_cast<uint64_t>(layer.blob.size);
  for (;;) {
    if (auto present = store_.find_layer(layer.chain_id)) {
      if (options.image_bytes != nullptr) options.image_bytes->fetch_add(present->unpacked_bytes);
      report({index, layer.blob.digest, LayerProgress::Phase::present, total, total});
      return *present;
    }
    std::shared_ptr<Inflight> mine;
    std::shared_ptr<Inflight> theirs;
    {
      std::lock_guard<std::mutex> lock(inflight_mutex_);
      auto& slot = inflight_[layer.chain_id];
      if (slot) {
        theirs = slot;
      } else {
        slot = mine = std::make_shared<Inflight>();
      }
    }
    if (theirs) {
      // Another pull unpacks this layer now: wait for it, then look again
      // (it may have failed, and then this pull tries itself).
      report({index, layer.blob.digest, LayerProgress::Phase::waiting, 0, total});
      std::unique_lock<std::mutex> lock(theirs->mutex);
      while (!theirs->finished) {
        theirs->finished_cv.wait_for(lock, std::chrono::milliseconds(200));
        if (!theirs->finished && options.cancelled && options.cancelled()) {
          throw StorageError(Failure::deadline, "layer " + layer.blob.digest.string() +
                                                    ": the deadline passed while another pull unpacked it");
        }
      }
      continue;
    }
    auto finish = [&] {
      {
        std::lock_guard<std::mutex> lock(inflight_mutex_);
        inflight_.erase(layer.chain_id);
      }
      std::lock_guard<std::mutex> lock(mine->mutex);
      mine->finished = true;
      mine->finished_cv.notify_all();
    };
    try {
      LayerRecord record = unpack_one(index, layer, open, options, report);
      finish();
      return record;
    } catch (...) {
      finish();
      throw;
    }
  }
}

LayerRecord LayerInstaller::unpack_one(std::size_t index, const LayerToInstall& layer, const LayerOpener& open,
                                       const InstallOptions& options,
                                       const std::function<void(const LayerProgress&)>& report) {
  const auto total = static_cast<uint64_t>(layer.blob.size);
  LayerProgress progress{index, layer.blob.digest, LayerProgress::Phase::downloading, 0, total};
  report(progress);
  auto last_report = Clock::now();
  const std::string directory = store_.begin_layer();
  try {
    ByteSource source = open(layer);
    ByteSource counted = [&](char* buffer, std::size_t capacity) {
      if (options.cancelled && options.cancelled()) {
        throw StorageError(Failure::deadline, "layer " + layer.blob.digest.string() + ": the deadline passed after " +
                                                  std::to_string(progress.done) + " of " + std::to_string(total) +
                                                  " bytes");
      }
      const std::size_t n = source(buffer, capacity);
      progress.done += n;
      if (const auto now = Clock::now(); n > 0 && now - last_report >= kProgressInterval) {
        last_report = now;
        report(progress);
      }
      return n;
    };
    UnpackLimits limits;
    limits.max_bytes = options.max_unpacked_bytes;
    limits.image_bytes = options.image_bytes;
    const UnpackResult result = unpack_layer(counted, directory, limits);
    if (result.diff_id != layer.diff_id) {
      throw StorageError(Failure::corrupt, "layer " + layer.blob.digest.string() + " unpacks to diff_id " +
                                               result.diff_id.string() + ", but the image config says " +
                                               layer.diff_id.string());
    }
    LayerRecord record =
        store_.commit_layer(directory, layer.chain_id, layer.diff_id, layer.blob.digest, result.unpacked_bytes);
    progress.phase = LayerProgress::Phase::unpacking_done;
    report(progress);
    return record;
  } catch (...) {
    store_.abort_layer(directory);
    throw;
  }
}

}  // namespace deckhand::storage
