// The JSON form of the image store's records, one object per file:
//
//   images/<sha256 of name>.json  {"schema_version": 1, "name": ..., "manifest_digest": "sha256:...",
//                                  "manifest_media_type": ..., "index_digest": "" or "sha256:...",
//                                  "config_digest": ..., "layers": [...], "chain_ids": [...],
//                                  "size": N, "created": RFC 3339, "last_used": RFC 3339}
//   layers/<id>/layer.json        {"schema_version": 1, "chain_id": ..., "diff_id": ...,
//                                  "blob": "" or "sha256:...", "unpacked_bytes": N}
//
// A layer's id is its directory's name and is not stored, so that layer.json
// can be written (and synced) before the id is chosen.
#pragma once

#include <string>
#include <string_view>

#include "image_store.hpp"

namespace deckhand::storage {

// Throws StorageError(invalid) for a record that could not be read back:
// an empty name, a missing manifest or config digest, a malformed digest.
std::string image_record_json(const ImageRecord& record);
std::string layer_record_json(const LayerRecord& record);

// Throw StorageError(invalid) saying what is wrong (bad JSON, a missing
// field, a wrong type, a malformed digest, another schema version).
ImageRecord parse_image_record(std::string_view text);
LayerRecord parse_layer_record(std::string_view text, const std::string& id);

}  // namespace deckhand::storage
