// A client of the OCI distribution API (Docker Registry HTTP API v2) for
// pulls: manifests and blobs of one repository, with
//   - HTTPS and the system CAs; plain HTTP only for registries configured
//     insecure and for loopback ones (as Docker allows);
//   - mirrors tried in order before the registry itself;
//   - anonymous or credentialed bearer tokens (the WWW-Authenticate
//     realm/service/scope flow) and basic credentials, per host;
//   - redirects followed by hand (at most 10), credentials never sent to
//     another host;
//   - retries with doubling back-off on 5xx, 429 and broken connections; a
//     blob broken off mid-way resumes with a Range request where it stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "manifest.hpp"
#include "reference.hpp"
#include "registry_auth.hpp"

namespace deckhand::storage {

struct RegistryHost {
  bool insecure = false;               // plain HTTP (loopback registries are anyway)
  std::vector<std::string> mirrors;    // "https://mirror.example.com", "127.0.0.1:5001", ...
  std::optional<Credentials> credentials;
  std::string ca_file;                 // extra CAs (PEM) for this registry
};

struct RegistrySettings {
  std::map<std::string, RegistryHost> hosts;   // by registry as references name it
  std::map<std::string, Credentials> auth_file;  // Docker config.json "auths"
  int attempts = 5;                             // per request, for 5xx, 429 and broken connections
  std::chrono::milliseconds first_backoff{200};  // doubles each time, at most 5 s
};

// A manifest or index as the registry served it, its digest verified.
struct FetchedDocument {
  std::string body;
  std::string media_type;  // the Content-Type, parameters removed
  Digest digest;
};

class RegistryClient;

// A blob read as it arrives. The end of the stream is checked: exactly
// `size` bytes whose digest is the descriptor's, else StorageError(corrupt)
// (thrown by the read that reaches the end). A connection that breaks
// mid-way is reopened with a Range request from where it stopped.
class BlobStream {
 public:
  std::size_t read(char* buffer, std::size_t capacity);
  uint64_t received() const { return received_; }

 private:
  friend class RegistryClient;
  BlobStream(RegistryClient& client, Descriptor blob);
  void reopen();

  RegistryClient& client_;
  Descriptor blob_;
  HttpClient http_;  // its own connection: blobs download in parallel
  std::unique_ptr<HttpResponse> response_;
  uint64_t received_ = 0;
  uint64_t skip_ = 0;  // a server that ignored Range sends the start again
  int failures_ = 0;
  bool finished_ = false;
  Hasher hasher_;
};

class RegistryClient {
 public:
  RegistryClient(const RegistrySettings& settings, ImageReference reference);

  // GET /v2/<repository>/manifests/<tag or digest>, at most kMaxManifestBytes.
  // Pulled by digest, the body must have that digest; otherwise a
  // Docker-Content-Digest header, if sent, must match it.
  FetchedDocument fetch_manifest(const std::string& tag_or_digest);

  // A small blob (a config), read whole and verified.
  std::string fetch_blob(const Descriptor& blob, std::size_t max_bytes);

  // A blob (a layer) as a stream. Safe to call from several threads; each
  // stream has its own connection.
  std::unique_ptr<BlobStream> open_blob(const Descriptor& blob);

  const ImageReference& reference() const { return reference_; }

 private:
  friend class BlobStream;
  struct Endpoint {
    std::string base;  // "https://registry-1.docker.io"
    HttpOptions options;
    std::optional<Credentials> credentials;
  };

  // A 2xx response for `path` (below /v2/<repository>/) from the first
  // endpoint that has it, authorising, following redirects and retrying.
  std::unique_ptr<HttpResponse> get(HttpClient& http, const std::string& path, const HttpHeaders& headers);
  std::unique_ptr<HttpResponse> get_from(HttpClient& http, const Endpoint& endpoint, const std::string& path,
                                         const HttpHeaders& headers);
  // Fetches a token for `challenge` (bearer) or settles on basic credentials,
  // and remembers the Authorization value for the host.
  void authorise(HttpClient& http, const Endpoint& endpoint, const std::string& host,
                 const std::vector<AuthChallenge>& challenges, const std::string& url);
  std::string authorization_for(const std::string& host);
  void back_off(int attempt) const;

  RegistrySettings settings_;
  ImageReference reference_;
  std::vector<Endpoint> endpoints_;  // mirrors, then the registry
  HttpClient http_;                  // for manifests and configs (one thread)
  std::mutex auth_mutex_;
  std::map<std::string, std::string> authorization_;  // host -> Authorization header value
};

}  // namespace deckhand::storage
