#include "rootfs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "default_devices.hpp"
#include "fd_io.hpp"
#include "mount_options.hpp"

namespace deckhand::runtime {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}


// Opens `path` (absolute, as the container sees it) under root_fd, resolving
// every symlink as if root_fd were "/": a hostile image cannot point a mount
// target outside its root (runc CVE-2021-30465 class).
int open_in_root(int root_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const std::string relative = path == "/" ? "." : path.substr(1);
  return static_cast<int>(syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
}

// Opens the mount target, creating missing directories (and the final file
// for a file bind mount) inside the root.
Fd open_target(int root_fd, const std::string& path, bool file) {
  int fd = open_in_root(root_fd, path, O_PATH);
  if (fd >= 0) return Fd(fd);
  if (errno != ENOENT) fail("open mount target " + path);
  const std::filesystem::path p(path);
  Fd parent = open_target(root_fd, p.parent_path().string(), false);
  const std::string name = p.filename().string();
  if (file) {
    const int created = ::openat(parent.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (created < 0 && errno != EEXIST) fail("create mount target " + path);
    if (created >= 0) ::close(created);
  } else if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    fail("create mount target " + path);
  }
  fd = open_in_root(root_fd, path, O_PATH);
  if (fd < 0) fail("open mount target " + path);
  return Fd(fd);
}

void remount(const std::string& target, unsigned long flags, const std::string& what) {
  // A bind remount must keep the flags the kernel locked on the source mount.
  const unsigned long keep = current_mount_flags(target.c_str()) & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | flags | keep, nullptr) != 0) {
    fail("remount " + what);
  }
}

// Remounts what is now mounted at `destination`. An fd opened before the mount
// names the directory underneath it, so the target is opened afresh.
void remount_in_root(int root_fd, const std::string& destination, unsigned long flags) {
  Fd mounted = open_target(root_fd, destination, false);
  remount(mounted.proc_path(), flags, destination);
}

// Makes the mount at `path` (relative to dir_fd, or dir_fd itself when path
// is empty) read-only, with the mounts below it when `flags` has
// AT_RECURSIVE: one mount_setattr(2) instead of a remount per mount. False
// when the kernel predates it (5.12), for the caller's fallback.
bool set_readonly(int dir_fd, const char* path, unsigned int flags, uint64_t extra = 0) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | extra;
  if (::mount_setattr(dir_fd, path, flags | (path[0] == '\0' ? AT_EMPTY_PATH : 0), &attr, sizeof attr) == 0) return true;
  if (errno == ENOSYS) return false;
  fail(std::string("make ") + (path[0] == '\0' ? "a mount" : path) + " read-only");
}

void mount_cgroup(int root_fd, const Mount& mount, const MountOptions& options, const CgroupMountInfo& cgroup) {
  // A tmpfs holding, per hierarchy, a bind of the container's own cgroup
  // directory (v2: the one directory, bound at the mount point itself);
  // read-only unless asked otherwise.
  Fd target = open_target(root_fd, mount.destination, false);
  if (::mount("tmpfs", target.proc_path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") != 0) {
    fail("mount tmpfs for " + mount.destination);
  }
  for (const CgroupMountSource& source : cgroup.driver->mount_sources(cgroup.cgroups_path)) {
    const std::string destination = mount.destination + (source.name.empty() ? "" : "/" + source.name);
    Fd sub = open_target(root_fd, destination, false);
    if (::mount(source.dir.c_str(), sub.proc_path().c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      fail("bind cgroup " + source.dir);
    }
  }
  if (!(options.flags & MS_RDONLY)) return;
  Fd mounted = open_target(root_fd, mount.destination, false);
  if (set_readonly(mounted.get(), "", AT_RECURSIVE, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) return;
  for (const CgroupMountSource& source : cgroup.driver->mount_sources(cgroup.cgroups_path)) {
    if (source.name.empty()) continue;
    remount_in_root(root_fd, mount.destination + "/" + source.name, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  }
  remount_in_root(root_fd, mount.destination, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

void mount_one(int root_fd, const Mount& mount, const CgroupMountInfo& cgroup, bool new_netns) {
  const MountOptions options = parse_mount_options(mount.options);
  if (mount.type == "cgroup" || mount.type == "cgroup2") return mount_cgroup(root_fd, mount, options, cgroup);
  if (mount.type == "bind") {
    struct stat source {};
    if (::stat(mount.source.c_str(), &source) != 0) fail("bind mount source " + mount.source);
    Fd target = open_target(root_fd, mount.destination, !S_ISDIR(source.st_mode));
    const unsigned long bind = MS_BIND | (options.recursive_bind ? MS_REC : 0);
    if (::mount(mount.source.c_str(), target.proc_path().c_str(), nullptr, bind, nullptr) != 0) {
      fail("bind mount " + mount.source + " on " + mount.destination);
    }
    const unsigned long extra = options.flags & ~MS_REMOUNT;
    if (extra != 0) remount_in_root(root_fd, mount.destination, extra);
  } else {
    Fd target = open_target(root_fd, mount.destination, false);
    const unsigned long flags = options.flags & ~MS_REMOUNT;
    int rc = ::mount(mount.type.c_str(), target.proc_path().c_str(), mount.type.c_str(), flags,
                     options.data.empty() ? nullptr : options.data.c_str());
    if (rc != 0 && mount.type == "sysfs" && !new_netns && errno == EPERM) {
      // Without its own network namespace a container may not mount sysfs: bind the host's, as runc does.
      rc = ::mount("/sys", target.proc_path().c_str(), nullptr, MS_BIND | MS_REC, nullptr);
      if (rc == 0) remount_in_root(root_fd, mount.destination, flags);
    }
    if (rc != 0) fail("mount " + mount.type + " on " + mount.destination);
  }
  if (options.propagation != 0) {
    Fd target = open_target(root_fd, mount.destination, false);
    if (::mount(nullptr, target.proc_path().c_str(), nullptr, options.propagation, nullptr) != 0) {
      fail("set propagation of " + mount.destination);
    }
  }
}

void make_device(int root_fd, const std::string& path, char type, unsigned major, unsigned minor, mode_t mode,
                 uid_t uid, gid_t gid) {
  const std::filesystem::path p(path);
  Fd dir = open_target(root_fd, p.parent_path().string(), false);
  const mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  const std::string name = p.filename().string();
  ::unlinkat(dir.get(), name.c_str(), 0);
  if (::mknodat(dir.get(), name.c_str(), kind | (mode & 07777), makedev(major, minor)) != 0) {
    fail("create device " + path);
  }
  if (::fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) fail("chown device " + path);
}

// /dev as runtime-spec defines it, when the spec mounts a tmpfs there.
void populate_dev(int root_fd, const Spec& spec) {
  for (const auto& device : kDefaultDevices) {
    make_device(root_fd, std::string("/dev/") + device.name, 'c', device.major, device.minor, 0666, 0, 0);
  }
  for (const auto& device : spec.devices) {
    make_device(root_fd, device.path, device.type == 'u' ? 'c' : device.type, static_cast<unsigned>(device.major),
                static_cast<unsigned>(device.minor), device.file_mode, device.uid, device.gid);
  }
  Fd dev = open_target(root_fd, "/dev", false);
  const std::pair<const char*, const char*> links[] = {{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
                                                       {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
                                                       {"ptmx", "pts/ptmx"},          {"core", "/proc/kcore"}};
  for (const auto& [name, target] : links) {
    if (std::strcmp(name, "core") == 0) continue;  // not part of the runtime-spec defaults
    if (::symlinkat(target, dev.get(), name) != 0 && errno != EEXIST) fail(std::string("create /dev/") + name);
  }
}

bool mounts_at(const Spec& spec, const std::string& destination, const std::string& type) {
  for (const auto& mount : spec.mounts) {
    if (mount.destination == destination && mount.type == type) return true;
  }
  return false;
}

}  // namespace

void prepare_rootfs(const Spec& spec, const CgroupMountInfo& cgroup) {
  // Nothing we mount may propagate back to the host.
  unsigned long propagation = MS_REC | MS_PRIVATE;
  if (!spec.rootfs_propagation.empty()) propagation = parse_mount_options({spec.rootfs_propagation}).propagation;
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0) fail("make / " + spec.rootfs_propagation + " private");
  // The root must be a mount point for pivot_root.
  if (::mount(spec.root_path.c_str(), spec.root_path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    fail("bind the root " + spec.root_path);
  }
  const int root_fd = ::open(spec.root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail("open the root " + spec.root_path);
  Fd root(root_fd);
  const bool new_netns = spec.has_namespace("network");
  for (const auto& mount : spec.mounts) mount_one(root.get(), mount, cgroup, new_netns);
  if (mounts_at(spec, "/dev", "tmpfs")) populate_dev(root.get(), spec);
}

void pivot_into_rootfs(const Spec& spec) {
  if (::chdir(spec.root_path.c_str()) != 0) fail("chdir to the root");
  // pivot_root(".", "."): the old root ends up stacked under the new one and is
  // detached at once; the container never sees the host's filesystem.
  if (syscall(SYS_pivot_root, ".", ".") != 0) fail("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) fail("detach the old root");
  if (::chdir("/") != 0) fail("chdir to /");
}

void finish_rootfs(const Spec& spec) {
  // sysctls first: /proc/sys is usually among the read-only paths below.
  for (const auto& [key, value] : spec.sysctl) {
    std::string file = "/proc/sys/" + key;
    for (auto& c : file) {
      if (c == '.') c = '/';
    }
    std::ofstream out(file);
    out << value;
    out.flush();
    if (!out) {
      errno = errno ? errno : EINVAL;
      fail("sysctl " + key);
    }
  }
  for (const auto& path : spec.masked_paths) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      fail("mask " + path);
    }
    if (S_ISDIR(st.st_mode)) {
      // Empty, read-only and listable, as runc's mask.bats expects.
      if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0755") != 0) {
        fail("mask directory " + path);
      }
    } else {
      // /dev/null is our own device node (created above), never an image's symlink.
      struct stat null_st {};
      if (::lstat("/dev/null", &null_st) != 0 || !S_ISCHR(null_st.st_mode) || null_st.st_rdev != makedev(1, 3)) {
        errno = EINVAL;
        fail("mask " + path + ": /dev/null is not the null device");
      }
      if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) != 0) fail("mask " + path);
    }
  }
  for (const auto& path : spec.readonly_paths) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      fail("make " + path + " read-only");
    }
    if (!set_readonly(AT_FDCWD, path.c_str(), AT_RECURSIVE)) remount(path, MS_RDONLY | MS_REC, path);
  }
  if (spec.root_readonly) remount("/", MS_RDONLY, "/ read-only");
}

}  // namespace deckhand::runtime
