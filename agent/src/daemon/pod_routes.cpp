// The local API's pod routes, Kubernetes-shaped: /api/v1/pods,
// /api/v1/namespaces/{ns}/pods[/{name}[/log]] (lists also as watches, logs
// also followed: watch_streams.hpp), /api/v1/namespaces/{ns}/events
// and POST /v1/apply (the manifest text as the body). Errors are Status
// objects with Kubernetes' reasons and messages.
#include <nlohmann/json.hpp>

#include "daemon/api_json.hpp"
#include "daemon/exec_stream.hpp"
#include "daemon/pod_service.hpp"
#include "daemon/routes.hpp"
#include "daemon/watch_streams.hpp"
#include "pods/label_selector.hpp"
#include "pods/pod_parse.hpp"
#include "util/url_encoding.hpp"

namespace deckhand {
namespace {

using http::bhttp::status;
using http::bhttp::verb;
using nlohmann::json;

std::map<std::string, std::string> query_of(const http::Request& request) {
  std::map<std::string, std::string> out;
  const std::string target(request.target());
  const auto question = target.find('?');
  if (question == std::string::npos) return out;
  std::size_t start = question + 1;
  while (start <= target.size()) {
    const auto end = std::min(target.find('&', start), target.size());
    const std::string pair = target.substr(start, end - start);
    const auto equals = pair.find('=');
    if (!pair.empty()) out[url_decode(pair.substr(0, equals))] = equals == std::string::npos ? "" : url_decode(pair.substr(equals + 1));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::optional<int64_t> number_parameter(const std::map<std::string, std::string>& query, const std::string& key) {
  const auto found = query.find(key);
  if (found == query.end() || found->second.empty()) return std::nullopt;
  std::size_t used = 0;
  const long long value = std::stoll(found->second, &used);
  if (used != found->second.size()) throw std::invalid_argument(key + " must be a number");
  return value;
}

// GET /api/v1[/namespaces/{ns}]/pods: the PodList, or with watch=true its
// watch events as a stream (labelSelector and fieldSelector apply to both).
void list_pods(PodService& service, const http::Request& request, const std::map<std::string, std::string>& query,
               const std::string& ns, http::Responder& respond) {
  PodFilter filter;
  filter.namespace_ = ns;
  if (query.count("labelSelector")) filter.label_selector = query.at("labelSelector");
  if (query.count("fieldSelector")) add_field_selector(query.at("fieldSelector"), filter);
  std::vector<json> pods = filtered_pods(service, filter);
  const auto watch = query.find("watch");
  if (watch == query.end() || (watch->second != "true" && watch->second != "1")) {
    json list = {{"kind", "PodList"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"items", json::array()}};
    for (json& pod : pods) list["items"].push_back(std::move(pod));
    respond(http::make_response(request, status::ok, to_text(list), "application/json"));
    return;
  }
  PodWatchOptions options;
  options.filter = filter;
  options.initial_events_end = query.count("sendInitialEvents") && query.at("sendInitialEvents") == "true";
  options.timeout_seconds = number_parameter(query, "timeoutSeconds");
  respond.stream(http::make_response(request, status::ok, "", "application/json"),
                 watch_pods_stream(service, std::move(options), std::move(pods)));
}

}  // namespace

bool Routes::pod_api(const http::Request& request, const std::string& path, http::Responder& respond) {
  const bool pod_path = path == "/v1/apply" || path.rfind("/api/v1/", 0) == 0;
  if (!pod_path) return false;
  if (pods_ == nullptr) {
    respond(status_response(request, status::service_unavailable, "ServiceUnavailable",
                        "this agent runs no pods (pods.enabled is false, or no runtime and storage plugin loaded)"));
    return true;
  }
  const auto method = request.method();
  const auto query = query_of(request);
  try {
    if (path == "/v1/apply") {
      if (method != verb::post) {
        respond(status_response(request, status::method_not_allowed, "MethodNotAllowed", "apply is a POST"));
        return true;
      }
      const auto source = query.find("source");
      const json result = pods_->apply(request.body(), source == query.end() ? "<stdin>" : source->second);
      respond(http::make_response(request, status::ok, to_text(result), "application/json"));
      return true;
    }
    const std::vector<std::string> parts = split_path(path);  // api v1 ...
    const bool all_pods = parts.size() == 3 && parts[2] == "pods";
    const bool namespace_pods = parts.size() == 5 && parts[2] == "namespaces" && parts[4] == "pods";
    if ((all_pods || namespace_pods) && method == verb::get) {
      list_pods(*pods_, request, query, all_pods ? "" : parts[3], respond);
      return true;
    }
    if (parts.size() >= 5 && parts[2] == "namespaces") {
      const std::string& ns = parts[3];
      if (parts.size() == 5 && parts[4] == "events" && method == verb::get) {
        std::string name;
        const auto field = query.find("fieldSelector");
        const std::string prefix = "involvedObject.name=";
        if (field != query.end() && field->second.rfind(prefix, 0) == 0) name = field->second.substr(prefix.size());
        respond(http::make_response(request, status::ok, to_text(pods_->events(ns, name)), "application/json"));
        return true;
      }
      if (parts.size() == 6 && parts[4] == "pods") {
        const std::string& name = parts[5];
        if (method == verb::get) {
          const auto pod = pods_->get(ns, name);
          if (!pod) {
            respond(status_response(request, status::not_found, "NotFound", "pods \"" + name + "\" not found"));
          } else {
            respond(http::make_response(request, status::ok, to_text(*pod), "application/json"));
          }
          return true;
        }
        if (method == verb::delete_) {
          std::string message;
          if (!pods_->remove(ns, name, message)) {
            const bool missing = message.find("not found") != std::string::npos;
            respond(status_response(request, missing ? status::not_found : status::conflict, missing ? "NotFound" : "Conflict",
                                message));
          } else {
            const json body = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
                               {"status", "Success"}, {"message", message}};
            respond(http::make_response(request, status::ok, to_text(body), "application/json"));
          }
          return true;
        }
      }
      if (parts.size() == 7 && parts[4] == "pods" && parts[6] == "exec") {
        serve_exec(request, respond, *pods_, ns, parts[5]);  // exec_stream.cpp
        return true;
      }
      if (parts.size() == 7 && parts[4] == "pods" && parts[6] == "log" && method == verb::get) {
        PodService::LogRequest log;
        if (query.count("container")) log.container = query.at("container");
        log.tail_lines = number_parameter(query, "tailLines");
        log.since_seconds = number_parameter(query, "sinceSeconds");
        log.previous = query.count("previous") && query.at("previous") == "true";
        log.timestamps = query.count("timestamps") && query.at("timestamps") == "true";
        try {
          if (query.count("follow") && query.at("follow") == "true") {
            // Resolved here, so a pod or container that is not there is a
            // plain 4xx answer; the stream then reads the file on its own thread.
            PodService::LogTarget target = pods_->log_target(ns, parts[5], log);
            respond.stream(http::make_response(request, status::ok, "", "text/plain; charset=utf-8"),
                           follow_log_stream(*pods_, ns, parts[5], std::move(target), PodService::log_options(log)));
            return true;
          }
          respond(http::make_response(request, status::ok, pods_->logs(ns, parts[5], log), "text/plain; charset=utf-8"));
        } catch (const PodService::LogError& e) {
          respond(status_response(request, static_cast<status>(e.http_status),
                              e.http_status == 404 ? "NotFound" : "BadRequest", e.what()));
        }
        return true;
      }
    }
    respond(status_response(request, status::not_found, "NotFound", "no such API path: " + path));
  } catch (const pods::ManifestError& e) {
    respond(status_response(request, status::bad_request, "BadRequest", e.what()));
  } catch (const pods::SelectorError& e) {
    respond(status_response(request, status::bad_request, "BadRequest", std::string("labelSelector: ") + e.what()));
  } catch (const std::invalid_argument& e) {
    respond(status_response(request, status::bad_request, "BadRequest", e.what()));
  } catch (const std::exception& e) {
    respond(status_response(request, status::internal_server_error, "InternalError", e.what()));
  }
  return true;
}

}  // namespace deckhand
