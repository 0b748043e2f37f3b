// Content digests as the OCI image spec writes them ("sha256:<64 hex>"), and
// incremental hashing (OpenSSL's EVP, which uses the CPU's SHA instructions).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace deckhand::storage {

struct Digest {
  std::string algorithm;  // "sha256" or "sha512"
  std::string hex;        // lowercase; 64 (sha256) or 128 (sha512) characters

  std::string string() const { return algorithm + ":" + hex; }
  bool empty() const { return hex.empty(); }
  friend bool operator==(const Digest& a, const Digest& b) { return a.algorithm == b.algorithm && a.hex == b.hex; }
  friend bool operator!=(const Digest& a, const Digest& b) { return !(a == b); }
  friend bool operator<(const Digest& a, const Digest& b) {
    return a.algorithm != b.algorithm ? a.algorithm < b.algorithm : a.hex < b.hex;
  }
};

// "sha256:<64 lowercase hex>" or "sha512:<128 lowercase hex>"; anything else
// throws StorageError(invalid) naming the text (cut to 100 characters).
Digest parse_digest(std::string_view text);

// Hashes bytes as they stream past.
class Hasher {
 public:
  explicit Hasher(const std::string& algorithm = "sha256");  // throws StorageError(invalid) for another
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // The digest of everything so far; the hasher cannot be used afterwards.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string algorithm_;
};

// The digest of one buffer.
Digest digest_of(std::string_view data, const std::string& algorithm = "sha256");

// The chain id of a layer stack (OCI image-spec config.md):
//   chain(L0) = diff_id(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff_id(Ln)).
Digest chain_id(const Digest& parent_chain, const Digest& diff_id);

}  // namespace deckhand::storage
