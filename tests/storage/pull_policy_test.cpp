// The pull policies (Kubernetes' imagePullPolicy) against a registry the test
// runs and stops: Always asks the registry every time, IfNotPresent only when
// the image is absent, Never not at all.
#include <memory>

#include "storage_fixture.hpp"
#include "test_images.hpp"

namespace deckhand::test {
namespace {

using PullPolicy = StorageTest;

// An image that differs from busybox: one layer with one file.
Descriptor push_marker_image(const LocalRegistry& registry, const std::string& layout_dir, const std::string& tag) {
  OciLayout layout(layout_dir);
  const auto layer = layout.add_layer({TarEntry::directory("etc"), TarEntry::file("etc/marker", "second\n")});
  return push_image(registry, layout, {layer}, "busybox", tag);
}

TEST_F(PullPolicy, AlwaysFetchesWhatTheTagNamesNowAndIfNotPresentKeepsTheStoredImage) {
  LocalRegistry registry;
  const std::string first = push_busybox(registry, scratch("busybox"), "busybox", "1");
  const std::string ref = registry.host() + "/busybox:1";
  ASSERT_EQ(image("pull", "--policy", "Always", ref).exit_code, 0);
  ASSERT_EQ(inspect(ref)["digest"], first);

  const std::string second = push_marker_image(registry, scratch("marker"), "1").digest;
  ASSERT_NE(first, second);

  const auto kept = image("pull", "--policy", "IfNotPresent", ref);
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_NE(kept.out.find("Status: Image is up to date for " + ref), std::string::npos) << kept.out;
  EXPECT_EQ(inspect(ref)["digest"], first);

  const auto fetched = image("pull", "--policy", "Always", ref);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  EXPECT_NE(fetched.out.find("Digest: " + second + "\n"), std::string::npos) << fetched.out;
  EXPECT_EQ(inspect(ref)["digest"], second);
  EXPECT_EQ(read_file(prepare_rootfs("second", ref) + "/etc/marker"), "second\n");
}

TEST_F(PullPolicy, IfNotPresentNeedsNoRegistryOnceTheImageIsPresentAndAlwaysDoes) {
  auto registry = std::make_unique<LocalRegistry>();
  const std::string digest = push_busybox(*registry, scratch("busybox"), "busybox", "1");
  const std::string ref = registry->host() + "/busybox:1";
  const std::string port = std::to_string(registry->port());
  const auto first = image("pull", "--policy", "IfNotPresent", ref);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("Status: Pulled " + ref), std::string::npos) << first.out;

  registry.reset();  // stopped: nothing listens on its port any more

  const auto present = image("pull", "--policy", "IfNotPresent", ref);
  ASSERT_EQ(present.exit_code, 0) << present.err;
  EXPECT_NE(present.out.find("Digest: " + digest + "\n"), std::string::npos) << present.out;
  EXPECT_NE(present.out.find("Status: Image is up to date for " + ref), std::string::npos) << present.out;

  const auto always = image("pull", "--policy", "Always", ref);
  EXPECT_EQ(always.exit_code, 1) << always.out;
  EXPECT_EQ(always.err.rfind("error: pull " + ref + ": ", 0), 0u) << always.err;
  EXPECT_NE(always.err.find("Failed to connect to 127.0.0.1 port " + port), std::string::npos) << always.err;
  EXPECT_EQ(inspect(ref)["digest"], digest);  // a failed pull leaves the record as it was
}

TEST_F(PullPolicy, NeverFailsWhenTheImageIsAbsentAndUsesItWhenPresent) {
  auto registry = std::make_unique<LocalRegistry>();
  const std::string digest = push_busybox(*registry, scratch("busybox"), "busybox", "1");
  const std::string ref = registry->host() + "/busybox:1";

  const auto absent = image("pull", "--policy", "Never", ref);
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_EQ(absent.err, "error: pull " + ref + ": the image is not present on this node and the pull policy is Never\n");
  EXPECT_TRUE(list_images().empty());

  ASSERT_EQ(image("pull", ref).exit_code, 0);
  registry.reset();
  const auto present = image("pull", "--policy", "Never", ref);
  ASSERT_EQ(present.exit_code, 0) << present.err;
  EXPECT_NE(present.out.find("Digest: " + digest + "\n"), std::string::npos) << present.out;
}

TEST_F(PullPolicy, AnUnknownPolicyIsRefusedByName) {
  LocalRegistry registry;
  push_busybox(registry, scratch("busybox"), "busybox", "1");
  const auto result = image("pull", "--policy", "Sometimes", registry.host() + "/busybox:1");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("unknown pull policy \"Sometimes\" (Always, IfNotPresent or Never)"), std::string::npos)
      << result.err;
  EXPECT_TRUE(list_images().empty());
}

}  // namespace
}  // namespace deckhand::test
