#include "daemon/plugin_caller.hpp"

#include <memory>

namespace deckhand {
namespace {

std::string seconds_text(std::chrono::milliseconds timeout) {
  char text[32];
  std::snprintf(text, sizeof text, "%gs", static_cast<double>(timeout.count()) / 1000.0);
  return text;
}

}  // namespace

void PluginCaller::call(Plugin& plugin, std::string operation, std::string request, std::chrono::milliseconds timeout,
                        std::function<void(CallResult)> done) {
  const uint64_t deadline = monotonic_now_ns() + static_cast<uint64_t>(timeout.count()) * 1000000u;
  run([&plugin, operation = std::move(operation), request = std::move(request), deadline] {
        return plugin.call(operation, request, deadline);
      },
      timeout, std::move(done), {});
}

void PluginCaller::health(Plugin& plugin, std::chrono::milliseconds timeout, std::function<void(CallResult)> done,
                          std::function<void()> finished) {
  const uint64_t deadline = monotonic_now_ns() + static_cast<uint64_t>(timeout.count()) * 1000000u;
  run([&plugin, deadline] { return plugin.health(deadline); }, timeout, std::move(done), std::move(finished));
}

void PluginCaller::run(std::function<CallResult()> work, std::chrono::milliseconds timeout,
                       std::function<void(CallResult)> done, std::function<void()> finished) {
  // Shared by the worker and the timer; both complete on the event-loop thread,
  // so whichever comes first answers and the other sees `answered`.
  struct State {
    explicit State(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;
    bool answered = false;
    std::function<void(CallResult)> done;
  };
  auto state = std::make_shared<State>(io_);
  state->done = std::move(done);
  state->timer.expires_after(timeout);
  state->timer.async_wait([state, timeout](boost::system::error_code ec) {
    if (ec || state->answered) return;
    state->answered = true;
    CallResult result;
    result.status = DH_ERR_DEADLINE_EXCEEDED;
    result.error = "the plugin did not answer within " + seconds_text(timeout);
    state->done(std::move(result));
  });
  boost::asio::post(pool_, [this, state, work = std::move(work), finished = std::move(finished)]() mutable {
    CallResult result = work();
    boost::asio::post(io_, [state, result = std::move(result), finished = std::move(finished)]() mutable {
      if (finished) finished();
      if (state->answered) return;
      state->answered = true;
      state->timer.cancel();
      state->done(std::move(result));
    });
  });
}

}  // namespace deckhand
