// Images of several layers made with OciLayout: a root filesystem shows
// exactly what the layers say, with OCI whiteouts (a deleted file or
// directory), opaque directories and files re-created above a whiteout;
// layers compressed with gzip, zstd or not at all.
#include <sys/stat.h>

#include <map>
#include <string>

#include "file_tree.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using ImageLayers = StorageTest;

TEST_F(ImageLayers, WhiteoutsAndOpaqueDirectoriesHideExactlyWhatTheUpperLayersSay) {
  LocalRegistry registry;
  OciLayout layout(scratch("layout"));
  const auto bottom = layout.add_layer({
      TarEntry::directory("etc"),
      TarEntry::file("etc/keep", "keep\n"),
      TarEntry::file("etc/gone", "gone\n"),
      TarEntry::directory("data"),
      TarEntry::file("data/a", "a\n"),
      TarEntry::directory("data/sub"),
      TarEntry::file("data/sub/b", "b\n"),
      TarEntry::directory("olddir"),
      TarEntry::file("olddir/x", "x\n"),
  });
  // The opaque marker hides the lower layers' data/ only: data/d, written
  // before the marker in the same layer, stays (image-spec, "Opaque Whiteout").
  const auto middle = layout.add_layer({
      TarEntry::whiteout("etc/gone"),
      TarEntry::whiteout("olddir"),
      TarEntry::directory("data"),
      TarEntry::file("data/d", "d\n"),
      TarEntry::opaque("data"),
      TarEntry::file("data/c", "c\n"),
      TarEntry::file("etc/added", "added\n"),
  });
  const auto top = layout.add_layer({TarEntry::file("etc/gone", "back\n")}, Compression::zstd);
  push_image(registry, layout, {bottom, middle, top}, "layered", "1");
  const std::string ref = registry.host() + "/layered:1";
  const auto pull = image("pull", ref);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;

  const std::map<std::string, std::string> expected = {
      {"data", "dir"},         {"data/c", "file:c\n"},         {"data/d", "file:d\n"},
      {"etc", "dir"},          {"etc/added", "file:added\n"},  {"etc/gone", "file:back\n"},
      {"etc/keep", "file:keep\n"},
  };
  EXPECT_EQ(file_tree(prepare_rootfs("layered", ref)), expected);
  EXPECT_EQ(inspect(ref)["layers"],
            nlohmann::json::array({bottom.descriptor.digest, middle.descriptor.digest, top.descriptor.digest}));
}

TEST_F(ImageLayers, ZstdAndUncompressedLayersUnpack) {
  LocalRegistry registry;
  OciLayout layout(scratch("layout"));
  const std::string payload = pseudo_random_bytes(256 * 1024, 3);
  const auto zstd = layout.add_layer(
      {TarEntry::directory("opt"), TarEntry::file("opt/random", payload), TarEntry::symlink("opt/link", "random")},
      Compression::zstd);
  const auto plain = layout.add_layer({TarEntry::file("opt/plain", "not compressed\n", 0600)}, Compression::none);
  ASSERT_EQ(zstd.descriptor.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
  push_image(registry, layout, {zstd, plain}, "zstd", "1");
  const std::string ref = registry.host() + "/zstd:1";
  const auto pull = image("pull", ref);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;

  const std::map<std::string, std::string> expected = {
      {"opt", "dir"},
      {"opt/link", "symlink:random"},
      {"opt/plain", "file:not compressed\n"},
      {"opt/random", file_entry(payload)},
  };
  const std::string root = prepare_rootfs("zstd", ref);
  EXPECT_EQ(file_tree(root), expected);
  struct stat info {};
  ASSERT_EQ(::stat((root + "/opt/plain").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
}

}  // namespace
}  // namespace deckhand::test
