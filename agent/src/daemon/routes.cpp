#include "daemon/routes.hpp"

#include <deckhand/plugin.h>

#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "daemon/api_json.hpp"

namespace deckhand {
namespace {

using http::bhttp::status;
using nlohmann::json;

constexpr std::chrono::minutes kApiCallTimeout{2};

std::pair<status, const char*> http_status_for(int32_t plugin_status) {
  switch (plugin_status) {
    case DH_ERR_INVALID_ARGUMENT: return {status::bad_request, "BadRequest"};
    case DH_ERR_NOT_FOUND: return {status::not_found, "NotFound"};
    case DH_ERR_ALREADY_EXISTS: return {status::conflict, "AlreadyExists"};
    case DH_ERR_FAILED_PRECONDITION: return {status::conflict, "Conflict"};
    case DH_ERR_PERMISSION_DENIED: return {status::forbidden, "Forbidden"};
    case DH_ERR_RESOURCE_EXHAUSTED: return {status::too_many_requests, "TooManyRequests"};
    case DH_ERR_UNAVAILABLE: return {status::service_unavailable, "ServiceUnavailable"};
    case DH_ERR_DEADLINE_EXCEEDED: return {status::gateway_timeout, "Timeout"};
    case DH_ERR_UNIMPLEMENTED: return {status::not_implemented, "NotImplemented"};
    default: return {status::internal_server_error, "InternalError"};
  }
}

std::string path_of(const http::Request& request) {
  const std::string target(request.target());
  return target.substr(0, target.find('?'));
}

}  // namespace

void Routes::probes(http::Request&& request, http::Responder respond) {
  const std::string path = path_of(request);
  if (request.method() != http::bhttp::verb::get && request.method() != http::bhttp::verb::head) {
    return respond(http::make_response(request, status::method_not_allowed, "method not allowed\n"));
  }
  if (path == "/healthz") return respond(http::make_response(request, status::ok, "ok\n"));
  if (path == "/metrics") {
    return respond(http::make_response(request, status::ok, metrics_.serialize(),
                                       "text/plain; version=0.0.4; charset=utf-8"));
  }
  if (path == "/readyz") {
    health_.check([request = std::move(request), respond](const HealthReport& report) {
      respond(http::make_response(request, report.ready ? status::ok : status::service_unavailable, report.text()));
    });
    return;
  }
  respond(http::make_response(request, status::not_found, "not found: " + path + "\n"));
}

void Routes::api(http::Request&& request, http::Responder respond) {
  const std::string path = path_of(request);
  const auto method = request.method();
  if (path == "/healthz" && method == http::bhttp::verb::get) {
    return respond(http::make_response(request, status::ok, "ok\n"));
  }
  if (path == "/v1/version" && method == http::bhttp::verb::get) {
    json body = {{"version", build::kVersion},
                 {"gitCommit", build::kGitCommit},
                 {"buildType", build::kBuildType},
                 {"compiler", build::kCompiler},
                 {"abi", std::to_string(DH_ABI_MAJOR) + "." + std::to_string(DH_ABI_MINOR)},
                 {"fingerprint", DH_BUILD_FINGERPRINT}};
    return respond(http::make_response(request, status::ok, to_text(body), "application/json"));
  }
  if (path == "/v1/plugins" && method == http::bhttp::verb::get) return list_plugins(request, respond);
  if (pod_api(request, path, respond)) return;
  // /v1/plugins/<name>/<operation>
  const std::string prefix = "/v1/plugins/";
  if (path.rfind(prefix, 0) == 0) {
    const std::string rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (slash != std::string::npos && rest.find('/', slash + 1) == std::string::npos) {
      if (method != http::bhttp::verb::post) {
        return respond(status_response(request, status::method_not_allowed, "MethodNotAllowed",
                                       "plugin calls are POST requests"));
      }
      return call_plugin(request, rest.substr(0, slash), rest.substr(slash + 1), respond);
    }
  }
  respond(status_response(request, status::not_found, "NotFound", "no such API path: " + path));
}

void Routes::list_plugins(const http::Request& request, http::Responder respond) {
  health_.check([this, request, respond](const HealthReport& report) {
    json list = json::array();
    for (const auto& entry : plugins_.entries()) {
      json item = {{"name", entry->name},
                   {"path", entry->path},
                   {"required", entry->config.required},
                   {"loaded", entry->plugin != nullptr},
                   {"healthy", entry->healthy},
                   {"health", entry->health_message}};
      if (entry->plugin) {
        const PluginInfo& info = entry->plugin->info();
        item["kind"] = info.kind;
        item["version"] = info.version;
        item["abi"] = info.abi;
        item["description"] = info.description;
        item["operations"] = entry->plugin->operations();
      } else {
        item["error"] = entry->load_error;
      }
      list.push_back(std::move(item));
    }
    json body = {{"plugins", list}, {"ready", report.ready}, {"degraded", report.degraded}};
    respond(http::make_response(request, status::ok, to_text(body), "application/json"));
  });
}

void Routes::call_plugin(const http::Request& request, const std::string& name, const std::string& operation,
                         http::Responder respond) {
  PluginEntry* entry = plugins_.find(name);
  if (entry == nullptr) {
    return respond(status_response(request, status::not_found, "NotFound", "plugin \"" + name + "\" is not configured"));
  }
  if (!entry->plugin) {
    return respond(status_response(request, status::service_unavailable, "ServiceUnavailable",
                                   "plugin \"" + name + "\" is not loaded: " + entry->load_error));
  }
  std::string body = request.body().empty() ? "{}" : request.body();
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return respond(status_response(request, status::bad_request, "BadRequest",
                                   "the request body must be a JSON object"));
  }
  caller_.call(*entry->plugin, operation, to_text(parsed), kApiCallTimeout,
               [request, respond, name, operation](CallResult result) {
                 if (result.ok()) {
                   return respond(http::make_response(request, status::ok, result.output + "\n", "application/json"));
                 }
                 const auto [code, reason] = http_status_for(result.status);
                 respond(status_response(request, code, reason, name + " " + operation + ": " + result.error));
               });
}

}  // namespace deckhand
