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

class PodService;

class Routes {
 public:
  Routes(Metrics& metrics, PluginSet& plugins, HealthChecker& health, PluginCaller& caller, PodService* pods = nullptr)
      : metrics_(metrics), plugins_(plugins), health_(health), caller_(caller), pods_(pods) {}

  void probes(http::Request&& request, http::Responder respond);
  void api(http::Request&& request, http::Responder respond);

 private:
  void list_plugins(const http::Request& request, http::Responder respond);
  // The pod routes (pod_routes.cpp); false when `path` is not one of them.
  bool pod_api(const http::Request& request, const std::string& path, http::Responder& respond);
  void call_plugin(const http::Request& request, const std::string& name, const std::string& operation,
                   http::Responder respond);

  Metrics& metrics_;
  PluginSet& plugins_;
  HealthChecker& health_;
  PluginCaller& caller_;
  PodService* pods_;
};

}  // namespace deckhand
