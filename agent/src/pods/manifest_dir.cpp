// ManifestDir: the manifest directory read, watched and written. The rules
// follow the kubelet's file source (pkg/kubelet/config/file.go: hidden files
// skipped, no recursion, a file's pods as one unit; common.go: the static
// pod UID and spec.nodeName), made stricter where the kubelet is lenient: a
// bad edit keeps the file's last good pods instead of dropping them, and the
// directory must be writable by root only.
#include "pods/manifest_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <utility>

#include "pods/pod_parse.hpp"
#include "pods/pod_validate.hpp"
#include "pods/static_pod_uid.hpp"
#include "util/paths.hpp"
#include "util/unique_fd.hpp"

namespace deckhand::pods {
namespace {

// The same bound as parse_manifest's, checked before reading.
constexpr off_t kMaxFileBytes = 4 << 20;

constexpr uint32_t kWatchedEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

std::string errno_text() { return std::strerror(errno); }

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Hidden files are skipped as the kubelet skips them (file.go), which also
// covers editors' swap and lock files (.web.yaml.swp, .#web.yaml) and our own
// temporary files; backups (web.yaml~, #web.yaml#) fail the extension test.
bool is_manifest_name(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  return ends_with(name, ".yaml") || ends_with(name, ".yml") || ends_with(name, ".json");
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Only root (or the agent's own user, when it is not root) may be able to
// write what the agent runs.
bool trusted_owner(uid_t uid) { return uid == 0 || uid == geteuid(); }

std::string pod_key(const Pod& pod) { return pod.metadata.namespace_ + "/" + pod.metadata.name; }

std::string already_defined(const std::string& key, const std::string& path) {
  return "pod \"" + key + "\" is already defined in " + path;
}

// metadata.uid names directories (/var/log/pods/<namespace>_<name>_<uid>),
// and Kubernetes does not validate a client-given one: allow what UUIDs and
// static pod UIDs are made of.
std::string uid_problem(const std::string& uid) {
  const bool safe =
      !uid.empty() && uid.size() <= 64 &&
      uid.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == std::string::npos;
  if (uid.empty() || safe) return "";
  return "metadata.uid: Invalid value: \"" + uid + "\": must be at most 64 letters, digits and '-'";
}

// Every problem of a pod from a manifest, as kubectl prints them; "" when none.
std::string pod_problems(const Pod& pod) {
  std::vector<std::string> problems = validate_pod(pod);
  if (std::string uid = uid_problem(pod.metadata.uid); !uid.empty()) problems.push_back(std::move(uid));
  return invalid_pod_message(pod, problems);
}

// The file apply() writes for a pod, and its text: the pod's JSON, which is
// YAML too and reads back exactly (a YAML emitter would have to quote every
// string that looks like a number or a boolean).
std::string pod_file_name(const Pod& pod) { return pod.metadata.namespace_ + "_" + pod.metadata.name + ".yaml"; }
std::string pod_file_text(const Pod& pod) { return pod_to_json(pod).dump(2) + "\n"; }

void fsync_dir(int dir_fd, const std::string& dir) {
  if (fsync(dir_fd) != 0) throw std::runtime_error("fsync " + dir + ": " + errno_text());
}

// Temporary file (hidden, so the scanner and drain() ignore it), fsync,
// rename over `name`, fsync the directory: a crash leaves the old file or the
// new one, never a part.
void write_atomically(int dir_fd, const std::string& dir, const std::string& name, const std::string& text) {
  static std::atomic<unsigned> counter = 0;
  const std::string temp = "." + name + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  const auto create = [&] {
    return openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  };
  int fd = create();
  if (fd < 0 && errno == EEXIST && unlinkat(dir_fd, temp.c_str(), 0) == 0) fd = create();  // a crashed agent's
  if (fd < 0) throw std::runtime_error("create " + dir + "/" + temp + ": " + errno_text());
  try {
    const Fd file(fd);
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error("write " + dir + "/" + temp + ": " + errno_text());
      done += static_cast<std::size_t>(n);
    }
    if (fsync(fd) != 0) throw std::runtime_error("fsync " + dir + "/" + temp + ": " + errno_text());
    if (renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
      throw std::runtime_error("rename " + dir + "/" + temp + " to " + name + ": " + errno_text());
    }
  } catch (...) {
    unlinkat(dir_fd, temp.c_str(), 0);
    throw;
  }
  fsync_dir(dir_fd, dir);
}

// A change within the same clock tick as the read may leave the time stamps
// as they were (they move in ticks of up to 10 ms): a file changed this
// recently is read again on the next scan, as git treats "racily clean" files.
bool changed_just_now(const struct stat& st) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const auto ns = [](const timespec& t) { return t.tv_sec * 1'000'000'000LL + t.tv_nsec; };
  constexpr int64_t kWindowNs = 50'000'000;
  return ns(now) - ns(st.st_mtim) < kWindowNs || ns(now) - ns(st.st_ctim) < kWindowNs;
}

// Why `dir` cannot be the manifest directory when it is not a directory.
std::string not_a_directory(const std::string& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return "manifest directory " + dir + " is a symlink; give the real directory";
  }
  return "manifest directory " + dir + " is not a directory";
}

std::string without_trailing_slashes(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace

const char* to_string(ApplyAction action) {
  switch (action) {
    case ApplyAction::created:
      return "created";
    case ApplyAction::configured:
      return "configured";
    case ApplyAction::unchanged:
      return "unchanged";
  }
  return "unknown";
}

std::string apply_line(const AppliedPod& applied) { return "pod/" + applied.name + " " + to_string(applied.action); }

ManifestDir::ManifestDir(std::string dir, std::string node_name)
    : dir_(without_trailing_slashes(std::move(dir))), node_name_(std::move(node_name)) {
  if (dir_.empty()) throw ManifestDirError("manifest directory: no path given");
  if (node_name_.empty()) throw ManifestDirError("manifest directory " + dir_ + ": no node name given");
  struct stat st {};
  if (lstat(dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw ManifestDirError(not_a_directory(dir_));
  } else if (errno != ENOENT) {
    throw ManifestDirError("manifest directory " + dir_ + ": " + errno_text());
  } else {
    try {
      make_private_dir(dir_, 0700);
    } catch (const std::runtime_error& e) {
      throw ManifestDirError(std::string("manifest directory: ") + e.what());
    }
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) throw ManifestDirError("inotify for " + dir_ + ": " + errno_text());
  try {
    watch();
  } catch (...) {
    close(inotify_fd_);
    throw;
  }
}

ManifestDir::~ManifestDir() { close(inotify_fd_); }

void ManifestDir::watch() {
  watch_ = inotify_add_watch(inotify_fd_, dir_.c_str(), kWatchedEvents | IN_ONLYDIR | IN_DONT_FOLLOW);
  if (watch_ < 0) throw ManifestDirError("watch manifest directory " + dir_ + ": " + errno_text());
}

int ManifestDir::open_checked_dir() const {
  const int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) throw ManifestDirError(not_a_directory(dir_));
    throw ManifestDirError("manifest directory " + dir_ + ": " + errno_text());
  }
  Fd dir_fd(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) throw ManifestDirError("manifest directory " + dir_ + ": " + errno_text());
  if (!trusted_owner(st.st_uid)) {
    throw ManifestDirError("manifest directory " + dir_ + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not root: whoever can write in it can run privileged pods");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw ManifestDirError("manifest directory " + dir_ + " is writable by group or others (mode " +
                           octal_mode(st.st_mode) + "): whoever can write in it can run privileged pods; chmod go-w " +
                           dir_);
  }
  return dir_fd.release();
}

ManifestDir::FileStamp ManifestDir::stamp_of(const struct ::stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), st.st_size,
          st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec,
          st.st_ctim.tv_sec * 1'000'000'000LL + st.st_ctim.tv_nsec};
}

void ManifestDir::read_file(int dir_fd, const std::string& name, FileState& state) {
  ++files_parsed_;
  const std::string path = path_of(name);
  try {
    // O_NONBLOCK: a FIFO named web.yaml must not hang the event loop.
    const Fd file(openat(dir_fd, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (file.get() < 0) throw ManifestError(path + ": " + errno_text());
    struct stat st {};
    if (fstat(file.get(), &st) != 0) throw ManifestError(path + ": " + errno_text());
    state.stamp = stamp_of(st);
    state.read_again = changed_just_now(st);
    if (!S_ISREG(st.st_mode)) throw ManifestError(path + ": not a regular file");
    if (!trusted_owner(st.st_uid)) {
      throw ManifestError(path + ": owned by uid " + std::to_string(st.st_uid) +
                          ", not root: whoever can write it can run privileged pods");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      throw ManifestError(path + ": writable by group or others (mode " + octal_mode(st.st_mode) +
                          "): whoever can write it can run privileged pods; chmod go-w it");
    }
    if (st.st_size > kMaxFileBytes) {
      throw ManifestError(path + ": " + std::to_string(st.st_size) + " bytes; a manifest may be at most 4 MiB");
    }
    // Read one byte past the bound, so a file that grew since fstat is refused
    // by parse_manifest instead of being cut short.
    std::string text(static_cast<std::size_t>(kMaxFileBytes) + 1, '\0');
    std::size_t size = 0;
    while (size < text.size()) {
      const ssize_t n = read(file.get(), text.data() + size, text.size() - size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ManifestError(path + ": " + errno_text());
      if (n == 0) break;
      size += static_cast<std::size_t>(n);
    }
    text.resize(size);

    std::vector<Pod> parsed = parse_manifest(text, path);
    std::vector<Pod> pods;
    std::set<std::string> keys;
    std::string problems;
    for (const Pod& pod : parsed) {
      const std::string key = pod_key(pod);
      std::string problem = keys.insert(key).second ? pod_problems(pod) : already_defined(key, path);
      if (!problem.empty()) problems += (problems.empty() ? path + ": " : "; ") + problem;
      Pod& placed = pods.emplace_back(pod);
      placed.metadata.uid = static_pod_uid(pod, node_name_, path);
      placed.spec.node_name = node_name_;
    }
    if (!problems.empty()) throw ManifestError(problems);
    state.parsed = std::move(parsed);
    state.pods = std::move(pods);
    state.error.clear();
  } catch (const std::exception& e) {
    state.error = e.what();  // the last good pods stay
  }
}

Snapshot ManifestDir::scan() {
  const Fd dir_fd(open_checked_dir());
  return scan_at(dir_fd.get());
}

Snapshot ManifestDir::scan_at(int dir_fd) {
  if (watch_ < 0) watch();  // the directory was moved or deleted, and is back
  const std::unique_ptr<DIR, int (*)(DIR*)> listing(fdopendir(dup(dir_fd)), closedir);
  if (!listing) throw ManifestDirError("read manifest directory " + dir_ + ": " + errno_text());
  std::set<std::string> present;
  for (;;) {
    errno = 0;
    const dirent* entry = readdir(listing.get());
    if (entry == nullptr && errno != 0) throw ManifestDirError("read manifest directory " + dir_ + ": " + errno_text());
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (!is_manifest_name(name)) continue;
    struct stat st {};
    if (fstatat(dir_fd, name.c_str(), &st, 0) != 0) {
      struct stat link {};
      if (errno == ENOENT && fstatat(dir_fd, name.c_str(), &link, AT_SYMLINK_NOFOLLOW) != 0) continue;  // just deleted
    } else if (S_ISDIR(st.st_mode)) {
      continue;  // no recursion, as the kubelet
    }
    present.insert(name);
    FileState& state = files_[name];
    const FileStamp stamp = stamp_of(st);
    if (stamp.inode != 0 && stamp == state.stamp && !state.read_again) continue;  // unchanged: keep the last parse
    read_file(dir_fd, name, state);
  }
  std::erase_if(files_, [&](const auto& file) { return !present.contains(file.first); });

  Snapshot snapshot;
  for (const auto& [name, state] : files_) {
    const std::string path = path_of(name);
    if (!state.error.empty()) snapshot.errors.push_back({path, state.error});
    for (const Pod& pod : state.pods) {
      const std::string key = pod_key(pod);
      const auto [placed, inserted] = snapshot.pods.try_emplace(key, SourcedPod{pod, path});
      if (!inserted) snapshot.errors.push_back({path, path + ": " + already_defined(key, placed->second.source)});
    }
  }
  return snapshot;
}

bool ManifestDir::drain() {
  bool relevant = false;
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = read(inotify_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) throw ManifestDirError("read inotify events of " + dir_ + ": " + errno_text());
    if (n == 0) break;
    for (ssize_t offset = 0; offset < n;) {
      inotify_event event{};
      std::memcpy(&event, buffer + offset, sizeof event);
      const char* name = buffer + offset + sizeof event;
      offset += static_cast<ssize_t>(sizeof event + event.len);
      if ((event.mask & IN_Q_OVERFLOW) != 0) {
        relevant = true;  // events were lost: rescan
      } else if ((event.mask & IN_IGNORED) != 0) {
        if (event.wd == watch_) watch_ = -1;
        relevant = true;
      } else if (event.len == 0) {
        relevant = true;  // the directory itself: moved, deleted or its mode changed
      } else if ((event.mask & IN_ISDIR) == 0 && is_manifest_name(name)) {
        relevant = true;
      }
    }
  }
  return relevant;
}

ApplyResult ManifestDir::apply(const std::vector<Pod>& pods) {
  const Fd dir_fd(open_checked_dir());
  const Snapshot current = scan_at(dir_fd.get());
  ApplyResult result;

  // Every pod as its file will give it, all checked before anything is written.
  struct Planned {
    Pod pod;
    std::string file;
    std::string text;
  };
  std::vector<Planned> planned;
  std::set<std::string> keys;
  for (const Pod& given : pods) {
    const std::string file = pod_file_name(given);
    std::string text = pod_file_text(given);
    try {
      std::vector<Pod> reread = parse_manifest(text, path_of(file));
      if (reread.size() != 1) throw ManifestError(path_of(file) + ": does not read back as one pod");
      Pod& pod = reread.front();
      if (std::string problem = pod_problems(pod); !problem.empty()) {
        result.errors.push_back(std::move(problem));
      } else if (!keys.insert(pod_key(pod)).second) {
        result.errors.push_back("pod \"" + pod_key(pod) + "\" is given twice");
      }
      planned.push_back({std::move(pod), file, std::move(text)});
    } catch (const ManifestError& e) {
      result.errors.push_back(e.what());
    }
  }
  if (!result.errors.empty()) return result;

  for (Planned& next : planned) {
    const std::string key = pod_key(next.pod);
    const std::string path = path_of(next.file);
    const auto existing = current.pods.find(key);
    if (existing != current.pods.end() && existing->second.source != path) {
      result.errors.push_back("pod \"" + key + "\" is defined in " + existing->second.source + "; edit it there");
      continue;
    }
    const auto file = files_.find(next.file);
    if (file != files_.end()) {
      bool others = false;
      for (const Pod& pod : file->second.parsed) others = others || pod_key(pod) != key;
      if (others) {
        result.errors.push_back("pod \"" + key + "\": " + path + " defines other pods too; edit it there");
        continue;
      }
    }
    ApplyAction action = ApplyAction::created;
    if (existing != current.pods.end()) {
      const bool same = file->second.error.empty() && file->second.parsed.front() == next.pod;
      action = same ? ApplyAction::unchanged : ApplyAction::configured;
    }
    if (action != ApplyAction::unchanged) {
      try {
        write_atomically(dir_fd.get(), dir_, next.file, next.text);
      } catch (const std::runtime_error& e) {
        result.errors.push_back("pod \"" + key + "\": " + e.what());
        continue;
      }
    }
    result.applied.push_back({next.pod.metadata.namespace_, next.pod.metadata.name, action});
  }
  return result;
}

DeleteResult ManifestDir::remove(const std::string& namespace_, const std::string& name) {
  const Fd dir_fd(open_checked_dir());
  const Snapshot current = scan_at(dir_fd.get());
  const std::string key = namespace_ + "/" + name;
  const auto found = current.pods.find(key);
  if (found == current.pods.end()) return {false, "pods \"" + name + "\" not found"};  // kubectl's words
  const std::string& path = found->second.source;
  const std::string file = path.substr(dir_.size() + 1);
  const FileState& state = files_.at(file);
  if (!state.error.empty()) {
    return {false, "pod \"" + key + "\" is defined in " + path + ", which has an error; edit it there"};
  }
  if (state.parsed.size() != 1) {
    return {false, "pod \"" + key + "\" is defined in " + path + " with other pods; edit it there"};
  }
  if (unlinkat(dir_fd.get(), file.c_str(), 0) != 0) return {false, "remove " + path + ": " + errno_text()};
  try {
    fsync_dir(dir_fd.get(), dir_);
  } catch (const std::runtime_error& e) {
    return {true, "pod \"" + name + "\" deleted (" + e.what() + ")"};
  }
  return {true, "pod \"" + name + "\" deleted"};
}

}  // namespace deckhand::pods
