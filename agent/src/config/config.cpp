// Reads the agent's YAML configuration strictly: every key is known, every
// value has the right type and range, and every error names the file, the line
// and column, and the key path (plugins[1].required) of the offending node.
#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/yaml_json.hpp"

namespace deckhand {
namespace {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) const {
    std::ostringstream out;
    out << source_;
    if (node.IsDefined() && node.Mark().line >= 0) {
      out << ":" << node.Mark().line + 1 << ":" << node.Mark().column + 1;
    }
    out << ": " << (key.empty() ? std::string("top level") : key) << ": " << what;
    throw ConfigError(out.str());
  }

  static std::string kind_of(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Null: return "null";
      case YAML::NodeType::Scalar: return "a scalar";
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      default: return "nothing";
    }
  }

  // Refuses keys outside `known`, naming the first unknown one.
  void only_keys(const YAML::Node& map, const std::string& path, const std::set<std::string>& known) const {
    std::set<std::string> seen;
    for (const auto& item : map) {
      const std::string key = item.first.Scalar();
      // yaml-cpp keeps the first of two equal keys; a config that says a thing twice is a mistake.
      if (!seen.insert(key).second) fail(item.first, join(path, key), "duplicate key");
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(item.first, join(path, key), "unknown key (known keys: " + list + ")");
      }
    }
  }

  void expect_map(const YAML::Node& node, const std::string& path) const {
    if (!node.IsMap()) fail(node, path, "expected a mapping, got " + kind_of(node));
  }

  std::string string(const YAML::Node& node, const std::string& path) const {
    if (!node.IsScalar() && !node.IsNull()) fail(node, path, "expected a string, got " + kind_of(node));
    return node.IsNull() ? std::string() : node.Scalar();
  }

  bool boolean(const YAML::Node& node, const std::string& path) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value) || node.Tag() == "!") {
      fail(node, path, "expected true or false, got " + describe(node));
    }
    return value;
  }

  double number(const YAML::Node& node, const std::string& path) const {
    double value = 0;
    if (!node.IsScalar() || node.Tag() == "!" || !YAML::convert<double>::decode(node, value) ||
        !std::isfinite(value)) {
      fail(node, path, "expected a number, got " + describe(node));
    }
    return value;
  }

  std::string one_of(const YAML::Node& node, const std::string& path, const std::set<std::string>& allowed) const {
    std::string value = string(node, path);
    if (!allowed.count(value)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(node, path, "\"" + value + "\" is not one of: " + list);
    }
    return value;
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::string describe(const YAML::Node& node) {
    return node.IsScalar() ? "\"" + node.Scalar() + "\"" : kind_of(node);
  }

 private:
  std::string source_;
};

void read_log(const Reader& r, const YAML::Node& node, LogConfig& log) {
  r.expect_map(node, "log");
  r.only_keys(node, "log", {"level", "format", "file"});
  if (node["level"]) log.level = r.one_of(node["level"], "log.level", {"trace", "debug", "info", "warn", "error"});
  if (node["format"]) log.format = r.one_of(node["format"], "log.format", {"text", "json"});
  if (node["file"]) log.file = r.string(node["file"], "log.file");
}

void read_pods(const Reader& r, const YAML::Node& node, PodsConfig& pods) {
  r.expect_map(node, "pods");
  r.only_keys(node, "pods", {"enabled", "manifest_dir", "log_dir", "node_name", "node_ip", "crash_loop_backoff_seconds",
                             "max_crash_loop_backoff_seconds"});
  if (node["enabled"]) pods.enabled = r.boolean(node["enabled"], "pods.enabled");
  for (const auto& [key, out] : {std::pair<const char*, std::string*>{"manifest_dir", &pods.manifest_dir},
                                 std::pair<const char*, std::string*>{"log_dir", &pods.log_dir}}) {
    if (!node[key]) continue;
    *out = r.string(node[key], std::string("pods.") + key);
    if (out->empty() || out->front() != '/') {
      r.fail(node[key], std::string("pods.") + key, "must be an absolute path, got \"" + *out + "\"");
    }
  }
  if (node["node_name"]) pods.node_name = r.string(node["node_name"], "pods.node_name");
  if (node["node_ip"]) pods.node_ip = r.string(node["node_ip"], "pods.node_ip");
  for (const auto& [key, out] : {std::pair<const char*, double*>{"crash_loop_backoff_seconds", &pods.crash_loop_backoff_seconds},
                                 std::pair<const char*, double*>{"max_crash_loop_backoff_seconds",
                                                                 &pods.max_crash_loop_backoff_seconds}}) {
    if (!node[key]) continue;
    *out = r.number(node[key], std::string("pods.") + key);
    if (*out <= 0 || *out > 3600) r.fail(node[key], std::string("pods.") + key, "must be greater than 0 and at most 3600");
  }
  if (pods.crash_loop_backoff_seconds > pods.max_crash_loop_backoff_seconds) {
    r.fail(node, "pods.crash_loop_backoff_seconds", "must not be greater than pods.max_crash_loop_backoff_seconds");
  }
}

bool is_hex_sha256(const std::string& value) {
  return value.size() == 64 &&
         std::all_of(value.begin(), value.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

PluginConfig read_plugin(const Reader& r, const YAML::Node& node, const std::string& path) {
  r.expect_map(node, path);
  r.only_keys(node, path, {"name", "path", "required", "sha256", "config"});
  PluginConfig plugin;
  plugin.line = node.Mark().line + 1;
  if (!node["path"]) r.fail(node, path + ".path", "required key is missing");
  plugin.path = r.string(node["path"], path + ".path");
  if (plugin.path.empty()) r.fail(node["path"], path + ".path", "must not be empty");
  if (node["name"]) plugin.name = r.string(node["name"], path + ".name");
  if (node["required"]) plugin.required = r.boolean(node["required"], path + ".required");
  if (node["sha256"]) {
    plugin.sha256 = r.string(node["sha256"], path + ".sha256");
    std::transform(plugin.sha256.begin(), plugin.sha256.end(), plugin.sha256.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!plugin.sha256.empty() && !is_hex_sha256(plugin.sha256)) {
      r.fail(node["sha256"], path + ".sha256", "expected 64 hexadecimal digits");
    }
  }
  if (node["config"] && !node["config"].IsNull()) {
    r.expect_map(node["config"], path + ".config");
    try {
      plugin.config_json = yaml_to_json(node["config"]).dump();
    } catch (const nlohmann::json::exception&) {
      // JSON (what crosses to the plugin) is UTF-8 only.
      r.fail(node["config"], path + ".config", "contains text that is not valid UTF-8");
    }
  }
  return plugin;
}

}  // namespace

void parse_listen_address(const std::string& value, std::string& host, uint16_t& port) {
  std::string port_text;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      throw std::invalid_argument("expected [address]:port");
    }
    host = value.substr(1, close - 1);
    port_text = value.substr(close + 2);
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || value.find(':') != colon) {
      throw std::invalid_argument("expected host:port (IPv6 as [address]:port)");
    }
    host = value.substr(0, colon);
    port_text = value.substr(colon + 1);
  }
  if (host.empty()) throw std::invalid_argument("the address is empty");
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    throw std::invalid_argument("the port \"" + port_text + "\" is not a number");
  }
  const unsigned long number = std::stoul(port_text);
  if (number > 65535) throw std::invalid_argument("the port " + port_text + " is out of range 0-65535");
  port = static_cast<uint16_t>(number);
}

Config parse_config(const std::string& text, const std::string& source) {
  Reader r(source);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << source << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": invalid YAML: " << e.msg;
    throw ConfigError(out.str());
  }
  Config config;
  config.source = source;
  if (root.IsNull()) return config;  // an empty file means all defaults
  r.expect_map(root, "");
  r.only_keys(root, "", {"listen", "socket", "state_dir", "log", "plugin_dir", "health_timeout_seconds", "plugins", "pods"});

  if (root["listen"]) {
    const std::string value = r.string(root["listen"], "listen");
    try {
      parse_listen_address(value, config.listen_host, config.listen_port);
    } catch (const std::invalid_argument& e) {
      r.fail(root["listen"], "listen", "\"" + value + "\": " + e.what());
    }
  }
  auto absolute_path = [&](const char* key, std::string& out) {
    if (!root[key]) return;
    out = r.string(root[key], key);
    if (out.empty() || out.front() != '/') r.fail(root[key], key, "must be an absolute path, got \"" + out + "\"");
  };
  absolute_path("socket", config.socket);
  absolute_path("state_dir", config.state_dir);
  if (root["plugin_dir"]) {
    config.plugin_dir = r.string(root["plugin_dir"], "plugin_dir");
    if (!config.plugin_dir.empty() && config.plugin_dir.front() != '/') {
      r.fail(root["plugin_dir"], "plugin_dir", "must be an absolute path or empty, got \"" + config.plugin_dir + "\"");
    }
  }
  if (config.socket.size() >= 108) r.fail(root["socket"], "socket", "is longer than a unix socket path may be (107 bytes)");
  if (root["log"]) read_log(r, root["log"], config.log);
  if (root["pods"]) read_pods(r, root["pods"], config.pods);
  if (root["health_timeout_seconds"]) {
    config.health_timeout_seconds = r.number(root["health_timeout_seconds"], "health_timeout_seconds");
    if (config.health_timeout_seconds <= 0 || config.health_timeout_seconds > 300) {
      r.fail(root["health_timeout_seconds"], "health_timeout_seconds", "must be greater than 0 and at most 300");
    }
  }
  if (root["plugins"] && !root["plugins"].IsNull()) {
    const YAML::Node& list = root["plugins"];
    if (!list.IsSequence()) r.fail(list, "plugins", "expected a list, got " + Reader::kind_of(list));
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = "plugins[" + std::to_string(i) + "]";
      config.plugins.push_back(read_plugin(r, list[i], path));
      const std::string& name = config.plugins.back().name;
      if (!name.empty() && !names.insert(name).second) {
        r.fail(list[i]["name"], path + ".name", "\"" + name + "\" is already the name of an earlier plugin");
      }
    }
  }
  return config;
}

Config load_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw ConfigError(path + ": not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the configuration file");
  if (text.str().size() > 1 << 20) throw ConfigError(path + ": the configuration file is larger than 1 MiB");
  return parse_config(text.str(), path);
}

}  // namespace deckhand
