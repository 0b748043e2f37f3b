// JSON bodies of the local API, shared by its routes: text that never throws
// on invalid UTF-8 (plugin-provided strings), and errors as Kubernetes
// Status objects.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "http/server.hpp"

namespace deckhand {

// JSON text of a body that may carry plugin-provided strings: never throws on
// invalid UTF-8, it substitutes U+FFFD instead.
inline std::string to_text(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Errors on the local API have the shape of a Kubernetes Status object.
inline http::Response status_response(const http::Request& request, http::bhttp::status code, const std::string& reason,
                                      const std::string& message) {
  const nlohmann::json body = {{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
                               {"message", message}, {"reason", reason},   {"code", static_cast<int>(code)}};
  return http::make_response(request, code, to_text(body), "application/json");
}

}  // namespace deckhand
