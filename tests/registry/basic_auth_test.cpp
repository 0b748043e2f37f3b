// Pulls from a registry with htpasswd basic authentication, the credentials
// coming from each place deckhand takes them: the CLI (--username,
// --password-stdin), the storage config (registries.<host>.username and
// password) and a Docker auth file (auth_file). Without credentials, or
// with wrong ones, the pull fails saying so.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>

#include "http_client.hpp"
#include "local_registry.hpp"
#include "registry_fixture.hpp"

namespace deckhand::test {
namespace {

constexpr const char* kUser = "bob";
constexpr const char* kPassword = "hunter2-but-longer";

std::string base64(const std::string& text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// One registry and one pushed image for the suite: the tests only read.
class BasicAuth : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RegistryOptions options;
    options.users = {{kUser, kPassword}};
    registry_ = std::make_unique<LocalRegistry>(options);
    reference_ = registry_->host() + "/locked/app:v1";
    image_ = push_image(reference_, {small_tree("behind basic auth\n")}, std::string(kUser) + ":" + kPassword);
  }
  static void TearDownTestSuite() { registry_.reset(); }

  void expect_pulled(const NodeStore& node, const CommandResult& result) const {
    ASSERT_EQ(result.exit_code, 0) << describe(result) << "\nregistry:\n" << registry_->log();
    const auto diff = node.diff_dir_of_blob(image_.layers.at(0).descriptor.digest);
    ASSERT_TRUE(diff.has_value()) << node.what_is_left();
    EXPECT_EQ(read_file(*diff + "/etc/hello"), "behind basic auth\n");
    EXPECT_EQ(node.image_records().size(), 1u);
  }

  static std::unique_ptr<LocalRegistry> registry_;
  static std::string reference_;
  static PushedImage image_;
};

std::unique_ptr<LocalRegistry> BasicAuth::registry_;
std::string BasicAuth::reference_;
PushedImage BasicAuth::image_;

TEST_F(BasicAuth, TheRegistryRefusesAnonymousReads) {
  EXPECT_EQ(http_get(registry_->port(), "/v2/locked/app/manifests/v1").status, 401);
}

TEST_F(BasicAuth, PullWithUsernameAndPasswordStdin) {
  NodeStore node;
  expect_pulled(node, node.pull_as(reference_, kUser, kPassword));
}

TEST_F(BasicAuth, PullWithCredentialsFromTheStorageConfig) {
  NodeStore node(nlohmann::json{{"registries", {{registry_->host(), {{"username", kUser}, {"password", kPassword}}}}}});
  expect_pulled(node, node.pull(reference_));
}

TEST_F(BasicAuth, PullWithCredentialsFromADockerAuthFile) {
  NodeStore node;
  const std::string auth_file = node.dir() + "/docker-config.json";
  const nlohmann::json auths = {
      {"auths", {{registry_->host(), {{"auth", base64(std::string(kUser) + ":" + kPassword)}}}}}};
  write_file(auth_file, auths.dump(2));
  node.configure({{"auth_file", auth_file}});
  expect_pulled(node, node.pull(reference_));
}

TEST_F(BasicAuth, AnonymousPullFailsNamingTheMissingCredentials) {
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("pull " + reference_ + ":"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("401 unauthorized"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("no credentials are configured for " + registry_->host()), std::string::npos) << result.err;
  EXPECT_EQ(node.what_is_left(), "");
}

TEST_F(BasicAuth, WrongPasswordFailsWithTheRegistrysAnswer) {
  NodeStore node;
  const CommandResult result = node.pull_as(reference_, kUser, "not-the-password-0xfeed");
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("/v2/locked/app/manifests/v1: 401"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("UNAUTHORIZED: authentication required"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("not-the-password-0xfeed"), std::string::npos) << result.err;
  EXPECT_EQ(node.what_is_left(), "");
}

// Credentials configured for another registry are not sent to this one.
TEST_F(BasicAuth, CredentialsOfAnotherHostAreNotUsed) {
  NodeStore node(nlohmann::json{{"registries", {{"127.0.0.2:1", {{"username", kUser}, {"password", kPassword}}}}}});
  const CommandResult result = node.pull(reference_);
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("no credentials are configured for " + registry_->host()), std::string::npos) << result.err;
}

}  // namespace
}  // namespace deckhand::test
