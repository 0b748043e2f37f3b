#include "local_registry.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "http_client.hpp"

namespace deckhand::test {
namespace {

constexpr int kStartAttempts = 3;
constexpr auto kStartTimeout = std::chrono::seconds(10);

std::string htpasswd_file(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string text;
  for (const auto& [user, password] : users) {
    const auto result = run_command({"htpasswd", "-Bbn", user, password});
    if (result.exit_code != 0) throw std::runtime_error("htpasswd -Bbn " + user + ": " + result.err);
    // htpasswd -n prints "user:hash" and an empty line.
    text += result.out.substr(0, result.out.find('\n')) + "\n";
  }
  return text;
}

std::string config_yaml(const std::string& dir, int port, const RegistryOptions& options) {
  std::string yaml =
      "version: 0.1\n"
      "log:\n"
      "  level: info\n"
      "storage:\n"
      "  filesystem:\n"
      "    rootdirectory: " + dir + "/storage\n"
      "  delete:\n"
      "    enabled: true\n"
      "http:\n"
      "  addr: 127.0.0.1:" + std::to_string(port) + "\n";
  if (options.token) {
    yaml +=
        "auth:\n"
        "  token:\n"
        "    realm: \"" + options.token->realm + "\"\n"
        "    service: \"" + options.token->service + "\"\n"
        "    issuer: \"" + options.token->issuer + "\"\n"
        "    rootcertbundle: " + options.token->rootcertbundle + "\n";
  } else if (!options.users.empty()) {
    yaml +=
        "auth:\n"
        "  htpasswd:\n"
        "    realm: deckhand-test\n"
        "    path: " + dir + "/htpasswd\n";
  }
  return yaml;
}

// /v2/ answers 200 (no auth) or 401 (auth required) once the registry serves.
bool wait_until_serving(ChildProcess& process, int port) {
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process.running()) return false;
    const int status = http_get(port, "/v2/").status;
    if (status == 200 || status == 401) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

LocalRegistry::LocalRegistry(RegistryOptions options) {
  std::filesystem::create_directories(dir_ / "storage");
  if (!options.users.empty()) write_file(dir_ / "htpasswd", htpasswd_file(options.users));
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    port_ = free_port();
    write_file(dir_ / "config.yml", config_yaml(dir_.path(), port_, options));
    // setpriv execs the registry with SIGKILL as its parent-death signal: a
    // test binary that crashes does not leave registries behind.
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"setpriv", "--pdeathsig", "KILL", "docker-registry", "serve", dir_ / "config.yml"},
        dir_ / "stdout.log", dir_ / "stderr.log");
    if (wait_until_serving(*process_, port_)) return;
    process_->stop(std::chrono::seconds(5));
    process_.reset();
  }
  throw std::runtime_error("docker-registry did not start after " + std::to_string(kStartAttempts) +
                           " attempts; last stderr:\n" + log());
}

LocalRegistry::~LocalRegistry() {
  if (process_) process_->stop(std::chrono::seconds(5));
}

std::string LocalRegistry::blob_data_path(const std::string& digest) const {
  const std::string prefix = "sha256:";
  if (digest.rfind(prefix, 0) != 0 || digest.size() != prefix.size() + 64) {
    throw std::invalid_argument("not a sha256 digest: " + digest);
  }
  const std::string hex = digest.substr(prefix.size());
  return storage_dir() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

std::string LocalRegistry::log() const { return read_file(dir_ / "stderr.log"); }

void skopeo_push(const std::string& layout, const std::string& tag, const std::string& destination,
                 const std::string& credentials, bool all_platforms) {
  std::vector<std::string> argv{"skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"};
  if (all_platforms) argv.push_back("--all");
  if (!credentials.empty()) argv.push_back("--dest-creds=" + credentials);
  argv.push_back("oci:" + layout + ":" + tag);
  argv.push_back("docker://" + destination);
  const auto result = run_command(argv, "", std::chrono::minutes(5));
  if (result.exit_code != 0) {
    throw std::runtime_error("skopeo copy oci:" + layout + ":" + tag + " docker://" + destination + " failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.err);
  }
}

void skopeo_archive(const std::string& layout, const std::string& tag, const std::string& format,
                    const std::string& file, const std::string& name) {
  std::string destination = format + ":" + file;
  if (!name.empty()) destination += ":" + name;
  std::vector<std::string> argv{"skopeo", "copy", "--quiet"};
  // A docker-archive holds Docker schema 2 manifests: digests change there by nature.
  if (format == "oci-archive") argv.push_back("--preserve-digests");
  argv.push_back("oci:" + layout + ":" + tag);
  argv.push_back(destination);
  const auto result = run_command(argv, "", std::chrono::minutes(5));
  if (result.exit_code != 0) {
    throw std::runtime_error("skopeo copy oci:" + layout + ":" + tag + " " + destination + " failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.err);
  }
}

}  // namespace deckhand::test
