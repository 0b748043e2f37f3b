// The storage plugin's import_dir: archives there are loaded when the agent
// starts (before it reports ready), once each.
#include <filesystem>

#include "staged_agent.hpp"
#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using ImportDirectory = StorageTest;

TEST_F(ImportDirectory, TheAgentLoadsItsArchivesOnStartAndOnlyOnce) {
  OciLayout layout(scratch("layout"));
  const auto layer = layout.add_layer({TarEntry::file("imported", "from the import directory\n")});
  const Descriptor manifest = layout.add_image({layer});
  layout.tag("app", manifest);
  std::filesystem::create_directories(scratch("import"));
  const std::string archive = scratch("import") + "/app.tar";
  skopeo_archive(layout.path(), "app", "oci-archive", archive, "example.com/imported/app:v1");
  set_plugin_config({{"import_dir", scratch("import")}});

  {
    StagedAgent agent(config_path(), agent_port(), scratch("agent-1"));
    ASSERT_TRUE(agent.wait_ready(std::chrono::seconds(60))) << agent.log();
    EXPECT_NE(agent.log().find("loaded " + archive + ": example.com/imported/app:v1"), std::string::npos)
        << agent.log();
    const auto images = list_images();
    ASSERT_EQ(images.size(), 1u) << images.dump(2);
    EXPECT_EQ(images[0]["name"], "example.com/imported/app:v1");
    EXPECT_EQ(images[0]["digest"], manifest.digest);
    EXPECT_EQ(read_file(prepare_rootfs("imported", "example.com/imported/app:v1") + "/imported"),
              "from the import directory\n");
    release_rootfs("imported");
    EXPECT_EQ(agent.stop(), 0) << agent.log();
  }

  // Removed by hand: a restart does not load the same archive again.
  ASSERT_EQ(image("rm", "example.com/imported/app:v1").exit_code, 0);
  StagedAgent again(config_path(), agent_port(), scratch("agent-2"));
  ASSERT_TRUE(again.wait_ready(std::chrono::seconds(60))) << again.log();
  EXPECT_EQ(again.log().find("loaded " + archive), std::string::npos) << again.log();
  EXPECT_TRUE(list_images().empty());
}

}  // namespace
}  // namespace deckhand::test
