// The exec subresource (exec_stream.hpp): the checks before the upgrade, and
// the session that runs the process and moves its bytes after it.
#include "daemon/exec_stream.hpp"

#include <deckhand/plugin.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <thread>
#include <utility>

#include "daemon/api_json.hpp"
#include "daemon/pod_service.hpp"
#include "http/stream_frames.hpp"
#include "util/url_encoding.hpp"
#include "util/unique_fd.hpp"
#include "plugins/plugin.hpp"

namespace deckhand {
namespace {

using http::bhttp::status;
using nlohmann::json;
namespace channel = http::channel;
using Clock = std::chrono::steady_clock;

// After the process exits, output still in flight is forwarded for this long
// at most: a background process that inherited the pipes must not hold the
// stream open (the exec is over when its process is).
constexpr std::chrono::milliseconds kDrainAfterExit{1000};
// How long a terminal's process waits for the client's first window size, so
// that it starts with the right one (the client sends it with the request).
constexpr std::chrono::milliseconds kFirstResizeWait{250};
// Unwritten stdin beyond this stops reading the socket until the process catches up.
constexpr std::size_t kStdinBacklog = 1u << 20;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The process's ends (handed to the runtime, which dups them into it) and the
// agent's: for a terminal, the pty master is both `input` and `output`.
struct ProcessIo {
  Fd child_in, child_out, child_err;
  Fd input;   // the agent writes stdin here (a pipe, or the pty master)
  Fd output;  // stdout (a pipe, or the pty master)
  Fd errors;  // stderr (a pipe; none with a terminal)
  bool tty = false;
};

Fd dev_null(int flags) {
  Fd fd(::open("/dev/null", flags | O_CLOEXEC));
  if (!fd.open()) fail("open /dev/null");
  return fd;
}

// A pipe for one stream: the end the process uses and the agent's end.
std::pair<Fd, Fd> make_pipe(bool process_reads) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) fail("pipe");
  Fd read_end(ends[0]), write_end(ends[1]);
  if (process_reads) return {std::move(read_end), std::move(write_end)};
  return {std::move(write_end), std::move(read_end)};
}

ProcessIo open_process_io(const ExecOptions& options) {
  ProcessIo io;
  io.tty = options.tty;
  if (options.tty) {
    // The agent's own pseudo-terminal (O_NOCTTY: never the agent's
    // controlling tty); the exec helper makes the slave the process's.
    Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master.open()) fail("open a pseudo-terminal");
    char name[128] = {};
    if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 || ::ptsname_r(master.get(), name, sizeof name) != 0) {
      fail("set up the pseudo-terminal");
    }
    Fd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave.open()) fail(std::string("open ") + name);
    io.child_in = Fd(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 0));
    io.child_out = Fd(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 0));
    io.child_err = std::move(slave);
    if (!io.child_in.open() || !io.child_out.open()) fail("dup the pseudo-terminal");
    io.output = Fd(::fcntl(master.get(), F_DUPFD_CLOEXEC, 0));
    if (!io.output.open()) fail("dup the pseudo-terminal");
    io.input = std::move(master);
  } else {
    if (options.stdin_wanted) {
      std::tie(io.child_in, io.input) = make_pipe(true);
    } else {
      io.child_in = dev_null(O_RDONLY);
    }
    if (options.stdout_wanted) {
      std::tie(io.child_out, io.output) = make_pipe(false);
    } else {
      io.child_out = dev_null(O_WRONLY);
    }
    if (options.stderr_wanted) {
      std::tie(io.child_err, io.errors) = make_pipe(false);
    } else {
      io.child_err = dev_null(O_WRONLY);
    }
  }
  for (const Fd* fd : {&io.input, &io.output, &io.errors}) {
    if (fd->open()) set_nonblocking(fd->get());
  }
  return io;
}

std::string command_text(const std::vector<std::string>& command) {
  std::string text;
  for (const std::string& word : command) text += (text.empty() ? "" : " ") + word;
  return text;
}

// The last frame, as the kubelet's remotecommand writes it.
json exit_status(const CallResult& result, const std::vector<std::string>& command) {
  if (!result.ok()) {
    return {{"metadata", json::object()},
            {"status", "Failure"},
            {"reason", "InternalError"},
            {"code", 500},
            {"message", "Internal error occurred: error executing command in container: " + result.error}};
  }
  const json answer = json::parse(result.output, nullptr, false);
  if (!answer.is_object() || !answer.contains("exit_code") || !answer["exit_code"].is_number_integer()) {
    return {{"metadata", json::object()},
            {"status", "Failure"},
            {"reason", "InternalError"},
            {"code", 500},
            {"message", "Internal error occurred: the runtime's exec result has no exit_code: " + result.output.substr(0, 200)}};
  }
  const int code = answer["exit_code"].get<int>();
  if (code == 0) return {{"metadata", json::object()}, {"status", "Success"}};
  return {{"metadata", json::object()},
          {"status", "Failure"},
          {"reason", "NonZeroExitCode"},
          {"details", {{"causes", json::array({{{"reason", "ExitCode"}, {"message", std::to_string(code)}}})}}},
          {"message", "command terminated with non-zero exit code: command '" + command_text(command) + "' exited with " +
                          std::to_string(code)}};
}

// One exec from the upgrade to the exit status. The process runs through the
// plugin's exec (which blocks until it exits) on a thread of its own; this
// thread moves bytes between the socket and the process with poll.
class ExecSession {
 public:
  ExecSession(http::StreamConnection& connection, Plugin& runtime, std::string container_id, ExecOptions options)
      : socket_(connection.fd), runtime_(runtime), id_(std::move(container_id)), options_(std::move(options)) {
    decoder_.feed(connection.already_read);
  }

  void run() {
    try {
      io_ = open_process_io(options_);
    } catch (const std::exception& e) {
      CallResult failed;
      failed.status = DH_ERR_INTERNAL;
      failed.error = e.what();
      http::send_frame(socket_, channel::kError, to_text(exit_status(failed, options_.command)));
      return;
    }
    if (io_.tty) wait_for_first_resize();
    int done[2];
    if (::pipe2(done, O_CLOEXEC) != 0) fail("pipe");
    done_read_ = Fd(done[0]);
    Fd done_write(done[1]);
    const json request = {{"id", id_},
                          {"process", {{"args", options_.command}, {"terminal", io_.tty}}},
                          {"stdio", "fds"},
                          {"stdin_fd", io_.child_in.get()},
                          {"stdout_fd", io_.child_out.get()},
                          {"stderr_fd", io_.child_err.get()}};
    CallResult result;
    std::thread runner([&] {
      result = runtime_.call("exec", request.dump());
      const char byte = 'x';
      while (::write(done_write.get(), &byte, 1) < 0 && errno == EINTR) {
      }
    });
    pump();
    runner.join();  // the plugin call has returned (pump ends only after that)
    if (!client_gone_) http::send_frame(socket_, channel::kError, to_text(exit_status(result, options_.command)));
  }

 private:
  // Applies what the client sent; false when the stream is broken.
  bool handle(const http::Frame& frame) {
    if (frame.channel == channel::kStdin) {
      if (frame.payload.empty()) {
        stdin_closing_ = true;  // closed once what is pending is written
      } else if (io_.input.open()) {
        pending_stdin_ += frame.payload;
      }
    } else if (frame.channel == channel::kResize) {
      resized_ = true;
      const json size = json::parse(frame.payload, nullptr, false);
      if (io_.tty && size.is_object() && size.value("Width", 0) > 0 && size.value("Height", 0) > 0) {
        winsize window{};
        window.ws_col = static_cast<unsigned short>(std::min(size.value("Width", 0), 65535));
        window.ws_row = static_cast<unsigned short>(std::min(size.value("Height", 0), 65535));
        ::ioctl(io_.input.get(), TIOCSWINSZ, &window);
      }
    }
    // Other channels are the agent's to send: ignored, as the kubelet does.
    return true;
  }

  // Reads from the socket and handles every whole frame; false once the
  // client is gone (or sent garbage).
  bool read_socket() {
    char buffer[65536];
    const ssize_t n = ::recv(socket_, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    return handle_buffered();
  }

  bool handle_buffered() {
    try {
      while (auto frame = decoder_.next()) {
        if (!handle(*frame)) return false;
      }
    } catch (const http::FrameError& e) {
      spdlog::warn("exec container={} stream from the client is broken: {}", id_, e.what());
      return false;
    }
    return true;
  }

  void wait_for_first_resize() {
    if (!handle_buffered()) return;
    const auto deadline = Clock::now() + kFirstResizeWait;
    while (!resized_ && Clock::now() < deadline) {
      pollfd item{socket_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&item, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) break;
      if (!read_socket()) {
        client_gone_ = true;
        return;
      }
    }
  }

  // Forwards one read of the process's output; false at its end.
  bool forward(Fd& from, uint8_t to_channel) {
    char buffer[32768];
    const ssize_t n = ::read(from.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;  // EOF; EIO from a pty master once every slave is closed
    if (!client_gone_ && !http::send_frame(socket_, to_channel, std::string_view(buffer, static_cast<std::size_t>(n)))) {
      lose_client();
    }
    return true;
  }

  void write_stdin() {
    const ssize_t n = ::write(io_.input.get(), pending_stdin_.data(), pending_stdin_.size());
    if (n > 0) {
      pending_stdin_.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
      pending_stdin_.clear();  // the process closed its stdin: drop what it will never read
      if (!io_.tty) io_.input.reset();
    }
  }

  // The client went away: the process must not wait for it forever. Its
  // stdin ends, its output pipes break (SIGPIPE), and a terminal hangs up
  // (SIGHUP to its session) when the master closes.
  void lose_client() {
    client_gone_ = true;
    pending_stdin_.clear();
    io_.input.reset();
    io_.output.reset();
    io_.errors.reset();
  }

  void pump() {
    std::optional<Clock::time_point> drain_until;
    for (;;) {
      if (stdin_closing_ && pending_stdin_.empty() && io_.input.open() && !io_.tty) io_.input.reset();
      const bool outputs_open = io_.output.open() || io_.errors.open();
      if (drain_until && (!outputs_open || Clock::now() >= *drain_until)) return;
      std::vector<pollfd> items;
      auto watch = [&items](int fd, short events) {
        items.push_back({fd, events, 0});
        return items.size() - 1;
      };
      const std::size_t none = SIZE_MAX;
      const std::size_t at_socket = !client_gone_ && pending_stdin_.size() < kStdinBacklog ? watch(socket_, POLLIN) : none;
      const std::size_t at_input = io_.input.open() && !pending_stdin_.empty() ? watch(io_.input.get(), POLLOUT) : none;
      const std::size_t at_output = io_.output.open() ? watch(io_.output.get(), POLLIN) : none;
      const std::size_t at_errors = io_.errors.open() ? watch(io_.errors.get(), POLLIN) : none;
      const std::size_t at_done = !drain_until ? watch(done_read_.get(), POLLIN) : none;
      int timeout = -1;
      if (drain_until) {
        timeout = static_cast<int>(
            std::max<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(*drain_until - Clock::now()).count(), 0));
      }
      if (::poll(items.data(), items.size(), timeout) < 0) {
        if (errno == EINTR) continue;
        fail("poll");
      }
      auto ready = [&items, none](std::size_t at, short events = POLLIN | POLLHUP | POLLERR) {
        return at != none && (items[at].revents & events) != 0;
      };
      if (ready(at_socket) && !read_socket()) lose_client();
      if (ready(at_input, POLLOUT | POLLERR | POLLHUP) && io_.input.open()) write_stdin();
      if (ready(at_output) && io_.output.open() && !forward(io_.output, channel::kStdout)) io_.output.reset();
      if (ready(at_errors) && io_.errors.open() && !forward(io_.errors, channel::kStderr)) io_.errors.reset();
      if (ready(at_done)) {
        // The process has exited: the agent's copies of its ends go, so that
        // reading meets end-of-file once nothing in the container holds them.
        io_.child_in.reset();
        io_.child_out.reset();
        io_.child_err.reset();
        io_.input.reset();
        pending_stdin_.clear();
        drain_until = Clock::now() + kDrainAfterExit;
      }
    }
  }

  int socket_;
  Plugin& runtime_;
  std::string id_;
  ExecOptions options_;
  http::FrameDecoder decoder_;
  ProcessIo io_;
  Fd done_read_;
  std::string pending_stdin_;
  bool stdin_closing_ = false;
  bool resized_ = false;
  bool client_gone_ = false;
};

bool boolean_parameter(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0" || value.empty()) return false;
  throw std::invalid_argument(key + " must be true or false, not \"" + value + "\"");
}

bool asks_for_exec_upgrade(const http::Request& request) {
  std::string upgrade(request[http::bhttp::field::upgrade]);
  std::transform(upgrade.begin(), upgrade.end(), upgrade.begin(), [](unsigned char c) { return std::tolower(c); });
  return upgrade.find(http::kExecProtocol) != std::string::npos;
}

}  // namespace

ExecOptions parse_exec_options(const std::string& target) {
  ExecOptions options;
  const auto question = target.find('?');
  const std::string_view query = question == std::string::npos ? std::string_view() : std::string_view(target).substr(question + 1);
  std::size_t start = 0;
  while (start < query.size()) {
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::string_view pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    const std::size_t equals = pair.find('=');
    const std::string key = url_decode(pair.substr(0, equals));
    const std::string value = equals == std::string_view::npos ? "" : url_decode(pair.substr(equals + 1));
    if (key == "command") {
      options.command.push_back(value);
    } else if (key == "container") {
      options.container = value;
    } else if (key == "stdin") {
      options.stdin_wanted = boolean_parameter(key, value);
    } else if (key == "stdout") {
      options.stdout_wanted = boolean_parameter(key, value);
    } else if (key == "stderr") {
      options.stderr_wanted = boolean_parameter(key, value);
    } else if (key == "tty") {
      options.tty = boolean_parameter(key, value);
    }
  }
  if (options.command.empty()) throw std::invalid_argument("you must specify at least one command for the container");
  if (options.tty) options.stderr_wanted = false;  // the terminal carries both, as the kubelet does
  if (!options.stdin_wanted && !options.stdout_wanted && !options.stderr_wanted) {
    throw std::invalid_argument("you must specify at least 1 of stdin, stdout, stderr");
  }
  return options;
}

void serve_exec(const http::Request& request, http::Responder& respond, PodService& pods, const std::string& ns, const std::string& name) {
  if (request.method() != http::bhttp::verb::post && request.method() != http::bhttp::verb::get) {
    respond(status_response(request, status::method_not_allowed, "MethodNotAllowed", "exec is a POST (or GET) with an upgrade"));
    return;
  }
  if (!asks_for_exec_upgrade(request)) {
    respond(status_response(request, status::bad_request, "BadRequest",
                            std::string("Upgrade request required: send Connection: Upgrade and Upgrade: ") + http::kExecProtocol));
    return;
  }
  ExecOptions options;
  try {
    options = parse_exec_options(std::string(request.target()));
  } catch (const std::invalid_argument& e) {
    respond(status_response(request, status::bad_request, "BadRequest", e.what()));
    return;
  }
  const PodService::ExecTarget target = pods.exec_target(ns, name, options.container);
  if (target.http_status != 0) {
    const bool missing = target.http_status == 404;
    respond(status_response(request, missing ? status::not_found : status::bad_request, missing ? "NotFound" : "BadRequest",
                            target.message));
    return;
  }
  Plugin* runtime = &pods.runtime_plugin();
  const std::vector<std::string> operations = runtime->operations();
  if (std::find(operations.begin(), operations.end(), "exec") == operations.end()) {
    respond(status_response(request, status::not_implemented, "NotImplemented", "the runtime plugin does not implement exec"));
    return;
  }
  spdlog::info("exec pod={}/{} container={} tty={} stdin={} command={}", ns, name, target.container_id, options.tty,
               options.stdin_wanted, json(options.command).dump(-1, ' ', false, json::error_handler_t::replace));
  http::Response head{status::switching_protocols, request.version()};
  head.set(http::bhttp::field::upgrade, http::kExecProtocol);
  head.set(http::bhttp::field::connection, "Upgrade");
  respond.stream(std::move(head), [runtime, id = target.container_id, options](http::StreamConnection& connection) {
    ExecSession(connection, *runtime, id, options).run();
  });
}

}  // namespace deckhand
