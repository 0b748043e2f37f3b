// Image references: the cases are those of Docker's distribution/reference
// tests (normalize_test.go, reference_test.go) and of what users type, with
// the canonical and familiar forms Docker prints for them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reference.hpp"
#include "storage_error.hpp"

namespace {

using namespace deckhand::storage;

const std::string kRedisDigest = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const std::string kBusyboxDigest = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
const std::string kFfDigest = "sha256:" + std::string(64, 'f');
const std::string kSha512Digest = "sha512:" + std::string(128, 'f');
const std::string kImageId = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";

struct Valid {
  std::string input;
  std::string registry;
  std::string repository;
  std::string tag;
  std::string digest;
  std::string canonical;
  std::string familiar;
};

std::vector<Valid> valid_references() {
  const std::string long_path = [] {
    std::string path;
    for (int i = 0; i < 120; ++i) path += "a/";
    return path + "a";  // 241 characters, 251 with "docker.io/"
  }();
  const std::string long_tag = "v" + std::string(127, 'x');
  return {
      // Docker Hub: docker.io, library/ for single names, latest by default.
      {"nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest", "nginx:latest"},
      {"nginx:1.27", "docker.io", "library/nginx", "1.27", "", "docker.io/library/nginx:1.27", "nginx:1.27"},
      {"library/nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest", "nginx:latest"},
      {"docker.io/nginx", "docker.io", "library/nginx", "latest", "", "docker.io/library/nginx:latest",
       "nginx:latest"},
      {"docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", "", "docker.io/library/nginx:1.27",
       "nginx:1.27"},
      {"index.docker.io/library/debian", "docker.io", "library/debian", "latest", "",
       "docker.io/library/debian:latest", "debian:latest"},
      {"index.docker.io/debian", "docker.io", "library/debian", "latest", "", "docker.io/library/debian:latest",
       "debian:latest"},
      {"index.docker.io/fooo/bar", "docker.io", "fooo/bar", "latest", "", "docker.io/fooo/bar:latest",
       "fooo/bar:latest"},
      {"registry-1.docker.io/team/app:v2", "docker.io", "team/app", "v2", "", "docker.io/team/app:v2", "team/app:v2"},
      {"team/app", "docker.io", "team/app", "latest", "", "docker.io/team/app:latest", "team/app:latest"},
      {"other/library", "docker.io", "other/library", "latest", "", "docker.io/other/library:latest",
       "other/library:latest"},
      {"library/foo/bar", "docker.io", "library/foo/bar", "latest", "", "docker.io/library/foo/bar:latest",
       "library/foo/bar:latest"},
      {"store/foo/bar", "docker.io", "store/foo/bar", "latest", "", "docker.io/store/foo/bar:latest",
       "store/foo/bar:latest"},
      {"ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "latest", "",
       "docker.io/library/ubuntu-12.04-base:latest", "ubuntu-12.04-base:latest"},
      // Digests: no default tag; a tag and a digest both kept.
      {"redis@" + kRedisDigest, "docker.io", "library/redis", "", kRedisDigest,
       "docker.io/library/redis@" + kRedisDigest, "redis@" + kRedisDigest},
      {"docker.io/dmcgowan/myapp@" + kRedisDigest, "docker.io", "dmcgowan/myapp", "", kRedisDigest,
       "docker.io/dmcgowan/myapp@" + kRedisDigest, "dmcgowan/myapp@" + kRedisDigest},
      {"busybox:latest@" + kBusyboxDigest, "docker.io", "library/busybox", "latest", kBusyboxDigest,
       "docker.io/library/busybox:latest@" + kBusyboxDigest, "busybox:latest@" + kBusyboxDigest},
      {"test:5000/repo:tag@" + kFfDigest, "test:5000", "repo", "tag", kFfDigest, "test:5000/repo:tag@" + kFfDigest,
       "test:5000/repo:tag@" + kFfDigest},
      {"xn--7o8h.com/myimage:xn--7o8h.com@" + kSha512Digest, "xn--7o8h.com", "myimage", "xn--7o8h.com",
       kSha512Digest, "xn--7o8h.com/myimage:xn--7o8h.com@" + kSha512Digest,
       "xn--7o8h.com/myimage:xn--7o8h.com@" + kSha512Digest},
      // Other registries: a first component with "." or ":", or localhost.
      {"127.0.0.1:5000/team/app:v2", "127.0.0.1:5000", "team/app", "v2", "", "127.0.0.1:5000/team/app:v2",
       "127.0.0.1:5000/team/app:v2"},
      {"127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", "latest", "",
       "127.0.0.1:8000/privatebase:latest", "127.0.0.1:8000/privatebase:latest"},
      {"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/app:dev", "localhost:5000", "app", "dev", "", "localhost:5000/app:dev",
       "localhost:5000/app:dev"},
      {"ghcr.io/o/a", "ghcr.io", "o/a", "latest", "", "ghcr.io/o/a:latest", "ghcr.io/o/a:latest"},
      {"example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", "latest", "",
       "example.com:8000/private/moonbase:latest", "example.com:8000/private/moonbase:latest"},
      {"test-com:8080/foo", "test-com:8080", "foo", "latest", "", "test-com:8080/foo:latest",
       "test-com:8080/foo:latest"},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com", "bar/baz/quux", "some-long-tag", "",
       "sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag"},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io", "test.example.com/my-app",
       "test.example.com", "", "b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com"},
      {"xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "latest", "", "xn--n3h.com:18080/foo:latest",
       "xn--n3h.com:18080/foo:latest"},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000", "repo", "5050", "", "192.168.1.1:5000/repo:5050",
       "192.168.1.1:5000/repo:5050"},
      {"registry.k8s.io/pause:3.10", "registry.k8s.io", "pause", "3.10", "", "registry.k8s.io/pause:3.10",
       "registry.k8s.io/pause:3.10"},
      {"mcr.microsoft.com/dotnet/runtime:8.0-alpine", "mcr.microsoft.com", "dotnet/runtime", "8.0-alpine", "",
       "mcr.microsoft.com/dotnet/runtime:8.0-alpine", "mcr.microsoft.com/dotnet/runtime:8.0-alpine"},
      // IPv6 registries, in brackets.
      {"[2001:db8::1]/repo", "[2001:db8::1]", "repo", "latest", "", "[2001:db8::1]/repo:latest",
       "[2001:db8::1]/repo:latest"},
      {"[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag", "", "[2001:db8::1]:5000/repo:tag",
       "[2001:db8::1]:5000/repo:tag"},
      {"[::1]:5000/repo", "[::1]:5000", "repo", "latest", "", "[::1]:5000/repo:latest", "[::1]:5000/repo:latest"},
      {"[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", "latest", "",
       "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"},
      // Without a "/", a ":" starts the tag, even after something host-like.
      {"test.com:5000", "docker.io", "library/test.com", "5000", "", "docker.io/library/test.com:5000",
       "test.com:5000"},
      {"localhost:5000", "docker.io", "library/localhost", "5000", "", "docker.io/library/localhost:5000",
       "localhost:5000"},
      {"192.168.1.1", "docker.io", "library/192.168.1.1", "latest", "", "docker.io/library/192.168.1.1:latest",
       "192.168.1.1:latest"},
      {"foo_bar.com:8080", "docker.io", "library/foo_bar.com", "8080", "", "docker.io/library/foo_bar.com:8080",
       "foo_bar.com:8080"},
      {"foo/foo_bar.com:8080", "docker.io", "foo/foo_bar.com", "8080", "", "docker.io/foo/foo_bar.com:8080",
       "foo/foo_bar.com:8080"},
      {"test_com/foo", "docker.io", "test_com/foo", "latest", "", "docker.io/test_com/foo:latest",
       "test_com/foo:latest"},
      // An uppercase first component is a registry: paths cannot have one.
      {"Docker/docker", "Docker", "docker", "latest", "", "Docker/docker:latest", "Docker/docker:latest"},
      {"FOO/bar", "FOO", "bar", "latest", "", "FOO/bar:latest", "FOO/bar:latest"},
      // Tags may have uppercase letters; path components their separators.
      {"lowercase:Uppercase", "docker.io", "library/lowercase", "Uppercase", "",
       "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"},
      {"nginx:_private", "docker.io", "library/nginx", "_private", "", "docker.io/library/nginx:_private",
       "nginx:_private"},
      {"docker---rules/docker", "docker.io", "docker---rules/docker", "latest", "",
       "docker.io/docker---rules/docker:latest", "docker---rules/docker:latest"},
      {"dock__er/docker", "docker.io", "dock__er/docker", "latest", "", "docker.io/dock__er/docker:latest",
       "dock__er/docker:latest"},
      {"d/docker", "docker.io", "d/docker", "latest", "", "docker.io/d/docker:latest", "d/docker:latest"},
      {"jess/t", "docker.io", "jess/t", "latest", "", "docker.io/jess/t:latest", "jess/t:latest"},
      // A 64-character name that is not hex, and a hex one with a registry.
      {"thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io",
       "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "latest", "",
       "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
       "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest"},
      {"docker.io/" + kImageId, "docker.io", "library/" + kImageId, "latest", "",
       "docker.io/library/" + kImageId + ":latest", kImageId + ":latest"},
      // At the limits: 251 characters of name, 128 of tag.
      {long_path, "docker.io", long_path, "latest", "", "docker.io/" + long_path + ":latest", long_path + ":latest"},
      {"nginx:" + long_tag, "docker.io", "library/nginx", long_tag, "", "docker.io/library/nginx:" + long_tag,
       "nginx:" + long_tag},
  };
}

TEST(StorageReferenceTest, ParsesAndNormalisesLikeDocker) {
  const std::vector<Valid> cases = valid_references();
  ASSERT_GE(cases.size(), 40u);
  for (const Valid& expected : cases) {
    SCOPED_TRACE(expected.input);
    ImageReference parsed;
    ASSERT_NO_THROW(parsed = parse_reference(expected.input));
    EXPECT_EQ(parsed.registry, expected.registry);
    EXPECT_EQ(parsed.repository, expected.repository);
    EXPECT_EQ(parsed.tag, expected.tag);
    EXPECT_EQ(parsed.digest, expected.digest);
    EXPECT_EQ(parsed.string(), expected.canonical);
    EXPECT_EQ(parsed.familiar(), expected.familiar);
    EXPECT_EQ(parsed.name(), expected.registry + "/" + expected.repository);
  }
}

TEST(StorageReferenceTest, CanonicalAndFamiliarFormsParseBackToTheSameReference) {
  for (const Valid& expected : valid_references()) {
    SCOPED_TRACE(expected.input);
    const ImageReference parsed = parse_reference(expected.input);
    for (const std::string& form : {parsed.string(), parsed.familiar()}) {
      const ImageReference again = parse_reference(form);
      EXPECT_EQ(again.registry, parsed.registry) << form;
      EXPECT_EQ(again.repository, parsed.repository) << form;
      EXPECT_EQ(again.tag, parsed.tag) << form;
      EXPECT_EQ(again.digest, parsed.digest) << form;
    }
  }
}

TEST(StorageReferenceTest, ApiHostIsRegistryOneForDockerHub) {
  EXPECT_EQ(parse_reference("nginx").api_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_reference("index.docker.io/team/app").api_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_reference("ghcr.io/o/a").api_host(), "ghcr.io");
  EXPECT_EQ(parse_reference("127.0.0.1:5000/app").api_host(), "127.0.0.1:5000");
  EXPECT_EQ(parse_reference("[::1]:5000/app").api_host(), "[::1]:5000");
}

struct Malformed {
  std::string input;
  std::string message;
};

std::vector<Malformed> malformed_references() {
  const std::string kPathRule =
      " (lowercase letters and digits, joined by \".\", \"_\", \"__\" or \"-\", starting and ending with a letter or "
      "digit)";
  const std::string kTagRule = " (letters, digits, \"_\", \".\" and \"-\", not starting with \".\" or \"-\")";
  const std::string kDigestRule = " (expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)";
  const std::string kBrackets = " (an IPv6 address is written in brackets, as in [fc00::1]:5000)";
  const std::string kHostRule = " (a host name of letters, digits, \"-\" and \".\", or an IP address)";
  std::string too_long_namespace = "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255";
  too_long_namespace += too_long_namespace + too_long_namespace + too_long_namespace;  // 268 characters
  std::string a_path;
  for (int i = 0; i < 128; ++i) a_path += "a/";
  return {
      {"", "empty reference"},
      {"Nginx", "repository names must be lowercase"},
      {"Uppercase:tag", "repository names must be lowercase"},
      {"docker/Docker", "repository names must be lowercase"},
      {"test:5000/Uppercase/lowercase:tag", "repository names must be lowercase"},
      {"nginx:", "empty tag"},
      {"nginx:-beta", "invalid tag \"-beta\"" + kTagRule},
      {"nginx:.hidden", "invalid tag \".hidden\"" + kTagRule},
      {"nginx:v1!", "invalid tag \"v1!\"" + kTagRule},
      {"nginx:" + std::string(129, 'x'), "tag is 129 characters, longer than the 128 allowed"},
      {"nginx@", "empty digest after \"@\""},
      {"nginx@sha256:abc", "invalid digest \"sha256:abc\"" + kDigestRule},
      {"repo@sha256:ffffffffffffffffffffffffffffffffff",
       "invalid digest \"sha256:ffffffffffffffffffffffffffffffffff\"" + kDigestRule},
      {"validname@invaliddigest:" + std::string(64, 'f'),
       "invalid digest \"invaliddigest:" + std::string(64, 'f') + "\"" + kDigestRule},
      {"nginx@sha256:" + std::string(64, 'F'), "invalid digest \"sha256:" + std::string(64, 'F') + "\"" + kDigestRule},
      {":justtag", "no repository name"},
      {"@" + kFfDigest, "no repository name"},
      {"ghcr.io/", "no repository name after the registry \"ghcr.io\""},
      {"docker/", "repository \"docker/\" has an empty path component (\"//\" or a \"/\" at an end)"},
      {"docker///docker", "repository \"docker///docker\" has an empty path component (\"//\" or a \"/\" at an end)"},
      {"-docker", "invalid repository path component \"-docker\"" + kPathRule},
      {"docker-/docker", "invalid repository path component \"docker-\"" + kPathRule},
      {"docker/dock..er", "invalid repository path component \"dock..er\"" + kPathRule},
      {"docker/dock_.er", "invalid repository path component \"dock_.er\"" + kPathRule},
      {"docker/dock-.er", "invalid repository path component \"dock-.er\"" + kPathRule},
      {"docker/dock___er", "invalid repository path component \"dock___er\"" + kPathRule},
      // With a ".", the first component is taken for a registry, as Docker does.
      {"dock..er/docker", "invalid registry host \"dock..er\"" + kHostRule},
      {"____/____", "invalid repository path component \"____\"" + kPathRule},
      {"aa/asdf$$^/aa", "invalid repository path component \"asdf$$^\"" + kPathRule},
      {" nginx", "invalid repository path component \" nginx\"" + kPathRule},
      {"-docker.io/docker/docker", "invalid registry host \"-docker.io\"" + kHostRule},
      {"my_registry.com/app", "invalid registry host \"my_registry.com\"" + kHostRule},
      {"localhost:http/app", "invalid registry port \"http\" (a number from 1 to 65535)"},
      {"localhost:70000/app", "invalid registry port \"70000\" (a number from 1 to 65535)"},
      {"fc00::1:5000/debian", "invalid registry \"fc00::1:5000\"" + kBrackets},
      {"[fc00::1/debian", "invalid registry \"[fc00::1\" (no \"]\" closes the IPv6 address)"},
      {"[::1]5000/debian", "invalid registry \"[::1]5000\" (only \":\" and a port may follow the \"]\")"},
      {"[fe80::1%eth0]:5000/debian", "invalid IPv6 address \"[fe80::1%eth0]\" in the registry"},
      {"[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid IPv6 address \"[2001:db8:3:4::192.0.2.33]\" in the registry"},
      {"https://github.com/docker/docker", "a reference has no URL scheme: remove \"https://\""},
      {kImageId, "a 64-character hexadecimal string is an image ID, not a repository name"},
      {too_long_namespace + "/docker", "the name (with docker.io/ added) is 285 characters, longer than the 255 allowed"},
      {a_path + "a:tag", "the name (with docker.io/ added) is 267 characters, longer than the 255 allowed"},
      {"example.com/" + std::string(250, 'a'), "the name is 262 characters, longer than the 255 allowed"},
  };
}

TEST(StorageReferenceTest, RefusesMalformedReferencesNamingTheProblem) {
  const std::vector<Malformed> cases = malformed_references();
  ASSERT_GE(cases.size(), 20u);
  for (const Malformed& bad : cases) {
    SCOPED_TRACE(bad.input);
    try {
      parse_reference(bad.input);
      ADD_FAILURE() << "accepted";
    } catch (const StorageError& error) {
      EXPECT_EQ(error.kind(), Failure::invalid);
      EXPECT_EQ(std::string(error.what()), "invalid reference \"" + bad.input + "\": " + bad.message);
    }
  }
}

TEST(StorageReferenceTest, QuotesUnprintableBytesInErrors) {
  try {
    parse_reference(std::string("ngi\nnx\xff", 7));
    ADD_FAILURE() << "accepted";
  } catch (const StorageError& error) {
    EXPECT_EQ(std::string(error.what()),
              "invalid reference \"ngi\\x0anx\\xff\": invalid repository path component \"ngi\\x0anx\\xff\" "
              "(lowercase letters and digits, joined by \".\", \"_\", \"__\" or \"-\", starting and ending with a "
              "letter or digit)");
  }
  try {
    parse_reference(std::string(2000, 'a') + "!");
    ADD_FAILURE() << "accepted";
  } catch (const StorageError& error) {
    EXPECT_TRUE(std::string(error.what()).starts_with("invalid reference \"" + std::string(512, 'a') + "...\": "))
        << error.what();
    EXPECT_LT(std::string(error.what()).size(), 1200u);
  }
}

TEST(StorageReferenceTest, LoopbackRegistries) {
  for (const char* registry : {"localhost", "localhost:5000", "LOCALHOST:5000", "127.0.0.1", "127.0.0.1:5000",
                               "127.1.2.3:80", "127.255.255.255", "::1", "[::1]", "[::1]:5000",
                               "[0:0:0:0:0:0:0:1]:5000"}) {
    EXPECT_TRUE(is_loopback_registry(registry)) << registry;
  }
  for (const char* registry : {"", "docker.io", "localhost.example.com", "localhost.example.com:5000",
                               "127.0.0.1.nip.io", "127.0.0.1.nip.io:5000", "128.0.0.1", "10.0.0.1:5000", "127.1",
                               "[::2]:5000", "[::ffff:127.0.0.1]", "::1:5000", "[::1", "[::1]5000", "localhost:",
                               "localhost:http", "127.0.0.1:99999", "myhost-localhost"}) {
    EXPECT_FALSE(is_loopback_registry(registry)) << registry;
  }
  EXPECT_FALSE(is_loopback_registry(std::string("127.0.0.1\0.evil.com", 18)));
  // What parse_reference produces is what the puller asks about.
  EXPECT_TRUE(is_loopback_registry(parse_reference("localhost:5000/app").registry));
  EXPECT_TRUE(is_loopback_registry(parse_reference("[::1]:5000/app").registry));
  EXPECT_FALSE(is_loopback_registry(parse_reference("nginx").registry));
}

}  // namespace
