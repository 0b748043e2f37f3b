// A small asynchronous HTTP/1.1 server on Boost.Beast, for TCP (health and
// metrics) and for unix sockets (the local API). One session per connection,
// keep-alive, bounded header and body sizes, idle timeouts and a cap on
// concurrent connections, because every byte that arrives is untrusted.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <spdlog/spdlog.h>
#include <string>

namespace deckhand::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
// Sends the response; call exactly once, from any thread.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request&&, Responder)>;

struct Limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 256;
  std::chrono::seconds idle_timeout{60};
};

Response make_response(const Request& request, bhttp::status status, std::string body,
                       const std::string& content_type = "text/plain; charset=utf-8");

template <class Protocol>
class Server : public std::enable_shared_from_this<Server<Protocol>> {
 public:
  using Endpoint = typename Protocol::endpoint;
  using Socket = typename Protocol::socket;
  // Decides whether a freshly accepted peer may talk to us (peer credentials).
  using Admit = std::function<bool(Socket&)>;

  Server(net::io_context& io, Handler handler, Limits limits = {}, Admit admit = {})
      : io_(io), acceptor_(io), handler_(std::move(handler)), limits_(limits), admit_(std::move(admit)) {}

  // Binds and listens; throws boost::system::system_error.
  void listen(const Endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    if constexpr (std::is_same_v<Protocol, net::ip::tcp>) {
      acceptor_.set_option(net::socket_base::reuse_address(true));
    }
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  Endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  void start() { accept(); }

  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  class Session;

  void accept() {
    acceptor_.async_accept(net::make_strand(io_), [self = this->shared_from_this()](
                                                      boost::system::error_code ec, Socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) self->admit(std::move(socket));
      self->accept();
    });
  }

  void admit(Socket socket) {
    if (*active_ >= limits_.max_connections) {
      spdlog::warn("http connection refused: {} connections open already", active_->load());
      return;  // closing the socket is the answer
    }
    if (admit_ && !admit_(socket)) return;
    std::make_shared<Session>(std::move(socket), handler_, limits_, active_)->run();
  }

  net::io_context& io_;
  typename Protocol::acceptor acceptor_;
  Handler handler_;
  Limits limits_;
  Admit admit_;
  std::shared_ptr<std::atomic<std::size_t>> active_ = std::make_shared<std::atomic<std::size_t>>(0);
};

template <class Protocol>
class Server<Protocol>::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Handler handler, Limits limits, std::shared_ptr<std::atomic<std::size_t>> active)
      : stream_(std::move(socket)), handler_(std::move(handler)), limits_(limits), active_(std::move(active)) {
    ++*active_;
  }
  ~Session() { --*active_; }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(limits_.max_body_bytes);
    stream_.expires_after(limits_.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
      Request request;
      request.version(11);
      auto response = make_response(request, bhttp::status::payload_too_large, "request too large\n");
      response.keep_alive(false);
      write(std::move(response));
      return;
    }
    if (ec) return close();  // end of stream, timeout or garbage: drop the connection
    Request request = parser_->release();
    keep_alive_ = request.keep_alive();
    head_ = request.method() == bhttp::verb::head;
    auto self = this->shared_from_this();
    handler_(std::move(request), [self](Response response) {
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
    });
  }

  void write(Response response) {
    response_ = std::make_shared<Response>(std::move(response));
    if (!keep_alive_) response_->keep_alive(false);
    response_->prepare_payload();
    // A HEAD answer says how long the body would be, and sends none (RFC 9110 9.3.2).
    if (head_) response_->body().clear();
    stream_.expires_after(limits_.idle_timeout);
    bhttp::async_write(stream_, *response_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec || !self->response_->keep_alive()) return self->close();
                         self->response_.reset();
                         self->read();
                       });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(Socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::basic_stream<Protocol> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Response> response_;
  Handler handler_;
  Limits limits_;
  std::shared_ptr<std::atomic<std::size_t>> active_;  // sessions may end on a worker thread
  bool keep_alive_ = true;
  bool head_ = false;
};

}  // namespace deckhand::http
