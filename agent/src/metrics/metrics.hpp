// Everything the agent exposes on /metrics: its own families, the process
// collector, and the metrics plugins register through the SDK.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "metrics/process_collector.hpp"
#include "plugins/plugin_metrics.hpp"

namespace deckhand {

// A metric a plugin registered: exactly one of counter/gauge is set.
class PrometheusPluginMetric final : public PluginMetric {
 public:
  void add(double delta) override;
  void set(double value) override;

  int32_t type = 0;
  prometheus::Counter* counter = nullptr;
  prometheus::Gauge* gauge = nullptr;
};

class Metrics final : public PluginMetricsSink {
 public:
  Metrics();

  // Prometheus text exposition format 0.0.4 of every family.
  std::string serialize() const;

  void set_build_info(const std::map<std::string, std::string>& labels);
  void add_plugin_info(const std::string& name, const std::string& kind, const std::string& version,
                       const std::string& abi);
  void set_plugin_loaded(const std::string& name, bool loaded);
  void set_plugin_healthy(const std::string& name, bool healthy);
  void set_ready(bool ready);

  // Pods: apply -> Running latency, counts by phase and container state.
  void observe_pod_start(double seconds);
  void set_pod_counts(const std::map<std::string, double>& by_phase,
                      const std::map<std::string, double>& containers_by_state);
  // Runs before each scrape (to refresh gauges computed on demand).
  void set_collect_hook(std::function<void(Metrics&)> hook);
  void record_plugin_call(const std::string& plugin, const std::string& operation, bool ok,
                          double seconds) override;
  PluginMetric* register_plugin_metric(const std::string& plugin, int32_t type, const std::string& name,
                                       const std::string& help, std::string& error) override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  ProcessCollector process_;
  prometheus::Family<prometheus::Gauge>& build_info_;
  prometheus::Family<prometheus::Gauge>& plugin_info_;
  prometheus::Family<prometheus::Gauge>& plugin_loaded_;
  prometheus::Family<prometheus::Gauge>& plugin_healthy_;
  prometheus::Gauge& ready_;
  prometheus::Family<prometheus::Counter>& plugin_calls_;
  prometheus::Family<prometheus::Histogram>& plugin_call_seconds_;

  prometheus::Histogram& pod_start_seconds_;
  prometheus::Family<prometheus::Gauge>& pods_;
  prometheus::Family<prometheus::Gauge>& containers_;
  mutable std::mutex hook_mutex_;
  std::function<void(Metrics&)> collect_hook_;
  std::mutex plugin_metrics_mutex_;
  struct PluginFamily {
    int32_t type;
    prometheus::Family<prometheus::Counter>* counters = nullptr;
    prometheus::Family<prometheus::Gauge>* gauges = nullptr;
  };
  std::map<std::string, PluginFamily> plugin_families_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<PrometheusPluginMetric>> plugin_metrics_;
};

}  // namespace deckhand
