// `deckhand image pull` of a busybox image built by umoci, by tag and by
// digest, from a docker-registry the test runs; what ls and inspect show.
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "file_tree.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using ImagePull = StorageTest;

TEST_F(ImagePull, ByTagStoresTheImageAndItsRootHoldsBusybox) {
  LocalRegistry registry;
  const std::string digest = push_busybox(registry, scratch("layout"), "busybox", "1");
  const std::string ref = registry.host() + "/busybox:1";

  const auto pull = image("pull", ref);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("Digest: " + digest + "\n"), std::string::npos) << pull.out;
  EXPECT_NE(pull.out.find("Status: Pulled " + ref + " in "), std::string::npos) << pull.out;

  const auto record = inspect(ref);
  EXPECT_EQ(record["name"], ref);
  EXPECT_EQ(record["digest"], digest);
  EXPECT_EQ(record["layers"].size(), 1u);
  EXPECT_EQ(record["image_config"]["platform"], "linux/amd64");
  EXPECT_EQ(record["image_config"]["config"]["Cmd"], nlohmann::json::array({"sh"}));

  const std::string root = prepare_rootfs("pulled-by-tag", ref);
  EXPECT_EQ(read_file(root + "/etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(file_sha256(root + "/bin/busybox"), file_sha256("/usr/bin/busybox"));
  char target[64] = {};
  ASSERT_GT(::readlink((root + "/bin/sh").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "busybox");
}

TEST_F(ImagePull, ByDigestNamesTheImageByItsDigest) {
  LocalRegistry registry;
  const std::string digest = push_busybox(registry, scratch("layout"), "busybox", "1");
  const std::string ref = registry.host() + "/busybox@" + digest;

  const auto pull = image("pull", ref);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_NE(pull.out.find("Digest: " + digest + "\n"), std::string::npos) << pull.out;

  const auto images = list_images();
  ASSERT_EQ(images.size(), 1u) << images.dump(2);
  EXPECT_EQ(images[0]["name"], ref);
  EXPECT_EQ(images[0]["tag"], "");
  EXPECT_EQ(images[0]["digest"], digest);
  const std::string root = prepare_rootfs("pulled-by-digest", ref);
  EXPECT_EQ(read_file(root + "/etc/group"), "root:x:0:\n");
}

TEST_F(ImagePull, ByAnUnknownDigestFailsNamingTheReference) {
  LocalRegistry registry;
  push_busybox(registry, scratch("layout"), "busybox", "1");
  const std::string ref = registry.host() + "/busybox@sha256:" + std::string(64, '0');

  const auto pull = image("pull", ref);
  EXPECT_EQ(pull.exit_code, 1);
  EXPECT_EQ(pull.err.rfind("error: pull " + ref + ": ", 0), 0u) << pull.err;
  EXPECT_NE(pull.err.find("404"), std::string::npos) << pull.err;
  EXPECT_TRUE(list_images().empty());
}

TEST_F(ImagePull, LsAndInspectDescribeThePulledImage) {
  LocalRegistry registry;
  const std::string digest = push_busybox(registry, scratch("layout"), "busybox", "1");
  const std::string ref = registry.host() + "/busybox:1";
  const auto absent = image("inspect", ref);
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_EQ(absent.err, "error: image \"" + ref + "\" is not present on this node\n");

  ASSERT_EQ(image("pull", ref).exit_code, 0);
  const auto record = inspect(ref);
  const std::string id = record["id"];
  ASSERT_EQ(id.rfind("sha256:", 0), 0u) << id;

  const auto table = image("ls");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto lines = [&] {
    std::vector<std::string> out;
    std::istringstream in(table.out);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }();
  ASSERT_EQ(lines.size(), 2u) << table.out;
  for (const char* column : {"REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "SIZE", "LAST USED", "IN USE"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << lines[0];
  }
  std::istringstream row(lines[1]);
  std::string repository, tag, short_digest, short_id;
  row >> repository >> tag >> short_digest >> short_id;
  EXPECT_EQ(repository, registry.host() + "/busybox");
  EXPECT_EQ(tag, "1");
  EXPECT_EQ(short_digest, digest.substr(0, 19));  // "sha256:" and 12 hex digits
  EXPECT_EQ(short_id, id.substr(7, 12));
  EXPECT_EQ(lines[1].substr(lines[1].size() - 2), "no");

  const auto quiet = image("ls", "--quiet");
  EXPECT_EQ(quiet.out, id.substr(7, 12) + "\n");

  // The same record by its id prefix and by its digest.
  EXPECT_EQ(inspect(id.substr(7, 12))["name"], ref);
  EXPECT_EQ(inspect(registry.host() + "/busybox@" + digest)["name"], ref);

  prepare_rootfs("in-use", ref);
  const auto images = list_images();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0]["in_use"], true);
  EXPECT_GE(images[0]["unpacked_size"].get<uint64_t>(), std::filesystem::file_size("/usr/bin/busybox"));
}

}  // namespace
}  // namespace deckhand::test
