// The image store: image records by name, unpacked layers by chain id under
// small numeric ids, what a crash leaves behind, and what garbage
// collection may delete.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "digest.hpp"
#include "image_store.hpp"
#include "storage_error.hpp"
#include "storage_test_errors.hpp"
#include "store_time.hpp"
#include "temp_dir.hpp"

namespace deckhand::storage {
namespace {

namespace fs = std::filesystem;

class TempDir : public deckhand::test::TempDir {
 public:
  TempDir() : deckhand::test::TempDir("deckhand-image-test") {}
};

Digest digest(const std::string& seed) { return digest_of(seed); }

// "2024-02-29T23:59:59.123456789Z": digits where the pattern has 'd'.
bool looks_like_rfc3339(const std::string& text) {
  const std::string pattern = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (pattern[i] == 'd' ? (text[i] < '0' || text[i] > '9') : text[i] != pattern[i]) return false;
  }
  return true;
}

ImageRecord sample_image(const std::string& name, const std::string& seed) {
  ImageRecord record;
  record.name = name;
  record.manifest_digest = digest(seed + "manifest");
  record.manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
  record.index_digest = digest(seed + "index");
  record.config_digest = digest(seed + "config");
  record.layers = {digest(seed + "layer0"), digest(seed + "layer1")};
  record.chain_ids = {digest(seed + "chain0"), digest(seed + "chain1")};
  record.size = 123456789;
  record.created = "2024-02-29T23:59:59.123456789Z";
  record.last_used = "2024-03-01T00:00:00.000000001Z";
  return record;
}

void expect_same(const ImageRecord& actual, const ImageRecord& expected) {
  EXPECT_EQ(actual.name, expected.name);
  EXPECT_EQ(actual.manifest_digest, expected.manifest_digest);
  EXPECT_EQ(actual.manifest_media_type, expected.manifest_media_type);
  EXPECT_EQ(actual.index_digest, expected.index_digest);
  EXPECT_EQ(actual.config_digest, expected.config_digest);
  EXPECT_EQ(actual.layers, expected.layers);
  EXPECT_EQ(actual.chain_ids, expected.chain_ids);
  EXPECT_EQ(actual.size, expected.size);
  EXPECT_EQ(actual.created, expected.created);
  EXPECT_EQ(actual.last_used, expected.last_used);
}

void expect_same(const LayerRecord& actual, const LayerRecord& expected) {
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.chain_id, expected.chain_id);
  EXPECT_EQ(actual.diff_id, expected.diff_id);
  EXPECT_EQ(actual.blob, expected.blob);
  EXPECT_EQ(actual.unpacked_bytes, expected.unpacked_bytes);
}

std::vector<std::string> names_in(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> tmp_layers(const std::string& root) {
  std::vector<std::string> names;
  for (const std::string& name : names_in(root + "/layers")) {
    if (name.starts_with("tmp-")) names.push_back(name);
  }
  return names;
}

void write_text(const std::string& path, const std::string& text) {
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  std::fputs(text.c_str(), file);
  std::fclose(file);
}

std::string read_text(const std::string& path) {
  std::string content;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return "<missing>";
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) content.append(buffer, n);
  std::fclose(file);
  return content;
}

// An unpacked layer: begin_layer, one file naming its owner, commit.
LayerRecord add_layer(ImageStore& store, const std::string& seed, uint64_t bytes = 100) {
  const std::string unpack = store.begin_layer();
  write_text(unpack + "/owner", seed);
  return store.commit_layer(unpack, digest(seed + "chain"), digest(seed + "diff"), digest(seed + "blob"), bytes);
}

// ---- Image records ----

TEST(StorageImageStoreTest, TimesAreRfc3339InUtcWithNanoseconds) {
  EXPECT_EQ(format_rfc3339(timespec{0, 5}), "1970-01-01T00:00:00.000000005Z");
  EXPECT_EQ(format_rfc3339(timespec{951782400, 123456789}), "2000-02-29T00:00:00.123456789Z");
  EXPECT_EQ(format_rfc3339(timespec{1709251199, 0}), "2024-02-29T23:59:59.000000000Z");
  EXPECT_EQ(format_rfc3339(timespec{-62135596800, 999999999}), "0001-01-01T00:00:00.999999999Z");
  EXPECT_TRUE(looks_like_rfc3339(rfc3339_now()));
}

TEST(StorageImageStoreTest, ImageRecordRoundTripsUnderTheHashOfItsName) {
  TempDir dir;
  const ImageRecord record = sample_image("docker.io/library/nginx:1.27", "nginx");
  {
    ImageStore store(dir.path());
    EXPECT_FALSE(store.find_image(record.name).has_value());
    store.put_image(record);
    const auto found = store.find_image(record.name);
    ASSERT_TRUE(found.has_value());
    expect_same(*found, record);
  }
  const std::string file = dir.path() + "/images/" + digest_of(record.name).hex + ".json";
  EXPECT_EQ(names_in(dir.path() + "/images"), std::vector<std::string>{digest_of(record.name).hex + ".json"});
  EXPECT_NE(read_text(file).find("docker.io/library/nginx:1.27"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  ImageStore reopened(dir.path());  // a restart
  const auto found = reopened.find_image(record.name);
  ASSERT_TRUE(found.has_value());
  expect_same(*found, record);

  // An image not chosen from an index has no index digest.
  ImageRecord plain = sample_image("registry.local/app@sha256:" + std::string(64, '1'), "plain");
  plain.index_digest = Digest{};
  reopened.put_image(plain);
  expect_same(*reopened.find_image(plain.name), plain);
}

TEST(StorageImageStoreTest, EmptyTimesAreFilledWithNow) {
  TempDir dir;
  ImageStore store(dir.path());
  ImageRecord record = sample_image("example.com/app:1", "app");
  record.created.clear();
  record.last_used.clear();
  const std::string before = rfc3339_now();
  store.put_image(record);
  const auto found = store.find_image(record.name);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(looks_like_rfc3339(found->created))
      << found->created;
  EXPECT_GE(found->created, before);
  EXPECT_EQ(found->last_used, found->created);
}

TEST(StorageImageStoreTest, PutReplacesTheRecordOfTheSameName) {
  TempDir dir;
  ImageStore store(dir.path());
  store.put_image(sample_image("example.com/app:latest", "old"));
  const ImageRecord newer = sample_image("example.com/app:latest", "new");
  store.put_image(newer);
  expect_same(*store.find_image(newer.name), newer);
  ASSERT_EQ(store.images().size(), 1u);
  expect_same(store.images()[0], newer);
  EXPECT_EQ(names_in(dir.path() + "/images").size(), 1u);  // no temporary left beside it
}

TEST(StorageImageStoreTest, RemoveImageIsFinalAndMissingIsFine) {
  TempDir dir;
  {
    ImageStore store(dir.path());
    store.put_image(sample_image("example.com/a:1", "a"));
    store.put_image(sample_image("example.com/b:1", "b"));
    store.remove_image("example.com/a:1");
    store.remove_image("example.com/a:1");
    store.remove_image("example.com/never:1");
    EXPECT_FALSE(store.find_image("example.com/a:1").has_value());
  }
  ImageStore reopened(dir.path());
  EXPECT_FALSE(reopened.find_image("example.com/a:1").has_value());
  ASSERT_EQ(reopened.images().size(), 1u);
  EXPECT_EQ(reopened.images()[0].name, "example.com/b:1");
}

TEST(StorageImageStoreTest, ImagesListsRecordsByNameAndSkipsUnreadableOnes) {
  TempDir dir;
  {
    ImageStore store(dir.path());
    for (const char* name : {"example.com/zeta:1", "example.com/alpha:1", "example.com/mid:1"}) {
      store.put_image(sample_image(name, name));
    }
  }
  const std::string images = dir.path() + "/images/";
  write_text(images + digest_of("example.com/broken:1").hex + ".json", "{\"schema_version\": 1, \"name\": ");
  write_text(images + digest_of("example.com/wrongtype:1").hex + ".json",
             "{\"schema_version\": 1, \"name\": \"example.com/wrongtype:1\", \"size\": \"big\"}");
  // A record stored under another name's hash (copied by hand) is not that name's.
  fs::copy_file(images + digest_of("example.com/alpha:1").hex + ".json",
                images + digest_of("example.com/impostor:1").hex + ".json");
  write_text(images + ".tmp-0011223344556677", "a write a crash interrupted");

  ImageStore store(dir.path());
  EXPECT_TRUE(fs::exists(images + ".tmp-0011223344556677"));  // maybe another process's write in progress
  store.remove_leftovers();  // what the plugin does when the store is idle
  EXPECT_FALSE(fs::exists(images + ".tmp-0011223344556677"));
  std::vector<std::string> names;
  for (const ImageRecord& record : store.images()) names.push_back(record.name);
  EXPECT_EQ(names, (std::vector<std::string>{"example.com/alpha:1", "example.com/mid:1", "example.com/zeta:1"}));

  for (const char* name : {"example.com/broken:1", "example.com/wrongtype:1", "example.com/impostor:1"}) {
    const std::string message = message_of([&] { store.find_image(name); });
    EXPECT_NE(message.find(images + digest_of(name).hex + ".json"), std::string::npos) << message;
    EXPECT_EQ(failure_of([&] { store.find_image(name); }), Failure::internal);
  }
  // Removing the unreadable record is the way out.
  store.remove_image("example.com/broken:1");
  EXPECT_FALSE(store.find_image("example.com/broken:1").has_value());
}

TEST(StorageImageStoreTest, TouchImageRenewsLastUsedOnly) {
  TempDir dir;
  ImageStore store(dir.path());
  const ImageRecord record = sample_image("example.com/app:2", "app2");
  store.put_image(record);
  const std::string before = rfc3339_now();
  store.touch_image(record.name);
  const auto touched = store.find_image(record.name);
  ASSERT_TRUE(touched.has_value());
  EXPECT_GE(touched->last_used, before);
  ImageRecord expected = record;
  expected.last_used = touched->last_used;
  expect_same(*touched, expected);

  store.touch_image("example.com/gone:1");  // missing is fine, and creates nothing
  EXPECT_FALSE(store.find_image("example.com/gone:1").has_value());
  EXPECT_EQ(names_in(dir.path() + "/images").size(), 1u);
}

TEST(StorageImageStoreTest, PutRefusesRecordsThatCouldNotBeReadBack) {
  TempDir dir;
  ImageStore store(dir.path());
  ImageRecord nameless = sample_image("", "x");
  EXPECT_EQ(failure_of([&] { store.put_image(nameless); }), Failure::invalid);
  ImageRecord no_manifest = sample_image("example.com/x:1", "x");
  no_manifest.manifest_digest = Digest{};
  EXPECT_EQ(failure_of([&] { store.put_image(no_manifest); }), Failure::invalid);
  ImageRecord bad_layer = sample_image("example.com/x:1", "x");
  bad_layer.layers.push_back(Digest{"sha256", "nothex"});
  EXPECT_EQ(failure_of([&] { store.put_image(bad_layer); }), Failure::invalid);
  EXPECT_TRUE(names_in(dir.path() + "/images").empty());
}

TEST(StorageImageStoreTest, ConcurrentPutsAndTouchesLoseNoRecord) {
  TempDir dir;
  ImageStore store(dir.path());
  store.put_image(sample_image("example.com/shared:1", "shared"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 10; ++i) {
          const std::string name = "example.com/t" + std::to_string(t) + ":" + std::to_string(i);
          store.put_image(sample_image(name, name));
          store.touch_image("example.com/shared:1");
          EXPECT_TRUE(store.find_image(name).has_value());
          (void)store.images();
        }
      } catch (const std::exception& error) {
        ADD_FAILURE() << error.what();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(store.images().size(), 81u);
  EXPECT_EQ(names_in(dir.path() + "/images").size(), 81u);
}

// ---- Layers ----

TEST(StorageImageStoreTest, LayerBeginCommitFindAndDiffDir) {
  TempDir dir;
  LayerRecord first;
  {
    ImageStore store(dir.path());
    const std::string unpack = store.begin_layer();
    EXPECT_TRUE(unpack.starts_with(dir.path() + "/layers/tmp-")) << unpack;
    EXPECT_TRUE(unpack.ends_with("/diff")) << unpack;
    ASSERT_TRUE(fs::is_directory(unpack));
    EXPECT_TRUE(fs::is_empty(unpack));
    write_text(unpack + "/hello", "world");
    ASSERT_EQ(::mkdir((unpack + "/etc").c_str(), 0755), 0);

    first = store.commit_layer(unpack, digest("c1"), digest("d1"), digest("b1"), 5);
    EXPECT_EQ(first.id, "1");
    expect_same(first, LayerRecord{"1", digest("c1"), digest("d1"), digest("b1"), 5});
    EXPECT_EQ(store.diff_dir(first), dir.path() + "/layers/1/diff");
    EXPECT_EQ(read_text(store.diff_dir(first) + "/hello"), "world");
    EXPECT_TRUE(fs::is_directory(store.diff_dir(first) + "/etc"));
    EXPECT_TRUE(fs::exists(dir.path() + "/layers/1/layer.json"));
    EXPECT_FALSE(fs::exists(unpack));
    EXPECT_TRUE(tmp_layers(dir.path()).empty());

    expect_same(*store.find_layer(digest("c1")), first);
    EXPECT_FALSE(store.find_layer(digest("c2")).has_value());
    ASSERT_EQ(store.layers().size(), 1u);
    expect_same(store.layers()[0], first);

    // A layer without a compressed blob (e.g. loaded from an archive) is fine.
    const std::string second_unpack = store.begin_layer();
    const LayerRecord second = store.commit_layer(second_unpack, digest("c2"), digest("d2"), Digest{}, 7);
    EXPECT_EQ(second.id, "2");
    EXPECT_EQ(store.layers_bytes(), 12u);
  }
  ImageStore reopened(dir.path());  // the index is rebuilt from layer.json files
  expect_same(*reopened.find_layer(digest("c1")), first);
  EXPECT_TRUE(reopened.find_layer(digest("c2"))->blob.empty());
  EXPECT_EQ(reopened.layers_bytes(), 12u);
  const LayerRecord third = add_layer(reopened, "third");
  EXPECT_EQ(third.id, "3");  // ids continue after a restart
}

TEST(StorageImageStoreTest, AbortLayerRemovesTheUnpackAndRefusesOtherPaths) {
  TempDir dir;
  ImageStore store(dir.path());
  const LayerRecord kept = add_layer(store, "kept");
  const std::string unpack = store.begin_layer();
  write_text(unpack + "/partial", "half a layer");
  store.abort_layer(unpack);
  EXPECT_TRUE(tmp_layers(dir.path()).empty());
  store.abort_layer(unpack);  // already gone is fine

  for (const std::string& path : {store.diff_dir(kept), std::string("/"), dir.path(), dir.path() + "/layers",
                                  dir.path() + "/layers/tmp-../1/diff", unpack + "/.."}) {
    EXPECT_EQ(failure_of([&] { store.abort_layer(path); }), Failure::invalid) << path;
  }
  EXPECT_EQ(read_text(store.diff_dir(kept) + "/owner"), "kept");
  EXPECT_EQ(failure_of([&] { store.commit_layer(dir.path() + "/layers/1/diff", digest("x"), digest("y"), Digest{}, 0); }),
            Failure::invalid);
  // An unpack that was aborted cannot be committed.
  EXPECT_EQ(failure_of([&] { store.commit_layer(unpack, digest("x"), digest("y"), Digest{}, 0); }), Failure::invalid);
  EXPECT_FALSE(store.find_layer(digest("x")).has_value());
}

TEST(StorageImageStoreTest, RemoveLayerRemovesItsDirectoryForGood) {
  TempDir dir;
  {
    ImageStore store(dir.path());
    const LayerRecord doomed = add_layer(store, "doomed");
    const LayerRecord kept = add_layer(store, "kept");
    // Even a layer whose files resist (read-only directory) goes.
    ASSERT_EQ(::chmod(store.diff_dir(doomed).c_str(), 0500), 0);
    store.remove_layer(doomed.chain_id);
    store.remove_layer(doomed.chain_id);  // missing is fine
    EXPECT_FALSE(store.find_layer(doomed.chain_id).has_value());
    EXPECT_FALSE(fs::exists(dir.path() + "/layers/" + doomed.id));
    EXPECT_TRUE(tmp_layers(dir.path()).empty());
    EXPECT_EQ(store.layers().size(), 1u);
    EXPECT_EQ(store.layers_bytes(), kept.unpacked_bytes);
  }
  ImageStore reopened(dir.path());
  EXPECT_FALSE(reopened.find_layer(digest("doomedchain")).has_value());
  EXPECT_EQ(reopened.layers().size(), 1u);
}

TEST(StorageImageStoreTest, CommitsFromEightThreadsGetUniqueIds) {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kLayersEach = 12;
  {
    ImageStore store(dir.path());
    std::mutex results_mutex;
    std::vector<LayerRecord> results;
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        try {
          for (int i = 0; i < kLayersEach; ++i) {
            const LayerRecord record = add_layer(store, "t" + std::to_string(t) + "l" + std::to_string(i));
            const std::lock_guard lock(results_mutex);
            results.push_back(record);
          }
        } catch (const std::exception& error) {
          ADD_FAILURE() << error.what();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads * kLayersEach));
    std::set<std::string> ids;
    for (const LayerRecord& record : results) {
      ids.insert(record.id);
      // Each id holds the unpack of the thread that got it.
      const std::string owner = read_text(store.diff_dir(record) + "/owner");
      EXPECT_EQ(record.chain_id, digest(owner + "chain")) << record.id;
    }
    EXPECT_EQ(ids.size(), results.size());
    EXPECT_EQ(store.layers().size(), results.size());
    EXPECT_TRUE(tmp_layers(dir.path()).empty());
  }
  ImageStore reopened(dir.path());
  EXPECT_EQ(reopened.layers().size(), static_cast<std::size_t>(kThreads * kLayersEach));
}

TEST(StorageImageStoreTest, CommitOfAChainIdAlreadyPresentReturnsTheExistingRecord) {
  TempDir dir;
  ImageStore store(dir.path());
  const LayerRecord first = add_layer(store, "same");
  const std::string unpack = store.begin_layer();
  write_text(unpack + "/owner", "second copy");
  const LayerRecord again = store.commit_layer(unpack, first.chain_id, first.diff_id, first.blob, 999);
  expect_same(again, first);
  EXPECT_EQ(read_text(store.diff_dir(again) + "/owner"), "same");
  EXPECT_TRUE(tmp_layers(dir.path()).empty());
  EXPECT_EQ(names_in(dir.path() + "/layers"), std::vector<std::string>{"1"});
}

TEST(StorageImageStoreTest, ChainIdRaceFromEightThreadsKeepsOneCopy) {
  TempDir dir;
  ImageStore store(dir.path());
  constexpr int kThreads = 8;
  for (int round = 0; round < 5; ++round) {
    const Digest chain = digest("race" + std::to_string(round));
    std::latch ready(kThreads);
    std::mutex results_mutex;
    std::vector<LayerRecord> results;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        try {
          const std::string unpack = store.begin_layer();
          write_text(unpack + "/owner", std::to_string(t));
          ready.arrive_and_wait();  // all commit at once
          const LayerRecord record = store.commit_layer(unpack, chain, digest("diff"), digest("blob"), 1);
          const std::lock_guard lock(results_mutex);
          results.push_back(record);
        } catch (const std::exception& error) {
          ADD_FAILURE() << error.what();
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads));
    for (const LayerRecord& record : results) expect_same(record, results[0]);
    expect_same(*store.find_layer(chain), results[0]);
    EXPECT_TRUE(fs::exists(store.diff_dir(results[0]) + "/owner"));
  }
  EXPECT_EQ(names_in(dir.path() + "/layers"), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(store.layers().size(), 5u);
}

// What an unpack of a hostile or odd layer can leave in tmp-* when the agent dies.
void make_hostile_unpack(const std::string& tmp, const std::string& victim) {
  const std::string diff = tmp + "/diff";
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(diff.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((diff + "/dev").c_str(), 0755), 0);
  ASSERT_EQ(::mknod((diff + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mkfifo((diff + "/dev/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::symlink(victim.c_str(), (diff + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink((victim + "/precious").c_str(), (diff + "/escape-file").c_str()), 0);
  ASSERT_EQ(::mkdir((diff + "/ro").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((diff + "/ro/deeper").c_str(), 0755), 0);
  write_text(diff + "/ro/deeper/locked", "mode 0");
  ASSERT_EQ(::chmod((diff + "/ro/deeper/locked").c_str(), 0), 0);
  ASSERT_EQ(::mknod((diff + "/ro/deeper/zero").c_str(), S_IFCHR | 0600, makedev(1, 5)), 0);
  ASSERT_EQ(::chmod((diff + "/ro/deeper").c_str(), 0), 0);
  ASSERT_EQ(::chmod((diff + "/ro").c_str(), 0555), 0);
  ASSERT_EQ(::chmod((diff + "/dev").c_str(), 0555), 0);
  ASSERT_EQ(::chmod(diff.c_str(), 0555), 0);
}

TEST(StorageImageStoreTest, RemoveLeftoversRemovesUnpacksLeftByACrashWithoutFollowingLinks) {
  TempDir dir;
  const std::string victim = dir.path() + "/victim";
  ASSERT_EQ(::mkdir(victim.c_str(), 0755), 0);
  write_text(victim + "/precious", "must survive");
  LayerRecord kept;
  {
    ImageStore store(dir.path() + "/store");
    kept = add_layer(store, "kept");
    const std::string abandoned = store.begin_layer();  // a crash mid-unpack
    write_text(abandoned + "/partial", "x");
  }
  const std::string layers = dir.path() + "/store/layers";
  make_hostile_unpack(layers + "/tmp-hostile", victim);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(tmp_layers(dir.path() + "/store").size(), 2u);

  ImageStore reopened(dir.path() + "/store");
  EXPECT_EQ(tmp_layers(dir.path() + "/store").size(), 2u);  // a constructor alone removes nothing
  reopened.remove_leftovers();
  EXPECT_TRUE(tmp_layers(dir.path() + "/store").empty());
  EXPECT_EQ(read_text(victim + "/precious"), "must survive");
  EXPECT_EQ(names_in(victim), std::vector<std::string>{"precious"});
  expect_same(*reopened.find_layer(kept.chain_id), kept);
  EXPECT_EQ(read_text(reopened.diff_dir(kept) + "/owner"), "kept");
  EXPECT_EQ(add_layer(reopened, "next").id, "2");
}

TEST(StorageImageStoreTest, RemoveLeftoversRemovesImmutableFilesLeftInAnUnpack) {
  TempDir dir;
  { ImageStore store(dir.path()); }
  const std::string tmp = dir.path() + "/layers/tmp-immutable";
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  write_text(tmp + "/sealed", "chattr +i");
  const int fd = ::open((tmp + "/sealed").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int flags = 0;
  const bool supported = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
                         (flags |= FS_IMMUTABLE_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0);
  ::close(fd);
  if (!supported) GTEST_SKIP() << "the filesystem of " << dir.path() << " has no immutable flag";
  ASSERT_NE(::unlink((tmp + "/sealed").c_str()), 0);  // really immutable, even for root

  ImageStore reopened(dir.path());
  reopened.remove_leftovers();
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(StorageImageStoreTest, RemoveLeftoversRemovesTreesDeeperThanItKeepsOpen) {
  TempDir dir;
  { ImageStore store(dir.path()); }
  const std::string tmp = dir.path() + "/layers/tmp-deep";
  ASSERT_EQ(::mkdir(tmp.c_str(), 0700), 0);
  // 300 levels, each read-only with a file: openat-relative so no path length limit applies.
  int fd = ::open(tmp.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int level = 0; level < 300; ++level) {
    ASSERT_EQ(::mkdirat(fd, "d", 0755), 0);
    const int file = ::openat(fd, "f", O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(file, 0);
    ::close(file);
    const int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(next, 0);
    ::fchmod(fd, 0555);
    ::close(fd);
    fd = next;
  }
  ::close(fd);

  // Fewer descriptors than levels: a removal that kept one open per level fails.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 200;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::string failure;
  try {
    ImageStore reopened(dir.path());
    reopened.remove_leftovers();
  } catch (const std::exception& error) {
    failure = error.what();
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(failure, "");
  EXPECT_FALSE(fs::exists(tmp));
}

TEST(StorageImageStoreTest, UnreadableLayerRecordIsSkippedByListingAndReportedByFind) {
  TempDir dir;
  LayerRecord good;
  {
    ImageStore store(dir.path());
    good = add_layer(store, "good");
  }
  const std::string broken = dir.path() + "/layers/7";
  ASSERT_EQ(::mkdir(broken.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((broken + "/diff").c_str(), 0755), 0);
  write_text(broken + "/layer.json", "{\"schema_version\": 1, \"chain_id\": \"sha256:12");

  ImageStore store(dir.path());
  ASSERT_EQ(store.layers().size(), 1u);
  expect_same(store.layers()[0], good);
  expect_same(*store.find_layer(good.chain_id), good);
  const std::string message = message_of([&] { store.find_layer(digest("unknown")); });
  EXPECT_NE(message.find(broken + "/layer.json"), std::string::npos) << message;
  EXPECT_EQ(failure_of([&] { store.find_layer(digest("unknown")); }), Failure::internal);
  // Its directory stays; new ids come from the store's generation.
  EXPECT_EQ(add_layer(store, "after").id, "2");
  EXPECT_TRUE(fs::exists(broken + "/layer.json"));
}

// The agent and `deckhand image` are two processes with a store each on one
// root: each sees the other's commits and removals at its next lookup, and a
// removed layer's id is never given to another layer, so a stale id cannot
// stack someone else's files.
TEST(StorageImageStoreTest, TwoStoresOnOneRootSeeEachOthersLayerChanges) {
  TempDir dir;
  ImageStore agent(dir.path());
  ImageStore cli(dir.path());
  const LayerRecord first = add_layer(cli, "first");
  expect_same(*agent.find_layer(first.chain_id), first);
  EXPECT_EQ(agent.layers().size(), 1u);

  cli.remove_layer(first.chain_id);
  EXPECT_FALSE(agent.find_layer(first.chain_id).has_value());
  const LayerRecord other = add_layer(cli, "other");
  EXPECT_NE(other.id, first.id);
  const LayerRecord again = add_layer(agent, "first");  // the same chain id, unpacked anew
  EXPECT_NE(again.id, first.id);
  EXPECT_NE(again.id, other.id);
  expect_same(*cli.find_layer(again.chain_id), again);
  EXPECT_EQ(read_text(cli.diff_dir(*cli.find_layer(again.chain_id)) + "/owner"), "first");
  EXPECT_EQ(agent.layers().size(), 2u);
}

TEST(StorageImageStoreTest, DiffDirRefusesIdsTheStoreDidNotMake) {
  TempDir dir;
  ImageStore store(dir.path());
  for (const char* id : {"", "../1", "01", "tmp-abc", "1/../../etc"}) {
    EXPECT_EQ(failure_of([&] { store.diff_dir(LayerRecord{id, digest("c"), digest("d"), Digest{}, 0}); }),
              Failure::invalid)
        << id;
  }
}

// ---- Garbage ----

std::vector<Digest> blobs_of(const ImageRecord& image) {
  std::vector<Digest> blobs{image.manifest_digest, image.config_digest};
  if (!image.index_digest.empty()) blobs.push_back(image.index_digest);
  blobs.insert(blobs.end(), image.layers.begin(), image.layers.end());
  return blobs;
}

std::vector<LayerRecord> layer_records(const std::vector<Digest>& chain_ids) {
  std::vector<LayerRecord> layers;
  for (std::size_t i = 0; i < chain_ids.size(); ++i) {
    layers.push_back(LayerRecord{std::to_string(i + 1), chain_ids[i], digest("diff" + std::to_string(i)), Digest{}, 1});
  }
  return layers;
}

std::set<Digest> as_set(const std::vector<Digest>& digests) { return {digests.begin(), digests.end()}; }

TEST(StorageImageStoreTest, GarbageKeepsLayersSharedWithARemainingImage) {
  ImageRecord web = sample_image("example.com/web:1", "web");
  ImageRecord api = sample_image("example.com/api:1", "api");
  // Both are built on the same base layer.
  api.layers[0] = web.layers[0];
  api.chain_ids[0] = web.chain_ids[0];
  std::vector<Digest> blobs = blobs_of(web);
  for (const Digest& blob : blobs_of(api)) {
    if (!as_set(blobs).contains(blob)) blobs.push_back(blob);
  }
  const std::vector<LayerRecord> layers = layer_records({web.chain_ids[0], web.chain_ids[1], api.chain_ids[1]});

  // web removed, api remains.
  const Garbage garbage = find_garbage({api}, blobs, layers, {});
  EXPECT_EQ(as_set(garbage.blobs),
            (std::set<Digest>{web.manifest_digest, web.config_digest, web.index_digest, web.layers[1]}));
  EXPECT_EQ(garbage.layers, std::vector<Digest>{web.chain_ids[1]});

  // Both present: nothing is garbage.
  const Garbage none = find_garbage({web, api}, blobs, layers, {});
  EXPECT_TRUE(none.blobs.empty());
  EXPECT_TRUE(none.layers.empty());
}

TEST(StorageImageStoreTest, GarbageIsEveryBlobOfRemovedImagesIncludingTheirIndex) {
  const ImageRecord gone = sample_image("example.com/gone:1", "gone");
  ImageRecord stays = sample_image("example.com/stays:1", "stays");
  stays.index_digest = Digest{};  // pulled by digest, no index
  std::vector<Digest> blobs = blobs_of(gone);
  const std::vector<Digest> kept = blobs_of(stays);
  blobs.insert(blobs.end(), kept.begin(), kept.end());
  const Digest stray = digest("a blob no image ever named");
  blobs.push_back(stray);

  const Garbage garbage = find_garbage({stays}, blobs, layer_records(gone.chain_ids), {});
  std::set<Digest> expected = as_set(blobs_of(gone));
  expected.insert(stray);
  EXPECT_EQ(as_set(garbage.blobs), expected);
  EXPECT_EQ(garbage.blobs.size(), expected.size());
  EXPECT_EQ(as_set(garbage.layers), as_set(gone.chain_ids));
}

TEST(StorageImageStoreTest, GarbageKeepsLayersInUseByARootFilesystem) {
  const ImageRecord removed = sample_image("example.com/removed:1", "removed");
  const std::vector<LayerRecord> layers = layer_records(removed.chain_ids);
  // A container still runs on the removed image's layers (both of them).
  const Garbage in_use = find_garbage({}, blobs_of(removed), layers, as_set(removed.chain_ids));
  EXPECT_TRUE(in_use.layers.empty());
  EXPECT_EQ(as_set(in_use.blobs), as_set(blobs_of(removed)));  // blobs are not needed to run it

  const Garbage one_in_use = find_garbage({}, {}, layers, {removed.chain_ids[0]});
  EXPECT_EQ(one_in_use.layers, std::vector<Digest>{removed.chain_ids[1]});
}

}  // namespace
}  // namespace deckhand::storage
