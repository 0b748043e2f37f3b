#include "rootfs_overlay.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <system_error>
#include <thread>

#include "rootfs_files.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

Failure failure_for(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return Failure::not_found;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case E2BIG:
      return Failure::exhausted;
    default:
      return Failure::internal;
  }
}

// The messages the kernel left in a file system context ("e overlay: ..."):
// overlayfs explains its refusals there rather than in errno.
std::string context_log(int context_fd) {
  std::string log;
  char buffer[1024];
  for (int message = 0; message < 32; ++message) {
    const ssize_t count = ::read(context_fd, buffer, sizeof buffer);
    if (count <= 0) break;
    std::string line(buffer, static_cast<std::size_t>(count));
    if (line.size() > 2 && line[1] == ' ') line.erase(0, 2);  // the "e "/"w "/"i " severity
    if (!log.empty()) log += "; ";
    log += line;
  }
  return log;
}

[[noreturn]] void fail_in_context(int context_fd, int error, const std::string& merged, const std::string& step) {
  const std::string log = context_log(context_fd);
  std::string message = "cannot mount the overlay on " + merged + ": " + step + ": " + errno_text(error);
  if (!log.empty()) message += " (" + log + ")";
  throw StorageError(failure_for(error), message);
}

constexpr const char* kNoLowerdirPlus =
    "this kernel's overlayfs has no \"lowerdir+\" (it came with Linux 6.8); use the relative_paths method";

void mount_with_lowerdir_plus(const OverlayLayers& layers) {
  FileDescriptor context(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (context.get() < 0) {
    const int error = errno;
    if (error == ENOSYS) {
      throw StorageError(Failure::precondition, "cannot mount the overlay on " + layers.merged +
                                                    ": this kernel has no fsopen (Linux 5.2); " + kNoLowerdirPlus);
    }
    throw StorageError(failure_for(error), "cannot mount the overlay on " + layers.merged +
                                               ": fsopen(\"overlay\"): " + errno_text(error));
  }
  const auto set = [&](const char* key, const std::string& value) {
    if (::fsconfig(context.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0) return;
    const int error = errno;
    if (error == EINVAL && std::string(key) == "lowerdir+" && !kernel_has_lowerdir_plus(value)) {
      throw StorageError(Failure::precondition, "cannot mount the overlay on " + layers.merged + ": " + kNoLowerdirPlus);
    }
    fail_in_context(context.get(), error, layers.merged, std::string(key) + " " + value);
  };
  for (const std::string& lower : layers.lowers_top_first) set("lowerdir+", lower);
  set("upperdir", layers.upper);
  set("workdir", layers.work);
  if (::fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    fail_in_context(context.get(), errno, layers.merged, "creating the overlay");
  }
  FileDescriptor mount(::fsmount(context.get(), FSMOUNT_CLOEXEC, layers.readonly ? MOUNT_ATTR_RDONLY : 0));
  if (mount.get() < 0) fail_in_context(context.get(), errno, layers.merged, "fsmount");
  if (::move_mount(mount.get(), "", AT_FDCWD, layers.merged.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    fail_in_context(context.get(), errno, layers.merged, "move_mount");
  }
}

void mount_with_relative_paths(const OverlayLayers& layers) {
  const RelativeLowers relative = relative_to_common_parent(layers.lowers_top_first);
  const std::string options = classic_overlay_options(relative, layers.upper, layers.work);
  // mount(2) copies one page of options and cuts the last byte for the NUL.
  const long page_size = ::sysconf(_SC_PAGESIZE);
  if (static_cast<long>(options.size()) >= page_size) {
    throw StorageError(Failure::exhausted,
                       "cannot mount " + std::to_string(layers.lowers_top_first.size()) +
                           " layers with the classic overlay mount: its options take " +
                           std::to_string(options.size() + 1) + " bytes even with the lower directories relative to " +
                           relative.parent + ", more than one page (" + std::to_string(page_size) +
                           "); shorter layer directory names or Linux 6.8 (lowerdir+) would lift this");
  }
  // The relative names are resolved against the working directory, which all
  // threads of a process share; a thread of our own with its own copy
  // (unshare(CLONE_FS)) changes directory without moving anyone else's.
  std::string failed_step;
  int failed_errno = 0;
  const unsigned long flags = layers.readonly ? MS_RDONLY : 0;
  const auto mount_from_parent = [&] {
    if (::unshare(CLONE_FS) != 0) {
      failed_errno = errno;
      failed_step = "unshare(CLONE_FS)";
    } else if (::chdir(relative.parent.c_str()) != 0) {
      failed_errno = errno;
      failed_step = "chdir " + relative.parent;
    } else if (::mount("overlay", layers.merged.c_str(), "overlay", flags, options.c_str()) != 0) {
      failed_errno = errno;
      failed_step = "mount -o " + options;
    }
  };
  try {
    std::thread(mount_from_parent).join();
  } catch (const std::system_error& error) {
    throw StorageError(Failure::exhausted,
                       "cannot mount the overlay on " + layers.merged + ": cannot start a thread: " + error.what());
  }
  if (failed_errno != 0) {
    throw StorageError(failure_for(failed_errno), "cannot mount the overlay on " + layers.merged + ": " +
                                                      failed_step + ": " + errno_text(failed_errno) +
                                                      " (the kernel log may say more)");
  }
}

// What the probe found, once per process: kernels do not change under us.
enum class Probe : int { unknown, supported, unsupported };
std::atomic<Probe> lowerdir_plus_probe{Probe::unknown};

Probe probe_lowerdir_plus(const std::string& sample_lower) {
  FileDescriptor context(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (context.get() < 0) return errno == ENOSYS ? Probe::unsupported : Probe::unknown;
  // Before Linux 6.5 overlayfs had a "legacy" context that accepts any key
  // and objects only when the mount is created; a native one refuses an
  // unknown key at once. Legacy kernels are older than lowerdir+.
  if (::fsconfig(context.get(), FSCONFIG_SET_STRING, "deckhand-probe-unknown-key", "1", 0) == 0) {
    return Probe::unsupported;
  }
  context_log(context.get());  // drop the expected complaint about the key above
  if (::fsconfig(context.get(), FSCONFIG_SET_STRING, "lowerdir+", sample_lower.c_str(), 0) == 0) {
    return Probe::supported;
  }
  if (errno != EINVAL) return Probe::unknown;
  // EINVAL for a known key would be about the directory ("not a directory",
  // an unsupported file system), which says nothing about the kernel.
  return context_log(context.get()).find("Unknown parameter") != std::string::npos ? Probe::unsupported
                                                                                   : Probe::unknown;
}

}  // namespace

bool kernel_has_lowerdir_plus(const std::string& sample_lower) {
  Probe known = lowerdir_plus_probe.load();
  if (known == Probe::unknown) {
    known = probe_lowerdir_plus(sample_lower);
    if (known != Probe::unknown) lowerdir_plus_probe.store(known);
  }
  return known == Probe::supported;
}

RelativeLowers relative_to_common_parent(const std::vector<std::string>& lowers) {
  // The common prefix of the lowers' parents, so that every name keeps at
  // least its last component (never "." or an empty name).
  std::string common;
  for (std::size_t i = 0; i < lowers.size(); ++i) {
    const std::string parent = parent_directory(lowers[i]);
    if (i == 0) {
      common = parent;
      continue;
    }
    std::size_t same = 0;
    while (same < common.size() && same < parent.size() && common[same] == parent[same]) ++same;
    // Back up to a component boundary: "/a/bc" and "/a/bd" share "/a".
    const bool whole_component = (same == common.size() || common[same] == '/') &&
                                 (same == parent.size() || parent[same] == '/');
    if (!whole_component) same = common.rfind('/', same);
    common = same == 0 ? "/" : common.substr(0, same);
  }
  RelativeLowers relative{common, {}};
  relative.names.reserve(lowers.size());
  const std::size_t cut = common == "/" ? 1 : common.size() + 1;
  for (const std::string& lower : lowers) relative.names.push_back(lower.substr(cut));
  return relative;
}

std::string classic_overlay_options(const RelativeLowers& lowers, const std::string& upper,
                                    const std::string& work) {
  std::string options = "lowerdir=";
  for (std::size_t i = 0; i < lowers.names.size(); ++i) {
    if (i > 0) options += ':';
    options += lowers.names[i];
  }
  options += ",upperdir=" + upper + ",workdir=" + work;
  return options;
}

const char* overlay_method_name(OverlayMethod method) {
  switch (method) {
    case OverlayMethod::lowerdir_plus:
      return "lowerdir+";
    case OverlayMethod::relative_paths:
      return "relative_paths";
    case OverlayMethod::automatic:
      break;
  }
  return "automatic";
}

OverlayMethod mount_overlay(const OverlayLayers& layers, OverlayMethod method) {
  if (layers.lowers_top_first.empty()) {
    throw StorageError(Failure::invalid, "cannot mount the overlay on " + layers.merged + ": no lower directory");
  }
  if (layers.lowers_top_first.size() > kMaxOverlayLowers) {
    throw StorageError(Failure::exhausted, "cannot mount " + std::to_string(layers.lowers_top_first.size()) +
                                               " layers: overlayfs stacks at most " +
                                               std::to_string(kMaxOverlayLowers) + " lower directories");
  }
  if (method == OverlayMethod::automatic) {
    method = kernel_has_lowerdir_plus(layers.lowers_top_first.front()) ? OverlayMethod::lowerdir_plus
                                                                      : OverlayMethod::relative_paths;
  }
  if (method == OverlayMethod::lowerdir_plus) {
    mount_with_lowerdir_plus(layers);
  } else {
    mount_with_relative_paths(layers);
  }
  return method;
}

}  // namespace deckhand::storage
