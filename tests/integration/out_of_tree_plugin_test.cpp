// A vendor's view of the installed SDK: build a plugin outside the deckhand
// tree (with the CMake package, and with pkg-config), then load it into the
// installed agent and call it through the CLI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent_fixture.hpp"
#include "abi_version.hpp"

namespace deckhand::test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using nlohmann::json;

std::string last_line(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

TEST(OutOfTreePlugin, CMakeBuiltExampleLoadsAndServes) {
  TempDir work("deckhand-oot");
  const std::string script = std::string(DECKHAND_SOURCE_DIR) + "/tests/integration/build-example-out-of-tree.sh";
  const CommandResult build = run_command({"bash", script, stage_prefix(), work.path()}, "", 240s);
  ASSERT_EQ(build.exit_code, 0) << build.err;
  const std::string so = last_line(build.out);
  ASSERT_EQ(so, work.path() + "/build/libdeckhand-dirstore.so") << build.out;
  ASSERT_TRUE(std::filesystem::is_regular_file(so));
  EXPECT_THAT(build.err, HasSubstr(": ok"));  // the installed symbol checker passed it

  AgentUnderTest agent(
      "  - name: dirstore\n"
      "    path: " + so + "\n"
      "    required: true\n"
      "    config:\n"
      "      root: @TMP@/images\n");
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  EXPECT_THAT(agent.stderr_text(), HasSubstr("plugin loaded name=dirstore kind=storage version=1.0.0 abi=" + abi_version() + " path=" + so));

  const HttpResult ready = agent.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[+]plugin dirstore ok\n"));

  const CommandResult table = agent.cli("plugins");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto rows = table_rows(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_EQ(rows[1].back(), so);

  const std::string image = agent.path("images/busybox");
  std::filesystem::create_directories(image + "/bin");
  write_file(image + "/bin/sh", "#!fake\n");
  const CommandResult list = agent.cli("plugins", "call", "dirstore", "list_images");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const json images = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(images.is_object()) << list.out;
  ASSERT_EQ(images["images"].size(), 1u) << list.out;
  EXPECT_EQ(images["images"][0]["ref"], "busybox");
  EXPECT_EQ(images["images"][0]["path"], image);
  EXPECT_EQ(images["images"][0]["size"], 7);

  const CommandResult prepared = agent.cli("plugins", "call", "dirstore", "prepare_rootfs",
                                           R"({"container_id":"c1","image":"busybox","readonly":true})");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  EXPECT_EQ(json::parse(prepared.out, nullptr, false), json({{"root", {{"path", image}, {"readonly", true}}}}))
      << prepared.out;
  // The mapping is durable state under the agent's state_dir for this plugin.
  EXPECT_TRUE(std::filesystem::exists(agent.path("state/plugins/dirstore/containers/c1")));

  const CommandResult writable = agent.cli("plugins", "call", "dirstore", "prepare_rootfs",
                                           R"({"container_id":"c2","image":"busybox","readonly":false})");
  EXPECT_EQ(writable.exit_code, 1);
  EXPECT_THAT(writable.err, HasSubstr("readonly"));

  const HttpResult metrics = agent.get("/metrics");
  EXPECT_EQ(metric_sample(metrics.body, R"(deckhand_dirstore_rootfs_active{plugin="dirstore"})"), "1")
      << metrics.body;

  const CommandResult released =
      agent.cli("plugins", "call", "dirstore", "release_rootfs", R"({"container_id":"c1"})");
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_EQ(json::parse(released.out, nullptr, false), json::object());
  EXPECT_FALSE(std::filesystem::exists(agent.path("state/plugins/dirstore/containers/c1")));
  EXPECT_EQ(metric_sample(agent.get("/metrics").body, R"(deckhand_dirstore_rootfs_active{plugin="dirstore"})"),
            "0");

  EXPECT_EQ(agent.stop(), 0) << agent.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(agent.socket()));
}

const char* const kHelloPlugin = R"(/* A one-file storage plugin built with pkg-config. */
#include <deckhand/plugin.h>
#include <stdlib.h>

struct dh_instance {
  const dh_host_services *services;
};

static int32_t create(const dh_init_params *params, dh_call *call, dh_instance **out) {
  (void)call;
  dh_instance *instance = calloc(1, sizeof *instance);
  if (instance == NULL) return DH_ERR_RESOURCE_EXHAUSTED;
  instance->services = params->services;
  *out = instance;
  return DH_OK;
}

static void destroy(dh_instance *instance) { free(instance); }

static int32_t list_images(dh_instance *instance, dh_call *call, const char *request) {
  (void)request;
  static const char text[] = "{\"images\":[{\"ref\":\"hello\"}]}";
  instance->services->call_set_output(call, text, sizeof text - 1);
  return DH_OK;
}

static const dh_storage_ops ops = {
    .struct_size = sizeof(dh_storage_ops),
    .list_images = list_images,
};

static const dh_plugin_descriptor descriptor = {
    .magic = DH_DESCRIPTOR_MAGIC,
    .struct_size = sizeof(dh_plugin_descriptor),
    .abi_major = DH_ABI_MAJOR,
    .abi_minor = DH_ABI_MINOR,
    .fingerprint = DH_BUILD_FINGERPRINT,
    .name = "hello",
    .kind = DH_KIND_STORAGE,
    .version = "0.3.0",
    .description = "built with pkg-config",
    .create = create,
    .destroy = destroy,
    .ops = &ops,
};

__attribute__((visibility("default"))) const dh_plugin_descriptor *deckhand_plugin_entry(void) {
  return &descriptor;
}
)";

TEST(OutOfTreePlugin, PkgConfigBuiltPluginLoads) {
  TempDir work("deckhand-pc");
  ASSERT_TRUE(std::filesystem::exists(stage_prefix() + "/lib/pkgconfig/deckhand-sdk.pc"));
  const std::string source = work / "hello.c";
  const std::string so = work / "libhello.so";
  write_file(source, kHelloPlugin);

  const std::string env = "PKG_CONFIG_PATH=" + stage_prefix() + "/lib/pkgconfig";
  const CommandResult version = run_command({"env", env, "pkg-config", "--modversion", "deckhand-sdk"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_EQ(version.out, abi_version() + "\n");
  const CommandResult ldflags =
      run_command({"env", env, "pkg-config", "--variable=plugin_ldflags", "deckhand-sdk"});
  ASSERT_EQ(ldflags.exit_code, 0) << ldflags.err;
  EXPECT_THAT(ldflags.out, HasSubstr("-Wl,--version-script="));

  const std::string compile = "cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags deckhand-sdk) -o '" + so +
                              "' '" + source + "' $(pkg-config --variable=plugin_ldflags deckhand-sdk)";
  const CommandResult built = run_command({"env", env, "sh", "-c", compile}, "", 60s);
  ASSERT_EQ(built.exit_code, 0) << compile << "\n" << built.err;
  ASSERT_TRUE(std::filesystem::is_regular_file(so));

  // The installed checker agrees it exports only the entry point.
  const CommandResult check = run_command({stage_prefix() + "/bin/deckhand-plugin-check", so});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  AgentUnderTest agent("  - name: hello\n    path: " + so + "\n");
  ASSERT_TRUE(agent.serving()) << agent.stderr_text();
  const HttpResult ready = agent.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_THAT(ready.body, HasSubstr("[+]plugin hello ok\n"));
  const CommandResult call = agent.cli("plugins", "call", "hello", "list_images");
  ASSERT_EQ(call.exit_code, 0) << call.err;
  EXPECT_EQ(json::parse(call.out, nullptr, false), json::parse(R"({"images":[{"ref":"hello"}]})"));
  const CommandResult table = agent.cli("plugins");
  ASSERT_EQ(table.exit_code, 0);
  const auto rows = table_rows(table.out);
  ASSERT_EQ(rows.size(), 2u) << table.out;
  EXPECT_EQ(rows[1], (std::vector<std::string>{"hello", "storage", "0.3.0", abi_version(), "yes", "healthy", so}));
  const CommandResult unimplemented =
      agent.cli("plugins", "call", "hello", "prepare_rootfs", R"({"container_id":"c","image":"hello","readonly":true})");
  EXPECT_EQ(unimplemented.exit_code, 1);
  EXPECT_THAT(unimplemented.err, HasSubstr("does not implement prepare_rootfs"));
}

}  // namespace
}  // namespace deckhand::test
