// `deckhand image load -i FILE` of the archives skopeo writes: an OCI
// archive (oci-archive:) and a `docker save` archive (docker-archive:).
#include <map>
#include <sstream>
#include <vector>

#include "file_tree.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using ImageLoad = StorageTest;

const std::map<std::string, std::string> kAppTree = {
    {"app", "dir"},
    {"app/base", "file:base layer\n"},
    {"app/version", "file:two\n"},
};

// The "Loaded image: NAME" lines of a load's output (progress lines aside).
std::vector<std::string> loaded(const std::string& out) {
  std::vector<std::string> names;
  std::istringstream in(out);
  const std::string prefix = "Loaded image: ";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) names.push_back(line.substr(prefix.size()));
  }
  return names;
}

// A two-layer gzip image (what docker-archive can carry) tagged "app".
Descriptor make_app_layout(const std::string& layout_dir) {
  OciLayout layout(layout_dir);
  const auto base = layout.add_layer({TarEntry::directory("app"), TarEntry::file("app/base", "base layer\n"),
                                      TarEntry::file("app/version", "one\n")});
  const auto top = layout.add_layer({TarEntry::file("app/version", "two\n")});
  const Descriptor manifest = layout.add_image({base, top});
  layout.tag("app", manifest);
  return manifest;
}

TEST_F(ImageLoad, AnOciArchiveLoadsUnderTheNameItCarries) {
  const Descriptor manifest = make_app_layout(scratch("layout"));
  const std::string archive = scratch("app-oci.tar");
  skopeo_archive(scratch("layout"), "app", "oci-archive", archive, "example.com/team/app:v1");

  const auto load = image("load", "-i", archive);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(loaded(load.out), std::vector<std::string>{"example.com/team/app:v1"}) << load.out;
  const auto record = inspect("example.com/team/app:v1");
  EXPECT_EQ(record["digest"], manifest.digest);
  EXPECT_EQ(record["layers"].size(), 2u);
  EXPECT_EQ(file_tree(prepare_rootfs("from-oci-archive", "example.com/team/app:v1")), kAppTree);
}

TEST_F(ImageLoad, ADockerSaveArchiveLoadsUnderItsRepoTag) {
  make_app_layout(scratch("layout"));
  const std::string archive = scratch("app-docker.tar");
  skopeo_archive(scratch("layout"), "app", "docker-archive", archive, "example.com/team/app:v2");

  const auto load = image("load", "-i", archive);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(loaded(load.out), std::vector<std::string>{"example.com/team/app:v2"}) << load.out;
  EXPECT_EQ(image_names(), std::set<std::string>{"example.com/team/app:v2"});
  EXPECT_EQ(file_tree(prepare_rootfs("from-docker-archive", "example.com/team/app:v2")), kAppTree);
}

TEST_F(ImageLoad, AnArchiveWithoutANameTakesTheOneGiven) {
  make_app_layout(scratch("layout"));
  const std::string archive = scratch("app-unnamed.tar");
  skopeo_archive(scratch("layout"), "app", "oci-archive", archive);

  const auto load = image("load", "-i", archive, "--name", "example.com/team/app:v3");
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(loaded(load.out), std::vector<std::string>{"example.com/team/app:v3"}) << load.out;
  EXPECT_EQ(image_names(), std::set<std::string>{"example.com/team/app:v3"});
  EXPECT_EQ(file_tree(prepare_rootfs("from-unnamed", "example.com/team/app:v3")), kAppTree);
}

TEST_F(ImageLoad, ATruncatedArchiveLoadsNothing) {
  make_app_layout(scratch("layout"));
  const std::string archive = scratch("app-oci.tar");
  skopeo_archive(scratch("layout"), "app", "oci-archive", archive, "example.com/team/app:v1");
  const std::string bytes = read_file(archive);
  write_file(archive, bytes.substr(0, bytes.size() / 2));

  const auto load = image("load", "-i", archive);
  EXPECT_EQ(load.exit_code, 1);
  EXPECT_EQ(load.err.rfind("error: load " + archive + ": ", 0), 0u) << load.err;
  EXPECT_TRUE(list_images().empty());
}

}  // namespace
}  // namespace deckhand::test
