#include "image_puller.hpp"

#include <atomic>

#include "storage_error.hpp"
#include "store_time.hpp"

namespace deckhand::storage {
namespace {

StorageError with_context(const ImageReference& reference, const StorageError& e) {
  const std::string prefix = "pull " + reference.string() + ": ";
  const std::string message = e.what();
  if (message.rfind(prefix, 0) == 0) return e;
  return {e.kind(), prefix + message};
}

// A single-platform image must be for this host, as its config says (an
// index was already matched by choose_platform).
void check_platform(const ImageConfig& config, const Platform& wanted) {
  const Platform& have = config.platform;
  if (have.os.empty() && have.architecture.empty()) return;  // not stated: accepted, as containerd does
  const bool arm64_v8 = wanted.architecture == "arm64" && (have.variant.empty() || have.variant == "v8");
  const bool variant_ok = wanted.variant.empty() || have.variant.empty() || have.variant == wanted.variant || arm64_v8;
  if (have.os != wanted.os || have.architecture != wanted.architecture || !variant_ok) {
    throw StorageError(Failure::not_found, "the image is for " + have.string() + ", and this node is " +
                                               wanted.string() + " (no image for this platform)");
  }
}

}  // namespace

PullPolicy parse_pull_policy(const std::string& text) {
  if (text == "Always") return PullPolicy::always;
  if (text == "IfNotPresent") return PullPolicy::if_not_present;
  if (text == "Never") return PullPolicy::never;
  throw StorageError(Failure::invalid, "unknown pull policy \"" + text.substr(0, 40) +
                                           "\" (Always, IfNotPresent or Never)");
}

std::vector<LayerToInstall> layers_to_install(const Manifest& manifest, const ImageConfig& config) {
  if (manifest.layers.size() != config.diff_ids.size()) {
    throw StorageError(Failure::corrupt, "the manifest lists " + std::to_string(manifest.layers.size()) +
                                             " layers, the image config " + std::to_string(config.diff_ids.size()) +
                                             " diff_ids");
  }
  std::vector<LayerToInstall> layers;
  Digest chain;
  for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
    chain = i == 0 ? config.diff_ids[i] : chain_id(chain, config.diff_ids[i]);
    layers.push_back({manifest.layers[i], config.diff_ids[i], chain});
  }
  return layers;
}

std::optional<ImageRecord> ImagePuller::find_complete(const ImageReference& reference) const {
  auto record = images_.find_image(reference.string());
  if (!record) return std::nullopt;
  for (const Digest& chain : record->chain_ids) {
    if (!images_.find_layer(chain)) return std::nullopt;
  }
  return record;
}

PullResult ImagePuller::pull(const PullRequest& request, const RegistrySettings& settings,
                             const InstallOptions& options) {
  const ImageReference& reference = request.reference;
  PullResult result;
  if (request.policy != PullPolicy::always) {
    if (auto present = find_complete(reference)) {
      images_.touch_image(present->name);
      result.image = *present;
      return result;
    }
    if (request.policy == PullPolicy::never) {
      throw StorageError(Failure::not_found, "pull " + reference.string() + ": the image is not present on this "
                                                 "node and the pull policy is Never");
    }
  }
  result.fetched = true;
  try {
    RegistrySettings effective = settings;
    if (request.credentials) effective.hosts[reference.registry].credentials = request.credentials;
    RegistryClient client(effective, reference);

    ImageRecord record;
    record.name = reference.string();
    FetchedDocument fetched = client.fetch_manifest(reference.digest.empty() ? reference.tag : reference.digest);
    ManifestDocument document = parse_manifest(fetched.body, fetched.media_type);
    if (document.index) {
      const Descriptor& chosen = choose_platform(*document.index, request.platform);
      content_.put(fetched.digest, fetched.body);
      record.index_digest = fetched.digest;
      fetched = client.fetch_manifest(chosen.digest.string());
      document = parse_manifest(fetched.body, fetched.media_type);
      if (!document.manifest) {
        throw StorageError(Failure::invalid, "the index entry for " + request.platform.string() + " (" +
                                                 chosen.digest.string() + ") is another index, not an image manifest");
      }
    }
    const Manifest& manifest = *document.manifest;
    record.manifest_digest = fetched.digest;
    record.manifest_media_type = manifest.media_type;
    record.config_digest = manifest.config.digest;

    std::string config_body;
    if (content_.contains(manifest.config.digest)) {
      config_body = content_.read(manifest.config.digest, kMaxConfigBytes);
    } else {
      config_body = client.fetch_blob(manifest.config, kMaxConfigBytes);
    }
    const ImageConfig config = parse_image_config(config_body);
    if (!document.index || reference.digest.empty()) check_platform(config, request.platform);
    const std::vector<LayerToInstall> layers = layers_to_install(manifest, config);

    std::atomic<uint64_t> downloaded{0};
    std::atomic<uint64_t> layers_downloaded{0};
    InstallOptions install = options;
    install.on_progress = [&](const LayerProgress& progress) {
      if (progress.phase == LayerProgress::Phase::unpacking_done) {
        downloaded += progress.done;
        ++layers_downloaded;
      }
      if (options.on_progress) options.on_progress(progress);
    };
    const auto records = installer_.install(
        layers,
        [&client](const LayerToInstall& layer) -> ByteSource {
          std::shared_ptr<BlobStream> stream = client.open_blob(layer.blob);
          return [stream](char* buffer, std::size_t capacity) { return stream->read(buffer, capacity); };
        },
        install);

    // Only now, with every layer in place, the documents and the record.
    content_.put(record.manifest_digest, fetched.body);
    content_.put(manifest.config.digest, config_body);
    record.size = fetched.body.size() + static_cast<uint64_t>(manifest.config.size);
    for (const LayerToInstall& layer : layers) {
      record.layers.push_back(layer.blob.digest);
      record.size += static_cast<uint64_t>(layer.blob.size);
    }
    for (const LayerRecord& layer : records) record.chain_ids.push_back(layer.chain_id);
    const auto previous = images_.find_image(record.name);
    record.created = previous && previous->manifest_digest == record.manifest_digest ? previous->created : rfc3339_now();
    record.last_used = rfc3339_now();
    images_.put_image(record);
    result.image = record;
    result.downloaded_bytes = downloaded;
    result.layers_downloaded = layers_downloaded;
    return result;
  } catch (const StorageError& e) {
    throw with_context(reference, e);
  }
}

}  // namespace deckhand::storage
