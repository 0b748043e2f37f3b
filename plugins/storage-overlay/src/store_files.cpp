#include "store_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "storage_error.hpp"

namespace deckhand::storage {

void OwnedFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int OwnedFd::close_checked() {
  const int fd = std::exchange(fd_, -1);
  // Linux releases the descriptor even when close() fails, so no retry.
  return fd >= 0 && ::close(fd) != 0 ? errno : 0;
}

void throw_system_error(const std::string& what, int error) {
  const bool full = error == ENOSPC || error == EDQUOT;
  throw StorageError(full ? Failure::exhausted : Failure::internal, what + ": " + std::strerror(error));
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t n = ::getrandom(raw.data() + filled, bytes - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error("getrandom", errno);
    filled += static_cast<std::size_t>(n);
  }
  static const char* const kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes * 2);
  for (const char c : raw) {
    const auto byte = static_cast<unsigned char>(c);
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

void make_directories(const std::string& path, mode_t mode) {
  if (path.empty()) throw StorageError(Failure::invalid, "empty directory path");
  // Each prefix ending before a '/', then the whole path.
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw_system_error("create directory " + prefix, errno);
    if (slash == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_system_error("stat " + path, errno);
  if (!S_ISDIR(st.st_mode)) throw StorageError(Failure::internal, path + " exists and is not a directory");
}

OwnedFd open_directory(const std::string& path) {
  OwnedFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) throw_system_error("open directory " + path, errno);
  return fd;
}

void fsync_directory(const std::string& path) {
  const OwnedFd fd = open_directory(path);
  if (::fsync(fd.get()) != 0) throw_system_error("fsync directory " + path, errno);
}

void write_all(int fd, const void* data, std::size_t size, const std::string& what) {
  const char* next = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, next, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error(what, errno);
    // A regular file answers a write it cannot start with an error, so 0
    // would loop for ever; treat it as the disk being full.
    if (n == 0) throw_system_error(what, ENOSPC);
    next += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::vector<std::string> directory_entries(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) throw_system_error("list directory " + path, errno);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) throw_system_error("list directory " + path, error);
  return names;
}

std::optional<std::string> read_file_if_exists(const std::string& path, std::size_t max_bytes) {
  const OwnedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    throw_system_error("open " + path, errno);
  }
  std::string content;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_system_error("read " + path, errno);
    if (n == 0) return content;
    if (content.size() + static_cast<std::size_t>(n) > max_bytes) {
      throw StorageError(Failure::exhausted, path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

void write_file_atomically(const std::string& directory, const std::string& name, std::string_view content) {
  const std::string target = directory + "/" + name;
  std::string temporary;
  OwnedFd fd;
  while (!fd.valid()) {
    temporary = directory + "/" + std::string(kTemporaryFilePrefix) + random_hex(8);
    fd = OwnedFd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid() && errno != EEXIST) throw_system_error("create " + temporary + " (to replace " + target + ")", errno);
  }
  try {
    write_all(fd.get(), content.data(), content.size(), "write " + temporary + " (to replace " + target + ")");
    if (::fsync(fd.get()) != 0) throw_system_error("fsync " + temporary + " (to replace " + target + ")", errno);
    if (const int error = fd.close_checked(); error != 0) throw_system_error("close " + temporary, error);
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
      throw_system_error("rename " + temporary + " to " + target, errno);
    }
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  fsync_directory(directory);
}

}  // namespace deckhand::storage
