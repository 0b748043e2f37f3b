#include "cli/local_plugin.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "plugins/operations.hpp"

namespace deckhand::cli {

using nlohmann::json;

LocalPlugin::LocalPlugin(const std::string& path, int32_t kind, const json& config, const std::string& state_dir) {
  spdlog::set_level(spdlog::level::warn);  // the plugin's start-up notes are not for a CLI's stderr
  PluginConfig entry;
  entry.path = path;
  entry.config_json = config.dump();
  loader_ = std::make_unique<PluginLoader>("/", state_dir, "cli", metrics_);
  plugin_ = loader_->load(entry);
  if (plugin_->kind() != kind) throw std::runtime_error(path + " is not a " + kind_name(kind) + " plugin");
}

LocalPlugin::~LocalPlugin() {
  if (plugin_) plugin_->destroy();
}

json LocalPlugin::call(const std::string& operation, const json& request,
                       std::function<void(const std::string&)> on_progress) {
  const CallResult result = plugin_->call(operation, request.dump(), 0, std::move(on_progress));
  if (!result.ok()) throw std::runtime_error(result.error);
  return json::parse(result.output);
}

}  // namespace deckhand::cli
