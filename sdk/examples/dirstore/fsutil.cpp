// dirstore: file-system primitives, all relative to an open directory.
#include "fsutil.hpp"

#include <deckhand/plugin.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>

namespace dirstore {

using deckhand::sdk::Error;

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string errno_text(int err) {
  char buf[256];
  // The GNU strerror_r (g++ always defines _GNU_SOURCE) returns the message,
  // which may or may not be in buf.
  return ::strerror_r(err, buf, sizeof buf);
}

std::string os_error(const std::string& path, int err) { return path + ": " + errno_text(err); }

Error fs_error(const std::string& message, int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return {DH_ERR_RESOURCE_EXHAUSTED, message};
    case EACCES:
    case EPERM:
    case EROFS:
      return {DH_ERR_PERMISSION_DENIED, message};
    default:
      return {DH_ERR_INTERNAL, message};
  }
}

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// A directory stream that owns its descriptor. Every stream is private to one
// call, so readdir() is safe here even with concurrent calls.
using Dir = std::unique_ptr<DIR, int (*)(DIR*)>;

// Opens a fresh stream on dirfd's directory (its own offset, dirfd untouched).
Dir open_stream(int dirfd) {
  Fd fd(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return {nullptr, ::closedir};
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) {
    int err = errno;
    fd.reset();
    errno = err;
    return {nullptr, ::closedir};
  }
  fd.release();  // now owned by the stream
  return {d, ::closedir};
}

bool dot_or_dotdot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

struct SizeWalk {
  const Deadline& deadline;
  dev_t dev;                               // the image's file system
  std::set<std::pair<dev_t, ino_t>> seen;  // hard-linked inodes already counted
  uint64_t total = 0;
  uint64_t skipped = 0;
  uint64_t entries = 0;
};

// Deep enough for any real root filesystem; each level holds one descriptor.
constexpr unsigned max_depth = 256;

void walk(SizeWalk& w, int dirfd, unsigned depth) {
  Dir dir = open_stream(dirfd);
  if (!dir) {
    ++w.skipped;
    return;
  }
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) ++w.skipped;
      return;
    }
    if (dot_or_dotdot(e->d_name)) continue;
    if ((++w.entries & 0x3ff) == 0) w.deadline.check("computing an image's size");
    // Symlinks, devices, sockets and fifos have no size worth counting.
    if (e->d_type != DT_UNKNOWN && e->d_type != DT_REG && e->d_type != DT_DIR) continue;

    struct stat st {};
    if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) ++w.skipped;  // ENOENT: removed while we looked
      continue;
    }
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1 && !w.seen.emplace(st.st_dev, st.st_ino).second) continue;
      w.total += static_cast<uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != w.dev) continue;  // a mount point: not part of the image
      if (depth >= max_depth) {
        ++w.skipped;
        continue;
      }
      Fd sub = open_subdir(::dirfd(dir.get()), e->d_name);
      if (!sub) {
        if (errno != ENOENT) ++w.skipped;
        continue;
      }
      walk(w, sub.get(), depth + 1);
    }
  }
}

}  // namespace

void Deadline::check(const char* doing) const {
  if (ns != 0 && monotonic_ns() >= ns) {
    throw Error(DH_ERR_DEADLINE_EXCEEDED, std::string("deadline exceeded while ") + doing);
  }
}

int make_dirs(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return 0;
  int err = errno;
  if (err == EEXIST) return 0;  // the caller checks that it is a directory
  if (err != ENOENT) return err;
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return err;
  if (int parent = make_dirs(path.substr(0, slash), mode); parent != 0) return parent;
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return 0;
  return errno;
}

Fd open_dir(const std::string& path) {
  return Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

Fd open_subdir(int dirfd, const std::string& name) {
  return Fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

std::vector<std::string> list_dir(int dirfd, const std::string& path) {
  Dir dir = open_stream(dirfd);
  if (!dir) {
    int err = errno;
    throw fs_error("cannot read directory " + os_error(path, err), err);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (int err = errno; err != 0) throw fs_error("cannot read directory " + os_error(path, err), err);
      return names;
    }
    if (!dot_or_dotdot(e->d_name)) names.emplace_back(e->d_name);
  }
}

uint64_t tree_size(int dirfd, const Deadline& deadline, uint64_t* skipped) {
  struct stat st {};
  if (::fstat(dirfd, &st) != 0) {
    int err = errno;
    throw fs_error("cannot stat an image directory: " + errno_text(err), err);
  }
  SizeWalk w{deadline, st.st_dev, {}};
  walk(w, dirfd, 0);
  if (skipped != nullptr) *skipped = w.skipped;
  return w.total;
}

void write_file_atomic(int dirfd, const std::string& dir_path, const std::string& name,
                       std::string_view data) {
  const std::string tmp = "." + name + ".tmp";
  // Removes the temporary file and describes the failure; errno is read by
  // the caller before anything else can change it.
  auto fail = [&](const char* doing, int err) {
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return fs_error(std::string("cannot ") + doing + " " + os_error(dir_path + "/" + tmp, err), err);
  };
  Fd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    int err = errno;
    throw fail("create", err);
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      throw fail("write", err);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) {
    int err = errno;
    throw fail("fsync", err);
  }
  if (::close(fd.release()) != 0) {
    int err = errno;
    throw fail("close", err);
  }
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    int err = errno;
    throw fail("rename", err);
  }
  if (::fsync(dirfd) != 0) {
    int err = errno;
    throw fs_error("cannot fsync directory " + os_error(dir_path, err), err);
  }
}

void remove_file(int dirfd, const std::string& dir_path, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) != 0) {
    int err = errno;
    if (err == ENOENT) return;
    throw fs_error("cannot remove " + os_error(dir_path + "/" + name, err), err);
  }
  if (::fsync(dirfd) != 0) {
    int err = errno;
    throw fs_error("cannot fsync directory " + os_error(dir_path, err), err);
  }
}

bool read_file(int dirfd, const std::string& name, std::string* out) {
  Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return false;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return false;
  if (!S_ISREG(st.st_mode) || st.st_size > 65536) {
    errno = EINVAL;
    return false;
  }
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out->append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace dirstore
