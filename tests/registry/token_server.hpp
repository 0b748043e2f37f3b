// The token service of a registry that uses token authentication (the
// distribution "token" auth, as Docker Hub does): GET <realm>?service=&scope=
// answers {"token": JWT}. The JWT is RS256, signed with a key whose
// self-signed certificate (made here with OpenSSL) is both in the token's
// x5c header and in the registry's rootcertbundle, so docker-registry 2.8
// verifies it. Claims: iss, sub, aud (the service), exp, nbf, iat, jti and
// access, granting each repository scope the actions it asks for.
//
// Anonymous requests are granted unless users are configured; then a
// request must carry one user's basic credentials, or gets 401.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "local_registry.hpp"
#include "temp_dir.hpp"
#include "test_http_server.hpp"

namespace deckhand::test {

struct TokenRequestSeen {
  std::string service;
  std::vector<std::string> scopes;
  std::string user;        // from basic credentials, "" if anonymous
  std::string user_agent;
  int status = 0;          // 200 with a token, 401 refused
};

class TokenServer {
 public:
  struct Options {
    std::string service = "deckhand-test-registry";
    std::string issuer = "deckhand-test-token-issuer";
    std::vector<std::pair<std::string, std::string>> users;  // empty: anonymous tokens
  };
  explicit TokenServer(Options options);
  TokenServer() : TokenServer(Options{}) {}
  ~TokenServer();
  TokenServer(const TokenServer&) = delete;
  TokenServer& operator=(const TokenServer&) = delete;

  // What LocalRegistry needs to trust this service.
  RegistryTokenAuth registry_auth() const;
  std::vector<TokenRequestSeen> requests() const;

 private:
  struct Keys;
  HttpReply handle(const HttpRequest& request);
  std::string sign(const std::string& subject, const std::vector<std::string>& scopes);

  Options options_;
  TempDir dir_{"deckhand-token-server"};
  std::unique_ptr<Keys> keys_;  // OpenSSL objects
  std::string certificate_der_base64_;
  mutable std::mutex mutex_;
  std::vector<TokenRequestSeen> seen_;
  std::size_t issued_ = 0;
  TestHttpServer server_;  // last: stopped first
};

}  // namespace deckhand::test
