// dirstore: the SDK's example STORAGE plugin. It serves container root
// filesystems from plain directories: every directory directly under the
// configured root is an image, and a container's root filesystem is that
// directory, shared read-only.
//
// What it shows a plugin author:
//   - a plugin is one class and the DECKHAND_PLUGIN macro (bottom of file);
//   - config and requests are untrusted JSON, validated strictly (request.cpp);
//   - names from a request never walk out of root: openat with O_NOFOLLOW,
//     never a path built from a name and handed to open() (fsutil.cpp);
//   - state that must survive an agent restart lives in host.state_dir(),
//     written atomically;
//   - logging and metrics go through the host; all state is in the instance
//     and guarded by a mutex, since calls may run concurrently.
#include <deckhand/plugin.hpp>

#include "fsutil.hpp"
#include "request.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dirstore {

using deckhand::sdk::already_exists;
using deckhand::sdk::Call;
using deckhand::sdk::failed_precondition;
using deckhand::sdk::Host;
using deckhand::sdk::invalid_argument;
using deckhand::sdk::Metric;
using deckhand::sdk::not_found;
using deckhand::sdk::unavailable;
using nlohmann::json;

class DirStore {
 public:
  explicit DirStore(Host& host);

  void health(Call& call);
  std::string list_images(Call& call, std::string_view request_json);
  std::string image_status(Call& call, std::string_view request_json);
  std::string prepare_rootfs(Call& call, std::string_view request_json);
  std::string release_rootfs(Call& call, std::string_view request_json);

 private:
  static std::string normalize_root(const std::string& root);
  std::string image_path(const std::string& ref) const { return root_ + "/" + ref; }
  Fd open_root() const;
  Fd open_image(int rootfd, const std::string& ref) const;
  json describe(int imagefd, const std::string& ref, const Deadline& deadline) const;
  void load_state();

  const Host& host_;
  std::string root_;        // absolute, no trailing slash, never "/"
  std::string state_path_;  // <state_dir>/containers: one file per container
  Fd state_;                // that directory, open
  Metric prepared_;         // deckhand_dirstore_rootfs_prepared_total
  Metric active_;           // deckhand_dirstore_rootfs_active

  std::mutex mu_;
  std::map<std::string, std::string> containers_;  // container id -> image; guarded by mu_
};

// ------------------------------------------------------------------ setup

DirStore::DirStore(Host& host) : host_(host) {
  Request config("dirstore config", host.config_json(), {"root"});
  root_ = normalize_root(config.string("root"));

  if (int err = make_dirs(root_, 0700); err != 0) {
    throw fs_error("dirstore config: cannot create root " + os_error(root_, err), err);
  }
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) {
    int err = errno;
    throw fs_error("dirstore config: root " + os_error(root_, err), err);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw failed_precondition("dirstore config: root " + root_ + " exists and is not a directory");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    host_.warn("root " + root_ + " is writable by group or others: whoever can write there decides "
               "what containers run");
  }

  if (host.state_dir().empty()) throw failed_precondition("the agent gave dirstore no state directory");
  state_path_ = host.state_dir() + "/containers";
  Fd state_dir = open_dir(host.state_dir());
  if (!state_dir) {
    int err = errno;
    throw fs_error("state directory " + os_error(host.state_dir(), err), err);
  }
  if (::mkdirat(state_dir.get(), "containers", 0700) != 0 && errno != EEXIST) {
    int err = errno;
    throw fs_error("cannot create " + os_error(state_path_, err), err);
  }
  state_ = open_subdir(state_dir.get(), "containers");
  if (!state_) {
    int err = errno;
    throw fs_error("cannot open " + os_error(state_path_, err), err);
  }

  prepared_ = host.counter("deckhand_dirstore_rootfs_prepared_total",
                           "Container root filesystems prepared by dirstore.");
  active_ = host.gauge("deckhand_dirstore_rootfs_active",
                       "Containers that currently have a dirstore root filesystem.");

  load_state();
  active_.set(static_cast<double>(containers_.size()));
  host_.info("serving images from " + root_ + "; " + std::to_string(containers_.size()) +
             " container root filesystem(s) recorded in " + state_path_);
}

// An absolute path with no "." or ".." components; repeated and trailing
// slashes are dropped. "/" itself is refused: its subdirectories are the
// host's own /usr, /etc and so on, never what anyone meant to serve.
std::string DirStore::normalize_root(const std::string& root) {
  const std::string bad = "dirstore config: key \"root\": " + quote(root) + " ";
  if (root.empty() || root[0] != '/') throw invalid_argument(bad + "must be an absolute path");
  std::string out;
  std::size_t pos = 0;
  while (pos < root.size()) {
    std::size_t end = root.find('/', pos);
    if (end == std::string::npos) end = root.size();
    std::string_view part(root.data() + pos, end - pos);
    if (part == "." || part == "..") throw invalid_argument(bad + "must not contain \".\" or \"..\"");
    if (!part.empty()) (out += '/') += part;
    pos = end + 1;
  }
  if (out.empty()) throw invalid_argument(bad + "must not be \"/\"");
  return out;
}

// Reads the container -> image records written by prepare_rootfs. A record
// that cannot be read is reported and skipped: losing one mapping is better
// than an agent that cannot start.
void DirStore::load_state() {
  for (const std::string& name : list_dir(state_.get(), state_path_)) {
    const std::string path = state_path_ + "/" + name;
    if (name.size() > 4 && name[0] == '.' && name.ends_with(".tmp")) {
      // A write that a crash interrupted before its rename; the old record,
      // if any, is still intact under the real name.
      ::unlinkat(state_.get(), name.c_str(), 0);
      host_.debug("removed the interrupted write " + path);
      continue;
    }
    if (!is_container_id(name)) {
      host_.warn("ignoring " + state_path_ + "/" + quote(name) + ": not a container record");
      continue;
    }
    std::string text;
    if (!read_file(state_.get(), name, &text)) {
      host_.warn("ignoring the container record " + os_error(path, errno));
      continue;
    }
    try {
      Request record("container record " + path, text, {"container_id", "image"});
      std::string id = record.string("container_id");
      std::string image = record.string("image");
      if (id != name || !is_image_name(image)) {
        host_.warn("ignoring the container record " + path + ": its contents do not match its name");
        continue;
      }
      containers_.emplace(std::move(id), std::move(image));
    } catch (const deckhand::sdk::Error& e) {
      host_.warn(std::string("ignoring a damaged container record: ") + e.what());
    }
  }
}

// ---------------------------------------------------------------- helpers

Fd DirStore::open_root() const {
  Fd fd = open_dir(root_);
  if (!fd) {
    int err = errno;
    throw unavailable("root " + os_error(root_, err));
  }
  return fd;
}

// Opens root/ref as a real directory: a symlink is refused, so an image can
// never point outside root. ref has been checked with check_image_name.
Fd DirStore::open_image(int rootfd, const std::string& ref) const {
  Fd fd = open_subdir(rootfd, ref);
  if (fd) return fd;
  const int err = errno;
  if (err == ENOENT) throw not_found("image " + ref + " not found in " + root_);
  struct stat st {};
  if (::fstatat(rootfd, ref.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      throw failed_precondition("image " + ref + ": " + image_path(ref) +
                                " is a symbolic link; dirstore serves only real directories under " + root_);
    }
    if (!S_ISDIR(st.st_mode)) {
      throw not_found("image " + ref + " not found in " + root_ + " (" + image_path(ref) +
                      " is not a directory)");
    }
  }
  throw fs_error("cannot open image " + os_error(image_path(ref), err), err);
}

json DirStore::describe(int imagefd, const std::string& ref, const Deadline& deadline) const {
  uint64_t skipped = 0;
  uint64_t size = tree_size(imagefd, deadline, &skipped);
  if (skipped != 0) {
    host_.warn("the size of image " + ref + " leaves out " + std::to_string(skipped) +
               " entries that could not be read");
  }
  return json{{"ref", ref}, {"path", image_path(ref)}, {"size", size}};
}

// ------------------------------------------------------------- operations

void DirStore::health(Call& /*call*/) {
  Fd root = open_root();  // throws unavailable
  if (::faccessat(root.get(), ".", R_OK | X_OK, AT_EACCESS) != 0) {
    int err = errno;
    throw unavailable("root " + os_error(root_, err));
  }
  struct stat st {};
  if (::fstat(state_.get(), &st) != 0 || st.st_nlink == 0) {
    throw unavailable("state directory " + state_path_ + " was removed");
  }
}

// {} -> {"images": [{"ref", "path", "size"}]}, sorted by ref.
std::string DirStore::list_images(Call& call, std::string_view request_json) {
  Request request("list_images", request_json, {});
  const Deadline deadline{call.deadline_ns()};
  Fd root = open_root();
  std::vector<std::string> names = list_dir(root.get(), root_);
  std::sort(names.begin(), names.end());

  json images = json::array();
  for (const std::string& name : names) {
    if (!is_image_name(name)) {
      host_.debug("list_images: ignoring " + root_ + "/" + quote(name) + ": not a valid image name");
      continue;
    }
    Fd image = open_subdir(root.get(), name);
    if (!image) {
      int err = errno;
      host_.debug("list_images: ignoring " + image_path(name) + ": " +
                  (err == ELOOP ? std::string("a symbolic link") : errno_text(err)));
      continue;
    }
    images.push_back(describe(image.get(), name, deadline));
    deadline.check("listing images");
  }
  return json{{"images", std::move(images)}}.dump();
}

// {"ref"} -> {"ref", "path", "size"} or NOT_FOUND.
std::string DirStore::image_status(Call& call, std::string_view request_json) {
  Request request("image_status", request_json, {"ref"});
  const std::string ref = request.string("ref");
  check_image_name("image_status", "ref", ref);
  Fd root = open_root();
  Fd image = open_image(root.get(), ref);
  return describe(image.get(), ref, Deadline{call.deadline_ns()}).dump();
}

// {"container_id", "image", "readonly"} -> {"root": {"path", "readonly"}},
// the "root" object of the OCI runtime spec.
std::string DirStore::prepare_rootfs(Call& /*call*/, std::string_view request_json) {
  Request request("prepare_rootfs", request_json, {"container_id", "image", "readonly"});
  const std::string id = request.string("container_id");
  check_container_id("prepare_rootfs", id);
  const std::string image = request.string("image");
  check_image_name("prepare_rootfs", "image", image);
  if (!request.boolean("readonly")) {
    throw failed_precondition(
        "prepare_rootfs: container " + id + ": dirstore only serves read-only root filesystems: "
        "image " + image + " is one directory shared by every container that uses it, so a "
        "writable root would let one container change another's files; ask for \"readonly\": true");
  }
  {
    Fd root = open_root();
    open_image(root.get(), image);  // exists and is a real directory, or throws
  }

  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it != containers_.end()) {
    if (it->second != image) {
      throw already_exists("prepare_rootfs: container " + id + " already has a root filesystem from image " +
                           it->second + "; release it before preparing one from image " + image);
    }
    host_.debug("prepare_rootfs: container " + id + " already uses image " + image);
  } else {
    const json record{{"container_id", id}, {"image", image}};
    write_file_atomic(state_.get(), state_path_, id, record.dump() + "\n");
    containers_.emplace(id, image);
    prepared_.add(1);
    active_.set(static_cast<double>(containers_.size()));
    host_.info("prepared the root filesystem of container " + id + ": " + image_path(image) + ", read-only");
  }

  json root = json::object();
  root["path"] = image_path(image);
  root["readonly"] = true;
  json result = json::object();
  result["root"] = std::move(root);
  return result.dump();
}

// {"container_id"} -> {}. Releasing an unknown container is not an error.
std::string DirStore::release_rootfs(Call& /*call*/, std::string_view request_json) {
  Request request("release_rootfs", request_json, {"container_id"});
  const std::string id = request.string("container_id");
  check_container_id("release_rootfs", id);

  std::lock_guard lock(mu_);
  // Removed even when unknown: a record load_state() could not read is
  // cleaned up by the release that the agent retries.
  remove_file(state_.get(), state_path_, id);
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    host_.debug("release_rootfs: container " + id + " has no root filesystem; nothing to do");
    return "{}";
  }
  const std::string image = it->second;
  containers_.erase(it);
  active_.set(static_cast<double>(containers_.size()));
  host_.info("released the root filesystem of container " + id + " (image " + image + ")");
  return "{}";
}

}  // namespace dirstore

using dirstore::DirStore;

DECKHAND_PLUGIN(DirStore, storage, "dirstore", "1.0.0", "root filesystems served from plain directories")
