// The local API's pod routes, Kubernetes-shaped: /api/v1/pods,
// /api/v1/namespaces/{ns}/pods[/{name}[/log]], /api/v1/namespaces/{ns}/events
// and POST /v1/apply (the manifest text as the body). Errors are Status
// objects with Kubernetes' reasons and messages.
#include <nlohmann/json.hpp>

#include "daemon/api_json.hpp"
#include "daemon/pod_service.hpp"
#include "daemon/routes.hpp"
#include "pods/label_selector.hpp"
#include "pods/pod_parse.hpp"

namespace deckhand {
namespace {

using http::bhttp::status;
using http::bhttp::verb;
using nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

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
    const auto selector = query.count("labelSelector") ? query.at("labelSelector") : "";
    if (parts.size() == 3 && parts[2] == "pods" && method == verb::get) {
      respond(http::make_response(request, status::ok, to_text(pods_->list("", selector)), "application/json"));
      return true;
    }
    if (parts.size() >= 5 && parts[2] == "namespaces") {
      const std::string& ns = parts[3];
      if (parts.size() == 5 && parts[4] == "pods" && method == verb::get) {
        respond(http::make_response(request, status::ok, to_text(pods_->list(ns, selector)), "application/json"));
        return true;
      }
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
      if (parts.size() == 7 && parts[4] == "pods" && parts[6] == "log" && method == verb::get) {
        PodService::LogRequest log;
        if (query.count("container")) log.container = query.at("container");
        if (query.count("follow") && query.at("follow") == "true") {
          respond(status_response(request, status::bad_request, "BadRequest", "following logs is not supported yet"));
          return true;
        }
        log.tail_lines = number_parameter(query, "tailLines");
        log.since_seconds = number_parameter(query, "sinceSeconds");
        log.previous = query.count("previous") && query.at("previous") == "true";
        log.timestamps = query.count("timestamps") && query.at("timestamps") == "true";
        try {
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
