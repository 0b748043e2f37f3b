#include "daemon/health.hpp"

#include <memory>

#include "metrics/metrics.hpp"

namespace deckhand {

std::string HealthReport::text() const {
  std::string body;
  for (const HealthCheck& check : checks) {
    body += check.ok ? "[+]" : "[-]";
    body += "plugin " + check.name + (check.required ? "" : " (optional)") + " ";
    body += check.ok ? "ok" : "failed: " + check.message;
    body += "\n";
  }
  if (!ready) {
    body += "readyz check failed\n";
  } else if (degraded) {
    body += "readyz check passed (degraded: an optional plugin is not working)\n";
  } else {
    body += "readyz check passed\n";
  }
  return body;
}

HealthReport HealthChecker::report() const {
  HealthReport report;
  for (const auto& entry : plugins_.entries()) {
    HealthCheck check{entry->name, entry->config.required, entry->healthy, entry->health_message};
    if (!check.ok) {
      if (check.required) {
        report.ready = false;
      } else {
        report.degraded = true;
      }
    }
    report.checks.push_back(std::move(check));
  }
  return report;
}

void HealthChecker::check(std::function<void(const HealthReport&)> done) {
  auto pending = std::make_shared<std::size_t>(1);  // 1 = this function, released at the end
  auto finish = [this, pending, done = std::move(done)] {
    if (--*pending > 0) return;
    HealthReport result = report();
    metrics_.set_ready(result.ready);
    done(result);
  };
  for (auto& entry_ptr : plugins_.entries()) {
    PluginEntry* entry = entry_ptr.get();
    if (!entry->plugin) continue;  // a load failure stays unhealthy
    if (entry->health_in_flight) {
      // A hung health call must not pile up more blocked workers behind it.
      entry->healthy = false;
      entry->health_message = "the previous health check has not returned yet";
      metrics_.set_plugin_healthy(entry->name, false);
      continue;
    }
    entry->health_in_flight = true;
    ++*pending;
    caller_.health(
        *entry->plugin, timeout_,
        [this, entry, finish](CallResult result) {
          entry->healthy = result.ok();
          entry->health_message = result.ok() ? "ok" : result.error;
          metrics_.set_plugin_healthy(entry->name, entry->healthy);
          finish();
        },
        [entry] { entry->health_in_flight = false; });
  }
  finish();
}

}  // namespace deckhand
