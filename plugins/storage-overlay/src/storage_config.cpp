#include "storage_config.hpp"

#include <set>

#include "storage_error.hpp"
#include "store_files.hpp"
#include "volumes.hpp"

namespace deckhand::storage {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw StorageError(Failure::invalid, "storage config: \"" + key + "\" " + problem);
}

void only_keys(const json& object, const std::string& where, const std::set<std::string>& known) {
  for (const auto& item : object.items()) {
    if (known.count(item.key())) continue;
    std::string list;
    for (const auto& key : known) list += (list.empty() ? "" : ", ") + key;
    bad(where + item.key(), "is not a known key (known: " + list + ")");
  }
}

std::string text(const json& object, const std::string& key, const std::string& where, const std::string& fallback) {
  if (!object.contains(key)) return fallback;
  if (!object[key].is_string()) bad(where + key, "must be a string");
  return object[key].get<std::string>();
}

std::string absolute_path(const json& object, const std::string& key, const std::string& fallback) {
  const std::string path = text(object, key, "", fallback);
  if (!path.empty() && path.front() != '/') bad(key, "must be an absolute path, not \"" + path + "\"");
  return path;
}

// A count or a Kubernetes quantity ("64Gi").
uint64_t bytes(const json& object, const std::string& key, uint64_t fallback) {
  if (!object.contains(key)) return fallback;
  const json& value = object[key];
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_string()) return parse_quantity_bytes(value.get<std::string>());
  bad(key, "must be a size in bytes or a quantity such as \"64Gi\"");
}

RegistryHost parse_registry(const std::string& name, const json& value) {
  const std::string where = "registries." + name + ".";
  if (!value.is_object()) bad("registries." + name, "must be an object");
  only_keys(value, where, {"insecure", "mirrors", "username", "password", "ca_file"});
  RegistryHost host;
  if (value.contains("insecure")) {
    if (!value["insecure"].is_boolean()) bad(where + "insecure", "must be true or false");
    host.insecure = value["insecure"].get<bool>();
  }
  if (value.contains("mirrors")) {
    if (!value["mirrors"].is_array()) bad(where + "mirrors", "must be a list of registry addresses");
    for (const json& mirror : value["mirrors"]) {
      if (!mirror.is_string() || mirror.get<std::string>().empty()) {
        bad(where + "mirrors", "must be a list of registry addresses");
      }
      host.mirrors.push_back(mirror.get<std::string>());
    }
  }
  const std::string username = text(value, "username", where, "");
  const std::string password = text(value, "password", where, "");
  if (username.empty() != password.empty()) bad(where + "username", "and password go together");
  if (!username.empty()) host.credentials = Credentials{username, password};
  host.ca_file = text(value, "ca_file", where, "");
  if (!host.ca_file.empty() && host.ca_file.front() != '/') bad(where + "ca_file", "must be an absolute path");
  return host;
}

}  // namespace

StorageConfig parse_storage_config(const json& config) {
  if (!config.is_object()) throw StorageError(Failure::invalid, "storage config: must be an object");
  only_keys(config, "", {"root", "registries", "auth_file", "max_concurrent_downloads", "max_unpacked_bytes",
                         "import_dir", "overlay_method"});
  StorageConfig settings;
  settings.root = absolute_path(config, "root", settings.root);
  if (settings.root.empty()) bad("root", "must not be empty");
  settings.auth_file = absolute_path(config, "auth_file", "");
  settings.import_dir = absolute_path(config, "import_dir", "");
  if (config.contains("max_concurrent_downloads")) {
    const json& value = config["max_concurrent_downloads"];
    if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 || value.get<uint64_t>() > 32) {
      bad("max_concurrent_downloads", "must be a number from 1 to 32");
    }
    settings.max_concurrent_downloads = value.get<std::size_t>();
  }
  settings.max_unpacked_bytes = bytes(config, "max_unpacked_bytes", settings.max_unpacked_bytes);
  const std::string method = text(config, "overlay_method", "", "auto");
  if (method == "auto") {
    settings.overlay_method = OverlayMethod::automatic;
  } else if (method == "lowerdir+") {
    settings.overlay_method = OverlayMethod::lowerdir_plus;
  } else if (method == "relative_paths") {
    settings.overlay_method = OverlayMethod::relative_paths;
  } else {
    bad("overlay_method", "must be auto, lowerdir+ or relative_paths, not \"" + method + "\"");
  }
  if (config.contains("registries")) {
    if (!config["registries"].is_object()) bad("registries", "must map registry names to their settings");
    for (const auto& item : config["registries"].items()) {
      settings.registries.hosts[item.key()] = parse_registry(item.key(), item.value());
    }
  }
  if (!settings.auth_file.empty()) {
    const auto content = read_file_if_exists(settings.auth_file, 4u << 20);
    if (!content) bad("auth_file", "names " + settings.auth_file + ", which does not exist");
    try {
      settings.registries.auth_file = parse_docker_auth_file(*content);
    } catch (const StorageError& e) {
      throw StorageError(Failure::invalid, "storage config: auth_file " + settings.auth_file + ": " + e.what());
    }
  }
  return settings;
}

}  // namespace deckhand::storage
