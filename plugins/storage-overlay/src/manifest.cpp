#include "manifest.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>

#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

using nlohmann::json;

// Real documents nest a handful of levels; the cap keeps recursive JSON
// operations (copying the config object) away from the end of the stack.
constexpr int kMaxNesting = 64;
constexpr std::size_t kMaxQuotedLength = 100;

constexpr std::array<const char*, 4> kManifestTypes = {media_type::kOciIndex, media_type::kOciManifest,
                                                       media_type::kDockerManifestList, media_type::kDockerManifest};
constexpr std::array<const char*, 2> kIndexTypes = {media_type::kOciIndex, media_type::kDockerManifestList};
constexpr std::array<const char*, 2> kConfigTypes = {media_type::kOciConfig, media_type::kDockerConfig};
// The tar, gzip and zstd layers unpack_layer reads (it detects the
// compression from the bytes). The Docker tar and zstd types are containerd's.
constexpr std::array<const char*, 6> kLayerTypes = {
    media_type::kOciLayer,        media_type::kOciLayerGzip, media_type::kOciLayerZstd, media_type::kDockerLayerGzip,
    "application/vnd.docker.image.rootfs.diff.tar", "application/vnd.docker.image.rootfs.diff.tar.zstd"};
// Windows base layers that registries may not serve: pulled from their urls.
constexpr std::array<const char*, 4> kForeignLayerTypes = {
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"};
// What a registry or a file server sends when it does not know better: the
// document itself then says what it is.
constexpr std::array<const char*, 3> kGenericContentTypes = {"", "application/json", "application/octet-stream"};
// BuildKit's provenance and SBOM entries in an index: not images to run.
constexpr const char* kReferenceTypeAnnotation = "vnd.docker.reference.type";
constexpr const char* kAttestationManifest = "attestation-manifest";

const std::string kSchema1Refusal =
    "the image uses Docker image manifest schema 1, which deckhand does not support (deprecated since 2017): push it "
    "again with a current docker or skopeo";

template <std::size_t N>
bool is_one_of(std::string_view value, const std::array<const char*, N>& choices) {
  return std::any_of(choices.begin(), choices.end(), [&](const char* choice) { return value == choice; });
}

template <std::size_t N>
std::string list(const std::array<const char*, N>& choices) {
  std::string text;
  for (const char* choice : choices) text += (text.empty() ? "" : ", ") + std::string(choice);
  return text;
}

// A value as JSON with everything but ASCII escaped, so that messages stay
// valid UTF-8 however they are cut, and short whatever the document holds.
std::string json_text(const json& value) {
  std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
  if (text.size() > kMaxQuotedLength) text = text.substr(0, kMaxQuotedLength) + "...";
  return text;
}

std::string in_quotes(std::string_view text) { return json_text(json(std::string(text))); }

std::string describe(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  return json_text(value);
}

// Where in a document a value sits ("manifest: layers[2].digest"), so that
// every error names the field a user has to fix.
class Location {
 public:
  explicit Location(std::string document) : document_(std::move(document)) {}

  Location field(std::string_view key) const { return Location(document_, path_.empty() ? std::string(key) : path_ + "." + std::string(key)); }
  Location item(std::size_t index) const { return Location(document_, path_ + "[" + std::to_string(index) + "]"); }
  // A member of a map whose keys are free text, as annotations["org.opencontainers.image.title"].
  Location entry(const std::string& key) const { return Location(document_, path_ + "[" + in_quotes(key) + "]"); }

  [[noreturn]] void fail(const std::string& problem, Failure kind = Failure::invalid) const {
    throw StorageError(kind, document_ + ": " + (path_.empty() ? "" : path_ + ": ") + problem);
  }

 private:
  Location(std::string document, std::string path) : document_(std::move(document)), path_(std::move(path)) {}
  std::string document_;
  std::string path_;
};

// Parses `body`, refusing what is not JSON or nests too deep.
json parse_json(std::string_view body, const Location& at) {
  const json::parser_callback_t limit_nesting = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxNesting) at.fail("nested more than " + std::to_string(kMaxNesting) + " levels deep");
    return true;
  };
  try {
    json document = json::parse(body.begin(), body.end(), limit_nesting);
    if (!document.is_object()) at.fail("the document is " + describe(document) + ", not a JSON object");
    return document;
  } catch (const json::exception& error) {
    // A syntax error is a parse_error, but a number too big for a double
    // ("1e999") is an out_of_range: both mean the text is not usable JSON.
    // nlohmann's what() starts with "[json.exception.parse_error.101] ", which only names its own code.
    std::string detail = error.what();
    if (const std::size_t end = detail.find("] "); detail.starts_with("[json.") && end != std::string::npos) {
      detail.erase(0, end + 2);
    }
    at.fail("not valid JSON: " + detail);
  }
}

// A member that is present and not null, or nullptr; optional fields written
// as null (as Go encoders do for nil slices and maps) count as absent.
const json* optional_member(const json& object, const char* key) {
  const auto found = object.find(key);
  return found == object.end() || found->is_null() ? nullptr : &*found;
}

const json& required_member(const json& object, const char* key, const Location& at) {
  const auto found = object.find(key);
  if (found == object.end()) at.field(key).fail("required field missing");
  return *found;
}

const json& expect_object(const json& value, const Location& at) {
  if (!value.is_object()) at.fail("must be an object, found " + describe(value));
  return value;
}

const json& expect_array(const json& value, const Location& at) {
  if (!value.is_array()) at.fail("must be an array, found " + describe(value));
  return value;
}

std::string expect_string(const json& value, const Location& at) {
  if (!value.is_string()) at.fail("must be a string, found " + describe(value));
  return value.get<std::string>();
}

std::string expect_media_type(const json& value, const Location& at) {
  std::string media_type = expect_string(value, at);
  if (media_type.empty()) at.fail("must not be empty");
  return media_type;
}

Digest expect_digest(const json& value, const Location& at) {
  // parse_digest echoes its input: give it the escaped form, which is the
  // same text for anything that could be a digest.
  const std::string shown = in_quotes(expect_string(value, at));
  try {
    return parse_digest(std::string_view(shown).substr(1, shown.size() - 2));
  } catch (const StorageError& error) {
    at.fail(error.what());
  }
}

int64_t expect_size(const json& value, const Location& at) {
  if (value.is_number_unsigned()) {
    const auto size = value.get<uint64_t>();
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      at.fail("must be at most " + std::to_string(std::numeric_limits<int64_t>::max()) + ", found " + describe(value));
    }
    return static_cast<int64_t>(size);
  }
  if (value.is_number_integer()) at.fail("must not be negative, found " + describe(value));
  at.fail("must be a non-negative integer (bytes), found " + describe(value));
}

void expect_strings(const json& value, const Location& at) {
  expect_array(value, at);
  for (std::size_t i = 0; i < value.size(); ++i) expect_string(value[i], at.item(i));
}

std::map<std::string, std::string> expect_string_map(const json& value, const Location& at) {
  expect_object(value, at);
  std::map<std::string, std::string> map;
  for (const auto& [key, member] : value.items()) map[key] = expect_string(member, at.entry(key));
  return map;
}

Platform parse_platform(const json& value, const Location& at) {
  expect_object(value, at);
  Platform platform;
  platform.os = expect_string(required_member(value, "os", at), at.field("os"));
  platform.architecture = expect_string(required_member(value, "architecture", at), at.field("architecture"));
  if (const json* variant = optional_member(value, "variant")) platform.variant = expect_string(*variant, at.field("variant"));
  return platform;
}

// descriptor.md: mediaType, digest and size required; the rest optional.
Descriptor parse_descriptor(const json& value, const Location& at) {
  expect_object(value, at);
  Descriptor descriptor;
  descriptor.media_type = expect_media_type(required_member(value, "mediaType", at), at.field("mediaType"));
  descriptor.digest = expect_digest(required_member(value, "digest", at), at.field("digest"));
  descriptor.size = expect_size(required_member(value, "size", at), at.field("size"));
  if (const json* urls = optional_member(value, "urls")) {
    expect_strings(*urls, at.field("urls"));
    descriptor.urls = urls->get<std::vector<std::string>>();
  }
  if (const json* annotations = optional_member(value, "annotations")) {
    descriptor.annotations = expect_string_map(*annotations, at.field("annotations"));
  }
  if (const json* platform = optional_member(value, "platform")) {
    descriptor.platform = parse_platform(*platform, at.field("platform"));
  }
  return descriptor;
}

void check_layer_type(const std::string& media_type, const Location& at) {
  if (is_one_of(media_type, kLayerTypes)) return;
  if (is_one_of(media_type, kForeignLayerTypes)) {
    at.fail(in_quotes(media_type) +
            " is a foreign (non-distributable) layer, which deckhand does not pull (they belong to Windows images)");
  }
  at.fail(in_quotes(media_type) + " is not a layer type deckhand can unpack (expected one of: " + list(kLayerTypes) +
          "); is this an artifact rather than a container image?");
}

Manifest parse_image_manifest(const json& document, std::string media_type) {
  const Location at("manifest");
  Manifest manifest;
  manifest.media_type = std::move(media_type);
  manifest.config = parse_descriptor(required_member(document, "config", at), at.field("config"));
  if (!is_one_of(manifest.config.media_type, kConfigTypes)) {
    at.field("config").field("mediaType").fail(in_quotes(manifest.config.media_type) +
                                               " is not an image config type (expected " + list(kConfigTypes) +
                                               "); is this an artifact rather than a container image?");
  }
  const Location layers_at = at.field("layers");
  const json& layers = expect_array(required_member(document, "layers", at), layers_at);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    manifest.layers.push_back(parse_descriptor(layers[i], layers_at.item(i)));
    check_layer_type(manifest.layers.back().media_type, layers_at.item(i).field("mediaType"));
  }
  return manifest;
}

Index parse_index(const json& document, std::string media_type) {
  const Location at("index");
  Index index;
  index.media_type = std::move(media_type);
  const Location manifests_at = at.field("manifests");
  const json& manifests = expect_array(required_member(document, "manifests", at), manifests_at);
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    index.manifests.push_back(parse_descriptor(manifests[i], manifests_at.item(i)));
  }
  return index;
}

// "application/vnd.oci.image.index.v1+json; charset=utf-8" -> the bare type,
// lowercase (media types are case-insensitive, RFC 6838).
std::string bare_media_type(std::string_view content_type) {
  std::string_view bare = content_type.substr(0, content_type.find(';'));
  const std::size_t first = bare.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  bare = bare.substr(first, bare.find_last_not_of(" \t") - first + 1);
  std::string lower(bare);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

bool is_schema1(std::string_view media_type) {
  return media_type == media_type::kDockerSchema1 || media_type == media_type::kDockerSchema1Signed;
}

// The document's type: the Content-Type, else its mediaType, else its shape.
std::string document_type(const json& document, const std::string& sent, const Location& at) {
  std::string type;
  if (is_one_of(sent, kManifestTypes)) {
    type = sent;
  } else if (!is_one_of(sent, kGenericContentTypes)) {
    at.fail("the registry sent content type " + in_quotes(sent) + ", which is not a manifest or index (expected one of: " +
            list(kManifestTypes) + ")");
  }
  if (const json* declared = optional_member(document, "mediaType")) {
    const std::string body_type = expect_media_type(*declared, at.field("mediaType"));
    if (is_schema1(body_type)) at.fail(kSchema1Refusal);
    if (!is_one_of(body_type, kManifestTypes)) {
      at.field("mediaType").fail(in_quotes(body_type) + " is not a manifest or index type deckhand reads (expected one of: " +
                                 list(kManifestTypes) + ")");
    }
    if (!type.empty() && type != body_type) {
      at.fail("the content type " + in_quotes(type) + " disagrees with the document's mediaType " + in_quotes(body_type));
    }
    type = body_type;
  }
  if (!type.empty()) return type;
  // An OCI layout's index.json and some OCI manifests leave mediaType out.
  if (document.contains("manifests")) return media_type::kOciIndex;
  if (document.contains("config") || document.contains("layers")) return media_type::kOciManifest;
  at.fail("cannot tell a manifest from an index: no mediaType, no \"manifests\", no \"config\" or \"layers\"");
}

bool is_schema_version(const json& version, uint64_t wanted) {
  return version.is_number_unsigned() && version.get<uint64_t>() == wanted;
}

void check_schema_version(const json& document, const Location& at) {
  const json& version = required_member(document, "schemaVersion", at);
  if (!is_schema_version(version, 2)) {
    at.field("schemaVersion").fail("must be 2, found " + describe(version));
  }
}

// Known members of an image config's "config" whose types the runtime relies
// on; null is how Go writes an empty list or map.
void check_execution_config(const json& config, const Location& at) {
  for (const char* key : {"Env", "Entrypoint", "Cmd"}) {
    if (const json* value = optional_member(config, key)) expect_strings(*value, at.field(key));
  }
  for (const char* key : {"WorkingDir", "User", "StopSignal"}) {
    if (const json* value = optional_member(config, key)) expect_string(*value, at.field(key));
  }
  if (const json* labels = optional_member(config, "Labels")) expect_string_map(*labels, at.field("Labels"));
  for (const char* key : {"ExposedPorts", "Volumes"}) {
    if (const json* value = optional_member(config, key)) expect_object(*value, at.field(key));
  }
}

}  // namespace

std::string manifest_accept_header() {
  return list(kManifestTypes);
}

std::string Platform::string() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Platform host_platform() {
  utsname names{};
  if (uname(&names) != 0) throw StorageError(Failure::internal, "uname failed: cannot tell this host's architecture");
  const std::string machine = names.machine;
  // GOARCH names, and the variants containerd assumes for them.
  if (machine == "x86_64" || machine == "amd64") return {"linux", "amd64", ""};
  if (machine == "aarch64" || machine == "arm64") return {"linux", "arm64", "v8"};
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686") return {"linux", "386", ""};
  if (machine.starts_with("armv7")) return {"linux", "arm", "v7"};
  // A 32-bit ARM userland on a 64-bit core runs v7 code; nobody publishes arm/v8.
  if (machine.starts_with("armv8")) return {"linux", "arm", "v7"};
  if (machine.starts_with("armv6")) return {"linux", "arm", "v6"};
  if (machine.starts_with("armv5")) return {"linux", "arm", "v5"};
  if (machine == "loongarch64") return {"linux", "loong64", ""};
  // ppc64le, ppc64, s390x, riscv64, mips64, ... are spelt the same in GOARCH.
  return {"linux", machine, ""};
}

ManifestDocument parse_manifest(std::string_view body, std::string_view content_type) {
  const Location at("manifest");
  if (body.size() > kMaxManifestBytes) {
    at.fail("the document is " + std::to_string(body.size()) + " bytes, over the " + std::to_string(kMaxManifestBytes) +
                "-byte limit",
            Failure::exhausted);
  }
  // Schema 1 first: its documents have neither a mediaType nor a shape the
  // later checks know, and the refusal is what the user needs to read.
  const std::string sent = bare_media_type(content_type);
  if (is_schema1(sent)) at.fail(kSchema1Refusal);
  const json document = parse_json(body, at);
  if (const json* version = optional_member(document, "schemaVersion"); version && is_schema_version(*version, 1)) {
    at.fail(kSchema1Refusal);
  }
  std::string type = document_type(document, sent, at);
  ManifestDocument parsed;
  if (is_one_of(type, kIndexTypes)) {
    check_schema_version(document, Location("index"));
    parsed.index = parse_index(document, std::move(type));
  } else {
    check_schema_version(document, at);
    parsed.manifest = parse_image_manifest(document, std::move(type));
  }
  return parsed;
}

const Descriptor& choose_platform(const Index& index, const Platform& platform) {
  const auto matches = [&](const Platform& offered) {
    if (offered.os != platform.os || offered.architecture != platform.architecture) return false;
    if (platform.variant.empty() || offered.variant == platform.variant) return true;
    // arm64 has one variant in practice; many indexes leave it out.
    const auto v8_or_none = [](const std::string& variant) { return variant.empty() || variant == "v8"; };
    return platform.architecture == "arm64" && v8_or_none(offered.variant) && v8_or_none(platform.variant);
  };
  const auto is_attestation = [](const Descriptor& entry) {
    const auto found = entry.annotations.find(kReferenceTypeAnnotation);
    return found != entry.annotations.end() && found->second == kAttestationManifest;
  };
  std::vector<std::string> offered;
  for (const Descriptor& entry : index.manifests) {
    if (!entry.platform || is_attestation(entry)) continue;
    if (matches(*entry.platform)) return entry;
    const std::string name = entry.platform->string();
    if (std::find(offered.begin(), offered.end(), name) == offered.end()) offered.push_back(name);
  }
  std::string offer;
  for (const std::string& name : offered) offer += (offer.empty() ? "" : ", ") + name;
  throw StorageError(Failure::not_found, "no image for " + platform.string() + " in the index: " +
                                             (offered.empty() ? "it names no platforms" : "it offers " + offer));
}

ImageConfig parse_image_config(std::string_view body) {
  const Location at("image config");
  if (body.size() > kMaxConfigBytes) {
    at.fail("the document is " + std::to_string(body.size()) + " bytes, over the " + std::to_string(kMaxConfigBytes) +
                "-byte limit",
            Failure::exhausted);
  }
  const json document = parse_json(body, at);
  ImageConfig config;
  config.platform.os = expect_string(required_member(document, "os", at), at.field("os"));
  config.platform.architecture =
      expect_string(required_member(document, "architecture", at), at.field("architecture"));
  if (const json* variant = optional_member(document, "variant")) {
    config.platform.variant = expect_string(*variant, at.field("variant"));
  }

  const Location rootfs_at = at.field("rootfs");
  const json& rootfs = expect_object(required_member(document, "rootfs", at), rootfs_at);
  const std::string type = expect_string(required_member(rootfs, "type", rootfs_at), rootfs_at.field("type"));
  if (type != "layers") rootfs_at.field("type").fail("must be \"layers\", found " + in_quotes(type));
  const Location diff_ids_at = rootfs_at.field("diff_ids");
  const json& diff_ids = expect_array(required_member(rootfs, "diff_ids", rootfs_at), diff_ids_at);
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    config.diff_ids.push_back(expect_digest(diff_ids[i], diff_ids_at.item(i)));
  }

  config.config = json::object();
  if (const json* execution = optional_member(document, "config")) {
    expect_object(*execution, at.field("config"));
    check_execution_config(*execution, at.field("config"));
    config.config = *execution;
  }
  return config;
}

}  // namespace deckhand::storage
