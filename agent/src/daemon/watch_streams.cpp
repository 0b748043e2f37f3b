// `logs -f` and `get -w` streams of the local API; see watch_streams.hpp.
#include "daemon/watch_streams.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>

#include "daemon/api_json.hpp"

namespace deckhand {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How often a followed log asks whether its container still runs.
constexpr auto kLogStatusPeriod = 500ms;

// Whether the client hung up (or the server shut the socket down at stop).
// Bytes it sends meanwhile mean nothing to these streams: read and dropped.
bool client_gone(const pollfd& socket) {
  if ((socket.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0) return true;
  if ((socket.revents & POLLIN) == 0) return false;
  char buffer[4096];
  const ssize_t got = ::recv(socket.fd, buffer, sizeof buffer, MSG_DONTWAIT);
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// Waits up to `timeout` for the client to go away or `other` (if >= 0) to be
// readable. True when the client is gone.
bool wait_client(int fd, int other, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{fd, POLLIN | POLLRDHUP, 0}, {other, POLLIN, 0}};
  const int n = ::poll(fds, other >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
  if (n < 0) return errno != EINTR;
  return n > 0 && client_gone(fds[0]);
}

// Runs `question` on the event loop's thread and waits for its answer;
// nullopt when the client goes away first (or the server stops: the loop no
// longer runs, and stopping shuts the socket down). Exceptions of the
// question come back here.
template <typename T>
std::optional<T> ask(boost::asio::io_context& io, int fd, std::function<T()> question) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> answer = promise->get_future();
  boost::asio::post(io, [promise, question = std::move(question)] {
    try {
      promise->set_value(question());
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  while (answer.wait_for(0ms) != std::future_status::ready) {
    if (wait_client(fd, -1, 50ms)) return std::nullopt;
  }
  return answer.get();
}

// An inotify descriptor watching the directory of a log file (the runtime
// writes it, rotates it by renaming, creates it with the first line), so a
// follower wakes up when there is something to read; -1 if that cannot be
// set up (the follower then reads every kLogStatusPeriod).
int watch_log_directory(const std::string& path) {
  const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return -1;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (::inotify_add_watch(fd, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void drain(int fd) {
  char buffer[4096];
  while (::read(fd, buffer, sizeof buffer) > 0) {
  }
}

json with_type(json pod) {
  if (!pod.contains("apiVersion")) pod["apiVersion"] = "v1";
  if (!pod.contains("kind")) pod["kind"] = "Pod";
  return pod;
}

// A watch event's object carries its kind and apiVersion (list items do not).
std::string event_line(const char* type, const json& object) {
  return to_text(json{{"type", type}, {"object", with_type(object)}});
}

// A pod's identity across lists: its uid (a pod re-created under its name
// is a DELETED and an ADDED), or namespace/name if it has none.
std::string key_of(const json& pod) {
  const json& metadata = pod.at("metadata");
  const std::string uid = metadata.value("uid", "");
  return uid.empty() ? metadata.value("namespace", "") + "/" + metadata.value("name", "") : uid;
}

}  // namespace

http::Stream follow_log_stream(PodService& pods, std::string namespace_, std::string name, PodService::LogTarget target,
                               LogOptions options) {
  return [&pods, namespace_ = std::move(namespace_), name = std::move(name), target = std::move(target),
          options = std::move(options)](http::StreamConnection& connection) {
    const int fd = connection.fd;
    ContainerLogFollower follower(target.path, options);
    const int changes = watch_log_directory(target.path);
    bool running = true;
    auto asked = Clock::now() - kLogStatusPeriod;
    for (;;) {
      // Asked before reading: once the attempt has ended, everything it
      // wrote is in the file, so this read is the last one needed.
      if (Clock::now() - asked >= kLogStatusPeriod) {
        const std::optional<bool> still = ask<bool>(
            pods.io_context(), fd, [&pods, namespace_, name, target] { return pods.log_target_running(namespace_, name, target); });
        if (!still) break;
        running = *still;
        asked = Clock::now();
      }
      const std::string text = follower.read();
      if (!text.empty() && !http::send_all(fd, text)) break;
      if (!running) break;
      if (!text.empty()) continue;  // there may be more (a read stops at 4 MiB): read again before waiting
      if (wait_client(fd, changes, std::chrono::duration_cast<std::chrono::milliseconds>(kLogStatusPeriod))) break;
      if (changes >= 0) drain(changes);
    }
    if (changes >= 0) ::close(changes);
  };
}

void add_field_selector(const std::string& selector, PodFilter& filter) {
  std::size_t start = 0;
  while (start <= selector.size()) {
    const auto end = std::min(selector.find(',', start), selector.size());
    const std::string term = selector.substr(start, end - start);
    start = end + 1;
    if (term.empty()) continue;
    const auto equals = term.find('=');
    if (equals == std::string::npos || (equals > 0 && term[equals - 1] == '!')) {
      throw std::invalid_argument("fieldSelector: only field=value terms are supported, got \"" + term + "\"");
    }
    const std::string field = term.substr(0, equals);
    std::string value = term.substr(equals + 1);
    if (!value.empty() && value[0] == '=') value.erase(0, 1);  // "=="
    if (field == "metadata.name") {
      filter.name = value;
    } else if (field == "metadata.namespace") {
      if (!filter.namespace_.empty() && filter.namespace_ != value) filter.none = true;
      filter.namespace_ = value;
    } else {
      throw std::invalid_argument("field label not supported: " + field);
    }
  }
}

std::vector<json> filtered_pods(const PodService& pods, const PodFilter& filter) {
  std::vector<json> out;
  if (filter.none) return out;
  const json list = pods.list(filter.namespace_, filter.label_selector);  // kept: the loop walks its items
  for (const json& pod : list.at("items")) {
    if (!filter.name.empty() && pod.at("metadata").value("name", "") != filter.name) continue;
    out.push_back(pod);
  }
  return out;
}

http::Stream watch_pods_stream(PodService& pods, PodWatchOptions options, std::vector<json> initial) {
  return [&pods, options = std::move(options), initial = std::move(initial)](http::StreamConnection& connection) {
    const int fd = connection.fd;
    const auto started = Clock::now();
    std::map<std::string, json> last;  // by key_of
    for (const json& pod : initial) {
      if (!http::send_all(fd, event_line("ADDED", pod))) return;
      last[key_of(pod)] = pod;
    }
    if (options.initial_events_end) {
      const json bookmark = {{"kind", "Pod"},
                             {"apiVersion", "v1"},
                             {"metadata", {{"annotations", {{"k8s.io/initial-events-end", "true"}}}}}};
      if (!http::send_all(fd, event_line("BOOKMARK", bookmark))) return;
    }
    for (;;) {
      if (wait_client(fd, -1, std::chrono::milliseconds(kPodWatchPeriodMs))) return;
      if (options.timeout_seconds && Clock::now() - started >= std::chrono::seconds(*options.timeout_seconds)) return;
      const PodFilter filter = options.filter;
      const std::optional<std::vector<json>> now =
          ask<std::vector<json>>(pods.io_context(), fd, [&pods, filter] { return filtered_pods(pods, filter); });
      if (!now) return;
      std::string events;
      std::set<std::string> seen;
      for (const json& pod : *now) seen.insert(key_of(pod));
      for (auto it = last.begin(); it != last.end();) {
        if (seen.count(it->first) != 0) {
          ++it;
          continue;
        }
        events += event_line("DELETED", it->second);
        it = last.erase(it);
      }
      for (const json& pod : *now) {
        auto [known, added] = last.try_emplace(key_of(pod), pod);
        if (added) {
          events += event_line("ADDED", pod);
        } else if (known->second != pod) {
          known->second = pod;
          events += event_line("MODIFIED", pod);
        }
      }
      if (!events.empty() && !http::send_all(fd, events)) return;
    }
  };
}

}  // namespace deckhand
