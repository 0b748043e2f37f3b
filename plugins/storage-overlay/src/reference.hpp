// Image references as Docker and Kubernetes users write them, normalised the
// way Docker (distribution/reference ParseNormalizedNamed) and containerd
// (ParseDockerRef) do:
//
//   nginx                          docker.io/library/nginx:latest
//   nginx:1.27                     docker.io/library/nginx:1.27
//   library/nginx                  docker.io/library/nginx:latest
//   team/app                       docker.io/team/app:latest
//   docker.io/library/nginx@sha256:<hex>      (a digest: no default tag)
//   nginx:1.27@sha256:<hex>        both kept; the digest decides what is pulled
//   127.0.0.1:5000/team/app:v2     registry 127.0.0.1:5000
//   localhost/app, ghcr.io/o/a     a first component with a '.' or ':' or
//                                  equal to "localhost" is a registry
//   index.docker.io/x, registry-1.docker.io/x   normalised to docker.io
#pragma once

#include <string>
#include <string_view>

namespace deckhand::storage {

struct ImageReference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "ghcr.io", "[::1]:5000"
  std::string repository;  // "library/nginx", "team/app" (lowercase path components)
  std::string tag;         // "latest" when neither a tag nor a digest was given; "" if only a digest
  std::string digest;      // "sha256:<64 hex>" or ""

  // registry/repository, e.g. "docker.io/library/nginx".
  std::string name() const;
  // The canonical form: name[:tag][@digest].
  std::string string() const;
  // What `docker images` shows: "nginx:1.27", "team/app:v2",
  // "127.0.0.1:5000/team/app:v2" (docker.io and library/ dropped).
  std::string familiar() const;
  // The host to talk to: "registry-1.docker.io" for docker.io, else registry.
  std::string api_host() const;
};

// Throws StorageError(invalid) with a message naming the problem, e.g.
//   invalid reference "Nginx": repository names must be lowercase
//   invalid reference "nginx:": empty tag
//   invalid reference "nginx@sha256:abc": invalid digest ...
// Grammar (distribution/reference): path components [a-z0-9]+ with
// separators ".", "_", "__" or runs of "-" between alphanumerics; tag
// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; total name at most 255 characters; the
// registry a host name or IPv4/[IPv6] address with an optional :port.
ImageReference parse_reference(std::string_view text);

// True for registries Docker lets talk plain HTTP without being configured
// insecure: localhost, 127.0.0.0/8 and ::1, with or without a port.
bool is_loopback_registry(std::string_view registry);

}  // namespace deckhand::storage
