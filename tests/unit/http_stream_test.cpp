// The HTTP server's streams (http/stream.hpp): the head goes out without a
// length, the socket is the stream's on a thread of its own, bytes the client
// pipelined after its request reach the stream, and stopping the server ends
// a stream blocked in a read.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "http/server.hpp"

namespace deckhand::http {
namespace {

using Local = boost::asio::local::stream_protocol;
using namespace std::chrono_literals;

class HttpStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/deckhand-http-stream-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/api.sock";
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      EXPECT_TRUE(server_->wait_for_streams(5s));
    }
    io_.stop();
    if (loop_.joinable()) loop_.join();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  void serve(Handler handler) {
    server_ = std::make_shared<Server<Local>>(io_, std::move(handler));
    server_->listen(Local::endpoint(path_));
    server_->start();
    loop_ = std::thread([this] { io_.run(); });
  }

  int connect_client() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof address.sun_path - 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }

  // Everything the server sends until it closes the connection (or 5 s pass).
  static std::string read_to_end(int fd) {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
    return text;
  }

  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::shared_ptr<Server<Local>> server_;
  std::thread loop_;
  std::string dir_, path_;
};

TEST_F(HttpStreamTest, TheHeadHasNoLengthAndTheBodyEndsWithTheConnection) {
  serve([](Request&& request, Responder respond) {
    respond.stream(make_response(request, bhttp::status::ok, "ignored"), [](StreamConnection& connection) {
      send_all(connection.fd, "line 1\n");
      send_all(connection.fd, "line 2\n");
    });
  });
  const int fd = connect_client();
  ASSERT_TRUE(send_all(fd, "GET /follow HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string text = read_to_end(fd);
  ::close(fd);
  EXPECT_EQ(text.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << text;
  EXPECT_EQ(text.find("Content-Length"), std::string::npos) << text;
  EXPECT_NE(text.find("Connection: close"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.find("\r\n\r\n") + 4), "line 1\nline 2\n");
}

TEST_F(HttpStreamTest, BytesSentRightAfterTheRequestReachTheStream) {
  serve([](Request&& request, Responder respond) {
    Response head = make_response(request, bhttp::status::switching_protocols, "");
    head.set(bhttp::field::upgrade, "test.v1");
    respond.stream(std::move(head), [](StreamConnection& connection) {
      // Echo: first what the server had read already, then the rest.
      std::string received = connection.already_read;
      char buffer[256];
      for (ssize_t n; (n = ::recv(connection.fd, buffer, sizeof buffer, 0)) > 0;) received.append(buffer, static_cast<std::size_t>(n));
      send_all(connection.fd, "echo:" + received);
    });
  });
  const int fd = connect_client();
  ASSERT_TRUE(send_all(fd, "POST /exec HTTP/1.1\r\nHost: x\r\nUpgrade: test.v1\r\nConnection: Upgrade\r\n\r\nearly bytes"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(send_all(fd, " and late ones"));
  ::shutdown(fd, SHUT_WR);
  const std::string text = read_to_end(fd);
  ::close(fd);
  EXPECT_EQ(text.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << text;
  EXPECT_EQ(text.substr(text.find("\r\n\r\n") + 4), "echo:early bytes and late ones");
}

TEST_F(HttpStreamTest, StoppingTheServerEndsAStreamBlockedInARead) {
  std::atomic<bool> returned{false};
  serve([&returned](Request&& request, Responder respond) {
    respond.stream(make_response(request, bhttp::status::ok, ""), [&returned](StreamConnection& connection) {
      char byte;
      while (::recv(connection.fd, &byte, 1, 0) > 0) {
      }
      returned = true;
    });
  });
  const int fd = connect_client();
  ASSERT_TRUE(send_all(fd, "GET /watch HTTP/1.1\r\nHost: x\r\n\r\n"));
  char buffer[512];
  ASSERT_GT(::recv(fd, buffer, sizeof buffer, 0), 0);  // the head: the stream runs now
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned);
  server_->stop();
  EXPECT_TRUE(server_->wait_for_streams(5s));
  EXPECT_TRUE(returned);
  EXPECT_EQ(::recv(fd, buffer, sizeof buffer, 0), 0);  // the client sees the end
  ::close(fd);
}

TEST_F(HttpStreamTest, OrdinaryResponsesKeepTheConnectionAlive) {
  serve([](Request&& request, Responder respond) { respond(make_response(request, bhttp::status::ok, "plain\n")); });
  const int fd = connect_client();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buffer[512];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    ASSERT_GT(n, 0);
    const std::string text(buffer, static_cast<std::size_t>(n));
    EXPECT_NE(text.find("Content-Length: 6"), std::string::npos) << text;
  }
  ::close(fd);
}

}  // namespace
}  // namespace deckhand::http
