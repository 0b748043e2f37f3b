#include "storage_service.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "remove_tree.hpp"
#include "storage_error.hpp"
#include "store_files.hpp"
#include "store_lock.hpp"
#include "store_time.hpp"

namespace deckhand::storage {
namespace {

bool is_hex(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// "sha256:<hex prefix>" or a bare hex prefix of at least 12 digits: an image id.
std::optional<std::string> id_prefix(const std::string& text) {
  const std::string prefix = "sha256:";
  if (text.rfind(prefix, 0) == 0 && is_hex(text.substr(prefix.size()))) return text.substr(prefix.size());
  if (text.size() >= 12 && text.size() <= 64 && is_hex(text)) return text;
  return std::nullopt;
}

}  // namespace

StorageService::StorageService(StorageConfig config)
    : config_(std::move(config)),
      content_((make_directories(config_.root, 0700), config_.root + "/content")),
      images_(config_.root),
      installer_(images_),
      puller_(content_, images_, installer_),
      importer_(content_, images_, installer_, config_.root + "/tmp"),
      rootfs_(config_.root + "/containers", config_.overlay_method),
      volumes_(config_.root + "/pods") {
  // What a crashed process left (ingests, unpacks, archive scratch) is only
  // removed when no other process (the agent, another `deckhand image`)
  // holds the store: otherwise it may be that process's work in progress,
  // and the next start that finds the store idle removes it.
  try {
    StoreLock idle(lock_path(), StoreLock::Mode::exclusive, /*deadline_ns=*/1);  // one try, no wait
    content_.remove_leftovers();
    images_.remove_leftovers();
    remove_tree(config_.root + "/tmp");
  } catch (const StorageError& e) {
    if (e.kind() != Failure::deadline) throw;
  }
}

std::set<std::vector<Digest>> StorageService::stacks_in_use() const {
  std::map<std::string, Digest> chain_by_dir;
  for (const LayerRecord& layer : images_.layers()) chain_by_dir[images_.diff_dir(layer)] = layer.chain_id;
  std::set<std::vector<Digest>> stacks;
  for (const RootfsManager::Entry& entry : rootfs_.list()) {
    std::vector<Digest> stack;
    for (const std::string& dir : entry.lower_dirs) {
      const auto it = chain_by_dir.find(dir);
      // A layer the store no longer knows: the stack still pins what it can.
      stack.push_back(it == chain_by_dir.end() ? Digest{"unknown", dir} : it->second);
    }
    stacks.insert(stack);
  }
  return stacks;
}

std::vector<ImageView> StorageService::views(const std::vector<ImageRecord>& records) const {
  const auto in_use = stacks_in_use();
  std::map<Digest, uint64_t> unpacked;
  for (const LayerRecord& layer : images_.layers()) unpacked[layer.chain_id] = layer.unpacked_bytes;
  std::vector<ImageView> out;
  std::lock_guard<std::mutex> lock(last_used_mutex_);
  for (const ImageRecord& record : records) {
    ImageView view;
    view.record = record;
    try {
      view.reference = parse_reference(record.name);
    } catch (const StorageError&) {
      continue;  // a record written by hand with a bad name: invisible rather than fatal
    }
    for (const Digest& chain : record.chain_ids) view.unpacked_bytes += unpacked.count(chain) ? unpacked[chain] : 0;
    view.in_use = in_use.count(record.chain_ids) > 0;
    const auto used = last_used_.find(record.name);
    view.last_used = used != last_used_.end() && used->second > record.last_used ? used->second : record.last_used;
    out.push_back(std::move(view));
  }
  std::sort(out.begin(), out.end(), [](const ImageView& a, const ImageView& b) { return a.record.name < b.record.name; });
  return out;
}

std::vector<ImageView> StorageService::list() const { return views(images_.images()); }

ImageConfig StorageService::image_config(const ImageRecord& record) const {
  return parse_image_config(content_.read(record.config_digest, kMaxConfigBytes));
}

std::optional<ImageRecord> StorageService::find_record(const std::string& image) const {
  if (const auto prefix = id_prefix(image)) {
    std::vector<ImageRecord> matches;
    std::set<Digest> ids;
    for (const ImageRecord& record : images_.images()) {
      const bool by_id = record.config_digest.hex.rfind(*prefix, 0) == 0;
      const bool by_manifest = record.manifest_digest.hex == *prefix;
      if (by_id || by_manifest) {
        matches.push_back(record);
        ids.insert(record.config_digest);
      }
    }
    if (ids.size() > 1) {
      throw StorageError(Failure::invalid, "\"" + image + "\" matches " + std::to_string(ids.size()) +
                                               " images: give more of the id");
    }
    if (!matches.empty()) return matches.front();
    if (image.rfind("sha256:", 0) == 0) return std::nullopt;
  }
  const ImageReference reference = parse_reference(image);
  if (auto record = images_.find_image(reference.string())) return record;
  if (!reference.digest.empty()) {
    // Pulled by tag, asked for by digest: the same repository and content.
    for (const ImageRecord& record : images_.images()) {
      const auto name = parse_reference(record.name);
      if (name.name() == reference.name() &&
          (record.manifest_digest.string() == reference.digest || record.index_digest.string() == reference.digest)) {
        return record;
      }
    }
  }
  return std::nullopt;
}

std::optional<ImageView> StorageService::find(const std::string& image) const {
  const auto record = find_record(image);
  if (!record) return std::nullopt;
  auto found = views({*record});
  if (found.empty()) return std::nullopt;
  return found.front();
}

PullResult StorageService::pull(const PullRequest& request, const InstallOptions& options, uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::shared, deadline_ns);
  InstallOptions install = options;
  install.parallel = config_.max_concurrent_downloads;
  install.max_unpacked_bytes = config_.max_unpacked_bytes;
  PullResult result = puller_.pull(request, config_.registries, install);
  std::lock_guard<std::mutex> guard(last_used_mutex_);
  last_used_[result.image.name] = rfc3339_now();
  return result;
}

std::vector<ImageRecord> StorageService::load(const std::string& archive_path, const ImportOptions& options,
                                              uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::shared, deadline_ns);
  ImportOptions import = options;
  import.install.parallel = config_.max_concurrent_downloads;
  import.install.max_unpacked_bytes = config_.max_unpacked_bytes;
  return importer_.load(archive_path, import);
}

std::vector<std::string> StorageService::remove(const std::string& image, bool force, uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::exclusive, deadline_ns);
  const auto found = find(image);
  if (!found) throw StorageError(Failure::not_found, "image \"" + image + "\" is not present on this node");
  const auto all = images_.images();
  std::vector<ImageRecord> targets;
  if (id_prefix(image) && found->record.name != image) {
    for (const ImageRecord& record : all) {
      if (record.config_digest == found->record.config_digest) targets.push_back(record);
    }
  } else {
    targets.push_back(found->record);
  }
  // Another name of the same content stays: then this is only an untag.
  const bool other_names = std::any_of(all.begin(), all.end(), [&](const ImageRecord& record) {
    return record.chain_ids == found->record.chain_ids &&
           std::none_of(targets.begin(), targets.end(), [&](const ImageRecord& t) { return t.name == record.name; });
  });
  if (found->in_use && !other_names && !force) {
    throw StorageError(Failure::precondition, "image " + found->reference.familiar() +
                                                  " is used by a container: remove the container first (or force)");
  }
  std::vector<std::string> removed;
  for (const ImageRecord& record : targets) {
    images_.remove_image(record.name);
    removed.push_back(record.name);
  }
  collect_garbage_locked();
  return removed;
}

PruneResult StorageService::prune(uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::exclusive, deadline_ns);
  std::vector<std::string> removed;
  for (const ImageView& view : list()) {
    if (view.in_use) continue;
    images_.remove_image(view.record.name);
    removed.push_back(view.record.name);
  }
  PruneResult result = collect_garbage_locked();
  result.images_removed = removed;
  return result;
}

PruneResult StorageService::collect_garbage(uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::exclusive, deadline_ns);
  return collect_garbage_locked();
}

PruneResult StorageService::collect_garbage_locked() {
  std::set<Digest> chains_in_use;
  for (const auto& stack : stacks_in_use()) chains_in_use.insert(stack.begin(), stack.end());
  const auto layers = images_.layers();
  const Garbage garbage = find_garbage(images_.images(), content_.list(), layers, chains_in_use);
  PruneResult result;
  for (const Digest& blob : garbage.blobs) {
    const int64_t size = content_.size(blob);
    content_.remove(blob);
    result.bytes_freed += size > 0 ? static_cast<uint64_t>(size) : 0;
    ++result.blobs_removed;
  }
  for (const Digest& chain : garbage.layers) {
    for (const LayerRecord& layer : layers) {
      if (layer.chain_id == chain) result.bytes_freed += layer.unpacked_bytes;
    }
    images_.remove_layer(chain);
    ++result.layers_removed;
  }
  return result;
}

std::string StorageService::prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly,
                                           uint64_t deadline_ns) {
  StoreLock lock(lock_path(), StoreLock::Mode::shared, deadline_ns);
  // The record only: an ImageView's in_use would read every container's
  // rootfs.json, which makes each prepare slower as a node fills up.
  const auto found = find_record(image);
  if (!found) {
    throw StorageError(Failure::not_found, "image \"" + image + "\" is not present on this node: pull it first");
  }
  const std::string familiar = parse_reference(found->name).familiar();
  std::vector<std::string> lowers;
  for (const Digest& chain : found->chain_ids) {
    const auto layer = images_.find_layer(chain);
    if (!layer) {
      throw StorageError(Failure::not_found, "image " + familiar + " lacks its layer " +
                                                 chain.string() + ": pull it again");
    }
    lowers.push_back(images_.diff_dir(*layer));
  }
  if (lowers.empty()) throw StorageError(Failure::invalid, "image " + familiar + " has no layers");
  const std::string merged = rootfs_.prepare(container_id, lowers, readonly);
  std::lock_guard<std::mutex> guard(last_used_mutex_);
  last_used_[found->name] = rfc3339_now();
  return merged;
}

void StorageService::release_rootfs(const std::string& container_id) { rootfs_.release(container_id); }

StoreUsage StorageService::usage() const {
  StoreUsage usage;
  usage.images = images_.images().size();
  const auto layers = images_.layers();
  usage.layers = layers.size();
  for (const LayerRecord& layer : layers) usage.layer_bytes += layer.unpacked_bytes;
  usage.blob_bytes = content_.total_bytes();
  usage.root_filesystems = rootfs_.list().size();
  return usage;
}

std::vector<std::string> StorageService::import_directory(const InstallOptions& options) {
  std::vector<std::string> lines;
  if (config_.import_dir.empty()) return lines;
  const std::string record_name = "imported.json";
  nlohmann::json imported = nlohmann::json::object();
  if (const auto text = read_file_if_exists(config_.root + "/" + record_name, 4u << 20)) {
    imported = nlohmann::json::parse(*text, nullptr, false);
    if (!imported.is_object()) imported = nlohmann::json::object();
  }
  std::vector<std::string> names;
  try {
    names = directory_entries(config_.import_dir);
  } catch (const StorageError& e) {
    return {std::string("import directory ") + config_.import_dir + ": " + e.what()};
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = config_.import_dir + "/" + name;
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    const nlohmann::json stamp = {{"size", static_cast<uint64_t>(info.st_size)},
                                  {"mtime_ns", static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec}};
    if (imported.contains(name) && imported[name] == stamp) continue;
    try {
      ImportOptions import;
      import.install = options;
      std::string loaded;
      for (const ImageRecord& record : load(path, import, 0)) loaded += (loaded.empty() ? "" : ", ") + record.name;
      imported[name] = stamp;
      write_file_atomically(config_.root, record_name, imported.dump(2));
      lines.push_back("loaded " + path + ": " + loaded);
    } catch (const StorageError& e) {
      lines.push_back(std::string("could not load ") + path + ": " + e.what());
    }
  }
  return lines;
}

}  // namespace deckhand::storage
