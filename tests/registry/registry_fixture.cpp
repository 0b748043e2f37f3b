#include "registry_fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "local_registry.hpp"

namespace deckhand::test {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> entries_below(const std::string& directory, const std::string& prefix,
                                       bool (*keep)(const std::string&)) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(directory, ec)) return out;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (keep(name)) out.push_back(prefix + name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string config_yaml(const std::string& dir, const nlohmann::json& storage_config) {
  nlohmann::json config = {{"root", dir + "/store"}};
  config.merge_patch(storage_config);
  // JSON is YAML: the plugin entry's config is written as a flow mapping.
  return "state_dir: " + nlohmann::json(dir + "/state").dump() + "\n" +
         "plugin_dir: " + nlohmann::json(staged_plugin_dir()).dump() + "\n" +
         "plugins:\n"
         "  - name: storage-overlay\n"
         "    path: libdeckhand-storage-overlay.so\n"
         "    required: true\n"
         "    config: " +
         config.dump() + "\n";
}

}  // namespace

std::string staged_deckhand() { return std::string(DECKHAND_STAGE_PREFIX) + "/bin/deckhand"; }
std::string staged_plugin_dir() { return std::string(DECKHAND_STAGE_PREFIX) + "/lib/deckhand/plugins"; }

Platform host_platform() {
  utsname name{};
  ::uname(&name);
  const std::string machine = name.machine;
  Platform platform;
  if (machine == "x86_64") {
    platform.architecture = "amd64";
  } else if (machine == "aarch64") {
    platform.architecture = "arm64";
  } else {
    platform.architecture = machine;
  }
  return platform;
}

NodeStore::NodeStore(const nlohmann::json& storage_config) {
  fs::create_directories(dir_ / "state");
  fs::create_directories(outside());
  write_file(sentinel(), "sentinel: nothing from an image may change this file\n");
  configure(storage_config);
}

void NodeStore::configure(const nlohmann::json& storage_config) {
  write_file(config_path(), config_yaml(dir_.path(), storage_config));
}

CommandResult NodeStore::image(const std::vector<std::string>& args, const std::string& input,
                               std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {staged_deckhand(), "image", "--config", config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input, timeout);
}

CommandResult NodeStore::pull(const std::string& reference) const { return image({"pull", reference}); }

CommandResult NodeStore::pull_as(const std::string& reference, const std::string& user,
                                 const std::string& password) const {
  return image({"pull", "--username", user, "--password-stdin", reference}, password + "\n");
}

std::vector<std::string> NodeStore::image_records() const {
  return entries_below(root() + "/images", "images/", [](const std::string&) { return true; });
}

std::vector<std::string> NodeStore::layer_directories() const {
  return entries_below(root() + "/layers", "layers/", [](const std::string& name) { return name.rfind("tmp-", 0) != 0; });
}

std::vector<std::string> NodeStore::blobs() const {
  std::vector<std::string> out;
  for (const std::string& algorithm :
       entries_below(root() + "/content/blobs", "", [](const std::string&) { return true; })) {
    const auto found = entries_below(root() + "/content/blobs/" + algorithm, "content/blobs/" + algorithm + "/",
                                     [](const std::string&) { return true; });
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::vector<std::string> NodeStore::leftovers() const {
  auto out = entries_below(root() + "/layers", "layers/", [](const std::string& name) { return name.rfind("tmp-", 0) == 0; });
  for (const auto& found : {entries_below(root() + "/content/ingest", "content/ingest/", [](const std::string&) { return true; }),
                            entries_below(root() + "/tmp", "tmp/", [](const std::string&) { return true; })}) {
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::string NodeStore::what_is_left() const {
  std::string out;
  for (const auto& list : {image_records(), layer_directories(), blobs(), leftovers()}) {
    for (const auto& path : list) out += path + "\n";
  }
  return out;
}

std::optional<std::string> NodeStore::diff_dir_of_blob(const std::string& digest) const {
  for (const std::string& layer : layer_directories()) {
    const std::string record_path = root() + "/" + layer + "/layer.json";
    std::error_code ec;
    if (!fs::exists(record_path, ec)) continue;
    const auto record = nlohmann::json::parse(read_file(record_path), nullptr, false);
    if (record.is_object() && record.value("blob", "") == digest) return root() + "/" + layer + "/diff";
  }
  return std::nullopt;
}

std::string NodeStore::outside_snapshot() const {
  std::vector<std::string> lines;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(outside(), ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string path = it->path().string();
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0) continue;
    std::ostringstream line;
    line << path.substr(outside().size()) << " mode=" << std::oct << status.st_mode << std::dec
         << " size=" << status.st_size << " links=" << status.st_nlink;
    if (S_ISREG(status.st_mode)) line << " sha256=" << sha256_hex(read_file(path));
    if (S_ISLNK(status.st_mode)) line << " -> " << fs::read_symlink(path, ec).string();
    lines.push_back(line.str());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

std::string describe(const CommandResult& result) {
  return "exit code " + std::to_string(result.exit_code) + "\n--- stdout ---\n" + result.out + "\n--- stderr ---\n" +
         result.err;
}

void expect_failed_pull(const NodeStore& node, const std::string& reference, const std::vector<std::string>& expected) {
  const CommandResult result = node.pull(reference);
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("pull " + reference + ":"), std::string::npos) << result.err;
  for (const std::string& text : expected) {
    EXPECT_NE(result.err.find(text), std::string::npos) << "expected \"" << text << "\" in:\n" << result.err;
  }
  EXPECT_EQ(node.what_is_left(), "");
}

PushedImage push_layers(const std::string& reference, const std::function<std::vector<LayerBlob>(OciLayout&)>& build,
                        const std::string& credentials) {
  TempDir dir("deckhand-layout");
  OciLayout layout(dir / "layout");
  PushedImage pushed;
  pushed.reference = reference;
  pushed.layers = build(layout);
  pushed.manifest = layout.add_image(pushed.layers, host_platform(), {"/bin/tool"});
  const auto manifest = nlohmann::json::parse(read_file(layout.blob_path(pushed.manifest.digest)));
  pushed.config.media_type = manifest["config"]["mediaType"];
  pushed.config.digest = manifest["config"]["digest"];
  pushed.config.size = manifest["config"]["size"];
  layout.tag("pushed", pushed.manifest);
  skopeo_push(layout.path(), "pushed", reference, credentials);
  return pushed;
}

PushedImage push_image(const std::string& reference, const std::vector<std::vector<TarEntry>>& layers,
                       const std::string& credentials) {
  return push_layers(
      reference,
      [&](OciLayout& layout) {
        std::vector<LayerBlob> blobs;
        for (const auto& entries : layers) blobs.push_back(layout.add_layer(entries));
        return blobs;
      },
      credentials);
}

std::vector<TarEntry> small_tree(const std::string& marker) {
  return {TarEntry::directory("etc"), TarEntry::file("etc/hello", marker), TarEntry::directory("bin"),
          TarEntry::file("bin/tool", "#!/bin/sh\necho tool\n", 0755)};
}

}  // namespace deckhand::test
