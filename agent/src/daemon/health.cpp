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
      // Never stack a second call behind one that has not returned: wait for
      // its answer, or, if it already timed out, report that timeout again.
      if (!entry->health_answered) {
        ++*pending;
        entry->health_waiters.push_back(finish);
      }
      continue;
    }
    entry->health_in_flight = true;
    entry->health_answered = false;
    ++*pending;
    caller_.health(
        *entry->plugin, timeout_,
        [this, entry, finish](CallResult result) {
          entry->healthy = result.ok();
          entry->health_message = result.ok() ? "ok" : result.error;
          entry->health_answered = true;
          metrics_.set_plugin_healthy(entry->name, entry->healthy);
          auto waiters = std::move(entry->health_waiters);
          entry->health_waiters.clear();
          finish();
          for (auto& waiter : waiters) waiter();
        },
        [entry] { entry->health_in_flight = false; });
  }
  finish();
}

}  // namespace deckhand
