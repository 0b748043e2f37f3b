// The content store: blobs by digest, written through an ingest file and
// visible only once their size and digest have been checked and they are on
// disk; nothing of a failed or abandoned write may remain.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "content_store.hpp"
#include "digest.hpp"
#include "storage_error.hpp"
#include "storage_test_errors.hpp"
#include "temp_dir.hpp"

namespace deckhand::storage {
namespace {

namespace fs = std::filesystem;

class TempDir : public deckhand::test::TempDir {
 public:
  TempDir() : deckhand::test::TempDir("deckhand-content-test") {}
};

// Bytes that differ from run to run of `seed` (a blob of one repeated byte
// would hide an offset mistake).
std::string sample_bytes(std::size_t size, uint64_t seed) {
  std::string bytes(size, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : bytes) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    c = static_cast<char>(state);
  }
  return bytes;
}

std::vector<std::string> names_in(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  return names;
}

std::string file_content(const std::string& path) {
  std::string content;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return "<missing>";
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) content.append(buffer, n);
  std::fclose(file);
  return content;
}

// Nothing under blobs/ and nothing under ingest/: what every failed write must leave.
void expect_store_empty(const std::string& root) {
  EXPECT_TRUE(names_in(root + "/ingest").empty());
  EXPECT_TRUE(names_in(root + "/blobs/sha256").empty());
  EXPECT_TRUE(names_in(root + "/blobs/sha512").empty());
}

TEST(StorageContentStoreTest, PutThenReadContainsSizeListTotalBytesAndRemove) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string first = "{\"schemaVersion\": 2}";
  const std::string second = sample_bytes(5000, 1);
  const Digest first_digest = digest_of(first);
  const Digest second_digest = digest_of(second);

  EXPECT_FALSE(store.contains(first_digest));
  EXPECT_EQ(store.size(first_digest), -1);
  store.put(first_digest, first);
  store.put(second_digest, second);

  EXPECT_TRUE(store.contains(first_digest));
  EXPECT_EQ(store.size(second_digest), 5000);
  EXPECT_EQ(store.read(first_digest, 1024), first);
  EXPECT_EQ(store.read(second_digest, 5000), second);
  EXPECT_EQ(store.blob_path(first_digest), dir.path() + "/blobs/sha256/" + first_digest.hex);
  EXPECT_EQ(file_content(store.blob_path(second_digest)), second);
  std::vector<Digest> expected{first_digest, second_digest};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(store.list(), expected);
  EXPECT_EQ(store.total_bytes(), first.size() + second.size());

  store.remove(first_digest);
  store.remove(first_digest);  // missing is fine
  EXPECT_FALSE(store.contains(first_digest));
  EXPECT_EQ(store.list(), std::vector<Digest>{second_digest});
  EXPECT_EQ(store.total_bytes(), second.size());

  // Putting what is present again is fine and changes nothing.
  store.put(second_digest, second);
  EXPECT_EQ(store.list(), std::vector<Digest>{second_digest});
  EXPECT_TRUE(names_in(dir.path() + "/ingest").empty());
}

TEST(StorageContentStoreTest, BlobsSurviveANewStoreOnTheSameRoot) {
  TempDir dir;
  const std::string data = sample_bytes(300, 2);
  const Digest digest = digest_of(data);
  ContentStore(dir.path()).put(digest, data);
  ContentStore reopened(dir.path());
  EXPECT_EQ(reopened.read(digest, 300), data);
}

TEST(StorageContentStoreTest, Sha512BlobsLiveInTheirOwnDirectory) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(1000, 3);
  const Digest digest = digest_of(data, "sha512");
  store.put(digest, data);
  EXPECT_EQ(store.blob_path(digest), dir.path() + "/blobs/sha512/" + digest.hex);
  EXPECT_EQ(store.read(digest, 1000), data);
  EXPECT_EQ(store.list(), std::vector<Digest>{digest});
}

TEST(StorageContentStoreTest, ReadOfAMissingBlobIsNotFoundAndAboveTheCapIsExhausted) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(4097, 4);
  const Digest digest = digest_of(data);
  EXPECT_EQ(failure_of([&] { store.read(digest, 1 << 20); }), Failure::not_found);
  store.put(digest, data);
  EXPECT_EQ(failure_of([&] { store.read(digest, 4096); }), Failure::exhausted);
  EXPECT_NE(message_of([&] { store.read(digest, 4096); }).find(digest.string()), std::string::npos);
  EXPECT_EQ(store.read(digest, 4097), data);
}

TEST(StorageContentStoreTest, DigestsThatAreNotCanonicalNameNoPath) {
  TempDir dir;
  ContentStore store(dir.path());
  const Digest escaping{"sha256", "../../../../etc/passwd"};
  EXPECT_EQ(failure_of([&] { store.blob_path(escaping); }), Failure::invalid);
  EXPECT_EQ(failure_of([&] { store.contains(escaping); }), Failure::invalid);
  EXPECT_EQ(failure_of([&] { store.remove(escaping); }), Failure::invalid);
  const Digest unsupported{"md5", std::string(32, 'a')};
  EXPECT_EQ(failure_of([&] { store.begin(unsupported, 1); }), Failure::invalid);
  const Digest upper_case{"sha256", std::string(64, 'A')};
  EXPECT_EQ(failure_of([&] { store.put(upper_case, "x"); }), Failure::invalid);
  expect_store_empty(dir.path());
}

TEST(StorageContentStoreTest, NothingIsVisibleUnderBlobsUntilCommit) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(3 << 20, 5);
  const Digest digest = digest_of(data);
  auto writer = store.begin(digest, static_cast<int64_t>(data.size()));
  writer->write(data.data(), 2 << 20);
  EXPECT_EQ(writer->written(), 2u << 20);
  EXPECT_FALSE(store.contains(digest));
  EXPECT_TRUE(store.list().empty());
  const std::vector<std::string> ingests = names_in(dir.path() + "/ingest");
  ASSERT_EQ(ingests.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/ingest/" + ingests[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  writer->write(data.data() + (2 << 20), data.size() - (2 << 20));
  EXPECT_FALSE(store.contains(digest));
  writer->commit();
  EXPECT_TRUE(store.contains(digest));
  EXPECT_TRUE(names_in(dir.path() + "/ingest").empty());
  ASSERT_EQ(::stat(store.blob_path(digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);  // committed blobs are read-only
  EXPECT_EQ(file_content(store.blob_path(digest)), data);
  EXPECT_EQ(failure_of([&] { writer->write("x", 1); }), Failure::internal);  // used up
}

TEST(StorageContentStoreTest, WritesOfEverySizeAreGatheredInOrder) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::size_t pieces[] = {1, 1000, 1 << 20, 3, (1 << 20) - 2, 5000, 1, (3 << 20) + 7, 65536, 0, 17};
  std::size_t total = 0;
  for (const std::size_t piece : pieces) total += piece;
  const std::string data = sample_bytes(total, 6);
  const Digest digest = digest_of(data);
  auto writer = store.begin(digest, static_cast<int64_t>(total));
  std::size_t offset = 0;
  for (const std::size_t piece : pieces) {
    writer->write(data.data() + offset, piece);
    offset += piece;
  }
  writer->commit();
  EXPECT_EQ(file_content(store.blob_path(digest)), data);
}

TEST(StorageContentStoreTest, ShortBlobIsRefusedAtCommitAndLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(1000, 7);
  const Digest digest = digest_of(data);
  {
    auto writer = store.begin(digest, 1001);
    writer->write(data.data(), data.size());
    const std::string message = message_of([&] { writer->commit(); });
    EXPECT_NE(message.find(digest.string()), std::string::npos) << message;
    EXPECT_NE(message.find("1001"), std::string::npos) << message;
    EXPECT_NE(message.find("1000"), std::string::npos) << message;
    expect_store_empty(dir.path());  // at once, not only when the writer goes
    EXPECT_EQ(failure_of([&] { writer->commit(); }), Failure::internal);
  }
  auto writer = store.begin(digest, 1001);
  writer->write(data.data(), data.size());
  EXPECT_EQ(failure_of([&] { writer->commit(); }), Failure::corrupt);
  writer.reset();
  expect_store_empty(dir.path());
}

TEST(StorageContentStoreTest, LongBlobIsRefusedAsSoonAsTooMuchArrivesAndLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(1000, 8);
  const Digest digest = digest_of(data);
  auto writer = store.begin(digest, 999);
  writer->write(data.data(), 500);
  const std::string message = message_of([&] { writer->write(data.data() + 500, 500); });
  EXPECT_NE(message.find(digest.string()), std::string::npos) << message;
  EXPECT_NE(message.find("999"), std::string::npos) << message;
  EXPECT_EQ(failure_of([&] { writer->write(data.data() + 500, 500); }), Failure::internal);
  EXPECT_EQ(failure_of([&] { writer->commit(); }), Failure::internal);
  expect_store_empty(dir.path());
  writer.reset();
  expect_store_empty(dir.path());

  auto again = store.begin(digest, 999);
  EXPECT_EQ(failure_of([&] { again->write(data.data(), data.size()); }), Failure::corrupt);
}

TEST(StorageContentStoreTest, WrongDigestIsRefusedNamingBothDigestsAndLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(2000, 9);
  std::string tampered = data;
  tampered[1234] ^= 1;
  const Digest digest = digest_of(data);
  auto writer = store.begin(digest, static_cast<int64_t>(tampered.size()));
  writer->write(tampered.data(), tampered.size());
  std::string message;
  try {
    writer->commit();
    ADD_FAILURE() << "a blob with the wrong digest was committed";
  } catch (const StorageError& error) {
    EXPECT_EQ(error.kind(), Failure::corrupt);
    message = error.what();
  }
  EXPECT_NE(message.find(digest.string()), std::string::npos) << message;
  EXPECT_NE(message.find(digest_of(tampered).string()), std::string::npos) << message;
  writer.reset();
  expect_store_empty(dir.path());

  // With the size unknown, the digest alone decides.
  auto unsized = store.begin(digest, -1);
  unsized->write(tampered.data(), tampered.size());
  EXPECT_EQ(failure_of([&] { unsized->commit(); }), Failure::corrupt);
  unsized.reset();
  expect_store_empty(dir.path());
  auto sizeless = store.begin(digest, -1);
  sizeless->write(data.data(), data.size());
  sizeless->commit();
  EXPECT_EQ(store.read(digest, data.size()), data);
}

TEST(StorageContentStoreTest, UncommittedWriterLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(10000, 10);
  const Digest digest = digest_of(data);
  {
    auto writer = store.begin(digest, static_cast<int64_t>(data.size()));
    writer->write(data.data(), data.size());  // complete, but never committed
    EXPECT_EQ(names_in(dir.path() + "/ingest").size(), 1u);
  }
  expect_store_empty(dir.path());
}

TEST(StorageContentStoreTest, IngestsLeftByACrashAreRemovedByRemoveLeftovers) {
  TempDir dir;
  const std::string data = sample_bytes(700, 11);
  const Digest digest = digest_of(data);
  {
    ContentStore store(dir.path());
    store.put(digest, data);
  }
  // What a killed agent leaves: half-written ingests, even an odd directory.
  const std::string ingest = dir.path() + "/ingest";
  for (const char* name : {"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}) {
    FILE* file = std::fopen((ingest + "/" + name).c_str(), "wb");
    ASSERT_NE(file, nullptr);
    std::fputs("half a layer", file);
    std::fclose(file);
  }
  ASSERT_EQ(::mkdir((ingest + "/odd").c_str(), 0500), 0);
  ASSERT_EQ(::symlink("/etc", (ingest + "/link").c_str()), 0);
  ASSERT_EQ(names_in(ingest).size(), 4u);

  ContentStore reopened(dir.path());
  EXPECT_EQ(names_in(ingest).size(), 4u);  // maybe another process's ingests: the constructor keeps them
  reopened.remove_leftovers();
  EXPECT_TRUE(names_in(ingest).empty());
  EXPECT_EQ(reopened.list(), std::vector<Digest>{digest});
  EXPECT_EQ(reopened.read(digest, 700), data);
  EXPECT_TRUE(fs::exists("/etc/passwd"));  // the link was removed, not followed
}

TEST(StorageContentStoreTest, TwoWritersOfTheSameDigestBothSucceedAndOneBlobExists) {
  TempDir dir;
  ContentStore store(dir.path());
  for (int round = 0; round < 20; ++round) {
    const std::string data = sample_bytes(static_cast<std::size_t>(200000 + round), 100 + round);
    const Digest digest = digest_of(data);
    std::latch ready(2);
    std::atomic<int> succeeded{0};
    auto pull = [&] {
      try {
        auto writer = store.begin(digest, static_cast<int64_t>(data.size()));
        writer->write(data.data(), data.size());
        ready.arrive_and_wait();  // commit at the same moment
        writer->commit();
        ++succeeded;
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    };
    std::thread first(pull);
    std::thread second(pull);
    first.join();
    second.join();
    EXPECT_EQ(succeeded.load(), 2);
    EXPECT_EQ(store.read(digest, data.size()), data);
  }
  EXPECT_EQ(store.list().size(), 20u);
  EXPECT_EQ(names_in(dir.path() + "/blobs/sha256").size(), 20u);
  EXPECT_TRUE(names_in(dir.path() + "/ingest").empty());
}

TEST(StorageContentStoreTest, ManyThreadsWriteReadListAndRemoveAtOnce) {
  TempDir dir;
  ContentStore store(dir.path());
  constexpr int kThreads = 8;
  constexpr int kBlobsEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kBlobsEach; ++i) {
          const std::string data = sample_bytes(static_cast<std::size_t>(1000 + i), 1000 * t + i);
          const Digest digest = digest_of(data);
          store.put(digest, data);
          EXPECT_EQ(store.read(digest, data.size()), data);
          (void)store.list();
          (void)store.total_bytes();
          if (i % 5 == 0) store.remove(digest);
        }
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.list().size(), static_cast<std::size_t>(kThreads * (kBlobsEach - kBlobsEach / 5)));
  EXPECT_TRUE(names_in(dir.path() + "/ingest").empty());
}

// A tmpfs mounted for one test and unmounted whatever happens.
class SmallTmpfs {
 public:
  SmallTmpfs(const std::string& path, const char* size) : path_(path) {
    const std::string options = std::string("size=") + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options.c_str()) == 0;
    error_ = mounted_ ? 0 : errno;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  std::string error() const { return std::strerror(error_); }

 private:
  std::string path_;
  bool mounted_ = false;
  int error_ = 0;
};

TEST(StorageContentStoreTest, FullDiskIsExhaustedAndLeavesNothing) {
  TempDir dir;
  const SmallTmpfs tmpfs(dir.path(), "256k");
  ASSERT_TRUE(tmpfs.mounted()) << "mount tmpfs (this test needs root): " << tmpfs.error();
  const std::string root = dir.path() + "/content";
  ContentStore store(root);
  const std::string data = sample_bytes(1 << 20, 12);
  const Digest digest = digest_of(data);

  // Streamed in pieces: the failure comes from a write or from commit.
  {
    auto writer = store.begin(digest, static_cast<int64_t>(data.size()));
    const Failure failure = failure_of([&] {
      for (std::size_t offset = 0; offset < data.size(); offset += 65536) writer->write(data.data() + offset, 65536);
      writer->commit();
    });
    EXPECT_EQ(failure, Failure::exhausted);
    expect_store_empty(root);
  }
  expect_store_empty(root);

  // In one piece.
  const std::string message = message_of([&] { store.put(digest, data); });
  EXPECT_NE(message.find(digest.string()), std::string::npos) << message;
  EXPECT_EQ(failure_of([&] { store.put(digest, data); }), Failure::exhausted);
  expect_store_empty(root);

  // The space was given back: a blob that fits still goes in.
  const std::string small = sample_bytes(100 << 10, 13);
  store.put(digest_of(small), small);
  EXPECT_EQ(store.read(digest_of(small), small.size()), small);
}

TEST(StorageContentStoreTest, LargeBlobInOneMebibyteChunks) {
  TempDir dir;
  ContentStore store(dir.path());
  constexpr std::size_t kChunk = 1 << 20;
  constexpr std::size_t kChunks = 200;
  std::string chunk = sample_bytes(kChunk, 14);
  auto fill = [&](std::size_t index) { std::memcpy(chunk.data(), &index, sizeof index); };  // no two chunks alike
  Hasher hasher;
  for (std::size_t i = 0; i < kChunks; ++i) {
    fill(i);
    hasher.update(chunk);
  }
  const Digest digest = hasher.finish();

  const auto start = std::chrono::steady_clock::now();
  auto writer = store.begin(digest, static_cast<int64_t>(kChunk * kChunks));
  for (std::size_t i = 0; i < kChunks; ++i) {
    fill(i);
    writer->write(chunk.data(), chunk.size());
  }
  writer->commit();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[   INFO   ] 200 MiB blob written in 1 MiB chunks and committed in %.3f s (%.0f MiB/s)\n", seconds,
              200 / seconds);

  EXPECT_EQ(store.size(digest), static_cast<int64_t>(kChunk * kChunks));
  EXPECT_EQ(store.total_bytes(), kChunk * kChunks);
  EXPECT_TRUE(names_in(dir.path() + "/ingest").empty());
  // What is on disk is what was written (hashed again from the file).
  Hasher on_disk;
  FILE* file = std::fopen(store.blob_path(digest).c_str(), "rb");
  ASSERT_NE(file, nullptr);
  for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), file)) > 0;) on_disk.update(chunk.data(), n);
  std::fclose(file);
  EXPECT_EQ(on_disk.finish(), digest);
}

TEST(StorageContentStoreTest, BlobChangedOnDiskAfterCommitIsReportedCorruptOnRead) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = "{\"config\": {\"Entrypoint\": [\"/bin/sh\"]}}";
  const Digest digest = digest_of(data);
  store.put(digest, data);
  {
    // Read-only mode does not stop root (or a disk error).
    const int fd = ::open(store.blob_path(digest).c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "X", 1, 12), 1);
    ::close(fd);
  }
  EXPECT_TRUE(store.contains(digest));  // checked at commit and on read, not on every stat
  const std::string message = message_of([&] { store.read(digest, 1024); });
  EXPECT_NE(message.find(digest.string()), std::string::npos) << message;
  EXPECT_EQ(failure_of([&] { store.read(digest, 1024); }), Failure::corrupt);
  // Removing it lets the right bytes in again.
  store.remove(digest);
  store.put(digest, data);
  EXPECT_EQ(store.read(digest, 1024), data);
}

TEST(StorageContentStoreTest, ListAndTotalIgnoreWhatIsNotABlob) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = sample_bytes(123, 15);
  store.put(digest_of(data), data);
  const std::string sha256 = dir.path() + "/blobs/sha256/";
  FILE* stray = std::fopen((sha256 + "notes.txt").c_str(), "wb");
  ASSERT_NE(stray, nullptr);
  std::fputs("not a blob", stray);
  std::fclose(stray);
  ASSERT_EQ(::mkdir((sha256 + std::string(64, 'a')).c_str(), 0700), 0);
  EXPECT_EQ(store.list(), std::vector<Digest>{digest_of(data)});
  EXPECT_EQ(store.total_bytes(), 123u);
  EXPECT_FALSE(store.contains(Digest{"sha256", std::string(64, 'a')}));
}

}  // namespace
}  // namespace deckhand::storage
