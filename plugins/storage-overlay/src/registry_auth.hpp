// Registry authentication documents: WWW-Authenticate challenges (RFC 7235,
// as the distribution token protocol uses them) and Docker's auth file
// (~/.docker/config.json "auths"). Both are untrusted input: parsed strictly,
// never thrown past with anything but StorageError.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace deckhand::storage {

struct AuthChallenge {
  std::string scheme;                         // lowercase: "bearer", "basic", ...
  std::map<std::string, std::string> params;  // lowercase names: realm, service, scope, error, ...
};

// Every challenge of a WWW-Authenticate header value, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
//   Basic realm="Registry Realm"
// Quoted strings may hold commas and \-escapes. A header that cannot be
// parsed gives no challenges (the caller then reports the 401 as is).
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;  // or an identity token
};

// The "auths" of a Docker config.json: host -> credentials. Keys may be URLs
// ("https://index.docker.io/v1/", "http://127.0.0.1:5000") and are reduced
// to host[:port]; Docker Hub's keys become "docker.io". An entry has either
// "auth" (base64 of user:password) or "username" and "password".
// credHelpers/credsStore are not supported (the agent runs unattended) and
// are ignored. Throws StorageError(invalid) naming the problem.
std::map<std::string, Credentials> parse_docker_auth_file(std::string_view json);

// The value of an Authorization header for basic credentials.
std::string basic_authorization(const Credentials& credentials);

}  // namespace deckhand::storage
