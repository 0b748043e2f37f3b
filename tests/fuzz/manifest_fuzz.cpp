// libFuzzer target: manifest, index and image config parsing on arbitrary
// bytes, as a registry (or a hostile one) may send them; then the platform
// choice on whatever index parsed. The only acceptable outcomes are the
// parsed documents or a StorageError; any other exception (nlohmann's
// type_error included), crash, leak or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifest.hpp"
#include "storage_error.hpp"

namespace {

namespace storage = deckhand::storage;

// The Content-Type comes from the registry too. Each input is parsed without
// one and with one picked by its length, so that mutations reach every branch
// of the type decision while the body's bytes stay plain JSON.
std::string_view content_type_for(std::size_t selector) {
  static constexpr std::string_view kTypes[] = {
      "text/html",
      storage::media_type::kOciManifest,
      storage::media_type::kOciIndex,
      storage::media_type::kDockerManifest,
      storage::media_type::kDockerManifestList,
      "application/vnd.oci.image.index.v1+json; charset=utf-8",
      "application/json",
      storage::media_type::kDockerSchema1Signed,
  };
  return kTypes[selector % (sizeof(kTypes) / sizeof(kTypes[0]))];
}

void parse_manifest_and_choose(std::string_view body, std::string_view content_type) {
  try {
    const storage::ManifestDocument document = storage::parse_manifest(body, content_type);
    if (!document.index) return;
    for (const storage::Platform& platform : {storage::Platform{"linux", "amd64", ""},
                                              storage::Platform{"linux", "arm64", "v8"},
                                              storage::Platform{"linux", "arm", "v7"}}) {
      try {
        storage::choose_platform(*document.index, platform);
      } catch (const storage::StorageError&) {
        // no such platform in the index
      }
    }
  } catch (const storage::StorageError&) {
    // expected for most inputs
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  parse_manifest_and_choose(body, "");
  parse_manifest_and_choose(body, content_type_for(size));
  try {
    storage::parse_image_config(body);
  } catch (const storage::StorageError&) {
    // expected for most inputs
  }
  return 0;
}
