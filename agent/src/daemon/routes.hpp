// What the agent answers over HTTP. The TCP listener serves the probes and
// metrics (/healthz, /readyz, /metrics, as the kubelet does on 10248); the
// root-only unix socket serves the local API under /v1 that the CLI uses.
#pragma once

#include "daemon/health.hpp"
#include "daemon/plugin_caller.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "plugins/plugin_set.hpp"

namespace deckhand {

class Routes {
 public:
  Routes(Metrics& metrics, PluginSet& plugins, HealthChecker& health, PluginCaller& caller)
      : metrics_(metrics), plugins_(plugins), health_(health), caller_(caller) {}

  void probes(http::Request&& request, http::Responder respond);
  void api(http::Request&& request, http::Responder respond);

 private:
  void list_plugins(const http::Request& request, http::Responder respond);
  void call_plugin(const http::Request& request, const std::string& name, const std::string& operation,
                   http::Responder respond);

  Metrics& metrics_;
  PluginSet& plugins_;
  HealthChecker& health_;
  PluginCaller& caller_;
};

}  // namespace deckhand
