#include "volume_atomic_writer.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <set>
#include <vector>

#include "rootfs_files.hpp"
#include "remove_tree.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

constexpr const char* kDataLink = "..data";
constexpr const char* kDataLinkTemporary = "..data_tmp";
constexpr const char* kNameLinkTemporary = "..name_tmp";

[[noreturn]] void fail(const std::string& step, const std::string& path, int error) {
  const Failure kind = error == ENOSPC || error == EDQUOT ? Failure::exhausted : Failure::internal;
  throw StorageError(kind, "cannot " + step + " " + path + ": " + errno_text(error));
}

std::vector<std::string> components_of(const std::string& name) {
  std::vector<std::string> components;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = name.find('/', start);
    components.push_back(name.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return components;
}

std::string top_level_name(const std::string& name) { return name.substr(0, name.find('/')); }

// Opens `relative` below `directory_fd` without ever leaving it or passing
// a symlink: a volume the pod can write to (an emptyDir given files) must
// not be able to steer these writes elsewhere.
int open_beneath(int directory_fd, const std::string& relative, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, directory_fd, relative.c_str(), &how, sizeof how));
}

// "..2026_11_28_01_02_03.123456789", the generation naming the header shows.
std::string generation_name(const timespec& time) {
  tm utc{};
  gmtime_r(&time.tv_sec, &utc);
  char name[64];
  std::snprintf(name, sizeof name, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, time.tv_nsec);
  return name;
}

bool is_generation_name(const std::string& name) {
  static const std::string kShape = "..dddd_dd_dd_dd_dd_dd.ddddddddd";
  if (name.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (kShape[i] == 'd' ? (name[i] < '0' || name[i] > '9') : name[i] != kShape[i]) return false;
  }
  return true;
}

std::optional<std::string> read_link(int directory_fd, const std::string& name) {
  char target[4096];
  const ssize_t length = ::readlinkat(directory_fd, name.c_str(), target, sizeof target);
  if (length < 0 || static_cast<std::size_t>(length) == sizeof target) return std::nullopt;
  return std::string(target, static_cast<std::size_t>(length));
}

bool read_all(int fd, std::string& content) {
  char buffer[65536];
  for (;;) {
    const ssize_t count = ::read(fd, buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return false;
    if (count == 0) return true;
    content.append(buffer, static_cast<std::size_t>(count));
  }
}

// Whether generation `generation` already holds exactly `files` (contents
// and modes): then nothing needs writing, as the kubelet decides too.
bool generation_holds(int volume_fd, const std::string& generation,
                      const std::map<std::string, ProjectedFile>& files) {
  const FileDescriptor root(open_beneath(volume_fd, generation, O_RDONLY | O_DIRECTORY));
  if (root.get() < 0) return false;
  for (const auto& [name, file] : files) {
    const FileDescriptor fd(open_beneath(root.get(), name, O_RDONLY));
    struct stat status {};
    if (fd.get() < 0 || ::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode) ||
        (status.st_mode & 07777) != file.mode || static_cast<std::size_t>(status.st_size) != file.content.size()) {
      return false;
    }
    std::string content;
    if (!read_all(fd.get(), content) || content != file.content) return false;
  }
  // And nothing else: every entry that is not a directory is one of files.
  std::size_t others = 0;
  std::vector<std::string> pending{"."};
  while (!pending.empty()) {
    const std::string relative = pending.back();
    pending.pop_back();
    const FileDescriptor directory(open_beneath(root.get(), relative, O_RDONLY | O_DIRECTORY));
    if (directory.get() < 0) return false;
    for (const std::string& entry : list_directory(directory.get(), relative)) {
      struct stat status {};
      if (::fstatat(directory.get(), entry.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0) return false;
      if (S_ISDIR(status.st_mode)) {
        pending.push_back(relative + "/" + entry);
      } else {
        ++others;
      }
    }
  }
  return others == files.size();
}

// A directory with exactly `mode` (made now, or made by an earlier file of
// this generation), opened without following symlinks.
int enter_directory(int parent_fd, const std::string& name, const std::string& path) {
  if (::mkdirat(parent_fd, name.c_str(), 0755) == 0) {
    if (::fchmodat(parent_fd, name.c_str(), 0755, 0) != 0) fail("set the mode of", path, errno);
  } else if (errno != EEXIST) {
    fail("create directory", path, errno);
  }
  const int fd = ::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("open directory", path, errno);
  return fd;
}

void write_one(int generation_fd, const std::string& generation_path, const std::string& name,
               const ProjectedFile& file) {
  const std::vector<std::string> components = components_of(name);
  FileDescriptor parent(::openat(generation_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string path = generation_path;
  for (std::size_t i = 0; i + 1 < components.size(); ++i) {
    path += "/" + components[i];
    parent.reset(enter_directory(parent.get(), components[i], path));
  }
  path = generation_path + "/" + name;
  const FileDescriptor fd(::openat(parent.get(), components.back().c_str(),
                                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file.mode));
  if (fd.get() < 0) fail("create", path, errno);
  std::size_t written = 0;
  while (written < file.content.size()) {
    const ssize_t count = ::write(fd.get(), file.content.data() + written, file.content.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) fail("write", path, errno);
    written += static_cast<std::size_t>(count);
  }
  // The mode exactly as given, whatever the agent's umask.
  if (::fchmod(fd.get(), file.mode) != 0) fail("set the mode of", path, errno);
}

// Makes and fills a new generation directory; returns its name.
std::string write_generation(int volume_fd, const std::string& directory,
                             const std::map<std::string, ProjectedFile>& files) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::string generation;
  for (int attempt = 0;; ++attempt) {
    generation = generation_name(now);
    if (::mkdirat(volume_fd, generation.c_str(), 0755) == 0) break;
    if (errno != EEXIST || attempt == 1000) fail("create", directory + "/" + generation, errno);
    // Another generation within the same nanosecond (a coarse clock).
    if (++now.tv_nsec == 1000000000) {
      now.tv_nsec = 0;
      ++now.tv_sec;
    }
  }
  const std::string generation_path = directory + "/" + generation;
  try {
    if (::fchmodat(volume_fd, generation.c_str(), 0755, 0) != 0) fail("set the mode of", generation_path, errno);
    const FileDescriptor generation_fd(open_beneath(volume_fd, generation, O_RDONLY | O_DIRECTORY));
    if (generation_fd.get() < 0) fail("open", generation_path, errno);
    for (const auto& [name, file] : files) write_one(generation_fd.get(), generation_path, name, file);
  } catch (...) {
    try {
      remove_tree(generation_path);
    } catch (const StorageError&) {
      // The write's failure is the one to report; the next write removes
      // this generation with the other old ones.
    }
    throw;
  }
  return generation;
}

// A symlink `name` -> `target`, made atomically: a new symlink renamed over
// whatever symlink is there.
void place_symlink(int volume_fd, const std::string& directory, const std::string& name, const std::string& target,
                   const char* temporary) {
  if (::unlinkat(volume_fd, temporary, 0) != 0 && errno != ENOENT) {
    fail("remove", directory + "/" + temporary, errno);
  }
  if (::symlinkat(target.c_str(), volume_fd, temporary) != 0) fail("create", directory + "/" + temporary, errno);
  if (::renameat(volume_fd, temporary, volume_fd, name.c_str()) != 0) {
    const int error = errno;
    ::unlinkat(volume_fd, temporary, 0);
    fail("switch", directory + "/" + name, error);
  }
}

// "<name>" -> "..data/<name>", what the container opens.
void show_name(int volume_fd, const std::string& directory, const std::string& name) {
  const std::string target = std::string(kDataLink) + "/" + name;
  const std::optional<std::string> current = read_link(volume_fd, name);
  if (current == target) return;
  if (!current) {
    struct stat status {};
    if (::fstatat(volume_fd, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0) {
      throw StorageError(Failure::precondition, "cannot show " + name + " in " + directory +
                                                    ": something that is not a symlink into ..data is there");
    }
  }
  place_symlink(volume_fd, directory, name, target, kNameLinkTemporary);
}

}  // namespace

void check_projected_files(const std::map<std::string, ProjectedFile>& files) {
  std::set<std::string> directories;
  for (const auto& entry : files) {
    const std::string& name = entry.first;  // not a structured binding: clang 14 cannot capture one
    const ProjectedFile& file = entry.second;
    const auto refuse = [&](const std::string& why) {
      std::string shown = name.substr(0, 200);
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20) c = '?';
      }
      throw StorageError(Failure::invalid, "invalid projected file name \"" + shown + "\": " + why);
    };
    if (name.empty()) refuse("must not be empty");
    if (name.find('\0') != std::string::npos) refuse("must not contain a NUL byte");
    if (name[0] == '/') refuse("must be a relative path");
    if (name.size() > 4096) refuse("must be at most 4096 bytes");
    if (name.rfind("..", 0) == 0) refuse("must not start with \"..\" (those names are the writer's own)");
    const std::vector<std::string> components = components_of(name);
    std::string prefix;
    for (std::size_t i = 0; i < components.size(); ++i) {
      const std::string& component = components[i];
      if (component.empty()) refuse("must not have empty components (\"//\" or a trailing /)");
      if (component == "..") refuse("must not contain \"..\"");
      if (component == ".") refuse("must not contain \".\" components");
      if (component.size() > 255) refuse("a component is longer than 255 bytes");
      prefix += (i == 0 ? "" : "/") + component;
      if (i + 1 < components.size()) directories.insert(prefix);
    }
    if (file.mode > 0777) {
      char mode[16];
      std::snprintf(mode, sizeof mode, "%o", file.mode);
      refuse(std::string("mode 0") + mode + " is above 0777");
    }
  }
  for (const std::string& directory : directories) {
    if (files.count(directory) != 0) {
      throw StorageError(Failure::invalid,
                         "invalid projected files: \"" + directory + "\" is both a file and a directory");
    }
  }
}

void write_projection(const std::string& directory, const std::map<std::string, ProjectedFile>& files) {
  check_projected_files(files);
  const FileDescriptor volume(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (volume.get() < 0) fail("open", directory, errno);

  // Only a link to one of our generation names counts as the current one.
  std::optional<std::string> current = read_link(volume.get(), kDataLink);
  if (current && !is_generation_name(*current)) current.reset();

  if (!current || !generation_holds(volume.get(), *current, files)) {
    const std::string fresh = write_generation(volume.get(), directory, files);
    // The atomic step: readers resolving ..data get the old generation or
    // the new one.
    place_symlink(volume.get(), directory, kDataLink, fresh, kDataLinkTemporary);
    current = fresh;
  }

  std::set<std::string> visible;
  for (const auto& entry : files) visible.insert(top_level_name(entry.first));
  for (const std::string& name : visible) show_name(volume.get(), directory, name);

  // Names of earlier sets (our symlinks into ..data only), then the old
  // generations; also those of a write that crashed half way.
  for (const std::string& entry : list_directory(volume.get(), directory)) {
    if (entry.rfind("..", 0) == 0) {
      if (is_generation_name(entry) && entry != *current) remove_tree(directory + "/" + entry);
      continue;
    }
    if (visible.count(entry) == 0 && read_link(volume.get(), entry) == std::string(kDataLink) + "/" + entry) {
      if (::unlinkat(volume.get(), entry.c_str(), 0) != 0 && errno != ENOENT) {
        fail("remove", directory + "/" + entry, errno);
      }
    }
  }
}

}  // namespace deckhand::storage
