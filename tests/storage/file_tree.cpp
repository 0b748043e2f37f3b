#include "file_tree.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "process.hpp"

namespace deckhand::test {

namespace fs = std::filesystem;

std::map<std::string, std::string> file_tree(const std::string& root) {
  std::map<std::string, std::string> tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string relative = it->path().lexically_relative(root).string();
    const auto status = it->symlink_status();
    if (fs::is_symlink(status)) {
      tree[relative] = "symlink:" + fs::read_symlink(it->path()).string();
    } else if (fs::is_directory(status)) {
      tree[relative] = "dir";
    } else if (fs::is_regular_file(status)) {
      tree[relative] = file_entry(read_file(it->path()));
    } else {
      tree[relative] = "other";
    }
  }
  return tree;
}

std::string file_entry(const std::string& content) {
  if (content.size() <= 128) return "file:" + content;
  return "file:" + std::to_string(content.size()) + " bytes, " + bytes_sha256(content);
}

uint64_t tree_bytes(const std::string& root) {
  uint64_t bytes = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (seen.insert({info.st_dev, info.st_ino}).second) bytes += static_cast<uint64_t>(info.st_size);
  }
  return bytes;
}

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext sha256_context() {
  DigestContext context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("cannot start a sha256 digest");
  }
  return context;
}

std::string finish(EVP_MD_CTX* context) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, md, &length);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string file_sha256(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  auto context = sha256_context();
  std::vector<char> buffer(1 << 20);
  ssize_t n;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
    EVP_DigestUpdate(context.get(), buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  if (n < 0) throw std::runtime_error("cannot read " + path);
  return finish(context.get());
}

std::string bytes_sha256(const std::string& bytes) {
  auto context = sha256_context();
  EVP_DigestUpdate(context.get(), bytes.data(), bytes.size());
  return finish(context.get());
}

}  // namespace deckhand::test
