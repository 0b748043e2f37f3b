#include "store_records.hpp"

#include <nlohmann/json.hpp>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

// Bumped when a field changes meaning; a newer file is refused rather than misread.
constexpr int kSchemaVersion = 1;

using nlohmann::json;

std::string digest_text(const Digest& digest, const char* field, bool optional) {
  if (digest.empty()) {
    if (optional) return "";
    throw StorageError(Failure::invalid, std::string("record without ") + field);
  }
  return parse_digest(digest.string()).string();  // refuses a hand-made Digest that is not canonical
}

json digest_list_json(const std::vector<Digest>& digests, const char* field) {
  json list = json::array();
  for (const Digest& digest : digests) list.push_back(digest_text(digest, field, false));
  return list;
}

const json& field_of(const json& object, const char* field) {
  const auto found = object.find(field);
  if (found == object.end()) throw StorageError(Failure::invalid, std::string("no \"") + field + "\"");
  return *found;
}

std::string text_field(const json& object, const char* field) {
  const json& value = field_of(object, field);
  if (!value.is_string()) throw StorageError(Failure::invalid, std::string("\"") + field + "\" is not a string");
  return value.get<std::string>();
}

uint64_t count_field(const json& object, const char* field) {
  const json& value = field_of(object, field);
  // is_number_unsigned: nlohmann would otherwise turn -1 into 2^64-1.
  if (!value.is_number_unsigned()) {
    throw StorageError(Failure::invalid, std::string("\"") + field + "\" is not a non-negative integer");
  }
  return value.get<uint64_t>();
}

Digest digest_field(const json& object, const char* field, bool optional) {
  const std::string text = text_field(object, field);
  if (text.empty() && optional) return Digest{};
  try {
    return parse_digest(text);
  } catch (const StorageError& error) {
    throw StorageError(Failure::invalid, std::string("\"") + field + "\": " + error.what());
  }
}

std::vector<Digest> digest_list_field(const json& object, const char* field) {
  const json& value = field_of(object, field);
  if (!value.is_array()) throw StorageError(Failure::invalid, std::string("\"") + field + "\" is not a list");
  std::vector<Digest> digests;
  for (const json& item : value) {
    if (!item.is_string()) throw StorageError(Failure::invalid, std::string("\"") + field + "\" holds a non-string");
    try {
      digests.push_back(parse_digest(item.get<std::string>()));
    } catch (const StorageError& error) {
      throw StorageError(Failure::invalid, std::string("\"") + field + "\": " + error.what());
    }
  }
  return digests;
}

json parse_object(std::string_view text) {
  json object = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) throw StorageError(Failure::invalid, "not valid JSON");
  if (!object.is_object()) throw StorageError(Failure::invalid, "not a JSON object");
  const json& version = field_of(object, "schema_version");
  if (!version.is_number_integer() || version.get<int64_t>() != kSchemaVersion) {
    throw StorageError(Failure::invalid, "schema_version " + version.dump() + " (this agent reads " +
                                             std::to_string(kSchemaVersion) + ")");
  }
  return object;
}

}  // namespace

std::string image_record_json(const ImageRecord& record) {
  if (record.name.empty()) throw StorageError(Failure::invalid, "image record without a name");
  try {
    const json object = {
        {"schema_version", kSchemaVersion},
        {"name", record.name},
        {"manifest_digest", digest_text(record.manifest_digest, "manifest_digest", false)},
        {"manifest_media_type", record.manifest_media_type},
        {"index_digest", digest_text(record.index_digest, "index_digest", true)},
        {"config_digest", digest_text(record.config_digest, "config_digest", false)},
        {"layers", digest_list_json(record.layers, "layer digest")},
        {"chain_ids", digest_list_json(record.chain_ids, "chain id")},
        {"size", record.size},
        {"created", record.created},
        {"last_used", record.last_used},
    };
    return object.dump(2) + "\n";
  } catch (const StorageError& error) {
    throw StorageError(Failure::invalid, "image record \"" + record.name + "\": " + error.what());
  } catch (const json::exception& error) {
    // dump() refuses text that is not UTF-8; a name is supposed to be ASCII.
    throw StorageError(Failure::invalid, "image record \"" + record.name + "\": " + error.what());
  }
}

std::string layer_record_json(const LayerRecord& record) {
  try {
    const json object = {
        {"schema_version", kSchemaVersion},
        {"chain_id", digest_text(record.chain_id, "chain_id", false)},
        {"diff_id", digest_text(record.diff_id, "diff_id", false)},
        {"blob", digest_text(record.blob, "blob", true)},
        {"unpacked_bytes", record.unpacked_bytes},
    };
    return object.dump(2) + "\n";
  } catch (const StorageError& error) {
    throw StorageError(Failure::invalid, "layer record: " + std::string(error.what()));
  }
}

ImageRecord parse_image_record(std::string_view text) {
  const json object = parse_object(text);
  ImageRecord record;
  record.name = text_field(object, "name");
  if (record.name.empty()) throw StorageError(Failure::invalid, "\"name\" is empty");
  record.manifest_digest = digest_field(object, "manifest_digest", false);
  record.manifest_media_type = text_field(object, "manifest_media_type");
  record.index_digest = digest_field(object, "index_digest", true);
  record.config_digest = digest_field(object, "config_digest", false);
  record.layers = digest_list_field(object, "layers");
  record.chain_ids = digest_list_field(object, "chain_ids");
  record.size = count_field(object, "size");
  record.created = text_field(object, "created");
  record.last_used = text_field(object, "last_used");
  return record;
}

LayerRecord parse_layer_record(std::string_view text, const std::string& id) {
  const json object = parse_object(text);
  LayerRecord record;
  record.id = id;
  record.chain_id = digest_field(object, "chain_id", false);
  record.diff_id = digest_field(object, "diff_id", false);
  record.blob = digest_field(object, "blob", true);
  record.unpacked_bytes = count_field(object, "unpacked_bytes");
  return record;
}

}  // namespace deckhand::storage
