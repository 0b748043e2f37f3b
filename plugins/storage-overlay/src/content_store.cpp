#include "content_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "storage_error.hpp"
#include "store_files.hpp"
#include "remove_tree.hpp"

namespace deckhand::storage {
namespace {

// Writes smaller than this are gathered into one buffer of this size, so a
// caller that hands over network-sized pieces still makes large writes;
// larger writes go to the file as they are. Only this much is ever held.
constexpr std::size_t kWriteChunk = 1 << 20;

// The algorithms parse_digest accepts, each with a directory under blobs/.
constexpr const char* kAlgorithms[] = {"sha256", "sha512"};

// Digests usually come from parse_digest; checking again keeps a hand-made
// Digest{"sha256", "../../x"} from naming a path outside blobs/.
void check_digest(const Digest& digest) { (void)parse_digest(digest.string()); }

std::string blob_directory(const std::string& root, const std::string& algorithm) {
  return root + "/blobs/" + algorithm;
}

std::string ingest_directory(const std::string& root) { return root + "/ingest"; }

// Calls `visit` for every committed blob (a regular file under blobs/<alg>/
// whose name is a digest of that algorithm).
void for_each_blob(const std::string& root, const std::function<void(const Digest&, const struct stat&)>& visit) {
  for (const char* algorithm : kAlgorithms) {
    const std::string directory = blob_directory(root, algorithm);
    for (const std::string& name : directory_entries(directory)) {
      Digest digest;
      try {
        digest = parse_digest(std::string(algorithm) + ":" + name);
      } catch (const StorageError&) {
        continue;  // not a blob (nothing of ours has such a name)
      }
      struct stat st {};
      const std::string path = directory + "/" + name;
      if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed meanwhile
        throw_system_error("stat " + path, errno);
      }
      if (S_ISREG(st.st_mode)) visit(digest, st);
    }
  }
}

// One ingest: <root>/ingest/<random>, hashed as it is written, moved to
// blobs/ by commit(). Any failure discards the ingest file at once, and the
// writer refuses further use.
class IngestWriter final : public ContentStore::Writer {
 public:
  IngestWriter(const std::string& root, Digest expected, int64_t expected_size)
      : expected_(std::move(expected)),
        expected_size_(expected_size),
        hasher_(expected_.algorithm),
        blob_directory_(blob_directory(root, expected_.algorithm)),
        blob_path_(blob_directory_ + "/" + expected_.hex) {
    const std::string directory = ingest_directory(root);
    while (!fd_.valid()) {
      ingest_path_ = directory + "/" + random_hex(16);
      fd_ = OwnedFd(::open(ingest_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd_.valid() && errno != EEXIST) {
        throw_system_error("create an ingest file in " + directory + " for blob " + expected_.string(), errno);
      }
    }
  }

  ~IngestWriter() override { discard(); }

  void write(const void* data, std::size_t size) override {
    require_open("write to");
    if (size == 0) return;
    if (expected_size_ >= 0 && written_ + size > static_cast<uint64_t>(expected_size_)) {
      discard();
      throw StorageError(Failure::corrupt, "blob " + expected_.string() + " is longer than the expected " +
                                               std::to_string(expected_size_) + " bytes (at least " +
                                               std::to_string(written_ + size) + " arrived)");
    }
    hasher_.update(data, size);
    written_ += size;
    discarding_on_failure([&] {
      if (size >= kWriteChunk) {
        flush();
        write_all(fd_.get(), data, size, write_step());
        return;
      }
      if (buffered_ + size > kWriteChunk) flush();
      if (!buffer_) buffer_ = std::make_unique<char[]>(kWriteChunk);
      std::memcpy(buffer_.get() + buffered_, data, size);
      buffered_ += size;
      if (buffered_ == kWriteChunk) flush();
    });
  }

  uint64_t written() const override { return written_; }

  void commit() override {
    require_open("commit");
    discarding_on_failure([&] { flush(); });
    // Size before digest (image-spec descriptor.md): a wrong length is
    // refused without trusting the hash of attacker-chosen bytes.
    if (expected_size_ >= 0 && written_ != static_cast<uint64_t>(expected_size_)) {
      discard();
      throw StorageError(Failure::corrupt, "blob " + expected_.string() + ": expected " +
                                               std::to_string(expected_size_) + " bytes, got " +
                                               std::to_string(written_));
    }
    const Digest actual = hasher_.finish();
    if (actual != expected_) {
      discard();
      throw StorageError(Failure::corrupt, "blob " + expected_.string() + ": the " + std::to_string(written_) +
                                               " bytes received have digest " + actual.string());
    }
    discarding_on_failure([&] {
      struct stat st {};
      if (::fstat(fd_.get(), &st) != 0) throw_system_error("stat " + ingest_path_, errno);
      if (static_cast<uint64_t>(st.st_size) != written_) {
        throw StorageError(Failure::internal, "ingest file " + ingest_path_ + " for blob " + expected_.string() +
                                                  " holds " + std::to_string(st.st_size) + " bytes, " +
                                                  std::to_string(written_) + " were written to it");
      }
      // Committed blobs are never written again.
      if (::fchmod(fd_.get(), 0400) != 0) throw_system_error("chmod " + ingest_path_, errno);
      if (::fsync(fd_.get()) != 0) throw_system_error("fsync " + ingest_path_ + " (blob " + expected_.string() + ")", errno);
      if (const int error = fd_.close_checked(); error != 0) throw_system_error("close " + ingest_path_, error);
      move_into_place();
    });
    state_ = State::committed;
    // Also when another writer won: it may not have synced the directory yet,
    // and a blob reported as stored must survive a crash.
    fsync_directory(blob_directory_);
  }

 private:
  enum class State { open, committed, failed };

  std::string write_step() const { return "write " + ingest_path_ + " (blob " + expected_.string() + ")"; }

  void require_open(const char* action) const {
    if (state_ == State::open) return;
    throw StorageError(Failure::internal, std::string("cannot ") + action + " the writer of blob " +
                                              expected_.string() + ": it has " +
                                              (state_ == State::committed ? "been committed" : "failed before"));
  }

  void flush() {
    if (buffered_ == 0) return;
    write_all(fd_.get(), buffer_.get(), buffered_, write_step());
    buffered_ = 0;
  }

  // rename() would silently replace a blob another writer committed meanwhile
  // (harmless, same bytes, but then two writers both "won"); RENAME_NOREPLACE
  // makes the first one win and this ingest be discarded.
  void move_into_place() {
    if (::renameat2(AT_FDCWD, ingest_path_.c_str(), AT_FDCWD, blob_path_.c_str(), RENAME_NOREPLACE) == 0) return;
    if (errno == EEXIST) {
      discard();
      return;
    }
    if (errno != EINVAL) throw_system_error("rename " + ingest_path_ + " to " + blob_path_, errno);
    // A filesystem without RENAME_NOREPLACE: link() does not replace either.
    if (::link(ingest_path_.c_str(), blob_path_.c_str()) != 0 && errno != EEXIST) {
      throw_system_error("link " + ingest_path_ + " to " + blob_path_, errno);
    }
    discard();
  }

  template <typename Step>
  void discarding_on_failure(Step step) {
    try {
      step();
    } catch (...) {
      discard();
      throw;
    }
  }

  void discard() noexcept {
    if (state_ != State::open) return;
    fd_.reset();
    ::unlink(ingest_path_.c_str());
    buffer_.reset();
    state_ = State::failed;
  }

  const Digest expected_;
  const int64_t expected_size_;
  Hasher hasher_;
  const std::string blob_directory_;
  const std::string blob_path_;
  std::string ingest_path_;
  OwnedFd fd_;
  std::unique_ptr<char[]> buffer_;
  std::size_t buffered_ = 0;
  uint64_t written_ = 0;
  State state_ = State::open;
};

}  // namespace

ContentStore::ContentStore(std::string root) : root_(std::move(root)) {
  make_directories(root_, 0700);
  for (const char* algorithm : kAlgorithms) make_directories(blob_directory(root_, algorithm), 0700);
  make_directories(ingest_directory(root_), 0700);
}

void ContentStore::remove_leftovers() {
  // What a crash left mid-write: never part of a blob, so simply removed.
  const std::string ingest = ingest_directory(root_);
  for (const std::string& name : directory_entries(ingest)) remove_tree(ingest + "/" + name);
}

std::string ContentStore::blob_path(const Digest& digest) const {
  check_digest(digest);
  return blob_directory(root_, digest.algorithm) + "/" + digest.hex;
}

bool ContentStore::contains(const Digest& digest) const { return size(digest) >= 0; }

int64_t ContentStore::size(const Digest& digest) const {
  const std::string path = blob_path(digest);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return -1;
    throw_system_error("stat " + path, errno);
  }
  return S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : -1;
}

std::string ContentStore::read(const Digest& digest, std::size_t max_bytes) const {
  const std::string path = blob_path(digest);
  std::optional<std::string> content;
  try {
    content = read_file_if_exists(path, max_bytes);
  } catch (const StorageError& error) {
    if (error.kind() != Failure::exhausted) throw;
    throw StorageError(Failure::exhausted, "blob " + digest.string() + " is larger than the " +
                                               std::to_string(max_bytes) + " bytes allowed here");
  }
  if (!content) throw StorageError(Failure::not_found, "blob " + digest.string() + " is not in the content store");
  const Digest actual = digest_of(*content, digest.algorithm);
  if (actual != digest) {
    throw StorageError(Failure::corrupt, "blob " + digest.string() + " at " + path + " has changed on disk: its " +
                                             std::to_string(content->size()) + " bytes have digest " +
                                             actual.string() + "; remove it so that it is fetched again");
  }
  return std::move(*content);
}

std::unique_ptr<ContentStore::Writer> ContentStore::begin(const Digest& expected, int64_t expected_size) {
  check_digest(expected);
  return std::make_unique<IngestWriter>(root_, expected, expected_size);
}

void ContentStore::put(const Digest& expected, std::string_view data) {
  const std::unique_ptr<Writer> writer = begin(expected, static_cast<int64_t>(data.size()));
  writer->write(data.data(), data.size());
  writer->commit();
}

void ContentStore::remove(const Digest& digest) {
  const std::string path = blob_path(digest);
  // No directory fsync: a removed blob that reappears after a crash is still
  // complete and correct, and garbage collection removes it again.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_system_error("remove blob " + path, errno);
}

std::vector<Digest> ContentStore::list() const {
  std::vector<Digest> digests;
  for_each_blob(root_, [&](const Digest& digest, const struct stat&) { digests.push_back(digest); });
  std::sort(digests.begin(), digests.end());
  return digests;
}

uint64_t ContentStore::total_bytes() const {
  uint64_t total = 0;
  for_each_blob(root_, [&](const Digest&, const struct stat& st) { total += static_cast<uint64_t>(st.st_size); });
  return total;
}

}  // namespace deckhand::storage
