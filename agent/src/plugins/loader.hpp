// Admits a plugin into the agent: the file checks, dlopen (Boost.DLL,
// RTLD_NOW | RTLD_LOCAL, pinned so it is never unloaded), the descriptor
// handshake and the instance's creation. Every refusal is a PluginLoadError
// whose message names the file and the reason.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "config/config.hpp"
#include "plugins/plugin.hpp"

namespace deckhand {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PluginLoader {
 public:
  PluginLoader(std::string plugin_dir, std::string state_dir, std::string agent_version, PluginMetricsSink& metrics);

  // The absolute path `configured` refers to (relative ones live in plugin_dir).
  std::string resolve(const std::string& configured) const;

  // Loads and initialises one plugin; throws PluginLoadError.
  std::unique_ptr<Plugin> load(const PluginConfig& config);

 private:
  void check_file(const std::string& path, const PluginConfig& config);
  const dh_plugin_descriptor& read_descriptor(const std::string& path, const void* entry_result,
                                              dh_plugin_descriptor& copy) const;

  std::string plugin_dir_;
  std::string state_dir_;
  std::string agent_version_;
  PluginMetricsSink& metrics_;
  std::map<std::pair<dev_t, ino_t>, std::string> loaded_files_;  // file identity -> path
  std::map<std::string, std::string> loaded_names_;              // plugin id -> path
};

}  // namespace deckhand
