// Every configured plugin: the ones that loaded and the ones that failed, with
// their errors and last health, in config order (containerd's model: a failed
// plugin stays visible with its error instead of vanishing).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "plugins/loader.hpp"
#include "metrics/metrics.hpp"
#include "plugins/plugin.hpp"

namespace deckhand {

struct PluginEntry {
  PluginConfig config;
  std::string name;        // the plugin's id, or the config's name / file stem if it failed early
  std::string path;        // resolved path
  std::unique_ptr<Plugin> plugin;  // null when loading failed
  std::string load_error;

  // Health, touched only on the event-loop thread.
  bool healthy = false;
  std::string health_message = "not checked yet";
  bool health_in_flight = false;   // the plugin's health call has not returned
  bool health_answered = false;    // ...but its result or its timeout is known
  std::vector<std::function<void()>> health_waiters;  // checks waiting for that answer
};

class PluginSet {
 public:
  // Loads every configured plugin in order and records each outcome in metrics.
  // Returns the error of the first *required* plugin that failed, or "".
  std::string load_all(const std::vector<PluginConfig>& configs, PluginLoader& loader, Metrics& metrics);

  std::vector<std::unique_ptr<PluginEntry>>& entries() { return entries_; }
  const std::vector<std::unique_ptr<PluginEntry>>& entries() const { return entries_; }

  // The entry whose plugin is named `name` (loaded or not).
  PluginEntry* find(const std::string& name);

  // Destroys instances in reverse load order; libraries stay loaded.
  void shutdown();

 private:
  std::vector<std::unique_ptr<PluginEntry>> entries_;
};

}  // namespace deckhand
