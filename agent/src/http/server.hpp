// A small asynchronous HTTP/1.1 server on Boost.Beast, for TCP (health and
// metrics) and for unix sockets (the local API). One session per connection,
// keep-alive, bounded header and body sizes, idle timeouts and a cap on
// concurrent connections, because every byte that arrives is untrusted.
// A handler may also answer with a stream (http/stream.hpp): the head, then
// the connection is the handler's on a thread of its own.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

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
#include <thread>

#include "http/stream.hpp"

namespace deckhand::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
// Sends the response; call exactly once, from any thread: either with a
// whole response, or with stream() for a response that goes on after its head.
class Responder {
 public:
  using Send = std::function<void(Response)>;
  using TakeOver = std::function<void(Response, Stream)>;
  Responder(Send send, TakeOver take_over) : send_(std::move(send)), take_over_(std::move(take_over)) {}
  void operator()(Response response) const { send_(std::move(response)); }
  // Writes `head` without a length (the body ends when the connection does,
  // or the head switches protocols), then runs `stream` on the connection.
  void stream(Response head, Stream stream) const { take_over_(std::move(head), std::move(stream)); }

 private:
  Send send_;
  TakeOver take_over_;
};
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

  // No new connections, and every stream's socket shut down.
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    streams_->shut_down_all();
  }

  // After stop(): waits for the streams' threads to return; false on timeout.
  bool wait_for_streams(std::chrono::milliseconds timeout) { return streams_->wait_empty(timeout); }

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
    std::make_shared<Session>(std::move(socket), handler_, limits_, active_, streams_)->run();
  }

  net::io_context& io_;
  typename Protocol::acceptor acceptor_;
  Handler handler_;
  Limits limits_;
  Admit admit_;
  std::shared_ptr<std::atomic<std::size_t>> active_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<StreamSet> streams_ = std::make_shared<StreamSet>();
};

template <class Protocol>
class Server<Protocol>::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, Handler handler, Limits limits, std::shared_ptr<std::atomic<std::size_t>> active,
          std::shared_ptr<StreamSet> streams)
      : stream_(std::move(socket)),
        handler_(std::move(handler)),
        limits_(limits),
        active_(std::move(active)),
        streams_(std::move(streams)) {
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
    handler_(std::move(request),
             Responder(
                 [self](Response response) {
                   net::post(self->stream_.get_executor(),
                             [self, response = std::move(response)]() mutable { self->write(std::move(response)); });
                 },
                 [self](Response head, Stream stream) {
                   net::post(self->stream_.get_executor(),
                             [self, head = std::move(head), stream = std::move(stream)]() mutable {
                               self->write_stream_head(std::move(head), std::move(stream));
                             });
                 }));
  }

  void write_stream_head(Response head, Stream stream) {
    response_ = std::make_shared<Response>(std::move(head));
    response_->keep_alive(false);
    response_->body().clear();
    serializer_.emplace(*response_);
    stream_.expires_after(limits_.idle_timeout);
    bhttp::async_write_header(stream_, *serializer_,
                              [self = this->shared_from_this(), stream = std::move(stream)](
                                  beast::error_code ec, std::size_t) mutable {
                                if (ec) return self->close();
                                self->hand_over(std::move(stream));
                              });
  }

  // The socket leaves the event loop: a blocking copy of it goes to the
  // stream's own thread, which still counts as one of the open connections.
  void hand_over(Stream stream) {
    stream_.expires_never();
    const int fd = ::fcntl(stream_.socket().native_handle(), F_DUPFD_CLOEXEC, 0);
    close();
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (!streams_->add(fd)) {
      ::close(fd);
      return;
    }
    StreamConnection connection{fd, beast::buffers_to_string(buffer_.data())};
    ++*active_;
    std::thread([connection = std::move(connection), stream = std::move(stream), streams = streams_,
                 active = active_]() mutable {
      try {
        stream(connection);
      } catch (const std::exception& e) {
        spdlog::warn("http stream ended with an error: {}", e.what());
      }
      streams->remove(connection.fd);
      ::shutdown(connection.fd, SHUT_RDWR);
      ::close(connection.fd);
      --*active;
    }).detach();
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
    if (!serializer_) stream_.socket().shutdown(Socket::shutdown_send, ignored);  // a handed-over stream goes on
    stream_.socket().close(ignored);
  }

  beast::basic_stream<Protocol> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::optional<bhttp::response_serializer<bhttp::string_body>> serializer_;  // a stream's head
  Handler handler_;
  Limits limits_;
  std::shared_ptr<std::atomic<std::size_t>> active_;  // sessions may end on a worker thread
  std::shared_ptr<StreamSet> streams_;
  bool keep_alive_ = true;
  bool head_ = false;
};

}  // namespace deckhand::http
