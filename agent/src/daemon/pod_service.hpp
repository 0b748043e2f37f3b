// Standalone mode's pods in the agent: the manifest directory (watched with
// inotify, rescanned every 20 s as a safety net, as the kubelet's file
// source does) feeding the pod manager, and what the local API needs of
// them: lists with status, apply and delete (which edit the directory: it
// is the desired state), events and logs. Lives on the event-loop thread.
#pragma once

#include <boost/asio.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/container_logs.hpp"
#include "podworkers/pod_backend.hpp"
#include "podworkers/pod_manager.hpp"
#include "pods/manifest_dir.hpp"

namespace deckhand {

class Metrics;
class PluginSet;

class PodService {
 public:
  // Throws std::runtime_error when the pods cannot be served (no runtime or
  // storage plugin, an unsafe manifest directory).
  PodService(boost::asio::io_context& io, const Config& config, PluginSet& plugins, Metrics& metrics);
  ~PodService();

  // Re-adopts what runs, reads the manifests, starts watching.
  void start();
  void stop();

  // core/v1 Pods with status; `namespace_` empty: every namespace.
  nlohmann::json list(const std::string& namespace_, const std::string& label_selector) const;
  std::optional<nlohmann::json> get(const std::string& namespace_, const std::string& name) const;
  nlohmann::json events(const std::string& namespace_, const std::string& involved_name) const;

  // The manifest text applied (written into the directory). Throws
  // pods::ManifestError for a manifest that does not parse or validate.
  nlohmann::json apply(const std::string& text, const std::string& source);
  // False when there is no such pod in the directory; `message` says why.
  bool remove(const std::string& namespace_, const std::string& name, std::string& message);

  struct LogRequest {
    std::string container;
    std::optional<int64_t> tail_lines;
    std::optional<int64_t> since_seconds;
    bool previous = false;
    bool timestamps = false;
  };
  // The log text; throws LogError (status code and message).
  std::string logs(const std::string& namespace_, const std::string& name, const LogRequest& request) const;

  // How the log text is rendered for `request` (tail, since, timestamps).
  static LogOptions log_options(const LogRequest& request);

  // What logs() reads: the log file of one attempt of one container of
  // one pod (by uid, so a pod re-created under the same name is another).
  struct LogTarget {
    std::string uid;
    std::string container;
    int attempt = 0;
    std::string path;
  };
  // Resolves the container and the attempt as logs() does; throws LogError.
  LogTarget log_target(const std::string& namespace_, const std::string& name, const LogRequest& request) const;
  // Whether that attempt still runs: false once it exited, a newer attempt
  // began, or the pod is gone (what ends `logs -f`).
  bool log_target_running(const std::string& namespace_, const std::string& name, const LogTarget& target) const;

  // The event loop this service lives on (streams post their questions to it).
  boost::asio::io_context& io_context() const { return io_; }

  // Where an exec (`kubectl exec`) goes: the runtime id of the running
  // container `container` of a pod (empty: the pod's only container). When
  // there is none, `http_status` (404, 400) and `message` say why, in
  // Kubernetes' words.
  struct ExecTarget {
    std::string container_id;
    int http_status = 0;
    std::string message;
  };
  ExecTarget exec_target(const std::string& namespace_, const std::string& name, const std::string& container) const;
  // The runtime plugin the pods run on, which their execs go through.
  Plugin& runtime_plugin() const { return backend_->runtime_plugin(); }

  struct LogError : std::runtime_error {
    LogError(int code, const std::string& message) : std::runtime_error(message), http_status(code) {}
    int http_status;
  };

 private:
  void rescan();
  void watch();
  nlohmann::json pod_json(const PodView& view) const;
  void count_pods(Metrics& metrics) const;

  boost::asio::io_context& io_;
  Config config_;
  Metrics& metrics_;
  std::unique_ptr<PodBackend> backend_;
  std::unique_ptr<PodManager> manager_;
  std::unique_ptr<pods::ManifestDir> manifests_;
  boost::asio::posix::stream_descriptor inotify_;
  boost::asio::steady_timer rescan_timer_;
  std::string last_errors_;  // the file errors last logged, not to repeat them every rescan
};

}  // namespace deckhand
