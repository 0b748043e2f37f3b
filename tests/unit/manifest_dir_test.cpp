// The manifest directory: which files are read, per-file errors that never
// take running pods away, pods defined twice, deleted files, unsafe
// directories, inotify change detection, rescans that read only changed
// files, and apply/remove as `deckhand apply -f` and `deckhand delete` use them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pods/manifest_dir.hpp"
#include "pods/pod_parse.hpp"
#include "temp_dir.hpp"

namespace deckhand::pods {
namespace {

namespace fs = std::filesystem;

class TempDir : public deckhand::test::TempDir {
 public:
  TempDir() : deckhand::test::TempDir("deckhand-manifests") {}
};

// 32 lowercase hex digits: the kubelet's static pod UID format.
bool is_hex32(const std::string& text) {
  return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string pod_yaml(const std::string& name, const std::string& image = "nginx:1.27") {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
         "}\nspec:\n  containers:\n  - {name: app, image: " + image + "}\n";
}

Pod pod_named(const std::string& name, const std::string& image = "nginx:1.27") {
  return parse_manifest(pod_yaml(name, image), "test.yaml").at(0);
}

// Written in place (open, write, close), with an exact mode whatever the umask.
void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << path;
  }
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

std::vector<std::string> keys_of(const Snapshot& snapshot) {
  std::vector<std::string> keys;
  for (const auto& [key, sourced] : snapshot.pods) keys.push_back(key);
  return keys;
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string scan_error(ManifestDir& manifests) {
  try {
    manifests.scan();
  } catch (const ManifestDirError& e) {
    return e.what();
  }
  return "";
}

// A file read within 50 ms of its last change is read again on the next scan
// (its time stamp may not move on a second change within the same clock
// tick); tests that count reads wait that long after writing.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

// Waits for the inotify descriptor to become readable; true when it did
// within `timeout`.
bool readable_within(int fd, std::chrono::milliseconds timeout) {
  pollfd poll_fd{fd, POLLIN, 0};
  return poll(&poll_fd, 1, static_cast<int>(timeout.count())) == 1 && (poll_fd.revents & POLLIN) != 0;
}

TEST(ManifestDirTest, ReadsManifestFilesAndSkipsEverythingElse) {
  TempDir dir;
  write_file(dir / "a.yaml", pod_yaml("a"));
  write_file(dir / "b.yml", pod_yaml("b"));
  write_file(dir / "c.json",
             R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c", "namespace": "tools"},
                 "spec": {"containers": [{"name": "app", "image": "busybox"}]}})");
  // Hidden, editor leftovers, other extensions: never read (each would be an
  // error if it were, as none is a manifest).
  for (const char* name :
       {".hidden.yaml", "d.yaml~", ".#e.yaml", ".f.yaml.swp", "#g.yaml#", "notes.txt", "h.yaml.bak"}) {
    write_file(dir / name, "not: [a manifest");
  }
  fs::create_directory(dir / "sub");
  write_file(dir / "sub/i.yaml", pod_yaml("i"));  // no recursion
  fs::create_directory(dir / "j.yaml");           // a directory with a manifest's name
  fs::create_directory_symlink(dir / "sub", dir / "k.yaml");

  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot snapshot = manifests.scan();
  EXPECT_EQ(keys_of(snapshot), (std::vector<std::string>{"default/a", "default/b", "tools/c"}));
  EXPECT_TRUE(snapshot.errors.empty()) << snapshot.errors.front().message;
  const SourcedPod& a = snapshot.pods.at("default/a");
  EXPECT_EQ(a.source, dir / "a.yaml");
  EXPECT_EQ(a.pod.spec.node_name, "node-1");
  EXPECT_TRUE(is_hex32(a.pod.metadata.uid));
  EXPECT_EQ(a.pod.spec.containers[0].image, "nginx:1.27");
  EXPECT_EQ(manifests.files_parsed(), 3u);
}

TEST(ManifestDirTest, SymlinksToFilesAreFollowed) {
  TempDir dir;
  TempDir elsewhere;
  write_file(elsewhere / "real.yaml", pod_yaml("linked"));
  fs::create_symlink(elsewhere / "real.yaml", dir / "linked.yaml");
  fs::create_symlink(elsewhere / "missing.yaml", dir / "dangling.yaml");
  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot snapshot = manifests.scan();
  EXPECT_EQ(keys_of(snapshot), std::vector<std::string>{"default/linked"});
  EXPECT_EQ(snapshot.pods.at("default/linked").source, dir / "linked.yaml");
  ASSERT_EQ(snapshot.errors.size(), 1u);
  EXPECT_EQ(snapshot.errors[0].message, dir / "dangling.yaml" + ": No such file or directory");
}

TEST(ManifestDirTest, BadFilesAreReportedOneErrorEach) {
  TempDir dir;
  write_file(dir / "good.yaml", pod_yaml("good"));
  write_file(dir / "unknown.yaml",
             "apiVersion: v1\nkind: Pod\nmetadata: {name: unknown}\nspec:\n  containers:\n  - name: app\n"
             "    image: nginx\n    livenessProbe: {}\n");
  write_file(dir / "invalid.yaml", pod_yaml("Invalid_Name"));
  write_file(dir / "big.yaml", "# padding\n" + std::string(4 << 20, '#'));
  write_file(dir / "open.yaml", pod_yaml("open"), 0666);
  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot snapshot = manifests.scan();
  EXPECT_EQ(keys_of(snapshot), std::vector<std::string>{"default/good"});
  ASSERT_EQ(snapshot.errors.size(), 4u);
  // In file name order; each message starts with the file's path.
  EXPECT_EQ(snapshot.errors[0].path, dir / "big.yaml");
  EXPECT_EQ(snapshot.errors[0].message, dir / "big.yaml" + ": 4194314 bytes; a manifest may be at most 4 MiB");
  EXPECT_EQ(snapshot.errors[1].path, dir / "invalid.yaml");
  EXPECT_EQ(snapshot.errors[1].message.rfind(dir / "invalid.yaml: Pod \"Invalid_Name\" is invalid: metadata.name: ", 0),
            0u)
      << snapshot.errors[1].message;
  EXPECT_EQ(snapshot.errors[2].message,
            dir / "open.yaml" +
                ": writable by group or others (mode 0666): whoever can write it can run privileged pods; "
                "chmod go-w it");
  EXPECT_EQ(snapshot.errors[3].message,
            dir / "unknown.yaml" + ": document 1: spec.containers[0].livenessProbe: unknown or unsupported field");
}

TEST(ManifestDirTest, ABadEditKeepsTheLastGoodPodsAndReportsTheError) {
  TempDir dir;
  const std::string path = dir / "app.yaml";
  write_file(path, pod_yaml("web") + "---\n" + pod_yaml("db", "postgres:16"));
  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot good = manifests.scan();
  ASSERT_EQ(keys_of(good), (std::vector<std::string>{"default/db", "default/web"}));

  // Half an edit: the web pod is gone from the file and the rest is broken.
  write_file(path, pod_yaml("db", "postgres:17") + "  bad: [\n");
  const Snapshot broken = manifests.scan();
  EXPECT_EQ(broken.pods.at("default/web").pod, good.pods.at("default/web").pod);  // same uid: not restarted
  EXPECT_EQ(broken.pods.at("default/db").pod, good.pods.at("default/db").pod);
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.errors[0].path, path);
  EXPECT_EQ(broken.errors[0].message.rfind(path + ": ", 0), 0u) << broken.errors[0].message;

  // A pod that fails validation spoils the file too: nothing of it is taken.
  write_file(path, pod_yaml("db", "postgres:17") + "---\n" + pod_yaml("web", "\"\""));
  const Snapshot invalid = manifests.scan();
  EXPECT_EQ(invalid.pods.at("default/db").pod, good.pods.at("default/db").pod);
  ASSERT_EQ(invalid.errors.size(), 1u);
  EXPECT_NE(invalid.errors[0].message.find("Pod \"web\" is invalid: spec.containers[0].image: Required value"),
            std::string::npos)
      << invalid.errors[0].message;

  // The fixed edit replaces the pods: web removed, db with a new UID.
  write_file(path, pod_yaml("db", "postgres:17"));
  const Snapshot fixed = manifests.scan();
  EXPECT_EQ(keys_of(fixed), std::vector<std::string>{"default/db"});
  EXPECT_TRUE(fixed.errors.empty());
  EXPECT_EQ(fixed.pods.at("default/db").pod.spec.containers[0].image, "postgres:17");
  EXPECT_NE(fixed.pods.at("default/db").pod.metadata.uid, good.pods.at("default/db").pod.metadata.uid);
}

TEST(ManifestDirTest, APodDefinedTwiceBelongsToTheFirstFile) {
  TempDir dir;
  write_file(dir / "a.yaml", pod_yaml("web"));
  write_file(dir / "b.yaml", pod_yaml("web", "httpd") + "---\n" + pod_yaml("db"));
  write_file(dir / "c.yaml", pod_yaml("cache") + "---\n" + pod_yaml("cache", "redis"));
  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot snapshot = manifests.scan();
  EXPECT_EQ(keys_of(snapshot), (std::vector<std::string>{"default/db", "default/web"}));
  EXPECT_EQ(snapshot.pods.at("default/web").source, dir / "a.yaml");
  EXPECT_EQ(snapshot.pods.at("default/web").pod.spec.containers[0].image, "nginx:1.27");
  ASSERT_EQ(snapshot.errors.size(), 2u);
  EXPECT_EQ(snapshot.errors[0].path, dir / "b.yaml");
  EXPECT_EQ(snapshot.errors[0].message,
            dir / "b.yaml" + ": pod \"default/web\" is already defined in " + dir / "a.yaml");
  EXPECT_EQ(snapshot.errors[1].message,
            dir / "c.yaml" + ": pod \"default/cache\" is already defined in " + dir / "c.yaml");
}

TEST(ManifestDirTest, DeletingAFileRemovesItsPods) {
  TempDir dir;
  write_file(dir / "a.yaml", pod_yaml("a"));
  write_file(dir / "b.yaml", pod_yaml("b"));
  ManifestDir manifests(dir.path(), "node-1");
  ASSERT_EQ(manifests.scan().pods.size(), 2u);
  fs::remove(dir / "a.yaml");
  EXPECT_EQ(keys_of(manifests.scan()), std::vector<std::string>{"default/b"});
}

TEST(ManifestDirTest, UidsSurviveARestartAndFollowTheSpec) {
  TempDir dir;
  write_file(dir / "web.yaml", pod_yaml("web"));
  const std::string uid = ManifestDir(dir.path(), "node-1").scan().pods.at("default/web").pod.metadata.uid;
  EXPECT_EQ(ManifestDir(dir.path(), "node-1").scan().pods.at("default/web").pod.metadata.uid, uid);
  write_file(dir / "web.yaml", pod_yaml("web", "nginx:1.28"));
  EXPECT_NE(ManifestDir(dir.path(), "node-1").scan().pods.at("default/web").pod.metadata.uid, uid);
  write_file(dir / "web.yaml",
             "apiVersion: v1\nkind: Pod\nmetadata: {name: web, uid: 0b8e3c4a-5d6f-4a1b-9c2d-3e4f5a6b7c8d}\n"
             "spec:\n  containers:\n  - {name: app, image: nginx}\n");
  EXPECT_EQ(ManifestDir(dir.path(), "node-1").scan().pods.at("default/web").pod.metadata.uid,
            "0b8e3c4a-5d6f-4a1b-9c2d-3e4f5a6b7c8d");
  write_file(dir / "web.yaml",
             "apiVersion: v1\nkind: Pod\nmetadata: {name: web, uid: ../../etc}\n"
             "spec:\n  containers:\n  - {name: app, image: nginx}\n");
  const Snapshot escaping = ManifestDir(dir.path(), "node-1").scan();
  EXPECT_TRUE(escaping.pods.empty());
  ASSERT_EQ(escaping.errors.size(), 1u);
  EXPECT_NE(escaping.errors[0].message.find("metadata.uid: Invalid value: \"../../etc\""), std::string::npos)
      << escaping.errors[0].message;
}

TEST(ManifestDirTest, ARescanReadsOnlyChangedFiles) {
  TempDir dir;
  for (int i = 0; i < 50; ++i) write_file(dir / ("p" + std::to_string(i) + ".yaml"), pod_yaml("p" + std::to_string(i)));
  settle();
  ManifestDir manifests(dir.path(), "node-1");
  const Snapshot first = manifests.scan();
  EXPECT_EQ(first.pods.size(), 50u);
  EXPECT_EQ(manifests.files_parsed(), 50u);
  const Snapshot second = manifests.scan();
  EXPECT_EQ(manifests.files_parsed(), 50u);
  EXPECT_EQ(second.pods.at("default/p7").pod, first.pods.at("default/p7").pod);

  write_file(dir / "p7.yaml", pod_yaml("p7", "busybox"));
  settle();
  const Snapshot third = manifests.scan();
  EXPECT_EQ(manifests.files_parsed(), 51u);
  EXPECT_EQ(third.pods.at("default/p7").pod.spec.containers[0].image, "busybox");
  ASSERT_EQ(chmod((dir / "p8.yaml").c_str(), 0666), 0);  // a mode change is a change too
  settle();
  EXPECT_EQ(manifests.scan().errors.size(), 1u);
  EXPECT_EQ(manifests.files_parsed(), 52u);
  // A bad file is not read again while it stays the same.
  manifests.scan();
  EXPECT_EQ(manifests.files_parsed(), 52u);
}

TEST(ManifestDirTest, AnUnsafeDirectoryIsRefusedNamingIt) {
  TempDir dir;
  write_file(dir / "web.yaml", pod_yaml("web"));
  ManifestDir manifests(dir.path(), "node-1");
  ASSERT_EQ(manifests.scan().pods.size(), 1u);

  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  EXPECT_EQ(scan_error(manifests), "manifest directory " + dir.path() +
                                       " is writable by group or others (mode 0777): whoever can write in it can run "
                                       "privileged pods; chmod go-w " +
                                       dir.path());
  EXPECT_THROW(manifests.apply({pod_named("db")}), ManifestDirError);
  EXPECT_THROW(manifests.remove("default", "web"), ManifestDirError);
  EXPECT_FALSE(fs::exists(dir / "default_db.yaml"));
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EQ(manifests.scan().pods.size(), 1u);

  if (geteuid() == 0) {
    ASSERT_EQ(chown(dir.path().c_str(), 4242, 4242), 0);
    EXPECT_EQ(scan_error(manifests),
              "manifest directory " + dir.path() +
                  " is owned by uid 4242, not root: whoever can write in it can run privileged pods");
    ASSERT_EQ(chown(dir.path().c_str(), 0, 0), 0);
  }

  TempDir parent;
  fs::create_directory_symlink(dir.path(), parent / "link");
  try {
    ManifestDir linked(parent / "link/", "node-1");
    ADD_FAILURE() << "a symlinked manifest directory was taken";
  } catch (const ManifestDirError& e) {
    EXPECT_EQ(std::string(e.what()),
              "manifest directory " + parent / "link" + " is a symlink; give the real directory");
  }
}

TEST(ManifestDirTest, AMissingDirectoryIsCreatedPrivate) {
  TempDir parent;
  ManifestDir manifests(parent / "etc/manifests", "node-1");
  struct stat st {};
  ASSERT_EQ(stat((parent / "etc/manifests").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(manifests.scan().pods.empty());
  EXPECT_THROW(ManifestDir(parent / "x", ""), ManifestDirError);
}

TEST(ManifestDirTest, AWrittenFileIsSeenWithinASecond) {
  TempDir dir;
  ManifestDir manifests(dir.path(), "node-1");
  manifests.scan();
  EXPECT_FALSE(manifests.drain());  // nothing yet

  const auto start = std::chrono::steady_clock::now();
  write_file(dir / "web.yaml", pod_yaml("web"));
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(manifests.drain());
  EXPECT_FALSE(manifests.drain());  // drained
  EXPECT_EQ(keys_of(manifests.scan()), std::vector<std::string>{"default/web"});

  fs::remove(dir / "web.yaml");
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_TRUE(manifests.scan().pods.empty());
}

TEST(ManifestDirTest, ARenameIntoPlaceIsSeenAndTemporaryFilesAreNot) {
  TempDir dir;
  ManifestDir manifests(dir.path(), "node-1");
  write_file(dir / ".web.yaml.tmp", pod_yaml("web"));
  write_file(dir / "web.yaml~", pod_yaml("web"));
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_FALSE(manifests.drain());  // events, but none that matters

  ASSERT_EQ(rename((dir / ".web.yaml.tmp").c_str(), (dir / "web.yaml").c_str()), 0);
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_EQ(keys_of(manifests.scan()), std::vector<std::string>{"default/web"});

  // Moved out of the directory: gone.
  TempDir elsewhere;
  ASSERT_EQ(rename((dir / "web.yaml").c_str(), (elsewhere / "web.yaml").c_str()), 0);
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_TRUE(manifests.scan().pods.empty());
}

TEST(ManifestDirTest, ADirectoryModeChangeAndARecreatedDirectoryAreSeen) {
  TempDir parent;
  const std::string dir = parent / "manifests";
  ManifestDir manifests(dir, "node-1");
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_NE(scan_error(manifests), "");

  fs::remove(dir);
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_EQ(scan_error(manifests), "manifest directory " + dir + ": No such file or directory");

  // Back again: the next scan watches it again.
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  EXPECT_TRUE(manifests.scan().pods.empty());
  write_file(dir + "/web.yaml", pod_yaml("web"));
  ASSERT_TRUE(readable_within(manifests.fd(), std::chrono::milliseconds(1000)));
  EXPECT_TRUE(manifests.drain());
  EXPECT_EQ(keys_of(manifests.scan()), std::vector<std::string>{"default/web"});
}

TEST(ManifestDirTest, ApplyCreatesConfiguresOrLeavesUnchanged) {
  TempDir dir;
  ManifestDir manifests(dir.path(), "node-1");
  Pod tools = pod_named("shell", "busybox");
  tools.metadata.namespace_ = "tools";

  ApplyResult created = manifests.apply({pod_named("web"), tools});
  ASSERT_TRUE(created.errors.empty()) << created.errors.front();
  ASSERT_EQ(created.applied.size(), 2u);
  EXPECT_EQ(apply_line(created.applied[0]), "pod/web created");
  EXPECT_EQ(apply_line(created.applied[1]), "pod/shell created");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"default_web.yaml", "tools_shell.yaml"}));  // no temp left
  settle();
  struct stat st {};
  ASSERT_EQ(stat((dir / "default_web.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  const Snapshot snapshot = manifests.scan();
  EXPECT_EQ(keys_of(snapshot), (std::vector<std::string>{"default/web", "tools/shell"}));
  EXPECT_TRUE(snapshot.errors.empty());
  EXPECT_EQ(snapshot.pods.at("default/web").source, dir / "default_web.yaml");
  // What was applied is what runs (with its uid and node).
  Pod expected = pod_named("web");
  expected.metadata.uid = snapshot.pods.at("default/web").pod.metadata.uid;
  expected.spec.node_name = "node-1";
  EXPECT_EQ(snapshot.pods.at("default/web").pod, expected);

  const std::size_t parsed = manifests.files_parsed();
  ApplyResult again = manifests.apply({pod_named("web")});
  ASSERT_EQ(again.applied.size(), 1u);
  EXPECT_EQ(apply_line(again.applied[0]), "pod/web unchanged");
  manifests.scan();
  EXPECT_EQ(manifests.files_parsed(), parsed);  // not rewritten

  ApplyResult changed = manifests.apply({pod_named("web", "nginx:1.28")});
  ASSERT_EQ(changed.applied.size(), 1u);
  EXPECT_EQ(apply_line(changed.applied[0]), "pod/web configured");
  EXPECT_EQ(manifests.scan().pods.at("default/web").pod.spec.containers[0].image, "nginx:1.28");
}

TEST(ManifestDirTest, ApplyRepairsABrokenFileOfItsOwn) {
  TempDir dir;
  ManifestDir manifests(dir.path(), "node-1");
  manifests.apply({pod_named("web")});
  const Pod running = manifests.scan().pods.at("default/web").pod;
  write_file(dir / "default_web.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web\n", 0600);
  const Snapshot broken = manifests.scan();
  ASSERT_EQ(broken.errors.size(), 1u);
  EXPECT_EQ(broken.pods.at("default/web").pod, running);
  ApplyResult result = manifests.apply({pod_named("web")});
  ASSERT_EQ(result.applied.size(), 1u);
  EXPECT_EQ(apply_line(result.applied[0]), "pod/web configured");
  const Snapshot repaired = manifests.scan();
  EXPECT_TRUE(repaired.errors.empty());
  EXPECT_EQ(repaired.pods.at("default/web").pod, running);  // the same pod: not restarted
}

TEST(ManifestDirTest, ApplyRefusesAPodDefinedInAnotherFile) {
  TempDir dir;
  write_file(dir / "stack.yaml", pod_yaml("web") + "---\n" + pod_yaml("db"));
  write_file(dir / "default_cache.yaml", pod_yaml("cache") + "---\n" + pod_yaml("queue"));
  ManifestDir manifests(dir.path(), "node-1");

  ApplyResult result = manifests.apply({pod_named("web", "httpd"), pod_named("cache", "redis"), pod_named("api")});
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_EQ(result.errors[0], "pod \"default/web\" is defined in " + dir / "stack.yaml" + "; edit it there");
  EXPECT_EQ(result.errors[1],
            "pod \"default/cache\": " + dir / "default_cache.yaml" + " defines other pods too; edit it there");
  ASSERT_EQ(result.applied.size(), 1u);  // the others are applied, as kubectl applies each object
  EXPECT_EQ(apply_line(result.applied[0]), "pod/api created");
  EXPECT_FALSE(fs::exists(dir / "default_web.yaml"));
  EXPECT_EQ(manifests.scan().pods.at("default/web").pod.spec.containers[0].image, "nginx:1.27");
}

TEST(ManifestDirTest, ApplyWritesNothingWhenAnyPodIsInvalid) {
  TempDir dir;
  ManifestDir manifests(dir.path(), "node-1");
  Pod bad = pod_named("bad");
  bad.spec.containers[0].image = "";
  ApplyResult result = manifests.apply({pod_named("good"), bad, pod_named("good")});
  EXPECT_TRUE(result.applied.empty());
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_EQ(result.errors[0], "Pod \"bad\" is invalid: spec.containers[0].image: Required value");
  EXPECT_EQ(result.errors[1], "pod \"default/good\" is given twice");
  EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(ManifestDirTest, RemoveDeletesTheFileOfAPodAlone) {
  TempDir dir;
  write_file(dir / "stack.yaml", pod_yaml("web") + "---\n" + pod_yaml("db"));
  ManifestDir manifests(dir.path(), "node-1");
  manifests.apply({pod_named("api")});

  const DeleteResult removed = manifests.remove("default", "api");
  EXPECT_TRUE(removed.deleted);
  EXPECT_EQ(removed.message, "pod \"api\" deleted");
  EXPECT_FALSE(fs::exists(dir / "default_api.yaml"));

  const DeleteResult missing = manifests.remove("default", "api");
  EXPECT_FALSE(missing.deleted);
  EXPECT_EQ(missing.message, "pods \"api\" not found");
  EXPECT_EQ(manifests.remove("tools", "web").message, "pods \"web\" not found");

  const DeleteResult shared = manifests.remove("default", "web");
  EXPECT_FALSE(shared.deleted);
  EXPECT_EQ(shared.message,
            "pod \"default/web\" is defined in " + dir / "stack.yaml" + " with other pods; edit it there");
  EXPECT_TRUE(fs::exists(dir / "stack.yaml"));
  EXPECT_EQ(keys_of(manifests.scan()), (std::vector<std::string>{"default/db", "default/web"}));
}

}  // namespace
}  // namespace deckhand::pods
