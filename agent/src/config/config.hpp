// The agent's configuration file: what it holds and how it is read.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deckhand {

// A configuration error; what() names the file, line, column and key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PluginConfig {
  std::string name;         // expected plugin id; empty = take the plugin's own
  std::string path;         // as written: absolute, or relative to plugin_dir
  bool required = true;     // a failure to load stops the agent
  std::string sha256;       // lower-case hex, empty = not checked
  std::string config_json = "{}";  // the plugin's own section, as a JSON object
  int line = 0;             // where the entry starts, for messages
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error
  std::string format = "text"; // text or json
  std::string file;            // empty = standard error
};

// Pods (standalone mode): where they come from and what the node reports.
struct PodsConfig {
  bool enabled = true;                          // false: the agent runs no pods
  std::string manifest_dir = "/etc/deckhand/pods";  // static pod manifests; `deckhand apply` writes here
  std::string log_dir = "/var/log/pods";        // containers' logs, the kubelet's layout
  std::string node_name;                        // empty: the machine's hostname
  std::string node_ip;                          // empty: the first non-loopback IPv4 address
  double crash_loop_backoff_seconds = 10;       // Kubernetes' first restart back-off
  double max_crash_loop_backoff_seconds = 300;  // and its cap
};

struct Config {
  std::string source = "<defaults>";  // the file it was read from
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 10248;
  std::string socket = "/run/deckhand/deckhand.sock";
  std::string state_dir = "/var/lib/deckhand";
  LogConfig log;
  std::string plugin_dir;  // empty = the installed default, see paths.hpp
  double health_timeout_seconds = 2.0;
  std::vector<PluginConfig> plugins;
  PodsConfig pods;
};

// Parses configuration text; source names it in error messages.
Config parse_config(const std::string& text, const std::string& source);

// Reads and parses a configuration file.
Config load_config(const std::string& path);

// Splits "host:port" or "[v6]:port"; throws std::invalid_argument.
void parse_listen_address(const std::string& value, std::string& host, uint16_t& port);

}  // namespace deckhand
