// A private temporary directory that is removed, with everything in it, when
// the test ends (also when it fails).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace deckhand::test {

class TempDir {
 public:
  // `base`: where to make it, e.g. /dev/shm where fsync should cost nothing.
  explicit TempDir(const std::string& prefix = "deckhand-test", const std::string& base = "/tmp") {
    std::string pattern = base + "/" + prefix + "-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace deckhand::test
