#include "plugins/plugin_set.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "metrics/metrics.hpp"

namespace deckhand {

std::string PluginSet::load_all(const std::vector<PluginConfig>& configs, PluginLoader& loader, Metrics& metrics) {
  std::string first_required_error;
  for (const PluginConfig& config : configs) {
    auto entry = std::make_unique<PluginEntry>();
    entry->config = config;
    entry->path = loader.resolve(config.path);
    try {
      entry->plugin = loader.load(config);
      entry->name = entry->plugin->info().name;
      const PluginInfo& info = entry->plugin->info();
      metrics.add_plugin_info(info.name, info.kind, info.version, info.abi);
    } catch (const PluginLoadError& e) {
      // A failed entry is named by its config name or its file, unless that
      // name is taken: then by its place in the list, so it never hides another.
      entry->name = !config.name.empty() ? config.name : std::filesystem::path(config.path).stem().string();
      if (find(entry->name) != nullptr) entry->name = "plugins[" + std::to_string(entries_.size()) + "]";
      entry->load_error = e.what();
      entry->health_message = "not loaded: " + entry->load_error;
      if (config.required) {
        spdlog::error("required plugin failed: {}", entry->load_error);
        if (first_required_error.empty()) first_required_error = entry->load_error;
      } else {
        spdlog::warn("optional plugin failed, running degraded: {}", entry->load_error);
      }
    }
    metrics.set_plugin_loaded(entry->name, entry->plugin != nullptr);
    metrics.set_plugin_healthy(entry->name, false);
    entries_.push_back(std::move(entry));
  }
  return first_required_error;
}

PluginEntry* PluginSet::find(const std::string& name) {
  PluginEntry* failed = nullptr;
  for (auto& entry : entries_) {
    if (entry->name != name) continue;
    if (entry->plugin) return entry.get();  // a loaded plugin wins over a failed entry
    if (failed == nullptr) failed = entry.get();
  }
  return failed;
}

void PluginSet::shutdown() {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if ((*it)->plugin) (*it)->plugin->destroy();
  }
}

}  // namespace deckhand
