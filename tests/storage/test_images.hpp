// The images the storage tests pull: busybox built by umoci
// (tests/fixtures/make-busybox-image.sh) and images made layer by layer with
// OciLayout, pushed to a LocalRegistry with skopeo.
#pragma once

#include <string>
#include <vector>

#include "local_registry.hpp"
#include "oci_layout.hpp"

namespace deckhand::test {

// The manifest (or index) digest index.json names for `tag`.
std::string layout_digest(const std::string& layout, const std::string& tag);

// Builds busybox with umoci into `layout` under `tag`; returns its manifest digest.
std::string build_busybox_image(const std::string& layout, const std::string& tag);

// Builds busybox and pushes it as <registry>/<repository>:<tag>; returns the manifest digest.
std::string push_busybox(const LocalRegistry& registry, const std::string& layout, const std::string& repository,
                         const std::string& tag);

// Tags an image of `layers` in `layout` and pushes it as <registry>/<repository>:<tag>.
Descriptor push_image(const LocalRegistry& registry, OciLayout& layout, const std::vector<LayerBlob>& layers,
                      const std::string& repository, const std::string& tag, const Platform& platform = {});

}  // namespace deckhand::test
