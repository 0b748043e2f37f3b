// Runs plugin calls on the worker pool so the event loop never blocks, and
// gives each one a timeout. A call that times out is reported as
// DEADLINE_EXCEEDED at once; the plugin's thread is not interruptible, so it
// finishes in the background and its late result is dropped.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "plugins/plugin.hpp"

namespace deckhand {

class PluginCaller {
 public:
  PluginCaller(boost::asio::io_context& io, boost::asio::thread_pool& pool) : io_(io), pool_(pool) {}

  // `done` runs on the event-loop thread with the result or the timeout.
  void call(Plugin& plugin, std::string operation, std::string request, std::chrono::milliseconds timeout,
            std::function<void(CallResult)> done);

  // The same for the plugin's health call; `finished` runs on the event-loop
  // thread when the plugin really returns (even after a timeout).
  void health(Plugin& plugin, std::chrono::milliseconds timeout, std::function<void(CallResult)> done,
              std::function<void()> finished);

 private:
  void run(std::function<CallResult()> work, std::chrono::milliseconds timeout, std::function<void(CallResult)> done,
           std::function<void()> finished);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
};

}  // namespace deckhand
