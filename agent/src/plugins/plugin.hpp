// One loaded and initialised plugin instance, and the only way agent code
// calls into it. Calls are synchronous; the daemon runs them on worker
// threads (see daemon/plugin_caller.hpp) and measures each one.
#pragma once

#include <deckhand/plugin.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugins/call_context.hpp"

namespace deckhand {

class PluginMetricsSink;

struct PluginInfo {
  std::string name;         // the plugin's id from its descriptor
  std::string kind;         // runtime, network, storage
  std::string version;      // the plugin's own version
  std::string description;
  std::string abi;          // "1.0": the SDK ABI it was built with
  std::string path;         // resolved absolute path of the shared object
};

struct CallResult {
  int32_t status = DH_OK;
  std::string output;   // the plugin's result document when status is DH_OK
  std::string error;    // a message fit for users when status is not DH_OK
  bool ok() const { return status == DH_OK; }
};

class Plugin {
 public:
  Plugin(PluginInfo info, const dh_plugin_descriptor& descriptor, dh_instance* instance,
         std::unique_ptr<HostContext> host, std::shared_ptr<void> library, PluginMetricsSink& metrics);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const PluginInfo& info() const { return info_; }
  int32_t kind() const { return descriptor_.kind; }

  // The kind's operations this plugin implements.
  std::vector<std::string> operations() const;

  // Calls `operation` with a JSON request. deadline_ns (CLOCK_MONOTONIC, 0 =
  // none) is passed to the plugin. Safe to call from several threads.
  CallResult call(const std::string& operation, const std::string& request_json, uint64_t deadline_ns = 0,
                  std::function<void(const std::string&)> on_progress = {});

  // The plugin's health call ("health" in metrics); healthy when it has none.
  CallResult health(uint64_t deadline_ns = 0);

  // Releases the instance (the plugin's destroy). Main thread, after every
  // call has returned; the library itself stays loaded for the process's life.
  void destroy();

 private:
  CallResult finish(const std::string& operation, int32_t status, CallContext& context,
                    std::chrono::steady_clock::time_point started);

  PluginInfo info_;
  dh_plugin_descriptor descriptor_;  // a validated local copy
  dh_instance* instance_;
  std::unique_ptr<HostContext> host_;
  std::shared_ptr<void> library_;    // keeps the library referenced while the instance lives
  PluginMetricsSink& metrics_;
};

}  // namespace deckhand
