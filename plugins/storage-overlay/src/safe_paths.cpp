#include "safe_paths.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "safe_fd.hpp"

namespace deckhand::storage {

namespace {

std::string join(const std::string& directory, const std::string& name) {
  return directory.empty() ? name : directory + "/" + name;
}

}  // namespace

int open_beneath(int dir_fd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* name = path.empty() ? "." : path.c_str();
  // EAGAIN: the kernel could not rule out a concurrent rename racing the
  // lookup and asks for a retry; bounded, since a busy system keeps it rare.
  for (int attempt = 0;; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    const int error = errno;
    if ((error == EAGAIN || error == EINTR) && attempt < 64) continue;
    return -error;
  }
}

int remove_tree_beneath(int root_fd, const std::string& path) {
  if (path.empty()) return -EINVAL;  // never the root itself
  // Depth-first with an explicit stack of relative paths: a directory is
  // revisited (re-resolved from root_fd) after each child directory is gone.
  std::vector<std::string> pending{path};
  while (!pending.empty()) {
    const std::string current = pending.back();
    const int fd = open_beneath(root_fd, current, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fd;
    DIR* listing = ::fdopendir(fd);
    if (listing == nullptr) {
      const int error = errno;
      ::close(fd);
      return -error;
    }
    bool descended = false;
    while (const dirent* child = ::readdir(listing)) {
      const std::string name = child->d_name;
      if (name == "." || name == "..") continue;
      bool is_directory = child->d_type == DT_DIR;
      if (child->d_type == DT_UNKNOWN) {
        struct stat status {};
        is_directory = ::fstatat(fd, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(status.st_mode);
      }
      if (is_directory) {
        pending.push_back(join(current, name));
        descended = true;
        break;
      }
      // unlinkat removes the name itself: a symlink is removed, never followed.
      if (::unlinkat(fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        const int error = errno;
        ::closedir(listing);
        return -error;
      }
    }
    ::closedir(listing);
    if (descended) continue;

    const std::size_t slash = current.rfind('/');
    const std::string parent = slash == std::string::npos ? std::string() : current.substr(0, slash);
    const std::string base = slash == std::string::npos ? current : current.substr(slash + 1);
    const int opened_parent = open_beneath(root_fd, parent, O_PATH | O_DIRECTORY);
    if (opened_parent < 0) return opened_parent;
    const Fd parent_fd(opened_parent);
    if (::unlinkat(parent_fd.get(), base.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) {
      pending.pop_back();
    } else if (errno != ENOTEMPTY && errno != EEXIST) {
      return -errno;
    }
    // ENOTEMPTY: readdir missed names removed under it; list the directory again.
  }
  return 0;
}

}  // namespace deckhand::storage
