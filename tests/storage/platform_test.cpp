// A multi-platform image (an OCI index of linux/amd64, linux/arm64 and
// linux/arm/v7, each with a file naming its platform): a pull picks this
// node's platform, --platform picks another.
#include <map>

#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using MultiPlatform = StorageTest;

struct PushedIndex {
  std::string digest;
  std::map<std::string, std::string> layer_by_platform;  // "linux/arm/v7" -> its layer's digest
};

PushedIndex push_multi_platform(const LocalRegistry& registry, const std::string& layout_dir) {
  OciLayout layout(layout_dir);
  PushedIndex pushed;
  std::vector<std::pair<Descriptor, Platform>> manifests;
  for (const Platform& platform : {Platform{"linux", "amd64", ""}, Platform{"linux", "arm64", ""},
                                   Platform{"linux", "arm", "v7"}}) {
    const std::string name =
        platform.os + "/" + platform.architecture + (platform.variant.empty() ? "" : "/" + platform.variant);
    const auto layer = layout.add_layer({TarEntry::file("platform", name + "\n")});
    pushed.layer_by_platform[name] = layer.descriptor.digest;
    manifests.emplace_back(layout.add_image({layer}, platform), platform);
  }
  const Descriptor index = layout.add_index(manifests);
  layout.tag("1", index);
  skopeo_push(layout.path(), "1", registry.host() + "/multi:1", "", true);
  pushed.digest = index.digest;
  return pushed;
}

TEST_F(MultiPlatform, PullPicksLinuxAmd64AndPlatformPicksAnother) {
  LocalRegistry registry;
  const PushedIndex pushed = push_multi_platform(registry, scratch("layout"));
  const std::string ref = registry.host() + "/multi:1";

  // {--platform argument, the platform expected}; "" = the node's own.
  for (const auto& [argument, platform] : std::vector<std::pair<std::string, std::string>>{
           {"", "linux/amd64"}, {"linux/arm64", "linux/arm64"}, {"linux/arm/v7", "linux/arm/v7"}}) {
    SCOPED_TRACE("--platform " + argument);
    const auto pull = argument.empty() ? image("pull", ref) : image("pull", "--platform", argument, ref);
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    const auto record = inspect(ref);
    EXPECT_EQ(record["image_config"]["platform"], platform);
    EXPECT_EQ(record["layers"], nlohmann::json::array({pushed.layer_by_platform.at(platform)}));
    // A fresh plugin: one loaded before the pull does not see the layers
    // the CLI unpacked (store_sharing_test.cpp).
    reload_plugin();
    EXPECT_EQ(read_file(prepare_rootfs("root", ref) + "/platform"), platform + "\n");
  }
}

TEST_F(MultiPlatform, APlatformTheIndexLacksIsRefusedByName) {
  LocalRegistry registry;
  push_multi_platform(registry, scratch("layout"));
  const std::string ref = registry.host() + "/multi:1";
  const auto result = image("pull", "--platform", "linux/s390x", ref);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err.rfind("error: pull " + ref + ": ", 0), 0u) << result.err;
  EXPECT_NE(result.err.find("linux/s390x"), std::string::npos) << result.err;
  EXPECT_TRUE(list_images().empty());
}

}  // namespace
}  // namespace deckhand::test
