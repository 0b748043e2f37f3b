#include "cli/api_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "util/paths.hpp"

namespace deckhand::cli {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Local = net::local::stream_protocol;

std::string resolve_socket(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("DECKHAND_SOCKET"); env != nullptr && *env != '\0') return env;
  const std::string config_path = default_config_path();
  std::error_code ec;
  if (std::filesystem::exists(config_path, ec)) {
    try {
      return load_config(config_path).socket;
    } catch (const std::exception&) {
      // An unreadable default config is the agent's problem to report, not the CLI's.
    }
  }
  return Config{}.socket;
}

ApiResponse ApiClient::request(const std::string& method, const std::string& target, const std::string& body) const {
  net::io_context io;
  beast::basic_stream<Local> stream(io);
  bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
  request.set(bhttp::field::host, "localhost");
  request.set(bhttp::field::user_agent, "deckhand-cli");
  if (!body.empty()) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64u << 20);
  boost::system::error_code failure;
  std::string stage = "connect";

  stream.expires_after(timeout_);
  stream.async_connect(Local::endpoint(socket_path_), [&](beast::error_code ec) {
    if (ec) return void(failure = ec);
    stage = "send the request";
    bhttp::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
      if (ec) return void(failure = ec);
      stage = "read the answer";
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
        if (ec) failure = ec;
      });
    });
  });
  io.run();
  if (failure) {
    std::string hint;
    if (stage == "connect") hint = " (is the agent running? `deckhand agent` starts it)";
    if (failure == beast::error::timeout) hint = " (timed out)";
    throw ApiUnreachable("cannot " + stage + " to the deckhand agent at " + socket_path_ + ": " + failure.message() + hint);
  }
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

std::string ApiClient::error_message(const ApiResponse& response) {
  const auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    return parsed["message"].get<std::string>();
  }
  return "the agent answered HTTP " + std::to_string(response.status) + ": " + response.body;
}

}  // namespace deckhand::cli
