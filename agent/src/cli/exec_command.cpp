// `deckhand exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARGS...]`, as
// kubectl exec: looks the pod up (defaulting the container as kubectl does),
// opens the agent's exec stream (exec_connection.hpp) and pumps it: stdin to
// channel 0 with -i, channels 1 and 2 to stdout and stderr, window sizes to
// channel 4 with a terminal, and the Status on channel 3 becomes the exit
// code ("command terminated with exit code N" on stderr when it is not 0).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/api_client.hpp"
#include "cli/commands.hpp"
#include "cli/exec_connection.hpp"
#include "cli/json_access.hpp"
#include "http/stream_frames.hpp"
#include "util/url_encoding.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;
namespace channel = http::channel;

namespace {

const char* const kExecUsage = R"(Execute a command in a container, as kubectl exec does.

Usage:
  deckhand exec [-i] [-t] POD [-c CONTAINER] [-n NS] -- COMMAND [ARGS...]

The command's output streams back live and its exit code is deckhand's.
-i passes standard input; -t (with -i, from a terminal) runs the command on a
terminal, with the local one in raw mode and its window size passed along.)";


// kubectl's line for a Status error from the API server.
int report_server_error(const ApiResponse& response) {
  const json status = json::parse(response.body, nullptr, false);
  if (text(status, "kind") != "Status" || text(status, "message").empty()) return fail(ApiClient::error_message(response));
  const std::string reason = text(status, "reason").empty() ? "InternalError" : text(status, "reason");
  std::cerr << "Error from server (" << reason << "): " << text(status, "message") << "\n";
  return 1;
}

// The local terminal in raw mode while a remote terminal runs, restored on
// every way out (return, SIGTERM, SIGHUP, SIGQUIT).
struct termios g_saved_terminal;
volatile sig_atomic_t g_terminal_raw = 0;
int g_winch_pipe[2] = {-1, -1};

void restore_terminal() {
  if (g_terminal_raw != 0) {
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &g_saved_terminal);
    g_terminal_raw = 0;
  }
}

void on_fatal_signal(int signal_number) {
  restore_terminal();
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

void on_window_change(int) {
  const int saved = errno;
  const char byte = 'w';
  [[maybe_unused]] const ssize_t ignored = ::write(g_winch_pipe[1], &byte, 1);
  errno = saved;
}

bool make_terminal_raw() {
  if (::tcgetattr(STDIN_FILENO, &g_saved_terminal) != 0) return false;
  struct termios raw = g_saved_terminal;
  ::cfmakeraw(&raw);
  for (int signal_number : {SIGTERM, SIGHUP, SIGQUIT}) ::signal(signal_number, on_fatal_signal);
  if (::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) != 0) return false;
  g_terminal_raw = 1;
  return true;
}

// The local window size as a resize frame, or "" when there is none.
std::string resize_frame() {
  winsize size{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 || size.ws_row == 0) return "";
  return http::encode_frame(channel::kResize, json{{"Width", size.ws_col}, {"Height", size.ws_row}}.dump());
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct ExecRequest {
  std::string ns = "default";
  std::string pod;
  std::string container;
  std::vector<std::string> command;
  bool stdin_wanted = false;
  bool tty = false;
  bool quiet = false;
};

// The container kubectl picks when none is named: the default-container
// annotation's, else the first, with a note when there was a choice.
std::string default_container(const json& pod, bool quiet) {
  const std::string annotated = text(member(member(pod, "metadata"), "annotations"), "kubectl.kubernetes.io/default-container");
  std::vector<std::string> names;
  for (const json& c : list(member(pod, "spec"), "containers")) names.push_back(text(c, "name"));
  for (const std::string& name : names) {
    if (!annotated.empty() && name == annotated) return name;
  }
  if (names.empty()) throw std::runtime_error("pod " + text(member(pod, "metadata"), "name") + " has no containers");
  if (!quiet && names.size() + list(member(pod, "spec"), "initContainers").size() > 1) {
    std::string all;
    for (const std::string& name : names) all += (all.empty() ? "" : ", ") + name;
    for (const json& c : list(member(pod, "spec"), "initContainers")) all += ", " + text(c, "name") + " (init)";
    std::cerr << "Defaulted container \"" << names[0] << "\" out of: " << all << "\n";
  }
  return names[0];
}

// The exit code the stream's last Status stands for, saying why on stderr.
int exit_code_of(const std::optional<json>& status) {
  if (!status) return fail("the agent ended the exec stream without the command's exit status");
  if (text(*status, "status") == "Success") return 0;
  if (text(*status, "reason") == "NonZeroExitCode") {
    for (const json& cause : list(member(*status, "details"), "causes")) {
      if (text(cause, "reason") != "ExitCode") continue;
      const int code = std::atoi(text(cause, "message").c_str());
      std::cerr << "command terminated with exit code " << code << "\n";
      return code;
    }
  }
  return fail(text(*status, "message").empty() ? status->dump() : text(*status, "message"));
}

// Moves bytes until the agent closes the stream; returns the exit code.
int pump(int socket, const std::string& after_head, bool send_stdin, bool tty) {
  http::FrameDecoder decoder;
  decoder.feed(after_head);
  std::optional<json> status;
  bool stdin_open = send_stdin;
  for (;;) {
    try {
      while (auto frame = decoder.next()) {
        if (frame->channel == channel::kStdout) {
          write_all(STDOUT_FILENO, frame->payload);
        } else if (frame->channel == channel::kStderr) {
          write_all(STDERR_FILENO, frame->payload);
        } else if (frame->channel == channel::kError) {
          status = json::parse(frame->payload, nullptr, false);
          if (!status->is_object()) status = json{{"status", "Failure"}, {"message", "a broken exit status: " + frame->payload}};
        }
      }
    } catch (const http::FrameError& e) {
      return fail(std::string("the exec stream is broken: ") + e.what());
    }
    pollfd items[3] = {{socket, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                       {tty ? g_winch_pipe[0] : -1, POLLIN, 0}};
    if (::poll(items, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return fail(std::string("poll: ") + std::strerror(errno));
    }
    if ((items[2].revents & POLLIN) != 0) {
      char drain[64];
      [[maybe_unused]] const ssize_t ignored = ::read(g_winch_pipe[0], drain, sizeof drain);
      const std::string frame = resize_frame();
      if (!frame.empty()) http::send_all(socket, frame);
    }
    if ((items[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[32768];
      const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        http::send_frame(socket, channel::kStdin, std::string_view(buffer, static_cast<std::size_t>(n)));
      } else {
        http::send_frame(socket, channel::kStdin, "");  // end of input: the command's stdin closes
        stdin_open = false;
      }
    }
    if ((items[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[65536];
      const ssize_t n = ::recv(socket, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      decoder.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    }
  }
  restore_terminal();
  return exit_code_of(status);
}

int run_exec(const std::string& socket_path, ExecRequest request) {
  const ApiClient client(socket_path);
  const std::string pod_path = "/api/v1/namespaces/" + url_encode(request.ns) + "/pods/" + url_encode(request.pod);
  const ApiResponse found = client.get(pod_path);
  if (found.status != 200) return report_server_error(found);
  const json pod = json::parse(found.body, nullptr, false);
  const std::string phase = text(member(pod, "status"), "phase");
  if (phase == "Succeeded" || phase == "Failed") {
    return fail("cannot exec into a container in a completed pod; current phase is " + phase);
  }
  if (request.container.empty()) request.container = default_container(pod, request.quiet);

  // kubectl: a terminal only for input that is one, and only with -i.
  if (!request.stdin_wanted) request.tty = false;
  if (request.tty && ::isatty(STDIN_FILENO) == 0) {
    if (!request.quiet) std::cerr << "Unable to use a TTY - input is not a terminal or the right kind of file\n";
    request.tty = false;
  }
  std::string target = pod_path + "/exec?container=" + url_encode(request.container);
  for (const std::string& word : request.command) target += "&command=" + url_encode(word);
  target += std::string("&stdin=") + (request.stdin_wanted ? "true" : "false") + "&stdout=true&stderr=" +
            (request.tty ? "false" : "true") + "&tty=" + (request.tty ? "true" : "false");

  if (request.tty) {
    if (::pipe2(g_winch_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
    ::signal(SIGWINCH, on_window_change);
  }
  // The window size goes with the request, so the command starts with it.
  ExecConnection connection = open_exec_stream(socket_path, target, request.tty ? resize_frame() : "");
  if (connection.status != 101) {
    ::close(connection.fd);
    const json status = json::parse(connection.body, nullptr, false);
    // The API server's refusals (unknown container, bad request, a pod gone
    // since) read as kubectl shows them; the kubelet's (a container not
    // running) as its failed upgrade.
    const bool pod_gone = text(status, "reason") == "NotFound" && text(status, "message").rfind("pods ", 0) == 0;
    if (text(status, "reason") == "BadRequest" || pod_gone) {
      return report_server_error({connection.status, connection.body});
    }
    const std::string message = text(status, "message").empty() ? connection.body : text(status, "message");
    return fail("unable to upgrade connection: " + message);
  }
  if (request.tty && !make_terminal_raw()) {
    ::close(connection.fd);
    return fail(std::string("cannot put the terminal in raw mode: ") + std::strerror(errno));
  }
  const int code = pump(connection.fd, connection.after_head, request.stdin_wanted, request.tty);
  restore_terminal();
  ::close(connection.fd);
  return code;
}

}  // namespace

int exec_command(const std::vector<std::string>& args) {
  // Everything after "--" is the command, options included.
  std::vector<std::string> own = args;
  std::vector<std::string> command;
  bool dashes = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      own.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(i));
      command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      dashes = true;
      break;
    }
  }
  ExecRequest request;
  std::string socket;
  po::options_description options("Options");
  options.add_options()("stdin,i", po::bool_switch(&request.stdin_wanted), "pass stdin to the container")(
      "tty,t", po::bool_switch(&request.tty), "stdin is a TTY (with -i)")(
      "container,c", po::value(&request.container), "the container (default: the pod's first)")(
      "namespace,n", po::value(&request.ns), "the namespace (default: default)")(
      "quiet,q", po::bool_switch(&request.quiet), "only print output from the remote session")(
      "socket", po::value(&socket), "the agent's API socket");
  std::vector<std::string> words;
  po::variables_map values;
  if (int code = parse_command_words("exec", kExecUsage, own, options, words, values); code >= 0) return code;
  if (words.empty()) return fail("pod, type/name or --filename must be specified");
  request.pod = words[0];
  if (request.pod.rfind("pod/", 0) == 0 || request.pod.rfind("pods/", 0) == 0) request.pod = request.pod.substr(request.pod.find('/') + 1);
  if (!dashes && words.size() > 1) {
    // kubectl still takes `exec POD COMMAND`, with a warning.
    std::cerr << "deckhand exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. Use deckhand exec "
                 "[POD] -- [COMMAND] instead.\n";
    command.assign(words.begin() + 1, words.end());
  } else if (words.size() > 1) {
    return fail("exactly one POD is expected before --, got: " + words[1]);
  }
  if (command.empty()) return fail("you must specify at least one command for the container");
  request.command = std::move(command);
  try {
    return run_exec(resolve_socket(socket), std::move(request));
  } catch (const std::exception& e) {
    restore_terminal();
    return fail(e.what());
  }
}

}  // namespace deckhand::cli
