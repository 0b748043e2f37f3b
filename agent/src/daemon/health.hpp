// Readiness: every loaded plugin's health call, run concurrently on the worker
// pool with a timeout, folded into one report for /readyz, `deckhand plugins`
// and the metrics. Ready means every *required* plugin loaded and is healthy;
// an optional plugin that is not working makes the agent "degraded", not unready.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "daemon/plugin_caller.hpp"
#include "plugins/plugin_set.hpp"

namespace deckhand {

class Metrics;

struct HealthCheck {
  std::string name;
  bool required = true;
  bool ok = false;
  std::string message;  // "ok" or why not
};

struct HealthReport {
  std::vector<HealthCheck> checks;
  bool ready = true;
  bool degraded = false;

  // The kube-apiserver style body: "[+]plugin dirstore ok" per check, then a verdict.
  std::string text() const;
};

class HealthChecker {
 public:
  HealthChecker(PluginSet& plugins, PluginCaller& caller, Metrics& metrics, std::chrono::milliseconds timeout)
      : plugins_(plugins), caller_(caller), metrics_(metrics), timeout_(timeout) {}

  // Runs every check; `done` gets the report on the event-loop thread.
  void check(std::function<void(const HealthReport&)> done);

 private:
  HealthReport report() const;

  PluginSet& plugins_;
  PluginCaller& caller_;
  Metrics& metrics_;
  std::chrono::milliseconds timeout_;
};

}  // namespace deckhand
