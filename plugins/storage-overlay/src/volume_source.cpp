#include "volume_source.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "storage_error.hpp"
#include "volumes.hpp"

namespace deckhand::storage {
namespace {

// Every volume source core/v1 defines, so that a known but unsupported one
// gets a better answer than "unknown field".
constexpr std::array<std::string_view, 30> kVolumeSources = {
    "hostPath",    "emptyDir",   "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",      "secret",
    "nfs",         "iscsi",      "glusterfs",         "persistentVolumeClaim", "rbd",         "flexVolume",
    "cinder",      "cephfs",     "flocker",           "downwardAPI",          "fc",           "azureFile",
    "configMap",   "vsphereVolume", "quobyte",        "azureDisk",            "photonPersistentDisk",
    "projected",   "portworxVolume", "scaleIO",       "storageos",            "csi",          "ephemeral",
    "image"};

// The sources whose files the kubelet writes itself (AtomicWriter): the
// agent renders them and hands the files to Volumes::project.
constexpr std::array<std::string_view, 4> kProjectedSources = {"configMap", "secret", "downwardAPI", "projected"};

constexpr const char* kHostPathTypes[] = {"",     "DirectoryOrCreate", "Directory",  "FileOrCreate",
                                          "File", "Socket",            "CharDevice", "BlockDevice"};

bool contains(const auto& list, std::string_view value) {
  return std::find(std::begin(list), std::end(list), value) != std::end(list);
}

[[noreturn]] void refuse(const std::string& volume, const std::string& why) {
  throw StorageError(Failure::invalid, "volume \"" + volume + "\": " + why);
}

// A field name as it appears in a message, cut and without control bytes.
std::string in_quotes(const std::string& text) {
  std::string shown = text.substr(0, 64);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "\"" + shown + "\"";
}

void refuse_unknown_fields(const std::string& volume, const nlohmann::json& object, const std::string& prefix,
                           std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      refuse(volume, "unknown field " + in_quotes(prefix + key));
    }
  }
}

void parse_empty_dir(VolumeSpec& spec, const nlohmann::json& source) {
  if (!source.is_object()) refuse(spec.name, "emptyDir must be an object");
  refuse_unknown_fields(spec.name, source, "emptyDir.", {"medium", "sizeLimit"});
  if (source.contains("medium") && !source["medium"].is_null()) {
    if (!source["medium"].is_string()) refuse(spec.name, "emptyDir.medium must be a string");
    const std::string medium = source["medium"].get<std::string>();
    if (medium == "Memory") {
      spec.memory = true;
    } else if (!medium.empty()) {
      refuse(spec.name, "emptyDir.medium " + in_quotes(medium) +
                            " is not supported (expected \"\" for the node's disk or \"Memory\" for a tmpfs)");
    }
  }
  if (source.contains("sizeLimit") && !source["sizeLimit"].is_null()) {
    const nlohmann::json& limit = source["sizeLimit"];
    // The API server sends quantities as strings; a bare JSON number is a
    // quantity too (resource.Quantity accepts both).
    if (limit.is_string()) {
      spec.size_limit_bytes = parse_quantity_bytes(limit.get<std::string>());
    } else if (limit.is_number()) {
      spec.size_limit_bytes = parse_quantity_bytes(limit.dump());
    } else {
      refuse(spec.name, "emptyDir.sizeLimit must be a quantity such as \"64Mi\"");
    }
  }
}

void require_normalised_absolute(const std::string& volume, const std::string& path) {
  if (path.empty() || path[0] != '/') refuse(volume, "hostPath.path " + in_quotes(path) + " must be an absolute path");
  if (path.find('\0') != std::string::npos) refuse(volume, "hostPath.path must not contain a NUL byte");
  if (path == "/") return;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view component(path.data() + start, end - start);
    if (component == "..") refuse(volume, "hostPath.path " + in_quotes(path) + " must not contain \"..\"");
    if (component.empty() || component == ".") {
      refuse(volume, "hostPath.path " + in_quotes(path) +
                         " must be normalised (no empty or \".\" components, no trailing /)");
    }
    start = end + 1;
  }
}

void parse_host_path(VolumeSpec& spec, const nlohmann::json& source) {
  if (!source.is_object()) refuse(spec.name, "hostPath must be an object");
  refuse_unknown_fields(spec.name, source, "hostPath.", {"path", "type"});
  if (!source.contains("path") || !source["path"].is_string()) {
    refuse(spec.name, "hostPath.path is required (a string)");
  }
  spec.host_path = source["path"].get<std::string>();
  require_normalised_absolute(spec.name, spec.host_path);
  if (source.contains("type") && !source["type"].is_null()) {
    if (!source["type"].is_string()) refuse(spec.name, "hostPath.type must be a string");
    spec.host_path_type = source["type"].get<std::string>();
    if (!contains(kHostPathTypes, spec.host_path_type)) {
      refuse(spec.name, "hostPath.type " + in_quotes(spec.host_path_type) +
                            " is not one of \"\", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, "
                            "CharDevice, BlockDevice");
    }
  }
}

const char* kind_name(VolumeSpec::Kind kind) {
  switch (kind) {
    case VolumeSpec::Kind::empty_dir:
      return "emptyDir";
    case VolumeSpec::Kind::host_path:
      return "hostPath";
    case VolumeSpec::Kind::projected:
      break;
  }
  return "projected";
}

}  // namespace

bool valid_volume_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  const auto lower_alphanumeric = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alphanumeric(name.front()) || !lower_alphanumeric(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return lower_alphanumeric(c) || c == '-'; });
}

VolumeSpec parse_volume(const nlohmann::json& volume) {
  if (!volume.is_object()) throw StorageError(Failure::invalid, "a volume must be a JSON object");
  if (!volume.contains("name") || !volume["name"].is_string()) {
    throw StorageError(Failure::invalid, "a volume needs a \"name\" (a string)");
  }
  VolumeSpec spec;
  spec.name = volume["name"].get<std::string>();
  if (!valid_volume_name(spec.name)) {
    throw StorageError(Failure::invalid, "volume name " + in_quotes(spec.name) +
                                             " is not a DNS-1123 label (at most 63 of a-z 0-9 and '-', starting "
                                             "and ending with a letter or digit)");
  }

  std::vector<std::string> sources;
  for (const auto& [key, value] : volume.items()) {
    if (key == "name") continue;
    if (!contains(kVolumeSources, key)) refuse(spec.name, "unknown field " + in_quotes(key));
    // A null source is an absent one, as the API server's decoding has it.
    if (!value.is_null()) sources.push_back(key);
  }
  if (sources.empty()) refuse(spec.name, "no volume source; this plugin takes emptyDir or hostPath");
  if (sources.size() > 1) {
    std::string listed;
    for (const std::string& source : sources) listed += (listed.empty() ? "" : ", ") + source;
    refuse(spec.name, "more than one volume source (" + listed + "); a volume has exactly one");
  }
  const std::string& source = sources.front();
  if (source == "emptyDir") {
    spec.kind = VolumeSpec::Kind::empty_dir;
    parse_empty_dir(spec, volume[source]);
  } else if (source == "hostPath") {
    spec.kind = VolumeSpec::Kind::host_path;
    parse_host_path(spec, volume[source]);
  } else if (contains(kProjectedSources, source)) {
    refuse(spec.name, source + " volumes are not supported by this plugin; use project()");
  } else {
    refuse(spec.name, source + " volumes are not supported by this plugin (it supports emptyDir and hostPath)");
  }
  return spec;
}

nlohmann::json volume_record(const VolumeSpec& spec) {
  nlohmann::json record = {{"name", spec.name}, {"kind", kind_name(spec.kind)}};
  if (spec.kind == VolumeSpec::Kind::empty_dir) {
    record["medium"] = spec.memory ? "Memory" : "";
    // Recorded for whoever enforces it on disk (the kubelet evicts).
    record["size_limit_bytes"] = spec.size_limit_bytes ? nlohmann::json(*spec.size_limit_bytes) : nlohmann::json();
  } else if (spec.kind == VolumeSpec::Kind::host_path) {
    record["path"] = spec.host_path;
    record["type"] = spec.host_path_type;
  }
  return record;
}

std::optional<VolumeSpec> parse_volume_record(const std::string& text) {
  const nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || !record.contains("name") || !record["name"].is_string() || !record.contains("kind") ||
      !record["kind"].is_string()) {
    return std::nullopt;
  }
  VolumeSpec spec;
  spec.name = record["name"].get<std::string>();
  const std::string kind = record["kind"].get<std::string>();
  if (kind == "emptyDir") {
    spec.kind = VolumeSpec::Kind::empty_dir;
    spec.memory = record.value("medium", "") == "Memory";
    if (record.contains("size_limit_bytes") && record["size_limit_bytes"].is_number_unsigned()) {
      spec.size_limit_bytes = record["size_limit_bytes"].get<uint64_t>();
    }
  } else if (kind == "hostPath") {
    spec.kind = VolumeSpec::Kind::host_path;
    spec.host_path = record.value("path", "");
    spec.host_path_type = record.value("type", "");
  } else if (kind == "projected") {
    spec.kind = VolumeSpec::Kind::projected;
  } else {
    return std::nullopt;
  }
  return spec;
}

}  // namespace deckhand::storage
