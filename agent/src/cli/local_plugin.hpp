// A plugin loaded into the CLI's own process through the SDK, exactly as the
// agent loads it, for the commands that work without the agent (`deckhand
// oci`, `deckhand image`): one-shot, no /metrics, quiet start-up notes.
#pragma once

#include <deckhand/plugin.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "plugins/loader.hpp"
#include "plugins/plugin_metrics.hpp"

namespace deckhand::cli {

class LocalPlugin {
 public:
  // Loads `path` with `config` as the instance's config; `state_dir` is the
  // loader's per-plugin state directory. Throws unless the plugin is `kind`.
  LocalPlugin(const std::string& path, int32_t kind, const nlohmann::json& config, const std::string& state_dir);
  ~LocalPlugin();
  LocalPlugin(const LocalPlugin&) = delete;
  LocalPlugin& operator=(const LocalPlugin&) = delete;

  // The operation's result, or throws std::runtime_error with the plugin's message.
  nlohmann::json call(const std::string& operation, const nlohmann::json& request,
                      std::function<void(const std::string&)> on_progress = {});

 private:
  DiscardedPluginMetrics metrics_;  // a one-shot command has no /metrics
  std::unique_ptr<PluginLoader> loader_;
  std::unique_ptr<Plugin> plugin_;
};

}  // namespace deckhand::cli
