#include "daemon/agent.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "build_info.hpp"
#include "daemon/health.hpp"
#include "daemon/local_socket.hpp"
#include "daemon/plugin_caller.hpp"
#include "daemon/pod_service.hpp"
#include "daemon/routes.hpp"
#include "http/server.hpp"
#include "logging/logging.hpp"
#include "metrics/metrics.hpp"
#include "plugins/loader.hpp"
#include "plugins/plugin_set.hpp"
#include "util/paths.hpp"

namespace deckhand {
namespace {

namespace net = boost::asio;
using Tcp = net::ip::tcp;
using Local = net::local::stream_protocol;

// Plugin calls may block (pulls, container waits); they get their own threads.
constexpr std::size_t kWorkerThreads = 4;
constexpr std::chrono::seconds kHealthInterval{10};
constexpr std::chrono::seconds kShutdownGrace{10};

Tcp::endpoint listen_endpoint(const Config& config) {
  const std::string host = config.listen_host == "localhost" ? "127.0.0.1" : config.listen_host;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("listen: \"" + config.listen_host + "\" is not an IP address");
  return {address, config.listen_port};
}

// Re-arms itself: keeps plugin health and deckhand_ready fresh between scrapes.
void schedule_health(net::steady_timer& timer, HealthChecker& health) {
  timer.expires_after(kHealthInterval);
  timer.async_wait([&timer, &health](boost::system::error_code ec) {
    if (ec) return;
    health.check([](const HealthReport&) {});
    schedule_health(timer, health);
  });
}

}  // namespace

int run_agent(const Config& config) {
  const auto started = std::chrono::steady_clock::now();
  ::signal(SIGPIPE, SIG_IGN);
  try {
    setup_logging(config.log);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "deckhand agent: %s\n", e.what());
    return 1;
  }
  spdlog::info("agent starting version={} commit={} config={}", build::kVersion, build::kGitCommit, config.source);

  Metrics metrics;
  metrics.set_build_info({{"version", build::kVersion},
                          {"git_commit", build::kGitCommit},
                          {"abi", std::to_string(DH_ABI_MAJOR) + "." + std::to_string(DH_ABI_MINOR)},
                          {"build_type", build::kBuildType},
                          {"compiler", build::kCompiler}});
  PluginSet plugins;
  try {
    make_private_dir(config.state_dir);
    const std::string plugin_dir = config.plugin_dir.empty() ? default_plugin_dir() : config.plugin_dir;
    PluginLoader loader(plugin_dir, config.state_dir, build::kVersion, metrics);
    const std::string failure = plugins.load_all(config.plugins, loader, metrics);
    if (!failure.empty()) {
      spdlog::critical("agent cannot start: a required plugin failed to load: {}", failure);
      plugins.shutdown();
      return 1;
    }
  } catch (const std::exception& e) {
    spdlog::critical("agent cannot start: {}", e.what());
    plugins.shutdown();
    return 1;
  }

  net::io_context io(1);
  net::thread_pool workers(kWorkerThreads);
  PluginCaller caller(io, workers);
  HealthChecker health(plugins, caller, metrics,
                       std::chrono::milliseconds(static_cast<long>(config.health_timeout_seconds * 1000)));
  // Pods: a failure here (no runtime or storage plugin, an unsafe manifest
  // directory) leaves the agent serving everything else, and says why.
  std::unique_ptr<PodService> pod_service;
  if (config.pods.enabled) {
    try {
      pod_service = std::make_unique<PodService>(io, config, plugins, metrics);
    } catch (const std::exception& e) {
      spdlog::warn("pods are not served: {}", e.what());
    }
  }
  Routes routes(metrics, plugins, health, caller, pod_service.get());

  auto probes = std::make_shared<http::Server<Tcp>>(
      io, [&routes](http::Request&& request, http::Responder respond) { routes.probes(std::move(request), respond); });
  auto api = std::make_shared<http::Server<Local>>(
      io, [&routes](http::Request&& request, http::Responder respond) { routes.api(std::move(request), respond); },
      http::Limits{}, [](Local::socket& socket) { return peer_is_trusted(socket); });
  try {
    probes->listen(listen_endpoint(config));
    prepare_socket_path(config.socket);
    const mode_t old_mask = ::umask(0177);  // the socket file is born 0600
    try {
      api->listen(Local::endpoint(config.socket));
    } catch (...) {
      ::umask(old_mask);
      throw;
    }
    ::umask(old_mask);
    restrict_socket_file(config.socket);
  } catch (const std::exception& e) {
    spdlog::critical("agent cannot start: {}", e.what());
    workers.join();
    plugins.shutdown();
    return 1;
  }
  probes->start();
  api->start();
  if (pod_service) {
    try {
      pod_service->start();
    } catch (const std::exception& e) {
      spdlog::error("pods are not served: {}", e.what());
      pod_service->stop();
    }
  }

  net::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int signal_number) {
      if (ec) return;
      if (signal_number == SIGHUP) {
        reopen_log();
        wait_for_signal();
        return;
      }
      spdlog::info("agent stopping signal={}", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
      probes->stop();
      api->stop();
      if (pod_service) pod_service->stop();
      io.stop();
    });
  };
  wait_for_signal();

  net::steady_timer health_timer(io);
  health.check([](const HealthReport& report) {
    if (!report.ready) spdlog::warn("agent not ready:\n{}", report.text());
  });
  schedule_health(health_timer, health);

  const auto endpoint = probes->local_endpoint();
  const double startup_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("agent serving listen={}:{} socket={} plugins={} startup_ms={:.1f}", endpoint.address().to_string(),
               endpoint.port(), config.socket, plugins.entries().size(), startup_ms);

  // A handler that throws must not take the node agent down with it: log and go on.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("internal error in the event loop, continuing: {}", e.what());
    }
  }

  // Streams (logs -f, get -w, exec) had their sockets shut down with the
  // listener; their threads may still be in a plugin call, so wait for them
  // like for the workers below.
  if (!api->wait_for_streams(kShutdownGrace)) {
    spdlog::error("local API streams still running {}s after the stop signal; exiting without destroying plugins",
                  kShutdownGrace.count());
    ::unlink(config.socket.c_str());
    std::_Exit(1);
  }

  // Shutdown order: no new calls, wait for running ones, then the instances.
  // A plugin call cannot be interrupted; one that never returns must not keep
  // the node agent from stopping, and its instance must not be destroyed
  // under it: after the grace period, exit without destroying instances.
  std::promise<void> joined;
  auto workers_done = joined.get_future();
  std::thread joiner([&workers, &joined] {
    workers.join();
    joined.set_value();
  });
  if (workers_done.wait_for(kShutdownGrace) != std::future_status::ready) {
    spdlog::error("plugin calls still running {}s after the stop signal; exiting without destroying plugins",
                  kShutdownGrace.count());
    ::unlink(config.socket.c_str());
    std::_Exit(1);
  }
  joiner.join();
  plugins.shutdown();
  ::unlink(config.socket.c_str());
  spdlog::info("agent stopped");
  return 0;
}

}  // namespace deckhand
