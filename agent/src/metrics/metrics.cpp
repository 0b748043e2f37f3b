#include "metrics/metrics.hpp"

#include <deckhand/plugin.h>
#include <prometheus/text_serializer.h>

#include <regex>

namespace deckhand {
namespace {

// Latency buckets for plugin calls: 100 µs to ~100 s, a factor of 4 apart.
prometheus::Histogram::BucketBoundaries call_buckets() {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double b = 0.0001; b < 200; b *= 4) bounds.push_back(b);
  return bounds;
}

bool reserved_name(const std::string& name) {
  static const char* const reserved[] = {"process_", "deckhand_build_", "deckhand_plugin_info",
                                         "deckhand_plugin_loaded", "deckhand_plugin_healthy",
                                         "deckhand_plugin_call", "deckhand_ready"};
  for (const char* prefix : reserved) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// prometheus-cpp writes help text as given, and one stray backslash or control
// character breaks the whole exposition. Keep the format's two escapes (\\ and
// \n), escape any other backslash, blank out control characters.
std::string exposition_help(const std::string& help) {
  std::string out;
  for (std::size_t i = 0; i < help.size(); ++i) {
    const char c = help[i];
    if (c == '\\') {
      const bool escape = i + 1 < help.size() && (help[i + 1] == 'n' || help[i + 1] == '\\');
      out += escape ? std::string{c, help[++i]} : std::string("\\\\");
    } else {
      out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
  }
  return out;
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      build_info_(prometheus::BuildGauge()
                      .Name("deckhand_build_info")
                      .Help("Build of the running agent; the value is always 1.")
                      .Register(*registry_)),
      plugin_info_(prometheus::BuildGauge()
                       .Name("deckhand_plugin_info")
                       .Help("A loaded plugin: its name, kind, version and SDK ABI; the value is always 1.")
                       .Register(*registry_)),
      plugin_loaded_(prometheus::BuildGauge()
                         .Name("deckhand_plugin_loaded")
                         .Help("1 if the configured plugin loaded and initialised, 0 if it failed.")
                         .Register(*registry_)),
      plugin_healthy_(prometheus::BuildGauge()
                          .Name("deckhand_plugin_healthy")
                          .Help("1 if the plugin's last health check passed, 0 if not.")
                          .Register(*registry_)),
      ready_(prometheus::BuildGauge()
                 .Name("deckhand_ready")
                 .Help("1 if the agent is ready (every required plugin healthy), 0 if not.")
                 .Register(*registry_)
                 .Add({})),
      plugin_calls_(prometheus::BuildCounter()
                        .Name("deckhand_plugin_calls_total")
                        .Help("Calls into plugins by plugin, operation and result (ok or error).")
                        .Register(*registry_)),
      plugin_call_seconds_(prometheus::BuildHistogram()
                               .Name("deckhand_plugin_call_duration_seconds")
                               .Help("Latency of calls into plugins by plugin and operation.")
                               .Register(*registry_)),
      pod_start_seconds_(prometheus::BuildHistogram()
                             .Name("deckhand_pod_start_duration_seconds")
                             .Help("From a pod's acceptance (apply, or the agent reading its manifest) until all its "
                                   "containers run, as the kubelet's kubelet_pod_start_duration_seconds.")
                             .Register(*registry_)
                             .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                              1, 2.5, 5, 10, 30, 60, 120})),
      pods_(prometheus::BuildGauge()
                .Name("deckhand_pods")
                .Help("Pods of this node by phase (Pending, Running, Succeeded, Failed).")
                .Register(*registry_)),
      containers_(prometheus::BuildGauge()
                      .Name("deckhand_containers")
                      .Help("Containers of this node's pods by state (waiting, running, terminated).")
                      .Register(*registry_)) {
  for (const char* phase : {"Pending", "Running", "Succeeded", "Failed"}) pods_.Add({{"phase", phase}});
  for (const char* state : {"waiting", "running", "terminated"}) containers_.Add({{"state", state}});
}

void Metrics::observe_pod_start(double seconds) { pod_start_seconds_.Observe(seconds); }

void Metrics::set_collect_hook(std::function<void(Metrics&)> hook) {
  std::lock_guard lock(hook_mutex_);
  collect_hook_ = std::move(hook);
}

void Metrics::set_pod_counts(const std::map<std::string, double>& by_phase,
                             const std::map<std::string, double>& containers_by_state) {
  for (const auto& [phase, count] : by_phase) pods_.Add({{"phase", phase}}).Set(count);
  for (const auto& [state, count] : containers_by_state) containers_.Add({{"state", state}}).Set(count);
}

std::string Metrics::serialize() const {
  {
    std::lock_guard lock(hook_mutex_);
    if (collect_hook_) collect_hook_(const_cast<Metrics&>(*this));
  }
  auto families = registry_->Collect();
  auto process = process_.Collect();
  families.insert(families.end(), process.begin(), process.end());
  return prometheus::TextSerializer().Serialize(families);
}

void PrometheusPluginMetric::add(double delta) {
  if (counter != nullptr) {
    if (delta >= 0) counter->Increment(delta);  // counters never go down
  } else if (gauge != nullptr) {
    gauge->Increment(delta);
  }
}

void PrometheusPluginMetric::set(double value) {
  if (gauge != nullptr) gauge->Set(value);
}

void Metrics::set_build_info(const std::map<std::string, std::string>& labels) {
  build_info_.Add(labels).Set(1);
}

void Metrics::add_plugin_info(const std::string& name, const std::string& kind, const std::string& version,
                              const std::string& abi) {
  plugin_info_.Add({{"name", name}, {"kind", kind}, {"version", version}, {"abi", abi}}).Set(1);
}

void Metrics::set_plugin_loaded(const std::string& name, bool loaded) {
  plugin_loaded_.Add({{"name", name}}).Set(loaded ? 1 : 0);
}

void Metrics::set_plugin_healthy(const std::string& name, bool healthy) {
  plugin_healthy_.Add({{"name", name}}).Set(healthy ? 1 : 0);
}

void Metrics::set_ready(bool ready) { ready_.Set(ready ? 1 : 0); }

void Metrics::record_plugin_call(const std::string& plugin, const std::string& operation, bool ok,
                                 double seconds) {
  plugin_calls_.Add({{"plugin", plugin}, {"operation", operation}, {"result", ok ? "ok" : "error"}}).Increment();
  static const auto buckets = call_buckets();
  plugin_call_seconds_.Add({{"plugin", plugin}, {"operation", operation}}, buckets).Observe(seconds);
}

PluginMetric* Metrics::register_plugin_metric(const std::string& plugin, int32_t type, const std::string& name,
                                              const std::string& help, std::string& error) {
  static const std::regex valid_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
  if (!std::regex_match(name, valid_name)) {
    error = "metric name \"" + name + "\" is not a valid Prometheus name";
    return nullptr;
  }
  if (name.rfind("__", 0) == 0) {
    error = "metric name \"" + name + "\" starts with __, which Prometheus reserves";
    return nullptr;
  }
  if (reserved_name(name)) {
    error = "metric name \"" + name + "\" is reserved for the agent";
    return nullptr;
  }
  if (type != DH_METRIC_COUNTER && type != DH_METRIC_GAUGE) {
    error = "metric \"" + name + "\": unknown metric type " + std::to_string(type);
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(plugin_metrics_mutex_);
  auto key = std::make_pair(name, plugin);
  if (auto it = plugin_metrics_.find(key); it != plugin_metrics_.end()) {
    if (it->second->type != type) {
      error = "metric \"" + name + "\" is already registered with another type";
      return nullptr;
    }
    return it->second.get();
  }
  auto family = plugin_families_.find(name);
  if (family == plugin_families_.end()) {
    PluginFamily created{type};
    const std::string safe_help = exposition_help(help);
    try {
      if (type == DH_METRIC_COUNTER) {
        created.counters = &prometheus::BuildCounter().Name(name).Help(safe_help).Register(*registry_);
      } else {
        created.gauges = &prometheus::BuildGauge().Name(name).Help(safe_help).Register(*registry_);
      }
    } catch (const std::exception& e) {
      // Never let the library's exception reach plugin code across the C ABI.
      error = "metric \"" + name + "\" not registered: " + e.what();
      return nullptr;
    }
    family = plugin_families_.emplace(name, created).first;
  } else if (family->second.type != type) {
    error = "metric \"" + name + "\" is already registered with another type by another plugin";
    return nullptr;
  }
  auto metric = std::make_unique<PrometheusPluginMetric>();
  metric->type = type;
  if (type == DH_METRIC_COUNTER) {
    metric->counter = &family->second.counters->Add({{"plugin", plugin}});
  } else {
    metric->gauge = &family->second.gauges->Add({{"plugin", plugin}});
  }
  return plugin_metrics_.emplace(key, std::move(metric)).first->second.get();
}

}  // namespace deckhand
