// One storage test's world: a private state directory and store root, an
// agent config file whose only plugin is the staged storage plugin, the
// staged `deckhand image --config <file> ...` for image commands, and the
// same plugin loaded in-process for root filesystems. TearDown releases
// every root filesystem the test prepared and checks that no overlay mount
// of the store is left.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/local_plugin.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test {

std::string staged_deckhand();         // <stage>/bin/deckhand
std::string staged_storage_plugin();   // <stage>/lib/deckhand/plugins/libdeckhand-storage-overlay.so

class StorageTest : public ::testing::Test {
 protected:
  StorageTest();
  ~StorageTest() override;
  void TearDown() override;

  // Rewrites the config file with more keys in the plugin's config (e.g. import_dir).
  void set_plugin_config(const nlohmann::json& extra);

  // `<stage>/bin/deckhand image --config <config> <args...>`.
  CommandResult image_command(const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout = std::chrono::minutes(5));
  template <typename... Args>
  CommandResult image(const std::string& first, const Args&... rest) {
    return image_command({first, std::string(rest)...});
  }
  // `image ls --format json` and `image inspect REF`, parsed; throw on failure.
  nlohmann::json list_images();
  nlohmann::json inspect(const std::string& reference);
  // The names `image ls` shows.
  std::set<std::string> image_names();

  // Through the in-process plugin; remembered for TearDown.
  std::string prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly = false);
  void release_rootfs(const std::string& container_id);
  cli::LocalPlugin& plugin();
  // As an agent restart would: releases the prepared root filesystems and
  // unloads the in-process plugin; the next call loads it afresh.
  void reload_plugin();

  std::string scratch(const std::string& name) const { return dir_ / name; }  // a path for the test's own files
  const std::string& store_root() const { return store_root_; }
  const std::string& config_path() const { return config_path_; }
  int agent_port() const { return agent_port_; }

 private:
  void write_config();

  TempDir dir_{"deckhand-storage"};
  std::string store_root_, state_dir_, config_path_;
  int agent_port_ = 0;
  nlohmann::json plugin_config_;
  std::unique_ptr<cli::LocalPlugin> plugin_;
  std::vector<std::string> prepared_;
};

}  // namespace deckhand::test
