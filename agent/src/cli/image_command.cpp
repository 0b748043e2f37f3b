// `deckhand image`: images on this node, docker-style (pull, load, ls,
// inspect, rm, prune). Like `deckhand oci` it loads the storage plugin into
// its own process, with the plugin's entry of the agent's config file, so it
// sees and changes the very store the agent uses (the store's lock keeps the
// two apart) and works whether or not the agent runs.
#include <deckhand/plugin.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/local_plugin.hpp"
#include "cli/progress_display.hpp"
#include "cli/table.hpp"
#include "config/config.hpp"
#include "util/paths.hpp"

namespace deckhand::cli {

namespace po = boost::program_options;
using nlohmann::json;

namespace {

const char* const kPluginFile = "libdeckhand-storage-overlay.so";

const char* const kUsage = R"(Manage the images on this node.

Usage:
  deckhand image [--config FILE] [--plugin FILE] COMMAND [options]

Commands:
  pull [--policy Always|IfNotPresent|Never] [--platform OS/ARCH[/VARIANT]]
       [--username USER --password-stdin] REF     pull an image from its registry (default policy: Always)
  load -i FILE [--name REF]                       load an OCI image-layout or `docker save` archive
  ls [--format table|json] [--quiet]              list images (also: list)
  inspect REF                                     the image's record and config (JSON)
  rm [--force] REF...                             remove images (--force: also one a container uses)
  prune                                           remove every image no container uses, and free their layers

REF is a reference (nginx, nginx:1.27, 127.0.0.1:5000/team/app:v2, ...@sha256:...) or an image id.
The storage plugin and its settings (store root, registries, auth file) come from the
agent's config file (--config, default: the installed config.yaml); --plugin loads
another storage plugin file with the default settings.)";

struct ImageContext {
  std::string config_path;
  std::string plugin_path;
};

// The storage plugin as the agent's config describes it.
struct StorageEntry {
  std::string path;
  json config = json::object();
  std::string state_dir = "/var/lib/deckhand";
};

StorageEntry storage_entry(const ImageContext& context) {
  StorageEntry entry;
  entry.path = default_plugin_dir() + "/" + kPluginFile;
  if (!context.plugin_path.empty()) {
    entry.path = context.plugin_path;
    return entry;
  }
  const std::string path = context.config_path.empty() ? default_config_path() : context.config_path;
  std::error_code ec;
  if (context.config_path.empty() && !std::filesystem::exists(path, ec)) return entry;
  const Config config = load_config(path);
  entry.state_dir = config.state_dir;
  const std::string plugin_dir = config.plugin_dir.empty() ? default_plugin_dir() : config.plugin_dir;
  for (const PluginConfig& plugin : config.plugins) {
    const std::string resolved = plugin.path.front() == '/' ? plugin.path : plugin_dir + "/" + plugin.path;
    if (std::filesystem::path(resolved).filename() != kPluginFile) continue;
    entry.path = resolved;
    entry.config = json::parse(plugin.config_json);
    // The agent loads the import directory when it starts; a CLI command does not.
    entry.config.erase("import_dir");
    return entry;
  }
  return entry;
}

class StorageClient : public LocalPlugin {
 public:
  explicit StorageClient(const StorageEntry& entry)
      : LocalPlugin(entry.path, DH_KIND_STORAGE, entry.config, entry.state_dir) {}
};

// "3 minutes ago" from an RFC 3339 UTC time stamp.
std::string ago(const std::string& stamp) {
  std::tm parts{};
  if (stamp.size() < 19 || ::strptime(stamp.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &parts) == nullptr) {
    return stamp;
  }
  const std::time_t then = ::timegm(&parts);
  const long long seconds = std::max<long long>(0, static_cast<long long>(std::time(nullptr) - then));
  const std::pair<long long, const char*> units[] = {
      {365 * 86400, "year"}, {30 * 86400, "month"}, {7 * 86400, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}};
  for (const auto& [size, name] : units) {
    if (seconds >= size) {
      const long long n = seconds / size;
      return std::to_string(n) + " " + name + (n == 1 ? "" : "s") + " ago";
    }
  }
  return std::to_string(seconds) + " seconds ago";
}

std::string short_hex(const std::string& digest) {
  const auto colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

int list(StorageClient& client, const std::string& format, bool quiet) {
  const json result = client.call("list_images", json::object());
  if (format == "json") {
    std::cout << result["images"].dump(2) << "\n";
    return 0;
  }
  if (format != "table") throw std::runtime_error("--format must be table or json");
  if (quiet) {
    for (const auto& image : result["images"]) std::cout << short_hex(image.value("id", "")) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "SIZE", "LAST USED", "IN USE"}};
  for (const auto& image : result["images"]) {
    const std::string familiar = image.value("familiar", "");
    const std::string tag = image.value("tag", "");
    const std::string repository = tag.empty() ? familiar.substr(0, familiar.find('@'))
                                               : familiar.substr(0, familiar.size() - tag.size() - 1);
    rows.push_back({repository, tag.empty() ? "<none>" : tag, "sha256:" + short_hex(image.value("digest", "")),
                    short_hex(image.value("id", "")), format_bytes(image.value("unpacked_size", uint64_t{0})),
                    ago(image.value("last_used", "")), image.value("in_use", false) ? "yes" : "no"});
  }
  print_table(std::cout, rows);
  return 0;
}

int pull(StorageClient& client, const std::string& reference, const json& options) {
  json request = options;
  request["ref"] = reference;
  ProgressDisplay display(std::cout, ::isatty(STDOUT_FILENO) == 1);
  const json result = client.call("pull_image", request, [&display](const std::string& progress) {
    display.update(json::parse(progress, nullptr, false));
  });
  std::cout << "Digest: " << result.value("digest", "") << "\n";
  const uint64_t downloaded = result.value("downloaded_bytes", uint64_t{0});
  if (result.value("layers_downloaded", 0) > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1fs", result.value("seconds", 0.0));
    std::cout << "Status: Pulled " << result.value("name", "") << " in " << seconds << " ("
              << format_bytes(downloaded) << ")\n";
  } else {
    std::cout << "Status: Image is up to date for " << result.value("name", "") << "\n";
  }
  std::cout << result.value("name", "") << "\n";
  return 0;
}

int dispatch(const ImageContext& context, const std::string& command, const std::vector<std::string>& args) {
  po::options_description options("Options");
  std::string policy = "Always", platform, username, input, name, format = "table";
  std::vector<std::string> words;
  options.add_options()("policy", po::value(&policy), "Always, IfNotPresent or Never (pull)")(
      "platform", po::value(&platform), "os/arch[/variant] to pull instead of this node's (pull)")(
      "username,u", po::value(&username), "registry user name (pull)")(
      "password-stdin", "read the registry password from standard input (pull)")(
      "input,i", po::value(&input), "the archive to load (load)")("name", po::value(&name),
                                                                   "a name for an archive's unnamed image (load)")(
      "format", po::value(&format), "table or json (ls)")("quiet,q", "image ids only (ls)")(
      "force,f", "remove an image a container uses (rm)");
  po::variables_map values;
  if (int code = parse_command_words("image " + command, kUsage, args, options, words, values); code >= 0) {
    return code;
  }
  StorageClient client(storage_entry(context));
  auto one_reference = [&] {
    if (words.size() != 1) throw std::runtime_error("usage: deckhand image " + command + " REF");
    return words[0];
  };
  if (command == "ls" || command == "list") return list(client, format, values.count("quiet") > 0);
  if (command == "pull") {
    json request = {{"policy", policy}};
    if (!platform.empty()) request["platform"] = platform;
    if (values.count("password-stdin")) {
      if (username.empty()) throw std::runtime_error("--password-stdin needs --username");
      std::string password;
      std::getline(std::cin, password);
      request["auth"] = {{"username", username}, {"password", password}};
    } else if (!username.empty()) {
      throw std::runtime_error("--username needs --password-stdin (a password on the command line would show in ps)");
    }
    return pull(client, one_reference(), request);
  }
  if (command == "load") {
    if (input.empty() && words.size() == 1) input = words[0];
    if (input.empty()) throw std::runtime_error("usage: deckhand image load -i FILE [--name REF]");
    json request = {{"path", std::filesystem::absolute(input).string()}};
    if (!name.empty()) request["name"] = name;
    ProgressDisplay display(std::cout, ::isatty(STDOUT_FILENO) == 1);
    const json result = client.call("load_image", request, [&display](const std::string& progress) {
      display.update(json::parse(progress, nullptr, false));
    });
    for (const auto& image : result["images"]) {
      std::cout << "Loaded image: " << image.value("familiar", image.value("name", "")) << "\n";
    }
    return 0;
  }
  if (command == "inspect") {
    std::cout << client.call("image_status", {{"ref", one_reference()}}).dump(2) << "\n";
    return 0;
  }
  if (command == "rm" || command == "remove") {
    if (words.empty()) throw std::runtime_error("usage: deckhand image rm [--force] REF...");
    int failures = 0;
    for (const std::string& reference : words) {
      try {
        const json result = client.call("remove_image", {{"ref", reference}, {"force", values.count("force") > 0}});
        for (const auto& removed : result["removed"]) std::cout << "Untagged: " << removed.get<std::string>() << "\n";
      } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        ++failures;
      }
    }
    return failures == 0 ? 0 : 1;
  }
  if (command == "prune") {
    if (!words.empty()) throw std::runtime_error("usage: deckhand image prune");
    const json result = client.call("prune_images", json::object());
    for (const auto& removed : result["images_removed"]) std::cout << "Deleted: " << removed.get<std::string>() << "\n";
    std::cout << "Total reclaimed space: " << format_bytes(result.value("bytes_freed", uint64_t{0})) << "\n";
    return 0;
  }
  throw std::runtime_error("unknown image command \"" + command + "\"; see 'deckhand image --help'");
}

}  // namespace

int image_command(const std::vector<std::string>& args) {
  ImageContext context;
  std::size_t i = 0;
  const std::vector<std::pair<std::string, std::string*>> options = {{"--config", &context.config_path},
                                                                      {"--plugin", &context.plugin_path}};
  if (int code = parse_group_options(args, options, kUsage, i); code >= 0) {
    return code;
  }
  try {
    return dispatch(context, args[i], std::vector<std::string>(args.begin() + static_cast<long>(i) + 1, args.end()));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // namespace deckhand::cli
