#include "volume_host_path.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs_files.hpp"
#include "storage_error.hpp"

namespace deckhand::storage {
namespace {

enum class FileType { missing, directory, file, socket, char_device, block_device, other };

// The kubelet's getFileType: os.Stat (symlinks followed); a path it cannot
// stat counts as missing, a fifo as none of the types.
FileType type_of(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return FileType::missing;
  if (S_ISDIR(status.st_mode)) return FileType::directory;
  if (S_ISSOCK(status.st_mode)) return FileType::socket;
  if (S_ISCHR(status.st_mode)) return FileType::char_device;
  if (S_ISBLK(status.st_mode)) return FileType::block_device;
  if (S_ISREG(status.st_mode)) return FileType::file;
  return FileType::other;
}

[[noreturn]] void type_check_failed(const std::string& what) {
  throw StorageError(Failure::invalid, "hostPath type check failed: " + what);
}

void require(const std::string& path, FileType wanted, const char* description) {
  if (type_of(path) != wanted) type_check_failed(path + " is not " + description);
}

void make_host_directory(const std::string& path) {
  try {
    make_directories(path, 0755, "directory");
  } catch (const StorageError& error) {
    type_check_failed(error.what());
  }
}

void make_host_file(const std::string& path) {
  // O_EXCL: a file someone made meanwhile (or a dangling symlink) is left
  // alone and judged by the File check that follows.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    if (error == EEXIST) return;
    std::string why = "cannot create file " + path + ": " + errno_text(error);
    if (error == ENOENT) why += " (its directory " + parent_directory(path) + " must exist)";
    type_check_failed(why);
  }
  const bool exact_mode = ::fchmod(fd, 0644) == 0;  // the agent's umask does not apply
  ::close(fd);
  if (!exact_mode) type_check_failed("cannot set the mode of " + path + ": " + errno_text(errno));
}

}  // namespace

void check_host_path_type(const std::string& path, const std::string& type) {
  if (type.empty()) return;
  if (type == "DirectoryOrCreate" || type == "Directory") {
    if (type == "DirectoryOrCreate" && type_of(path) == FileType::missing) make_host_directory(path);
    require(path, FileType::directory, "a directory");
  } else if (type == "FileOrCreate" || type == "File") {
    if (type == "FileOrCreate" && type_of(path) == FileType::missing) make_host_file(path);
    require(path, FileType::file, "a file");
  } else if (type == "Socket") {
    require(path, FileType::socket, "a socket file");
  } else if (type == "CharDevice") {
    require(path, FileType::char_device, "a character device");
  } else if (type == "BlockDevice") {
    require(path, FileType::block_device, "a block device");
  } else {
    throw StorageError(Failure::invalid, type + " is an invalid volume type");
  }
}

}  // namespace deckhand::storage
