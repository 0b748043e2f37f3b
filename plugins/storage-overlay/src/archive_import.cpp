#include "archive_import.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "image_puller.hpp"
#include "reference.hpp"
#include "storage_error.hpp"
#include "store_files.hpp"
#include "remove_tree.hpp"
#include "store_time.hpp"

namespace deckhand::storage {
namespace {

using nlohmann::json;

// One image found in the archive, before its layers are unpacked.
struct Found {
  std::vector<ImageReference> names;
  std::string manifest_body;
  Digest manifest_digest;
  Digest index_digest;
  Manifest manifest;
  std::string config_body;
  std::map<Digest, const ArchiveFiles::File*> blobs;  // layer digest -> its file
};

// A tag alone ("latest", "v1.2"), as skopeo writes ref.name for "oci-archive:FILE:TAG".
bool is_bare_tag(const std::string& text) {
  return !text.empty() && text.find_first_of("/:@") == std::string::npos;
}

ImageReference name_from(const std::string& annotated, const std::string& given, const std::string& what) {
  if (!annotated.empty() && !is_bare_tag(annotated)) return parse_reference(annotated);
  if (!given.empty()) return parse_reference(given);
  if (annotated.empty()) {
    throw StorageError(Failure::invalid, what + " has no name: give it one (deckhand image load --name REF)");
  }
  throw StorageError(Failure::invalid, what + " is named only by the tag \"" + annotated +
                                           "\": give it a full name (deckhand image load --name REF)");
}

const ArchiveFiles::File& verified_blob(const ArchiveFiles& files, const Descriptor& descriptor) {
  const std::string name = ArchiveFiles::blob_name(descriptor.digest);
  const ArchiveFiles::File* file = files.find(name);
  if (file == nullptr) throw StorageError(Failure::invalid, "the archive lacks blob " + descriptor.digest.string());
  if (file->digest.algorithm == descriptor.digest.algorithm && file->digest != descriptor.digest) {
    throw StorageError(Failure::corrupt, "blob " + descriptor.digest.string() + " in the archive does not match its digest");
  }
  if (descriptor.digest.algorithm != "sha256") {
    const auto content = files.read(name, kMaxConfigBytes);
    if (digest_of(content, descriptor.digest.algorithm) != descriptor.digest) {
      throw StorageError(Failure::corrupt, "blob " + descriptor.digest.string() + " in the archive does not match its digest");
    }
  }
  if (file->size != static_cast<uint64_t>(descriptor.size)) {
    throw StorageError(Failure::corrupt, "blob " + descriptor.digest.string() + " in the archive has " +
                                             std::to_string(file->size) + " bytes, its descriptor says " +
                                             std::to_string(descriptor.size));
  }
  return *file;
}

std::string annotation(const Descriptor& descriptor, const char* key) {
  const auto it = descriptor.annotations.find(key);
  return it == descriptor.annotations.end() ? "" : it->second;
}

std::vector<Found> read_oci_layout(const ArchiveFiles& files, const ImportOptions& options) {
  const auto index_document = parse_manifest(files.read("index.json", kMaxManifestBytes), "");
  if (!index_document.index) throw StorageError(Failure::invalid, "index.json is not an image index");
  std::vector<Found> found;
  for (const Descriptor& entry : index_document.index->manifests) {
    Found image;
    std::string annotated = annotation(entry, "io.containerd.image.name");
    if (annotated.empty()) annotated = annotation(entry, "org.opencontainers.image.ref.name");
    image.names.push_back(name_from(annotated, options.name, "image " + entry.digest.string() + " of the archive"));
    image.manifest_body = files.read(ArchiveFiles::blob_name(entry.digest), kMaxManifestBytes);
    verified_blob(files, entry);
    image.manifest_digest = entry.digest;
    ManifestDocument document = parse_manifest(image.manifest_body, entry.media_type);
    if (document.index) {
      const Descriptor& chosen = choose_platform(*document.index, options.platform);
      verified_blob(files, chosen);
      image.index_digest = entry.digest;
      image.manifest_body = files.read(ArchiveFiles::blob_name(chosen.digest), kMaxManifestBytes);
      image.manifest_digest = chosen.digest;
      document = parse_manifest(image.manifest_body, chosen.media_type);
      if (!document.manifest) throw StorageError(Failure::invalid, "index " + entry.digest.string() + " nests an index");
    }
    image.manifest = *document.manifest;
    verified_blob(files, image.manifest.config);
    image.config_body = files.read(ArchiveFiles::blob_name(image.manifest.config.digest), kMaxConfigBytes);
    for (const Descriptor& layer : image.manifest.layers) image.blobs[layer.digest] = &verified_blob(files, layer);
    found.push_back(std::move(image));
  }
  return found;
}

std::string sniff_layer_type(const ArchiveFiles& files, const ArchiveFiles::File& file) {
  char head[4] = {};
  const ByteSource source = files.open(file);
  const std::size_t n = source(head, sizeof(head));
  if (n >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) {
    return media_type::kOciLayerGzip;
  }
  if (n == 4 && static_cast<unsigned char>(head[0]) == 0x28 && static_cast<unsigned char>(head[1]) == 0xb5 &&
      static_cast<unsigned char>(head[2]) == 0x2f && static_cast<unsigned char>(head[3]) == 0xfd) {
    return media_type::kOciLayerZstd;
  }
  return media_type::kOciLayer;
}

// docker save: manifest.json is [{"Config": FILE, "RepoTags": [...], "Layers": [FILE, ...]}].
std::vector<Found> read_docker_save(const ArchiveFiles& files, const ImportOptions& options) {
  const json list = json::parse(files.read("manifest.json", kMaxManifestBytes), nullptr, false);
  if (!list.is_array()) throw StorageError(Failure::invalid, "manifest.json is not a JSON list");
  std::vector<Found> found;
  for (const json& item : list) {
    if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string() || !item.contains("Layers") ||
        !item["Layers"].is_array()) {
      throw StorageError(Failure::invalid, "manifest.json: every entry needs \"Config\" (a file) and \"Layers\" (a list)");
    }
    Found image;
    const std::string config_name = normalise_archive_name(item["Config"].get<std::string>());
    const ArchiveFiles::File* config_file = files.find(config_name);
    if (config_file == nullptr) throw StorageError(Failure::invalid, "the archive lacks the config " + config_name);
    image.config_body = files.read(config_name, kMaxConfigBytes);
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", media_type::kOciManifest},
                     {"config",
                      {{"mediaType", media_type::kOciConfig},
                       {"digest", config_file->digest.string()},
                       {"size", config_file->size}}},
                     {"layers", json::array()}};
    for (const json& layer : item["Layers"]) {
      if (!layer.is_string()) throw StorageError(Failure::invalid, "manifest.json: \"Layers\" must list file names");
      const std::string layer_name = normalise_archive_name(layer.get<std::string>());
      const ArchiveFiles::File* file = files.find(layer_name);
      if (file == nullptr) throw StorageError(Failure::invalid, "the archive lacks the layer " + layer_name);
      manifest["layers"].push_back(
          {{"mediaType", sniff_layer_type(files, *file)}, {"digest", file->digest.string()}, {"size", file->size}});
      image.blobs[file->digest] = file;
    }
    image.manifest_body = manifest.dump();
    image.manifest_digest = digest_of(image.manifest_body);
    image.manifest = *parse_manifest(image.manifest_body, media_type::kOciManifest).manifest;
    if (item.contains("RepoTags") && item["RepoTags"].is_array() && !item["RepoTags"].empty()) {
      for (const json& tag : item["RepoTags"]) {
        if (!tag.is_string()) throw StorageError(Failure::invalid, "manifest.json: \"RepoTags\" must list names");
        image.names.push_back(parse_reference(tag.get<std::string>()));
      }
    } else {
      image.names.push_back(name_from("", options.name, "image " + config_name + " of the archive"));
    }
    found.push_back(std::move(image));
  }
  return found;
}

}  // namespace

std::vector<ImageRecord> ArchiveImporter::load(const std::string& archive_path, const ImportOptions& options) {
  const std::string scratch = scratch_root_ + "/import-" + random_hex(8);
  try {
    make_directories(scratch_root_, 0700);
    if (::mkdir(scratch.c_str(), 0700) != 0) throw_system_error("create " + scratch, errno);
    struct Cleanup {
      const std::string& path;
      ~Cleanup() {
        try {
          remove_tree(path);
        } catch (...) {
          // Left for the next start's scratch cleanup.
        }
      }
    } cleanup{scratch};

    const ArchiveFiles files = ArchiveFiles::extract(archive_path, scratch, options.limits);
    std::vector<Found> found;
    if (files.find("manifest.json") != nullptr) {
      found = read_docker_save(files, options);
    } else if (files.find("index.json") != nullptr) {
      found = read_oci_layout(files, options);
    } else {
      throw StorageError(Failure::invalid, "not an image archive: it has neither index.json (an OCI image layout) "
                                           "nor manifest.json (docker save)");
    }
    if (found.empty()) throw StorageError(Failure::invalid, "the archive holds no image");

    std::vector<ImageRecord> records;
    for (const Found& image : found) {
      const ImageConfig config = parse_image_config(image.config_body);
      const std::vector<LayerToInstall> layers = layers_to_install(image.manifest, config);
      const auto installed = installer_.install(
          layers,
          [&](const LayerToInstall& layer) { return files.open(*image.blobs.at(layer.blob.digest)); },
          options.install);
      ImageRecord record;
      record.manifest_digest = image.manifest_digest;
      record.manifest_media_type = image.manifest.media_type;
      record.index_digest = image.index_digest;
      record.config_digest = image.manifest.config.digest;
      record.size = image.manifest_body.size() + static_cast<uint64_t>(image.manifest.config.size);
      for (const LayerToInstall& layer : layers) {
        record.layers.push_back(layer.blob.digest);
        record.size += static_cast<uint64_t>(layer.blob.size);
      }
      for (const LayerRecord& layer : installed) record.chain_ids.push_back(layer.chain_id);
      record.created = record.last_used = rfc3339_now();
      for (const ImageReference& name : image.names) {
        record.name = name.string();
        records.push_back(record);
      }
    }
    // Every image is complete: now the documents and the names.
    for (const Found& image : found) {
      content_.put(image.manifest_digest, image.manifest_body);
      content_.put(image.manifest.config.digest, image.config_body);
    }
    for (const ImageRecord& record : records) images_.put_image(record);
    return records;
  } catch (const StorageError& e) {
    throw StorageError(e.kind(), "load " + archive_path + ": " + e.what());
  }
}

}  // namespace deckhand::storage
