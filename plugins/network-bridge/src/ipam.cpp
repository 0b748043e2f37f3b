// Host-local IPAM with one O_EXCL file per address; see ipam.hpp.
#include "ipam.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "network_error.hpp"

namespace deckhand::network {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw NetworkError(Failure::internal, "IPAM: " + what + ": " + std::strerror(errno));
}

std::string read_small(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[512];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  ::close(fd);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
}

}  // namespace

Ipam::Ipam(const std::string& dir, const Prefix& range)
    : Ipam(dir, range, Pool{2, range.host_bits() < 2 ? 0 : (uint64_t{1} << range.host_bits()) - 2}) {}

Ipam::Ipam(const std::string& dir, const Prefix& range, Pool pool) : dir_(dir), range_(range), pool_(pool) {
  if (range.v6 || range.host_bits() < 2 || range.host_bits() > 24) {
    throw NetworkError(Failure::invalid, "IPAM: the range " + range.string() + " must be IPv4, /8 to /30");
  }
  total_ = uint64_t{1} << range.host_bits();
  if (pool.first < 2 || pool.last > total_ - 2 || pool.first > pool.last) {
    throw NetworkError(Failure::invalid, "IPAM: the pool " + format_address(range.at(pool.first), false) + " .. " +
                                             format_address(range.at(pool.last), false) +
                                             " must lie inside " + range.string() +
                                             " after its gateway and before its broadcast address");
  }
  std::error_code error;
  std::filesystem::create_directories(dir_, error);
  if (error) throw NetworkError(Failure::internal, "IPAM: cannot create " + dir_ + ": " + error.message());
  // Offsets in use, from the files (a file outside the range is left alone).
  std::vector<bool> used(total_, false);
  used[0] = used[1] = used[total_ - 1] = true;  // network, gateway, broadcast
  DIR* listing = ::opendir(dir_.c_str());
  if (listing == nullptr) fail("cannot list " + dir_);
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;
    std::array<uint8_t, 16> address{};
    try {
      address = parse_address(name, false, "IPAM file");
    } catch (const NetworkError&) {
      continue;
    }
    const int64_t offset = range_.offset_of(address);
    if (offset < 0 || static_cast<uint64_t>(offset) >= total_ || used[static_cast<uint64_t>(offset)]) continue;
    const std::string path = dir_ + "/" + name;
    const std::string holder = read_small(path);
    if (holder.empty()) {
      // Claims are linked whole, so nobody holds an empty file: it is left
      // by a version that created the file before writing the pod id.
      ::unlink(path.c_str());
      continue;
    }
    used[static_cast<uint64_t>(offset)] = true;
    owner_[holder] = static_cast<uint64_t>(offset);
  }
  ::closedir(listing);
  // The free list starts after the highest used offset and wraps, so
  // addresses are handed out in order and a restart does not go back to
  // reuse the lowest freed ones first.
  const uint64_t pool_size = pool_.last - pool_.first + 1;
  uint64_t start = pool_.first;
  for (const auto& [pod, offset] : owner_) {
    if (offset >= pool_.first && offset <= pool_.last) start = std::max(start, offset + 1);
  }
  for (uint64_t i = 0; i < pool_size; ++i) {
    const uint64_t offset = pool_.first + (start - pool_.first + i) % pool_size;
    if (!used[offset]) free_.push_back(offset);
  }
}

std::string Ipam::path_of(uint64_t offset) const { return dir_ + "/" + format_address(range_.at(offset), false); }

// Writes the pod id into an unnamed file (O_TMPFILE), fsyncs it and links it
// at `path`: the link is the atomic claim (EEXIST: somebody holds it) and the
// address file is never seen empty, so a process killed at any point leaves
// either no file or a whole one. No directory fsync: on ext4 (and xfs) fsync
// of the file commits its directory entry too, and after a power loss every
// pod is gone and its address reclaimed at start-up anyway.
bool Ipam::claim(const std::string& path, const std::string& pod_id) {
  const int fd = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create a file in " + dir_);
  const bool written =
      ::write(fd, pod_id.data(), pod_id.size()) == static_cast<ssize_t>(pod_id.size()) && ::fsync(fd) == 0;
  if (!written) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot write the claim for " + path);
  }
  // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc path does not.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  const int linked = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
  const int saved = errno;
  ::close(fd);
  if (linked == 0) return true;
  if (saved == EEXIST) return false;
  errno = saved;
  fail("cannot create " + path);
}

std::array<uint8_t, 16> Ipam::allocate(const std::string& pod_id) {
  std::lock_guard lock(mutex_);
  if (const auto found = owner_.find(pod_id); found != owner_.end()) return range_.at(found->second);
  while (!free_.empty()) {
    const uint64_t offset = free_.front();
    free_.pop_front();
    const std::string path = path_of(offset);
    if (!claim(path, pod_id)) {
      // Another process holds it: honour the file. If it is this pod's (a
      // retry after a crash), it is the pod's address.
      const std::string holder = read_small(path);
      owner_[holder] = offset;
      if (holder == pod_id) return range_.at(offset);
      continue;
    }
    owner_[pod_id] = offset;
    return range_.at(offset);
  }
  throw NetworkError(Failure::exhausted, "the pod range " + range_.string() + " has no free address: its pool " +
                                             format_address(range_.at(pool_.first), false) + " .. " +
                                             format_address(range_.at(pool_.last), false) + " holds " +
                                             std::to_string(pool_size()) + ", all in use");
}

bool Ipam::release(const std::string& pod_id) {
  std::lock_guard lock(mutex_);
  const auto found = owner_.find(pod_id);
  if (found == owner_.end()) return false;
  const uint64_t offset = found->second;
  const std::string path = path_of(offset);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("cannot remove " + path);
  owner_.erase(found);
  if (offset >= pool_.first && offset <= pool_.last) free_.push_back(offset);  // not when the pool shrank
  return true;
}

std::optional<std::array<uint8_t, 16>> Ipam::address_of(const std::string& pod_id) const {
  std::lock_guard lock(mutex_);
  const auto found = owner_.find(pod_id);
  if (found == owner_.end()) return std::nullopt;
  return range_.at(found->second);
}

std::set<std::string> Ipam::pods() const {
  std::lock_guard lock(mutex_);
  std::set<std::string> out;
  for (const auto& [pod, offset] : owner_) out.insert(pod);
  return out;
}

std::size_t Ipam::pod_count() const {
  std::lock_guard lock(mutex_);
  return owner_.size() - owner_.count("");  // "" is a file a process died before filling
}

std::size_t Ipam::free_count() const {
  std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace deckhand::network
