#include "storage_fixture.hpp"

#include <deckhand/plugin.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "http_client.hpp"
#include "overlay_mounts.hpp"

namespace deckhand::test {

std::string staged_deckhand() { return std::string(DECKHAND_STAGE_PREFIX) + "/bin/deckhand"; }
std::string staged_storage_plugin() {
  return std::string(DECKHAND_STAGE_PREFIX) + "/lib/deckhand/plugins/libdeckhand-storage-overlay.so";
}

StorageTest::StorageTest()
    : store_root_(dir_ / "store"),
      state_dir_(dir_ / "state"),
      config_path_(dir_ / "config.yaml"),
      agent_port_(free_port()),
      plugin_config_({{"root", store_root_}}) {
  std::filesystem::create_directories(dir_ / "run");
  write_config();
}

StorageTest::~StorageTest() = default;

void StorageTest::write_config() {
  // The plugin's config as a JSON flow mapping, which is YAML too.
  std::ostringstream config;
  config << "listen: 127.0.0.1:" << agent_port_ << "\n"
         << "socket: " << (dir_ / "run/deckhand.sock") << "\n"
         << "state_dir: " << state_dir_ << "\n"
         << "plugin_dir: " << std::filesystem::path(staged_storage_plugin()).parent_path().string() << "\n"
         << "plugins:\n"
         << "  - name: storage-overlay\n"
         << "    path: " << staged_storage_plugin() << "\n"
         << "    required: true\n"
         << "    config: " << plugin_config_.dump() << "\n";
  write_file(config_path_, config.str());
}

void StorageTest::set_plugin_config(const nlohmann::json& extra) {
  plugin_config_.update(extra);
  write_config();
}

void StorageTest::reload_plugin() {
  for (const std::string& id : prepared_) {
    try {
      plugin().call("release_rootfs", {{"container_id", id}});
    } catch (const std::exception& e) {
      ADD_FAILURE() << "release_rootfs " << id << ": " << e.what();
    }
  }
  prepared_.clear();
  plugin_.reset();
}

void StorageTest::TearDown() {
  reload_plugin();
  const auto left = overlay_mounts_under(store_root_);
  EXPECT_TRUE(left.empty()) << left.size() << " overlay mount(s) of the store left, the first at "
                            << (left.empty() ? "" : left.front().mount_point);
  for (const auto& mount : left) ::umount2(mount.mount_point.c_str(), MNT_DETACH);  // so the temp dir can go
}

CommandResult StorageTest::image_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{staged_deckhand(), "image", "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, "", timeout);
}

nlohmann::json StorageTest::list_images() {
  const auto result = image("ls", "--format", "json");
  if (result.exit_code != 0) throw std::runtime_error("deckhand image ls failed: " + result.err);
  return nlohmann::json::parse(result.out);
}

nlohmann::json StorageTest::inspect(const std::string& reference) {
  const auto result = image("inspect", reference);
  if (result.exit_code != 0) throw std::runtime_error("deckhand image inspect " + reference + " failed: " + result.err);
  return nlohmann::json::parse(result.out);
}

std::set<std::string> StorageTest::image_names() {
  std::set<std::string> names;
  for (const auto& image : list_images()) names.insert(image.at("name").get<std::string>());
  return names;
}

cli::LocalPlugin& StorageTest::plugin() {
  if (!plugin_) {
    nlohmann::json config = plugin_config_;
    config.erase("import_dir");  // as `deckhand image` does: only the agent imports
    plugin_ = std::make_unique<cli::LocalPlugin>(staged_storage_plugin(), DH_KIND_STORAGE, config, state_dir_);
  }
  return *plugin_;
}

std::string StorageTest::prepare_rootfs(const std::string& container_id, const std::string& image, bool readonly) {
  const auto result =
      plugin().call("prepare_rootfs", {{"container_id", container_id}, {"image", image}, {"readonly", readonly}});
  if (std::find(prepared_.begin(), prepared_.end(), container_id) == prepared_.end()) prepared_.push_back(container_id);
  return result.at("root").at("path").get<std::string>();
}

void StorageTest::release_rootfs(const std::string& container_id) {
  plugin().call("release_rootfs", {{"container_id", container_id}});
  std::erase(prepared_, container_id);
}

}  // namespace deckhand::test
