// What the registry tests share: a node's image store driven through the
// staged CLI (`<stage>/bin/deckhand image --config F ...`, the storage plugin
// loaded as the agent loads it), ways to look inside that store, and a
// one-call "build this image and push it" for test images.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci_layout.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test {

std::string staged_deckhand();    // <stage>/bin/deckhand
std::string staged_plugin_dir();  // <stage>/lib/deckhand/plugins

// This machine's platform as image configs spell it (amd64, arm64, ...).
Platform host_platform();

// One node's store, private to a test:
//   <tmp>/config.yaml   the agent config: state_dir and only the storage plugin
//   <tmp>/state         the agent's state_dir
//   <tmp>/store         the storage plugin's root
//   <tmp>/outside       next to the store: a sentinel file that no image may
//                       change, and where escaping entries would land
class NodeStore {
 public:
  // `storage_config` is merged over {"root": <tmp>/store} (registries,
  // auth_file, max_unpacked_bytes, ...).
  explicit NodeStore(const nlohmann::json& storage_config = nlohmann::json::object());

  const std::string& dir() const { return dir_.path(); }
  std::string root() const { return dir_ / "store"; }
  std::string config_path() const { return dir_ / "config.yaml"; }
  std::string outside() const { return dir_ / "outside"; }
  std::string sentinel() const { return dir_ / "outside/sentinel"; }
  // Rewrites config.yaml with another storage config (merged as above).
  void configure(const nlohmann::json& storage_config);

  // `deckhand image --config <config> <args...>`.
  CommandResult image(const std::vector<std::string>& args, const std::string& input = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(180)) const;
  CommandResult pull(const std::string& reference) const;
  // --username U --password-stdin, the password on stdin.
  CommandResult pull_as(const std::string& reference, const std::string& user, const std::string& password) const;

  // Store contents, as paths relative to root().
  std::vector<std::string> image_records() const;      // images/*
  std::vector<std::string> layer_directories() const;  // layers/* but tmp-*
  std::vector<std::string> blobs() const;              // content/blobs/<alg>/*
  // Unfinished work that a failed pull must not leave behind: layers/tmp-*,
  // content/ingest/*, tmp/*.
  std::vector<std::string> leftovers() const;
  // "" when the store holds nothing from a pull: no image record, no layer
  // directory, no blob and none of leftovers(); else what it does hold.
  std::string what_is_left() const;
  // The unpacked directory (<root>/layers/<id>/diff) of the layer made from
  // blob `digest`, from the layers' layer.json records.
  std::optional<std::string> diff_dir_of_blob(const std::string& digest) const;

  // Every path below outside() with its type, size, link count and (for
  // files) contents: equal before and after means nothing changed there.
  std::string outside_snapshot() const;

 private:
  TempDir dir_{"deckhand-registry-test"};
};

// Command, exit code, stdout and stderr, for failure messages.
std::string describe(const CommandResult& result);

// Pulls `reference` on `node` and expects a failure: stderr names the pull
// and holds each of `expected`, and the store holds nothing of it.
void expect_failed_pull(const NodeStore& node, const std::string& reference, const std::vector<std::string>& expected);

struct PushedImage {
  std::string reference;  // host/repository:tag as pushed
  std::vector<LayerBlob> layers;
  Descriptor manifest;
  Descriptor config;
};

// Builds an OCI layout with one layer per entry list (gzip), an image for
// host_platform() and pushes it with skopeo to `reference`
// ("127.0.0.1:5000/repo:tag").
PushedImage push_image(const std::string& reference, const std::vector<std::vector<TarEntry>>& layers,
                       const std::string& credentials = "");
// Pushes a layout made by the caller: `build` adds layers to it and returns them.
PushedImage push_layers(const std::string& reference, const std::function<std::vector<LayerBlob>(OciLayout&)>& build,
                        const std::string& credentials = "");

// A small image's entries: /etc/hello and /bin/tool with known contents.
std::vector<TarEntry> small_tree(const std::string& marker = "hello from deckhand tests\n");

}  // namespace deckhand::test
