// Reading a core/v1 Volume object into what this plugin supports, strictly:
// the name must be a DNS-1123 label, there must be exactly one source, and
// the source must be emptyDir or hostPath with known fields only. The same
// structure is the volume's record on disk (<pod>/volumes/<name>.json).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace deckhand::storage {

struct VolumeSpec {
  enum class Kind { empty_dir, host_path, projected };

  std::string name;
  Kind kind = Kind::empty_dir;
  bool memory = false;                      // emptyDir medium "Memory": a tmpfs
  std::optional<uint64_t> size_limit_bytes;  // emptyDir sizeLimit
  std::string host_path;                    // hostPath path (absolute, normalised)
  std::string host_path_type;               // hostPath type ("" = no check)

  bool operator==(const VolumeSpec&) const = default;
};

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool valid_volume_name(const std::string& name);

// Throws StorageError(invalid) naming the volume and what is wrong: a bad
// name, no or several sources, an unsupported source, an unknown field, a bad
// medium, size or hostPath.
VolumeSpec parse_volume(const nlohmann::json& volume);

nlohmann::json volume_record(const VolumeSpec& spec);
// nullopt for a record that cannot be read (a crash while writing it).
std::optional<VolumeSpec> parse_volume_record(const std::string& text);

}  // namespace deckhand::storage
