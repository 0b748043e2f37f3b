// Where the plugin host sends what it measures about plugin calls and the
// metrics plugins register through the SDK: the agent's Prometheus registry
// (metrics/metrics.hpp), or nowhere (the CLI's `deckhand oci`). It keeps the
// plugin host free of Prometheus, so the CLI starts without that library.
#pragma once

#include <cstdint>
#include <string>

namespace deckhand {

// One plugin metric (the SDK's dh_metric handle points at one).
class PluginMetric {
 public:
  virtual ~PluginMetric() = default;
  // Counters go up only: a negative delta is ignored.
  virtual void add(double delta) = 0;
  // Gauges only; a counter ignores it.
  virtual void set(double value) = 0;
};

class PluginMetricsSink {
 public:
  virtual ~PluginMetricsSink() = default;
  virtual void record_plugin_call(const std::string& plugin, const std::string& operation, bool ok,
                                  double seconds) = 0;
  // The SDK's metric_register: a family `name` with label plugin=<plugin>.
  // Returns nullptr and sets `error` for a bad name, a reserved name or a type clash.
  virtual PluginMetric* register_plugin_metric(const std::string& plugin, int32_t type, const std::string& name,
                                               const std::string& help, std::string& error) = 0;
};

// Keeps nothing: every registration gets a handle that discards its values.
class DiscardedPluginMetrics final : public PluginMetricsSink {
 public:
  void record_plugin_call(const std::string&, const std::string&, bool, double) override {}
  PluginMetric* register_plugin_metric(const std::string&, int32_t, const std::string&, const std::string&,
                                       std::string&) override {
    return &discarded_;
  }

 private:
  class Discarded final : public PluginMetric {
   public:
    void add(double) override {}
    void set(double) override {}
  };
  Discarded discarded_;
};

}  // namespace deckhand
