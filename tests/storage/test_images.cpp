#include "test_images.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "process.hpp"

namespace deckhand::test {

std::string layout_digest(const std::string& layout, const std::string& tag) {
  const auto index = nlohmann::json::parse(read_file(layout + "/index.json"));
  for (const auto& manifest : index.at("manifests")) {
    const auto annotations = manifest.value("annotations", nlohmann::json::object());
    if (annotations.value("org.opencontainers.image.ref.name", "") == tag) return manifest.at("digest");
  }
  throw std::runtime_error(layout + "/index.json has no tag " + tag);
}

std::string build_busybox_image(const std::string& layout, const std::string& tag) {
  const auto result =
      run_command({"bash", std::string(DECKHAND_SOURCE_DIR) + "/tests/fixtures/make-busybox-image.sh", layout, tag});
  if (result.exit_code != 0) throw std::runtime_error("make-busybox-image.sh failed: " + result.err);
  return layout_digest(layout, tag);
}

std::string push_busybox(const LocalRegistry& registry, const std::string& layout, const std::string& repository,
                         const std::string& tag) {
  const std::string digest = build_busybox_image(layout, tag);
  skopeo_push(layout, tag, registry.host() + "/" + repository + ":" + tag);
  return digest;
}

Descriptor push_image(const LocalRegistry& registry, OciLayout& layout, const std::vector<LayerBlob>& layers,
                      const std::string& repository, const std::string& tag, const Platform& platform) {
  const Descriptor manifest = layout.add_image(layers, platform);
  layout.tag(tag, manifest);
  skopeo_push(layout.path(), tag, registry.host() + "/" + repository + ":" + tag);
  return manifest;
}

}  // namespace deckhand::test
