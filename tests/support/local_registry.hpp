// Debian's docker-registry (the CNCF distribution registry, /usr/bin/
// docker-registry) started by a test on 127.0.0.1 with a private storage dir,
// stopped by PID when the object goes away. Plain, with htpasswd basic auth,
// or with token auth (the realm being a token server the test runs).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace deckhand::test {

struct RegistryTokenAuth {
  std::string realm;           // e.g. http://127.0.0.1:PORT/token
  std::string service;         // the token's "aud"
  std::string issuer;          // the token's "iss"
  std::string rootcertbundle;  // PEM file with the certificate that signs tokens
};

struct RegistryOptions {
  // Users for basic auth: written with `htpasswd -Bbn` (bcrypt, as the
  // registry requires). Empty: no basic auth.
  std::vector<std::pair<std::string, std::string>> users;
  std::optional<RegistryTokenAuth> token;
};

class LocalRegistry {
 public:
  explicit LocalRegistry(RegistryOptions options = {});
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }  // for references
  // The registry's filesystem storage root (docker/registry/v2/... below it):
  // tests that need a misbehaving registry edit blobs here after a push
  // (no blob descriptor cache is configured, so the registry serves the edit).
  std::string storage_dir() const { return dir_ / "storage"; }
  // The data file of a blob ("sha256:<hex>") in storage_dir().
  std::string blob_data_path(const std::string& digest) const;
  std::string log() const;  // the registry's stderr so far, for failure messages

 private:
  TempDir dir_{"deckhand-registry"};
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// `skopeo copy [--all] oci:<layout>:<tag> docker://<destination>` without TLS
// (the registry is on loopback). `credentials` is "user:password" or empty.
// Throws with skopeo's stderr when the copy fails.
void skopeo_push(const std::string& layout, const std::string& tag, const std::string& destination,
                 const std::string& credentials = "", bool all_platforms = false);

// `skopeo copy oci:<layout>:<tag> <format>:<file>[:<name>]`: writes an
// oci-archive or a docker-archive (what `docker save` writes) of one image.
void skopeo_archive(const std::string& layout, const std::string& tag, const std::string& format,
                    const std::string& file, const std::string& name = "");

}  // namespace deckhand::test
