#include "image_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "storage_error.hpp"
#include "store_files.hpp"
#include "store_records.hpp"
#include "remove_tree.hpp"
#include "store_time.hpp"

namespace deckhand::storage {
namespace {

// A record is a few KB (a 128-layer image is about 20 KB); anything much
// larger is not one of ours.
constexpr std::size_t kMaxRecordBytes = 4 << 20;

constexpr std::string_view kTmpLayerPrefix = "tmp-";
constexpr std::size_t kTmpLayerRandomBytes = 16;
constexpr const char* kLayerRecordFile = "layer.json";

// Layer ids as commit_layer makes them: decimal, no leading zero, small
// enough for uint64_t.
bool is_layer_id(std::string_view name) {
  if (name.empty() || name.size() > 18 || name[0] == '0') return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

uint64_t layer_id_number(const std::string& id) { return std::stoull(id); }

// <64 hex>.json; temporaries (".tmp-...") and anything else do not match.
bool is_image_file_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".json";
  if (name.size() != 64 + kSuffix.size() || name.substr(64) != kSuffix) return false;
  return std::all_of(name.begin(), name.begin() + 64, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string image_file_name(const std::string& name) { return digest_of(name).hex + ".json"; }

// <root>/layers.generation: one byte is appended per change of the layer set, so
// its size is a generation number that only grows. Processes sharing the
// store (the agent and `deckhand image`) stat it before answering from their
// cached layer index, and flock it to commit or remove a layer.
constexpr const char* kGenerationFile = "layers.generation";

uint64_t generation_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return 0;
    throw_system_error("stat " + path, errno);
  }
  return static_cast<uint64_t>(st.st_size);
}

// Opens and exclusively locks the generation file (released on close).
OwnedFd lock_generation(const std::string& path) {
  OwnedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) throw_system_error("open " + path, errno);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_system_error("lock " + path, errno);
  }
  return fd;
}

// Appends one byte; returns the new generation.
uint64_t bump_generation(const OwnedFd& fd, const std::string& path) {
  if (::write(fd.get(), "+", 1) != 1) throw_system_error("write " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_system_error("stat " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

void remove_leftover_temporaries(const std::string& directory) {
  for (const std::string& name : directory_entries(directory)) {
    if (name.starts_with(kTemporaryFilePrefix)) remove_tree(directory + "/" + name);
  }
}

}  // namespace

ImageStore::ImageStore(std::string root)
    : root_(std::move(root)),
      images_dir_(root_ + "/images"),
      layers_dir_(root_ + "/layers"),
      generation_path_(root_ + "/" + kGenerationFile) {
  make_directories(root_, 0700);
  make_directories(images_dir_, 0700);
  make_directories(layers_dir_, 0700);
  const std::lock_guard lock(layers_mutex_);
  refresh_layers_locked();
}

std::string ImageStore::image_path(const std::string& name) const { return images_dir_ + "/" + image_file_name(name); }

void ImageStore::remove_leftovers() {
  remove_leftover_temporaries(images_dir_);
  // Unpacks that were not committed, and layers being removed: never
  // referenced by anything, whatever state they were left in.
  for (const std::string& name : directory_entries(layers_dir_)) {
    if (name.starts_with(kTmpLayerPrefix)) remove_tree(layers_dir_ + "/" + name);
  }
}

void ImageStore::refresh_layers_locked() const {
  // Read before the scan: a change made during it bumps the file again, and
  // the next lookup scans once more.
  const uint64_t generation = generation_size(generation_path_);
  if (layers_loaded_ && generation == layers_generation_) return;
  std::map<std::string, LayerRecord> known_by_id;
  for (const auto& [chain_id, record] : layers_by_chain_id_) known_by_id.emplace(record.id, record);
  std::vector<std::string> ids;
  for (const std::string& name : directory_entries(layers_dir_)) {
    if (is_layer_id(name)) ids.push_back(name);  // tmp-* and anything else are not layers
  }
  std::sort(ids.begin(), ids.end(),
            [](const std::string& a, const std::string& b) { return layer_id_number(a) < layer_id_number(b); });
  std::map<Digest, LayerRecord> by_chain_id;
  std::vector<std::string> unreadable;
  for (const std::string& id : ids) {
    LayerRecord record;
    if (const auto known = known_by_id.find(id); known != known_by_id.end()) {
      record = known->second;  // an id is never reused, so its record never changes
    } else {
      const std::string path = layers_dir_ + "/" + id + "/" + kLayerRecordFile;
      try {
        const std::optional<std::string> text = read_file_if_exists(path, kMaxRecordBytes);
        if (!text) throw StorageError(Failure::invalid, "missing");
        record = parse_layer_record(*text, id);
      } catch (const StorageError& error) {
        unreadable.push_back(path + " (" + error.what() + ")");
        continue;
      }
    }
    // commit_layer checks for the chain id under the commit lock, so it has
    // at most one directory; if a hand-made copy appears, the lower id is used.
    by_chain_id.emplace(record.chain_id, std::move(record));
  }
  layers_by_chain_id_ = std::move(by_chain_id);
  unreadable_layer_files_ = std::move(unreadable);
  layers_generation_ = generation;
  layers_loaded_ = true;
}

std::optional<ImageRecord> ImageStore::find_image(const std::string& name) const {
  const std::string path = image_path(name);
  const auto unreadable = [&](const std::string& why) {
    return StorageError(Failure::internal, "image record " + path + " of \"" + name + "\" is unreadable (" + why +
                                               "); remove the image and pull it again");
  };
  std::optional<std::string> text;
  try {
    text = read_file_if_exists(path, kMaxRecordBytes);
  } catch (const StorageError& error) {
    throw unreadable(error.what());
  }
  if (!text) return std::nullopt;
  ImageRecord record;
  try {
    record = parse_image_record(*text);
  } catch (const StorageError& error) {
    throw unreadable(error.what());
  }
  if (record.name != name) throw unreadable("it holds the record of \"" + record.name + "\"");
  return record;
}

void ImageStore::put_image(const ImageRecord& record) {
  ImageRecord stored = record;
  if (stored.created.empty()) stored.created = rfc3339_now();
  if (stored.last_used.empty()) stored.last_used = stored.created;
  const std::string content = image_record_json(stored);
  const std::lock_guard lock(images_mutex_);
  write_file_atomically(images_dir_, image_file_name(stored.name), content);
}

void ImageStore::remove_image(const std::string& name) {
  const std::string path = image_path(name);
  const std::lock_guard lock(images_mutex_);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return;
    throw_system_error("remove image record " + path + " of \"" + name + "\"", errno);
  }
  // A removed image must not come back after a crash.
  fsync_directory(images_dir_);
}

std::vector<ImageRecord> ImageStore::images() const {
  std::vector<ImageRecord> records;
  for (const std::string& file : directory_entries(images_dir_)) {
    if (!is_image_file_name(file)) continue;
    try {
      const std::optional<std::string> text = read_file_if_exists(images_dir_ + "/" + file, kMaxRecordBytes);
      if (!text) continue;  // removed meanwhile
      ImageRecord record = parse_image_record(*text);
      if (image_file_name(record.name) != file) continue;  // not where its name puts it: find_image reports it
      records.push_back(std::move(record));
    } catch (const StorageError&) {
      continue;  // unreadable: find_image names it when the image is asked for
    }
  }
  std::sort(records.begin(), records.end(),
            [](const ImageRecord& a, const ImageRecord& b) { return a.name < b.name; });
  return records;
}

void ImageStore::touch_image(const std::string& name) {
  const std::lock_guard lock(images_mutex_);
  std::optional<ImageRecord> record = find_image(name);
  if (!record) return;  // removed meanwhile: nothing to keep fresh
  record->last_used = rfc3339_now();
  write_file_atomically(images_dir_, image_file_name(name), image_record_json(*record));
}

std::optional<LayerRecord> ImageStore::find_layer(const Digest& chain_id) const {
  const std::lock_guard lock(layers_mutex_);
  refresh_layers_locked();
  const auto found = layers_by_chain_id_.find(chain_id);
  if (found != layers_by_chain_id_.end()) return found->second;
  if (!unreadable_layer_files_.empty()) {
    const std::size_t more = unreadable_layer_files_.size() - 1;
    throw StorageError(Failure::internal,
                       "cannot tell whether layer " + chain_id.string() + " is unpacked: the layer record " +
                           unreadable_layer_files_.front() +
                           (more > 0 ? " and " + std::to_string(more) + " more" : std::string()) +
                           " could not be read; remove that layer directory (no running container must use it)");
  }
  return std::nullopt;
}

std::vector<LayerRecord> ImageStore::layers() const {
  std::vector<LayerRecord> records;
  {
    const std::lock_guard lock(layers_mutex_);
    refresh_layers_locked();
    records.reserve(layers_by_chain_id_.size());
    for (const auto& [chain_id, record] : layers_by_chain_id_) records.push_back(record);
  }
  std::sort(records.begin(), records.end(), [](const LayerRecord& a, const LayerRecord& b) {
    return layer_id_number(a.id) < layer_id_number(b.id);
  });
  return records;
}

std::string ImageStore::diff_dir(const LayerRecord& layer) const {
  if (!is_layer_id(layer.id)) {
    throw StorageError(Failure::invalid, "layer id \"" + layer.id.substr(0, 100) + "\" is not one this store made");
  }
  return layers_dir_ + "/" + layer.id + "/diff";
}

std::string ImageStore::begin_layer() {
  std::string directory;
  for (;;) {
    directory = layers_dir_ + "/" + std::string(kTmpLayerPrefix) + random_hex(kTmpLayerRandomBytes);
    if (::mkdir(directory.c_str(), 0700) == 0) break;
    if (errno != EEXIST) throw_system_error("create a directory to unpack a layer into under " + layers_dir_, errno);
  }
  const std::string diff = directory + "/diff";
  // 0755: the usual mode of a root directory; the layer's own "./" entry, if any, sets it.
  if (::mkdir(diff.c_str(), 0755) != 0) {
    const int error = errno;
    ::rmdir(directory.c_str());
    throw_system_error("create " + diff, error);
  }
  return diff;
}

std::string ImageStore::tmp_layer_directory(const std::string& unpack_dir) const {
  const std::string prefix = layers_dir_ + "/" + std::string(kTmpLayerPrefix);
  constexpr std::string_view kSuffix = "/diff";
  const std::size_t random_length = kTmpLayerRandomBytes * 2;
  const bool shaped = unpack_dir.size() == prefix.size() + random_length + kSuffix.size() &&
                      unpack_dir.starts_with(prefix) && unpack_dir.ends_with(kSuffix) &&
                      std::all_of(unpack_dir.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                                  unpack_dir.end() - static_cast<std::ptrdiff_t>(kSuffix.size()),
                                  [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!shaped) {
    throw StorageError(Failure::invalid, "\"" + unpack_dir.substr(0, 300) + "\" is not a directory that begin_layer of " +
                                             layers_dir_ + " returned");
  }
  return unpack_dir.substr(0, unpack_dir.size() - kSuffix.size());
}

LayerRecord ImageStore::commit_layer(const std::string& unpack_dir, const Digest& chain_id, const Digest& diff_id,
                                     const Digest& blob, uint64_t unpacked_bytes) {
  const std::string directory = tmp_layer_directory(unpack_dir);
  LayerRecord record{"", chain_id, diff_id, blob, unpacked_bytes};
  const std::string content = layer_record_json(record);  // checks the digests before anything moves

  // Spares the sync below when another pull (of any process) has already won;
  // checked again under the commit lock before the rename.
  std::optional<LayerRecord> existing;
  {
    const std::lock_guard lock(layers_mutex_);
    refresh_layers_locked();
    const auto found = layers_by_chain_id_.find(chain_id);
    if (found != layers_by_chain_id_.end()) existing = found->second;
  }
  if (existing) {
    remove_tree(directory);
    return *existing;
  }
  try {
    struct stat st {};
    if (::lstat(unpack_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw StorageError(Failure::invalid, "cannot commit layer " + chain_id.string() + ": " + unpack_dir +
                                               " is not a directory (was it aborted?)");
    }
    // The unpacked files reach the disk before the record that vouches for
    // them: one syncfs rather than an fsync per file of the layer.
    {
      const OwnedFd fd = open_directory(directory);
      if (::syncfs(fd.get()) != 0) throw_system_error("sync the filesystem of " + directory, errno);
    }
    write_file_atomically(directory, kLayerRecordFile, content);

    const std::lock_guard lock(layers_mutex_);
    const OwnedFd generation = lock_generation(generation_path_);
    refresh_layers_locked();
    const auto found = layers_by_chain_id_.find(chain_id);
    if (found != layers_by_chain_id_.end()) {
      existing = found->second;
    } else {
      // The id is the generation the store reaches with this layer: never
      // one an earlier layer had, so a process that still remembers a
      // removed layer cannot stack another in its place. RENAME_NOREPLACE
      // makes a taken id (a commit whose generation byte a crash lost) a
      // retry with the next one.
      for (;;) {
        const std::string id = std::to_string(bump_generation(generation, generation_path_));
        const std::string target = layers_dir_ + "/" + id;
        if (::renameat2(AT_FDCWD, directory.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
          record.id = id;
          break;
        }
        if (errno != EEXIST) throw_system_error("rename " + directory + " to " + target, errno);
      }
      // Under the locks: no one may use the layer before it would survive a crash.
      fsync_directory(layers_dir_);
      layers_by_chain_id_.emplace(chain_id, record);
      layers_generation_ = std::stoull(record.id);
    }
  } catch (...) {
    // Most callers abort on failure too; this covers those that do not. A
    // removal that fails here is retried by the next start's tmp-* cleanup.
    try {
      remove_tree(directory);
    } catch (const StorageError&) {
    }
    throw;
  }
  if (existing) {
    remove_tree(directory);  // another pull won while this one synced
    return *existing;
  }
  return record;
}

void ImageStore::abort_layer(const std::string& unpack_dir) { remove_tree(tmp_layer_directory(unpack_dir)); }

void ImageStore::remove_layer(const Digest& chain_id) {
  // Renamed to tmp-* first, so that a crash mid-removal leaves something the
  // next start removes, never a layer directory with half its files.
  const std::string doomed = layers_dir_ + "/" + std::string(kTmpLayerPrefix) + random_hex(kTmpLayerRandomBytes);
  {
    const std::lock_guard lock(layers_mutex_);
    const OwnedFd generation = lock_generation(generation_path_);
    refresh_layers_locked();
    const auto found = layers_by_chain_id_.find(chain_id);
    if (found == layers_by_chain_id_.end()) return;
    const std::string directory = layers_dir_ + "/" + found->second.id;
    if (::rename(directory.c_str(), doomed.c_str()) != 0 && errno != ENOENT) {
      throw_system_error("move layer " + chain_id.string() + " (" + directory + ") out of the way to remove it",
                         errno);
    }
    layers_by_chain_id_.erase(found);
    layers_generation_ = bump_generation(generation, generation_path_);
  }
  fsync_directory(layers_dir_);
  remove_tree(doomed);
}

uint64_t ImageStore::layers_bytes() const {
  const std::lock_guard lock(layers_mutex_);
  refresh_layers_locked();
  uint64_t total = 0;
  for (const auto& [chain_id, record] : layers_by_chain_id_) total += record.unpacked_bytes;
  return total;
}

Garbage find_garbage(const std::vector<ImageRecord>& images, const std::vector<Digest>& blobs,
                     const std::vector<LayerRecord>& layers, const std::set<Digest>& chain_ids_in_use) {
  std::set<Digest> kept_blobs;
  std::set<Digest> kept_chain_ids = chain_ids_in_use;
  for (const ImageRecord& image : images) {
    kept_blobs.insert(image.manifest_digest);
    if (!image.index_digest.empty()) kept_blobs.insert(image.index_digest);
    kept_blobs.insert(image.config_digest);
    kept_blobs.insert(image.layers.begin(), image.layers.end());
    kept_chain_ids.insert(image.chain_ids.begin(), image.chain_ids.end());
  }
  Garbage garbage;
  for (const Digest& blob : blobs) {
    if (!kept_blobs.contains(blob)) garbage.blobs.push_back(blob);
  }
  for (const LayerRecord& layer : layers) {
    if (!kept_chain_ids.contains(layer.chain_id)) garbage.layers.push_back(layer.chain_id);
  }
  return garbage;
}

}  // namespace deckhand::storage
