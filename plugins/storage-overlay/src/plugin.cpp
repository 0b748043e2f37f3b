// storage-overlay as a deckhand plugin: the SDK's storage operations over
// StorageService, with strict request parsing, the storage errors mapped
// onto the SDK's statuses, pull progress forwarded to the agent, and the
// store's size on the agent's /metrics.
#include <deckhand/plugin.hpp>
#include <sys/statvfs.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "base64.hpp"
#include "plugin_request.hpp"
#include "storage_error.hpp"
#include "storage_service.hpp"

namespace {

using nlohmann::json;
namespace sdk = deckhand::sdk;
namespace storage = deckhand::storage;
using storage::Failure;
using storage::StorageError;

sdk::Error to_sdk_error(const StorageError& e) {
  switch (e.kind()) {
    case Failure::invalid:
    case Failure::corrupt: return sdk::invalid_argument(e.what());
    case Failure::not_found: return sdk::not_found(e.what());
    case Failure::exists: return sdk::already_exists(e.what());
    case Failure::precondition: return sdk::failed_precondition(e.what());
    case Failure::unavailable: return sdk::unavailable(e.what());
    case Failure::permission: return sdk::permission_denied(e.what());
    case Failure::exhausted: return sdk::resource_exhausted(e.what());
    case Failure::deadline: return sdk::deadline_exceeded(e.what());
    case Failure::internal: break;
  }
  return sdk::internal(e.what());
}

template <class F>
std::string guarded(F&& body) {
  try {
    return body();
  } catch (const StorageError& e) {
    throw to_sdk_error(e);
  }
}

json image_json(const storage::ImageView& view) {
  const storage::ImageRecord& record = view.record;
  json layers = json::array();
  for (const auto& digest : record.layers) layers.push_back(digest.string());
  return {{"name", record.name},
          {"familiar", view.reference.familiar()},
          {"repository", view.reference.name()},
          {"tag", view.reference.tag},
          {"digest", record.manifest_digest.string()},
          {"repo_digest", view.reference.name() + "@" + record.manifest_digest.string()},
          {"id", record.config_digest.string()},
          {"size", record.size},
          {"unpacked_size", view.unpacked_bytes},
          {"layers", layers},
          {"created", record.created},
          {"last_used", view.last_used},
          {"in_use", view.in_use}};
}

json config_json(const storage::ImageConfig& config) {
  return {{"platform", config.platform.string()}, {"config", config.config}};
}

json progress_json(const storage::LayerProgress& progress) {
  return {{"layer", progress.blob.string()},
          {"index", progress.index},
          {"phase", storage::phase_name(progress.phase)},
          {"done", progress.done},
          {"total", progress.total}};
}

storage::StorageConfig load_config(const sdk::Host& host) {
  const json config = json::parse(host.config_json(), nullptr, false);
  try {
    return storage::parse_storage_config(config);
  } catch (const StorageError& e) {
    throw to_sdk_error(e);
  }
}

}  // namespace

class OverlayStorage {
 public:
  explicit OverlayStorage(sdk::Host& host)
      : host_(host),
        service_(load_config(host)),
        images_(host.gauge("deckhand_storage_images", "Image names in the store")),
        layers_(host.gauge("deckhand_storage_layers", "Unpacked layers in the store")),
        layer_bytes_(host.gauge("deckhand_storage_layer_bytes", "Bytes of the unpacked layers (file contents)")),
        blob_bytes_(host.gauge("deckhand_storage_blob_bytes", "Bytes of the stored manifests and configs")),
        roots_(host.gauge("deckhand_storage_root_filesystems", "Container root filesystems mounted")),
        available_(host.gauge("deckhand_storage_filesystem_available_bytes",
                              "Bytes available to the store on its filesystem")),
        pulls_(host.counter("deckhand_storage_pulls_total", "Image pulls that asked a registry and succeeded")),
        pull_failures_(host.counter("deckhand_storage_pull_failures_total", "Image pulls that failed")),
        pulled_bytes_(host.counter("deckhand_storage_pulled_bytes_total", "Compressed layer bytes downloaded")) {
    host_.info("store under " + service_.config().root);
    update_metrics();
    if (!service_.config().import_dir.empty()) {
      importing_ = true;
      importer_ = std::thread([this] {
        for (const std::string& line : service_.import_directory({})) host_.info(line);
        update_metrics();
        importing_ = false;
      });
    }
  }

  ~OverlayStorage() {
    if (importer_.joinable()) importer_.join();
  }

  void health(sdk::Call&) {
    if (importing_) throw sdk::unavailable("loading the image archives of " + service_.config().import_dir);
  }

  std::string pull_image(sdk::Call& call, std::string_view text) {
    const storage::PluginRequest request(text, {"ref", "policy", "auth", "platform"});
    return guarded([&] {
      storage::PullRequest pull;
      pull.reference = storage::parse_reference(request.text("ref", true));
      pull.policy = storage::parse_pull_policy(request.text("policy", false, "IfNotPresent"));
      if (request.has("auth")) pull.credentials = credentials(request.object("auth"));
      if (request.has("platform")) pull.platform = parse_platform(request.text("platform", true));
      storage::InstallOptions options;
      options.on_progress = [&call](const storage::LayerProgress& progress) {
        call.report_progress(progress_json(progress).dump());
      };
      options.cancelled = [&call] { return call.deadline_passed(); };
      const auto started = std::chrono::steady_clock::now();
      storage::PullResult result;
      try {
        result = service_.pull(pull, options, call.deadline_ns());
      } catch (...) {
        pull_failures_.add(1);
        throw;
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (result.fetched) pulls_.add(1);
      pulled_bytes_.add(static_cast<double>(result.downloaded_bytes));
      update_metrics();
      const auto view = service_.find(result.image.name);
      if (!view) throw StorageError(Failure::internal, "the pulled image " + result.image.name + " is not in the store");
      json out = image_json(*view);
      out["image_config"] = config_json(service_.image_config(result.image));
      out["pulled"] = result.fetched;
      out["downloaded_bytes"] = result.downloaded_bytes;
      out["layers_downloaded"] = result.layers_downloaded;
      out["seconds"] = seconds;
      return out.dump();
    });
  }

  std::string image_status(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {"ref"});
    return guarded([&] {
      const std::string ref = request.text("ref", true);
      const auto view = service_.find(ref);
      if (!view) throw sdk::not_found("image \"" + ref + "\" is not present on this node");
      json out = image_json(*view);
      out["image_config"] = config_json(service_.image_config(view->record));
      return out.dump();
    });
  }

  std::string list_images(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {});
    return guarded([&] {
      json images = json::array();
      for (const auto& view : service_.list()) images.push_back(image_json(view));
      return json({{"images", images}}).dump();
    });
  }

  std::string remove_image(sdk::Call& call, std::string_view text) {
    const storage::PluginRequest request(text, {"ref", "force"});
    return guarded([&] {
      const auto removed = service_.remove(request.text("ref", true), request.flag("force"), call.deadline_ns());
      update_metrics();
      return json({{"removed", removed}}).dump();
    });
  }

  std::string prune_images(sdk::Call& call, std::string_view text) {
    const storage::PluginRequest request(text, {});
    return guarded([&] {
      const storage::PruneResult result = service_.prune(call.deadline_ns());
      update_metrics();
      return json({{"images_removed", result.images_removed},
                   {"layers_removed", result.layers_removed},
                   {"blobs_removed", result.blobs_removed},
                   {"bytes_freed", result.bytes_freed}})
          .dump();
    });
  }

  std::string load_image(sdk::Call& call, std::string_view text) {
    const storage::PluginRequest request(text, {"path", "name"});
    return guarded([&] {
      const std::string path = request.text("path", true);
      if (path.front() != '/') throw sdk::invalid_argument("\"path\" must be absolute: " + path);
      storage::ImportOptions options;
      options.name = request.text("name", false);
      if (!options.name.empty()) options.name = storage::parse_reference(options.name).string();
      options.install.on_progress = [&call](const storage::LayerProgress& progress) {
        call.report_progress(progress_json(progress).dump());
      };
      options.install.cancelled = [&call] { return call.deadline_passed(); };
      const auto records = service_.load(path, options, call.deadline_ns());
      update_metrics();
      json images = json::array();
      for (const auto& record : records) {
        if (const auto view = service_.find(record.name)) images.push_back(image_json(*view));
      }
      return json({{"images", images}}).dump();
    });
  }

  std::string prepare_rootfs(sdk::Call& call, std::string_view text) {
    const storage::PluginRequest request(text, {"container_id", "image", "readonly"});
    return guarded([&] {
      const bool readonly = request.flag("readonly");
      const std::string path = service_.prepare_rootfs(request.text("container_id", true), request.text("image", true),
                                                       readonly, call.deadline_ns());
      return json({{"root", {{"path", path}, {"readonly", readonly}}}}).dump();
    });
  }

  std::string release_rootfs(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {"container_id"});
    return guarded([&] {
      service_.release_rootfs(request.text("container_id", true));
      return std::string("{}");
    });
  }

  std::string prepare_volume(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {"pod_id", "volume"});
    return guarded([&] {
      const std::string path = service_.volumes().prepare(request.text("pod_id", true), request.object("volume"));
      return json({{"path", path}}).dump();
    });
  }

  std::string release_volume(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {"pod_id", "name"});
    return guarded([&] {
      const std::string pod = request.text("pod_id", true);
      if (request.has("name")) {
        service_.volumes().release(pod, request.text("name", true));
      } else {
        service_.volumes().release_pod(pod);
      }
      return std::string("{}");
    });
  }

  std::string project_volume(sdk::Call&, std::string_view text) {
    const storage::PluginRequest request(text, {"pod_id", "name", "files"});
    return guarded([&] {
      std::map<std::string, storage::ProjectedFile> files;
      for (const auto& item : request.object("files").items()) {
        const json& file = item.value();
        const std::string where = "files[\"" + item.key() + "\"]";
        if (!file.is_object() || !file.contains("data") || !file["data"].is_string()) {
          throw sdk::invalid_argument(where + " must be an object with \"data\" (base64)");
        }
        for (const auto& field : file.items()) {
          if (field.key() != "data" && field.key() != "mode") {
            throw sdk::invalid_argument(where + ": unknown field \"" + field.key() + "\"");
          }
        }
        storage::ProjectedFile projected;
        projected.content = storage::base64_decode(file["data"].get<std::string>(), where + ".data");
        if (file.contains("mode")) {
          if (!file["mode"].is_number_unsigned() || file["mode"].get<uint64_t>() > 0777) {
            throw sdk::invalid_argument(where + ".mode must be a file mode from 0 to 0777 (511)");
          }
          projected.mode = file["mode"].get<uint32_t>();
        }
        files[item.key()] = projected;
      }
      const std::string path =
          service_.volumes().project(request.text("pod_id", true), request.text("name", true), files);
      return json({{"path", path}}).dump();
    });
  }

 private:
  static storage::Credentials credentials(const json& auth) {
    for (const auto& item : auth.items()) {
      if (item.key() != "username" && item.key() != "password" && item.key() != "auth") {
        throw sdk::invalid_argument("auth: unknown field \"" + item.key() + "\" (username and password, or auth)");
      }
      if (!item.value().is_string()) throw sdk::invalid_argument("auth." + item.key() + " must be a string");
    }
    if (auth.contains("auth")) {
      const std::string pair = storage::base64_decode(auth["auth"].get<std::string>(), "auth.auth");
      const auto colon = pair.find(':');
      if (colon == std::string::npos) throw sdk::invalid_argument("auth.auth must be base64 of user:password");
      return {pair.substr(0, colon), pair.substr(colon + 1)};
    }
    if (!auth.contains("username") || !auth.contains("password")) {
      throw sdk::invalid_argument("auth needs username and password (or auth)");
    }
    return {auth["username"].get<std::string>(), auth["password"].get<std::string>()};
  }

  // "linux/arm64", "linux/arm/v7".
  static storage::Platform parse_platform(const std::string& text) {
    storage::Platform platform;
    const auto first = text.find('/');
    const auto second = first == std::string::npos ? std::string::npos : text.find('/', first + 1);
    if (first == std::string::npos || first == 0 || first + 1 == text.size()) {
      throw sdk::invalid_argument("\"platform\" must be os/architecture[/variant], not \"" + text + "\"");
    }
    platform.os = text.substr(0, first);
    platform.architecture = text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (second != std::string::npos) platform.variant = text.substr(second + 1);
    return platform;
  }

  void update_metrics() {
    try {
      const storage::StoreUsage usage = service_.usage();
      images_.set(static_cast<double>(usage.images));
      layers_.set(static_cast<double>(usage.layers));
      layer_bytes_.set(static_cast<double>(usage.layer_bytes));
      blob_bytes_.set(static_cast<double>(usage.blob_bytes));
      roots_.set(static_cast<double>(usage.root_filesystems));
      struct statvfs fs {};
      if (::statvfs(service_.config().root.c_str(), &fs) == 0) {
        available_.set(static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
      }
    } catch (const StorageError& e) {
      host_.warn(std::string("storage metrics: ") + e.what());
    }
  }

  sdk::Host& host_;
  storage::StorageService service_;
  sdk::Metric images_, layers_, layer_bytes_, blob_bytes_, roots_, available_;
  sdk::Metric pulls_, pull_failures_, pulled_bytes_;
  std::atomic<bool> importing_{false};
  std::thread importer_;
};

DECKHAND_PLUGIN(OverlayStorage, storage, "storage-overlay", "0.1.0",
                "Images from OCI registries and archives, overlayfs root filesystems, pod volumes")
