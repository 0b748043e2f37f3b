#include "http/server.hpp"

namespace deckhand::http {

Response make_response(const Request& request, bhttp::status status, std::string body,
                       const std::string& content_type) {
  Response response{status, request.version()};
  response.set(bhttp::field::server, "deckhand");
  response.set(bhttp::field::content_type, content_type);
  response.set(bhttp::field::cache_control, "no-store");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  return response;
}

}  // namespace deckhand::http
