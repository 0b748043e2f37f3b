#include "archive_files.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "storage_error.hpp"
#include "store_files.hpp"

namespace deckhand::storage {
namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr int kMaxLinkHops = 8;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string::npos ? path.size() : slash;
    if (end > start) parts.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : "/") + part;
  return out;
}

// A symbolic link's target as an archive name: relative to the link's
// directory, ".." allowed as long as it stays inside the archive.
std::string resolve_symlink(const std::string& link, const std::string& target) {
  if (!target.empty() && target.front() == '/') {
    throw StorageError(Failure::invalid, "archive entry \"" + link + "\" links to the absolute path \"" + target + "\"");
  }
  std::vector<std::string> parts = split(link);
  parts.pop_back();
  for (const std::string& part : split(target)) {
    if (part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        throw StorageError(Failure::invalid, "archive entry \"" + link + "\" links outside the archive (\"" + target + "\")");
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return join(parts);
}

}  // namespace

std::string normalise_archive_name(const std::string& name) {
  if (name.empty() || name.front() == '/') {
    throw StorageError(Failure::invalid, "archive entry \"" + name.substr(0, 200) + "\" has an absolute or empty name");
  }
  std::vector<std::string> parts;
  for (const std::string& part : split(name)) {
    if (part == ".") continue;
    if (part == "..") throw StorageError(Failure::invalid, "archive entry \"" + name.substr(0, 200) + "\" has a \"..\"");
    parts.push_back(part);
  }
  if (parts.empty()) return "";
  return join(parts);
}

ArchiveFiles ArchiveFiles::extract(const std::string& archive_path, const std::string& scratch_dir,
                                   const ArchiveLimits& limits) {
  std::unique_ptr<archive, ArchiveCloser> reader(archive_read_new());
  if (!reader) throw StorageError(Failure::internal, "libarchive: out of memory");
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), kChunk) != ARCHIVE_OK) {
    throw StorageError(Failure::invalid, archive_path + ": " + archive_error_string(reader.get()));
  }
  ArchiveFiles files;
  std::map<std::string, std::string> symlinks;  // name -> resolved target name
  std::map<std::string, std::string> hardlinks;
  uint64_t total = 0;
  uint64_t entries = 0;
  std::vector<char> buffer(kChunk);
  for (;;) {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK) {
      const bool first = entries == 0;
      throw StorageError(Failure::invalid, archive_path + ": " +
                                               (first ? std::string("not a tar archive (") : std::string("")) +
                                               archive_error_string(reader.get()) + (first ? ")" : ""));
    }
    if (++entries > limits.max_entries) {
      throw StorageError(Failure::exhausted, archive_path + ": more than " + std::to_string(limits.max_entries) +
                                                 " entries");
    }
    const char* raw = archive_entry_pathname(entry);
    const std::string name = normalise_archive_name(raw != nullptr ? raw : "");
    if (name.empty()) continue;  // "./"
    if (const char* target = archive_entry_hardlink(entry); target != nullptr) {
      hardlinks[name] = normalise_archive_name(target);
      continue;
    }
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) continue;
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      symlinks[name] = resolve_symlink(name, target != nullptr ? target : "");
      continue;
    }
    if (type != AE_IFREG) {
      throw StorageError(Failure::invalid, archive_path + ": entry \"" + name +
                                               "\" is neither a file, a directory nor a link");
    }
    File file;
    file.path = scratch_dir + "/" + std::to_string(files.files_.size());
    OwnedFd out(::open(file.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) throw_system_error("create " + file.path, errno);
    Hasher hasher;
    for (;;) {
      const la_ssize_t n = archive_read_data(reader.get(), buffer.data(), buffer.size());
      if (n < 0) throw StorageError(Failure::invalid, archive_path + ": entry \"" + name + "\": " +
                                                          archive_error_string(reader.get()));
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
      if (total > limits.max_bytes) {
        throw StorageError(Failure::exhausted, archive_path + ": its files pass the limit of " +
                                                   std::to_string(limits.max_bytes) + " bytes");
      }
      write_all(out.get(), buffer.data(), static_cast<std::size_t>(n), "write " + file.path);
      hasher.update(buffer.data(), static_cast<std::size_t>(n));
      file.size += static_cast<uint64_t>(n);
    }
    file.digest = hasher.finish();
    files.files_[name] = file;
  }
  // Links last: a symbolic link may come before the file it names.
  auto resolve = [&](const std::string& link, std::string target) {
    for (int hop = 0; hop < kMaxLinkHops; ++hop) {
      if (const auto it = files.files_.find(target); it != files.files_.end()) return it->second;
      if (const auto it = symlinks.find(target); it != symlinks.end()) {
        target = it->second;
      } else if (const auto hard = hardlinks.find(target); hard != hardlinks.end()) {
        target = hard->second;
      } else {
        break;
      }
    }
    throw StorageError(Failure::invalid, archive_path + ": link \"" + link + "\" does not lead to a file in the archive");
  };
  std::map<std::string, File> linked;
  for (const auto& [link, target] : symlinks) linked[link] = resolve(link, target);
  for (const auto& [link, target] : hardlinks) linked[link] = resolve(link, target);
  files.files_.merge(linked);
  return files;
}

const ArchiveFiles::File* ArchiveFiles::find(const std::string& name) const {
  const auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second;
}

std::string ArchiveFiles::read(const std::string& name, std::size_t max_bytes) const {
  const File* file = find(name);
  if (file == nullptr) throw StorageError(Failure::invalid, "the archive has no \"" + name + "\"");
  if (file->size > max_bytes) {
    throw StorageError(Failure::exhausted, "\"" + name + "\" in the archive is " + std::to_string(file->size) +
                                               " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  auto content = read_file_if_exists(file->path, max_bytes);
  if (!content) throw StorageError(Failure::internal, "the extracted " + file->path + " disappeared");
  return *content;
}

ByteSource ArchiveFiles::open(const File& file) const {
  auto fd = std::make_shared<OwnedFd>(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd->valid()) throw_system_error("open " + file.path, errno);
  return [fd, path = file.path](char* buffer, std::size_t capacity) -> std::size_t {
    for (;;) {
      const ssize_t n = ::read(fd->get(), buffer, capacity);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) throw_system_error("read " + path, errno);
    }
  };
}

}  // namespace deckhand::storage
