// runtime-native as a deckhand plugin: the SDK's runtime operations over
// Runtime, with strict request parsing and the runtime's errors mapped onto
// the SDK's statuses.
#include <deckhand/plugin.hpp>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "capabilities.hpp"
#include "default_spec.hpp"
#include "runtime.hpp"
#include "spec.hpp"

namespace {

using nlohmann::json;
namespace sdk = deckhand::sdk;
using deckhand::runtime::Failure;
using deckhand::runtime::Runtime;
using deckhand::runtime::RuntimeError;
using deckhand::runtime::to_json;

json parse_request(std::string_view text, const std::set<std::string>& known) {
  json request = json::parse(text, nullptr, false);
  if (request.is_discarded() || !request.is_object()) throw sdk::invalid_argument("the request must be a JSON object");
  for (const auto& item : request.items()) {
    if (!known.count(item.key())) throw sdk::invalid_argument("unknown request field \"" + item.key() + "\"");
  }
  return request;
}

std::string text_field(const json& request, const char* key, bool required = true, const std::string& fallback = "") {
  if (!request.contains(key)) {
    if (required) throw sdk::invalid_argument(std::string("\"") + key + "\" is required");
    return fallback;
  }
  if (!request[key].is_string()) throw sdk::invalid_argument(std::string("\"") + key + "\" must be a string");
  return request[key].get<std::string>();
}

sdk::Error to_sdk_error(const RuntimeError& e) {
  switch (e.kind()) {
    case Failure::invalid: return sdk::invalid_argument(e.what());
    case Failure::not_found: return sdk::not_found(e.what());
    case Failure::exists: return sdk::already_exists(e.what());
    case Failure::precondition: return sdk::failed_precondition(e.what());
    default: return sdk::internal(e.what());
  }
}

// <prefix>/lib/deckhand/deckhand-monitor next to the installed plugin dir, or
// beside the plugin in a build tree.
std::string default_monitor_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_monitor_path), &info) == 0 || info.dli_fname == nullptr) return "";
  const std::filesystem::path here = std::filesystem::path(info.dli_fname).parent_path();
  for (const auto& candidate : {here.parent_path() / "deckhand-monitor", here / "deckhand-monitor"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return (here.parent_path() / "deckhand-monitor").string();
}

template <class F>
std::string guarded(F&& body) {
  try {
    return body();
  } catch (const RuntimeError& e) {
    throw to_sdk_error(e);
  }
}

}  // namespace

class NativeRuntime {
 public:
  explicit NativeRuntime(sdk::Host& host) : host_(host), runtime_(make_runtime(host)) {
    host_.info("containers under " + runtime_.root() + ", monitor " + monitor_);
  }

  void health(sdk::Call&) {
    if (::access(monitor_.c_str(), X_OK) != 0) throw sdk::unavailable("the monitor " + monitor_ + " is not executable");
    if (::access(runtime_.root().c_str(), W_OK) != 0) throw sdk::unavailable("the state root " + runtime_.root() + " is not writable");
  }

  std::string create(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id", "bundle", "stdio", "pid_file", "log_path", "log_max_bytes",
                                              "log_max_files"});
    deckhand::runtime::CreateOptions options;
    options.id = text_field(request, "id");
    options.bundle = text_field(request, "bundle");
    options.stdio = text_field(request, "stdio", false, "null");
    options.pid_file = text_field(request, "pid_file", false);
    options.log_path = text_field(request, "log_path", false);
    for (const char* key : {"log_max_bytes", "log_max_files"}) {
      if (request.contains(key) && !request[key].is_number_unsigned()) {
        throw sdk::invalid_argument(std::string("\"") + key + "\" must be a positive integer");
      }
    }
    options.log_max_bytes = request.value("log_max_bytes", options.log_max_bytes);
    options.log_max_files = request.value("log_max_files", options.log_max_files);
    return guarded([&] { return runtime_.create(options).dump(); });
  }

  std::string start(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id"});
    return guarded([&] { return runtime_.start(text_field(request, "id")).dump(); });
  }

  std::string state(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id"});
    return guarded([&] { return runtime_.state(text_field(request, "id")).dump(); });
  }

  std::string kill(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id", "signal"});
    return guarded([&] {
      int signal = 15;
      if (request.contains("signal")) {
        const json& value = request["signal"];
        if (value.is_number_integer()) {
          signal = deckhand::runtime::parse_signal(std::to_string(value.get<int64_t>()));
        } else if (value.is_string()) {
          signal = deckhand::runtime::parse_signal(value.get<std::string>());
        } else {
          throw sdk::invalid_argument("\"signal\" must be a number or a name");
        }
      }
      runtime_.kill(text_field(request, "id"), signal);
      return std::string("{}");
    });
  }

  std::string remove(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id", "force"});
    if (request.contains("force") && !request["force"].is_boolean()) throw sdk::invalid_argument("\"force\" must be true or false");
    return guarded([&] {
      runtime_.remove(text_field(request, "id"), request.value("force", false));
      return std::string("{}");
    });
  }

  std::string wait(sdk::Call& call, std::string_view text) {
    const json request = parse_request(text, {"id"});
    return guarded([&] {
      const auto exit = runtime_.wait(text_field(request, "id"), call.deadline_ns());
      json out = {{"exit_code", exit.exit_code}, {"signal", exit.signal}, {"oom_killed", exit.oom_killed},
                  {"exited_at", exit.exited_at}};
      if (!exit.error.empty()) out["error"] = exit.error;
      return out.dump();
    });
  }

  std::string exec(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id", "process", "stdio", "stdin_fd", "stdout_fd", "stderr_fd"});
    if (!request.contains("process") || !request["process"].is_object()) {
      throw sdk::invalid_argument("\"process\" (an OCI process object) is required");
    }
    deckhand::runtime::ExecStdio stdio;
    stdio.mode = text_field(request, "stdio", false, "capture");
    // stdio "fds": descriptor numbers of the caller's process, which is ours (plugins are loaded in it).
    for (const auto& [key, fd] : {std::pair{"stdin_fd", &stdio.stdin_fd}, {"stdout_fd", &stdio.stdout_fd},
                                  {"stderr_fd", &stdio.stderr_fd}}) {
      if (!request.contains(key)) continue;
      if (stdio.mode != "fds") throw sdk::invalid_argument(std::string("\"") + key + "\" goes with stdio \"fds\" only");
      if (!request[key].is_number_integer() || request[key].get<int64_t>() < 0 || request[key].get<int64_t>() > INT32_MAX) {
        throw sdk::invalid_argument(std::string("\"") + key + "\" must be a descriptor number");
      }
      *fd = request[key].get<int>();
    }
    if (stdio.mode == "fds" && (stdio.stdin_fd < 0 || stdio.stdout_fd < 0 || stdio.stderr_fd < 0)) {
      throw sdk::invalid_argument("stdio \"fds\" needs stdin_fd, stdout_fd and stderr_fd");
    }
    return guarded([&] {
      return runtime_.exec(text_field(request, "id"), request["process"], stdio)
          .dump(-1, ' ', false, json::error_handler_t::replace);
    });
  }

  std::string stats(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id"});
    return guarded([&] { return runtime_.stats(text_field(request, "id")).dump(); });
  }

  std::string list(sdk::Call&, std::string_view text) {
    parse_request(text, {});
    return guarded([&] { return runtime_.list().dump(); });
  }

  std::string create_sandbox(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id", "namespaces", "hostname", "qos_class", "resources"});
    deckhand::runtime::SandboxRequest sandbox;
    sandbox.id = text_field(request, "id");
    if (request.contains("namespaces")) {
      if (!request["namespaces"].is_array()) throw sdk::invalid_argument("\"namespaces\" must be a list of strings");
      sandbox.namespaces.clear();
      for (const json& type : request["namespaces"]) {
        if (!type.is_string()) throw sdk::invalid_argument("\"namespaces\" must be a list of strings");
        sandbox.namespaces.push_back(type.get<std::string>());
      }
    }
    sandbox.hostname = text_field(request, "hostname", false);
    sandbox.qos_class = text_field(request, "qos_class", false, "BestEffort");
    return guarded([&] {
      if (request.contains("resources")) {
        try {
          sandbox.resources = deckhand::runtime::parse_linux_resources(request["resources"]);
        } catch (const deckhand::runtime::SpecError& e) {
          throw RuntimeError(Failure::invalid, std::string("resources: ") + e.what());
        }
        if (!sandbox.resources.devices.empty()) {
          throw RuntimeError(Failure::invalid, "resources.devices: device rules belong to containers, not pods");
        }
      }
      return to_json(runtime_.sandboxes().create(sandbox)).dump();
    });
  }

  std::string remove_sandbox(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"id"});
    return guarded([&] {
      runtime_.sandboxes().remove(text_field(request, "id"));
      return std::string("{}");
    });
  }

  std::string list_sandboxes(sdk::Call&, std::string_view text) {
    parse_request(text, {});
    return guarded([&] {
      json sandboxes = json::array();
      for (const auto& sandbox : runtime_.sandboxes().list()) sandboxes.push_back(to_json(sandbox));
      return json({{"sandboxes", sandboxes}}).dump();
    });
  }

  std::string default_spec(sdk::Call&, std::string_view text) {
    const json request = parse_request(text, {"profile", "args", "capabilities"});
    deckhand::runtime::SpecTemplate options;
    const std::string profile = text_field(request, "profile", false, "RuntimeDefault");
    if (profile == "Privileged") {
      options.profile = deckhand::runtime::SpecProfile::privileged;
    } else if (profile != "RuntimeDefault") {
      throw sdk::invalid_argument("\"profile\" must be RuntimeDefault or Privileged, not \"" + profile + "\"");
    }
    if (request.contains("args")) {
      const json& args = request["args"];
      if (!args.is_array() || args.empty()) throw sdk::invalid_argument("\"args\" must be a non-empty list of strings");
      options.args.clear();
      for (const json& arg : args) {
        if (!arg.is_string()) throw sdk::invalid_argument("\"args\" must be a non-empty list of strings");
        options.args.push_back(arg.get<std::string>());
      }
    }
    if (request.contains("capabilities")) {
      if (options.profile == deckhand::runtime::SpecProfile::privileged) {
        throw sdk::invalid_argument("\"capabilities\" applies to the RuntimeDefault profile only");
      }
      const json& names = request["capabilities"];
      if (!names.is_array()) throw sdk::invalid_argument("\"capabilities\" must be a list of names like CAP_NET_ADMIN");
      std::vector<int> numbers;
      for (const json& name : names) {
        if (!name.is_string()) throw sdk::invalid_argument("\"capabilities\" must be a list of names like CAP_NET_ADMIN");
        try {
          numbers.push_back(deckhand::runtime::capability_from_name(name.get<std::string>()));
        } catch (const std::exception& e) {
          throw sdk::invalid_argument(std::string("\"capabilities\": ") + e.what());
        }
      }
      std::sort(numbers.begin(), numbers.end());
      numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
      options.capabilities = numbers;
    }
    return deckhand::runtime::default_spec(options).dump();
  }

 private:
  Runtime make_runtime(sdk::Host& host) {
    const json config = json::parse(host.config_json(), nullptr, false);
    if (!config.is_object()) throw sdk::invalid_argument("the plugin config must be an object");
    static const std::set<std::string> known = {"root", "monitor", "cgroup_root", "netns_dir", "cgroup_parent"};
    for (const auto& item : config.items()) {
      if (!known.count(item.key())) {
        throw sdk::invalid_argument("unknown config key \"" + item.key() +
                                    "\" (known: cgroup_parent, cgroup_root, monitor, netns_dir, root)");
      }
      if (!item.value().is_string()) throw sdk::invalid_argument("config key \"" + item.key() + "\" must be a string");
    }
    deckhand::runtime::RuntimeConfig settings;
    monitor_ = config.value("monitor", default_monitor_path());
    settings.monitor_path = monitor_;
    // Live-process state: on /run, a tmpfs on systemd hosts, which a reboot
    // clears together with the containers it describes. `deckhand oci` uses
    // the same root by default, so it lists the agent's containers.
    settings.root = config.value("root", std::string("/run/deckhand/runtime"));
    settings.cgroup_root = config.value("cgroup_root", settings.cgroup_root);
    settings.netns_dir = config.value("netns_dir", settings.netns_dir);
    settings.cgroup_parent = config.value("cgroup_parent", settings.cgroup_parent);
    for (const std::string* path : {&settings.root, &settings.cgroup_root, &settings.netns_dir}) {
      if (path->empty() || path->front() != '/') throw sdk::invalid_argument("config paths must be absolute: " + *path);
    }
    try {
      return Runtime(settings);
    } catch (const RuntimeError& e) {
      throw to_sdk_error(e);
    }
  }

  sdk::Host& host_;
  std::string monitor_;
  Runtime runtime_;
};

DECKHAND_PLUGIN(NativeRuntime, runtime, "runtime-native", "0.1.0",
                "Linux containers: namespaces, cgroups v1/v2, seccomp, capabilities")
