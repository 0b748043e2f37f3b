// Pulls from a registry with token authentication (the flow Docker Hub and
// most public registries use): the registry answers 401 with a Bearer
// challenge naming a realm, service and scope; the client gets a JWT from
// the realm and retries with it. docker-registry verifies the JWT's
// signature against the token service's certificate (token_server.hpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "http_client.hpp"
#include "local_registry.hpp"
#include "registry_fixture.hpp"
#include "token_server.hpp"

namespace deckhand::test {
namespace {

// Token requests that deckhand made (skopeo's pushes are also logged).
std::vector<TokenRequestSeen> deckhand_requests(const TokenServer& tokens) {
  std::vector<TokenRequestSeen> out;
  for (const auto& request : tokens.requests()) {
    if (request.user_agent.rfind("deckhand/", 0) == 0) out.push_back(request);
  }
  return out;
}

// "127.0.0.1:PORT" of the token service.
std::string token_host(const TokenServer& tokens) {
  std::string realm = tokens.registry_auth().realm;  // http://127.0.0.1:PORT/token
  realm = realm.substr(realm.find("://") + 3);
  return realm.substr(0, realm.find('/'));
}

TEST(TokenAuth, AnonymousPullGetsABearerTokenForThePullScope) {
  TokenServer tokens;
  RegistryOptions options;
  options.token = tokens.registry_auth();
  LocalRegistry registry(options);
  // The registry really wants a token: without one a manifest is refused.
  const std::string reference = registry.host() + "/team/app:v1";
  const PushedImage image = push_image(reference, {small_tree("token auth\n")});
  ASSERT_EQ(http_get(registry.port(), "/v2/team/app/manifests/v1").status, 401);

  NodeStore node;
  const CommandResult result = node.pull(reference);
  ASSERT_EQ(result.exit_code, 0) << describe(result) << "\nregistry:\n" << registry.log();

  const auto requests = deckhand_requests(tokens);
  ASSERT_FALSE(requests.empty()) << "the pull did not ask the token service";
  for (const auto& request : requests) {
    EXPECT_EQ(request.service, "deckhand-test-registry");
    EXPECT_EQ(request.scopes, std::vector<std::string>{"repository:team/app:pull"});
    EXPECT_EQ(request.user, "");
    EXPECT_EQ(request.status, 200);
  }
  const auto diff = node.diff_dir_of_blob(image.layers.at(0).descriptor.digest);
  ASSERT_TRUE(diff.has_value()) << node.what_is_left();
  EXPECT_EQ(read_file(*diff + "/etc/hello"), "token auth\n");
  EXPECT_EQ(node.image_records().size(), 1u);
}

class CredentialedTokenService : public ::testing::Test {
 protected:
  static TokenServer::Options token_options() {
    TokenServer::Options options;
    options.users = {{"alice", "correct horse battery"}};
    return options;
  }
  TokenServer tokens_{token_options()};
  LocalRegistry registry_{[this] {
    RegistryOptions options;
    options.token = tokens_.registry_auth();
    return options;
  }()};
  std::string reference_ = registry_.host() + "/private/app:v1";
};

TEST_F(CredentialedTokenService, PullWithUsernameAndPasswordStdin) {
  const PushedImage image = push_image(reference_, {small_tree("private\n")}, "alice:correct horse battery");
  NodeStore node;
  const CommandResult result = node.pull_as(reference_, "alice", "correct horse battery");
  ASSERT_EQ(result.exit_code, 0) << describe(result) << "\nregistry:\n" << registry_.log();

  const auto requests = deckhand_requests(tokens_);
  ASSERT_FALSE(requests.empty());
  for (const auto& request : requests) {
    EXPECT_EQ(request.user, "alice");
    EXPECT_EQ(request.scopes, std::vector<std::string>{"repository:private/app:pull"});
    EXPECT_EQ(request.status, 200);
  }
  const auto diff = node.diff_dir_of_blob(image.layers.at(0).descriptor.digest);
  ASSERT_TRUE(diff.has_value());
  EXPECT_EQ(read_file(*diff + "/etc/hello"), "private\n");
}

TEST_F(CredentialedTokenService, WrongPasswordIsRefusedByTheTokenService) {
  push_image(reference_, {small_tree()}, "alice:correct horse battery");
  NodeStore node;
  const CommandResult result = node.pull_as(reference_, "alice", "wrong-password-0xdeadbeef");
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("pull " + reference_ + ":"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("the token service " + token_host(tokens_) + " refused"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("refused the credentials (401)"), std::string::npos) << result.err;
  // No secret in what the user sees.
  EXPECT_EQ(result.err.find("wrong-password-0xdeadbeef"), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("wrong-password-0xdeadbeef"), std::string::npos) << result.out;

  const auto requests = deckhand_requests(tokens_);
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().user, "alice");
  EXPECT_EQ(requests.back().status, 401);
  EXPECT_EQ(node.what_is_left(), "");
}

TEST_F(CredentialedTokenService, AnonymousPullIsRefusedByTheTokenService) {
  push_image(reference_, {small_tree()}, "alice:correct horse battery");
  NodeStore node;
  const CommandResult result = node.pull(reference_);
  ASSERT_NE(result.exit_code, 0) << describe(result);
  EXPECT_NE(result.err.find("refused an anonymous pull (401)"), std::string::npos) << result.err;
  const auto requests = deckhand_requests(tokens_);
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().user, "");
  EXPECT_EQ(node.what_is_left(), "");
}

}  // namespace
}  // namespace deckhand::test
