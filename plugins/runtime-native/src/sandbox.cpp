#include "sandbox.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "container_state.hpp"
#include "runtime_error.hpp"

namespace deckhand::runtime {
namespace {

struct Pinnable {
  const char* type;     // linux.namespaces type
  const char* proc;     // /proc/<pid>/ns/<proc>
  int flag;
};
constexpr Pinnable kPinnable[] = {
    {"network", "net", CLONE_NEWNET}, {"ipc", "ipc", CLONE_NEWIPC}, {"uts", "uts", CLONE_NEWUTS}};

const Pinnable* pinnable(const std::string& type) {
  for (const Pinnable& p : kPinnable) {
    if (type == p.type) return &p;
  }
  return nullptr;
}

[[noreturn]] void invalid(const std::string& message) { throw RuntimeError(Failure::invalid, message); }

std::string errno_text() { return std::strerror(errno); }

// Makes the namespaces on a thread of its own (unshare moves only that
// thread, which ends right after) and bind-mounts each onto its pin, a file
// made for it. The mounts are in the host's mount namespace: the thread never
// leaves it.
void make_and_pin(const std::map<std::string, std::string>& pins, const std::string& hostname) {
  int flags = 0;
  for (const auto& [type, path] : pins) flags |= pinnable(type)->flag;
  std::string error;
  std::thread([&] {
    if (::unshare(flags) != 0) {
      error = "make the pod's namespaces: " + errno_text();
      return;
    }
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) != 0) {
      error = "set the pod's hostname: " + errno_text();
      return;
    }
    for (const auto& [type, path] : pins) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
      if (fd < 0) {
        error = "create the pin " + path + ": " + errno_text();
        return;
      }
      ::close(fd);
      const std::string source = std::string("/proc/thread-self/ns/") + pinnable(type)->proc;
      if (::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        error = "pin the " + type + " namespace on " + path + ": " + errno_text();
        return;
      }
    }
  }).join();
  if (!error.empty()) throw RuntimeError(Failure::internal, error);
}

// Unmounts a pin (every mount stacked on it) and removes its file; missing is fine.
void unpin(const std::string& path) {
  for (int i = 0; i < 16 && ::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0; ++i) {
  }
  if (errno != EINVAL && errno != ENOENT) {
    throw RuntimeError(Failure::internal, "unpin " + path + ": " + errno_text());
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw RuntimeError(Failure::internal, "remove the pin " + path + ": " + errno_text());
  }
}

SandboxState state_from(const nlohmann::json& value) {
  SandboxState state;
  state.id = value.at("id").get<std::string>();
  state.qos_class = value.value("qos_class", "");
  state.cgroups_path = value.value("cgroups_path", "");
  state.namespaces = value.value("namespaces", std::map<std::string, std::string>{});
  state.hostname = value.value("hostname", "");
  state.created = value.value("created", "");
  return state;
}

}  // namespace

nlohmann::json to_json(const SandboxState& state) {
  nlohmann::json out = {{"id", state.id},           {"qos_class", state.qos_class},
                        {"cgroups_path", state.cgroups_path}, {"namespaces", state.namespaces},
                        {"created", state.created}};
  if (!state.hostname.empty()) out["hostname"] = state.hostname;
  return out;
}

std::string pod_cgroup_path(const std::string& parent, const std::string& qos_class, const std::string& id) {
  if (qos_class == "Guaranteed") return parent + "/pod" + id;
  if (qos_class == "Burstable") return parent + "/burstable/pod" + id;
  if (qos_class == "BestEffort") return parent + "/besteffort/pod" + id;
  throw std::invalid_argument("qos_class must be Guaranteed, Burstable or BestEffort, not \"" + qos_class + "\"");
}

Sandboxes::Sandboxes(std::string dir, std::string netns_dir, std::shared_ptr<CgroupDriver> cgroups,
                     std::string cgroup_parent)
    : dir_(std::move(dir)),
      netns_dir_(std::move(netns_dir)),
      cgroups_(std::move(cgroups)),
      cgroup_parent_(std::move(cgroup_parent)) {}

std::string Sandboxes::record_dir(const std::string& id) const {
  if (!valid_container_id(id)) invalid("invalid sandbox id \"" + id + "\" (expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})");
  return dir_ + "/" + id;
}

std::map<std::string, std::string> Sandboxes::pin_paths(const std::string& id,
                                                        const std::vector<std::string>& types) const {
  std::map<std::string, std::string> pins;
  for (const std::string& type : types) {
    pins[type] = type == "network" ? netns_dir_ + "/" + id : record_dir(id) + "/" + pinnable(type)->proc;
  }
  return pins;
}

SandboxState Sandboxes::create(const SandboxRequest& request) {
  const std::string record = record_dir(request.id);
  for (std::size_t i = 0; i < request.namespaces.size(); ++i) {
    const std::string& type = request.namespaces[i];
    if (pinnable(type) == nullptr) {
      invalid("namespaces[" + std::to_string(i) + "]: a pod can share network, ipc and uts, not \"" + type +
              "\" (pid needs a live process to pin, which deckhand does not keep)");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (request.namespaces[j] == type) invalid("namespaces: \"" + type + "\" is listed twice");
    }
  }
  const bool has_uts = std::find(request.namespaces.begin(), request.namespaces.end(), "uts") != request.namespaces.end();
  if (!request.hostname.empty() && !has_uts) invalid("hostname: needs the uts namespace");
  if (request.hostname.size() > 64 || request.hostname.find('\0') != std::string::npos) {
    invalid("hostname: at most 64 characters, no NUL");
  }
  SandboxState state;
  try {
    state.cgroups_path = pod_cgroup_path(cgroup_parent_, request.qos_class, request.id);
  } catch (const std::invalid_argument& e) {
    invalid(e.what());
  }
  state.id = request.id;
  state.qos_class = request.qos_class;
  state.namespaces = pin_paths(request.id, request.namespaces);
  state.hostname = request.hostname;
  state.created = rfc3339_now();

  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  ::chmod(dir_.c_str(), 0700);
  if (::mkdir(record.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw RuntimeError(Failure::exists, "sandbox \"" + request.id + "\" already exists");
    throw RuntimeError(Failure::internal, "create " + record + ": " + errno_text());
  }
  try {
    // The record first: a crash at any later step leaves what remove needs.
    write_file_atomically(record + "/sandbox.json", to_json(state).dump() + "\n");
    if (request.qos_class == "BestEffort") {
      Resources tier;
      tier.cpu_shares = 2;  // the kubelet's MinShares for the BestEffort tier
      cgroups_->create(cgroup_parent_ + "/besteffort", tier);
    }
    cgroups_->create(state.cgroups_path, request.resources);
    if (state.namespaces.count("network")) {
      std::filesystem::create_directories(netns_dir_, ec);
      if (ec) throw RuntimeError(Failure::internal, "create " + netns_dir_ + ": " + ec.message());
    }
    if (!state.namespaces.empty()) make_and_pin(state.namespaces, request.hostname);
  } catch (const std::exception& e) {
    const std::string why = e.what();
    const Failure kind = dynamic_cast<const CgroupError*>(&e) != nullptr ? Failure::invalid : Failure::internal;
    try {
      remove(request.id);
    } catch (const std::exception&) {
      // Reporting the original failure matters more.
    }
    throw RuntimeError(kind, "create sandbox " + request.id + ": " + why);
  }
  return state;
}

void Sandboxes::remove(const std::string& id) {
  const std::string record = record_dir(id);
  std::optional<nlohmann::json> saved;
  try {
    saved = read_json_file(record + "/sandbox.json");
  } catch (const std::exception& e) {
    throw RuntimeError(Failure::internal, e.what());
  }
  if (saved) {
    const SandboxState state = state_from(*saved);
    try {
      if (!state.cgroups_path.empty()) {
        cgroups_->kill_all(state.cgroups_path, SIGKILL);
        cgroups_->destroy(state.cgroups_path);
      }
    } catch (const CgroupError& e) {
      throw RuntimeError(Failure::internal, "remove sandbox " + id + ": " + e.what());
    }
    for (const auto& [type, path] : state.namespaces) unpin(path);
  }
  std::error_code ec;
  std::filesystem::remove_all(record, ec);
  if (ec) throw RuntimeError(Failure::internal, "remove sandbox " + id + ": " + ec.message());
}

std::vector<SandboxState> Sandboxes::list() const {
  std::vector<SandboxState> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    try {
      if (auto saved = read_json_file(entry.path().string() + "/sandbox.json")) out.push_back(state_from(*saved));
    } catch (const std::exception&) {
      // damaged: not listed (remove still takes it by id)
    }
  }
  return out;
}

}  // namespace deckhand::runtime
