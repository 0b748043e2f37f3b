#include "plugins/plugin.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "plugins/plugin_metrics.hpp"
#include "plugins/operations.hpp"

namespace deckhand {

Plugin::Plugin(PluginInfo info, const dh_plugin_descriptor& descriptor, dh_instance* instance,
               std::unique_ptr<HostContext> host, std::shared_ptr<void> library, PluginMetricsSink& metrics)
    : info_(std::move(info)),
      descriptor_(descriptor),
      instance_(instance),
      host_(std::move(host)),
      library_(std::move(library)),
      metrics_(metrics) {}

Plugin::~Plugin() { destroy(); }

std::vector<std::string> Plugin::operations() const {
  std::vector<std::string> offered;
  for (const auto& name : operation_names(descriptor_.kind)) {
    if (find_operation(descriptor_.kind, descriptor_.ops, name) != nullptr) offered.push_back(name);
  }
  return offered;
}

CallResult Plugin::call(const std::string& operation, const std::string& request_json, uint64_t deadline_ns,
                        std::function<void(const std::string&)> on_progress) {
  const auto started = std::chrono::steady_clock::now();
  CallContext context;
  context.deadline_ns = deadline_ns;
  context.on_progress = std::move(on_progress);
  if (instance_ == nullptr) {
    context.error_message = "plugin " + info_.name + " has been shut down";
    return finish(operation, DH_ERR_UNAVAILABLE, context, started);
  }
  const dh_op_fn function = find_operation(descriptor_.kind, descriptor_.ops, operation);
  if (function == nullptr) {
    context.error_message = is_known_operation(descriptor_.kind, operation)
                                ? "plugin " + info_.name + " does not implement " + operation
                                : "a " + info_.kind + " plugin has no operation \"" + operation + "\"";
    return finish(operation, DH_ERR_UNIMPLEMENTED, context, started);
  }
  const int32_t status = function(instance_, context.handle(), request_json.c_str());
  return finish(operation, status, context, started);
}

CallResult Plugin::health(uint64_t deadline_ns) {
  const auto started = std::chrono::steady_clock::now();
  CallContext context;
  context.deadline_ns = deadline_ns;
  if (instance_ == nullptr) {
    context.error_message = "plugin " + info_.name + " has been shut down";
    return finish("health", DH_ERR_UNAVAILABLE, context, started);
  }
  if (descriptor_.health == nullptr) return finish("health", DH_OK, context, started);
  const int32_t status = descriptor_.health(instance_, context.handle());
  return finish("health", status, context, started);
}

CallResult Plugin::finish(const std::string& operation, int32_t status, CallContext& context,
                          std::chrono::steady_clock::time_point started) {
  CallResult result;
  result.status = status;
  if (status == DH_OK && context.output_too_large) {
    result.status = DH_ERR_INTERNAL;
    result.error = "plugin " + info_.name + " returned more than 16 MiB from " + operation;
  } else if (status == DH_OK) {
    result.output = context.output.empty() ? "{}" : std::move(context.output);
    // The result crosses into agent code and onward to users: it must be JSON.
    if (!nlohmann::json::accept(result.output)) {
      result.status = DH_ERR_INTERNAL;
      result.error = "plugin " + info_.name + " returned a result from " + operation + " that is not valid JSON";
      result.output.clear();
    }
  } else {
    result.error = context.error_message.empty() ? status_name(status) : std::move(context.error_message);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // Operation names come from API callers: only known ones become label values.
  const bool known = operation == "health" || is_known_operation(descriptor_.kind, operation);
  metrics_.record_plugin_call(info_.name, known ? operation : "unknown", result.ok(), seconds);
  return result;
}

void Plugin::destroy() {
  if (instance_ == nullptr) return;
  dh_instance* instance = instance_;
  instance_ = nullptr;
  descriptor_.destroy(instance);
  spdlog::debug("plugin destroyed name={}", info_.name);
}

}  // namespace deckhand
