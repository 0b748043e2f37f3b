#include "digest.hpp"

#include <openssl/evp.h>

#include "storage_error.hpp"

namespace deckhand::storage {

Digest parse_digest(std::string_view text) {
  auto refuse = [&]() -> Digest {
    const std::string shown(text.substr(0, 100));
    throw StorageError(Failure::invalid, "invalid digest \"" + shown +
                                             "\" (expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>)");
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return refuse();
  const std::string_view algorithm = text.substr(0, colon);
  const std::string_view hex = text.substr(colon + 1);
  const std::size_t length = algorithm == "sha256" ? 64 : algorithm == "sha512" ? 128 : 0;
  if (length == 0 || hex.size() != length) return refuse();
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return refuse();
  }
  return Digest{std::string(algorithm), std::string(hex)};
}

struct Hasher::Impl {
  EVP_MD_CTX* context = nullptr;
  ~Impl() { EVP_MD_CTX_free(context); }
};

Hasher::Hasher(const std::string& algorithm) : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  const EVP_MD* md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
  if (md == nullptr) throw StorageError(Failure::invalid, "unsupported digest algorithm \"" + algorithm + "\"");
  impl_->context = EVP_MD_CTX_new();
  if (impl_->context == nullptr || EVP_DigestInit_ex(impl_->context, md, nullptr) != 1) {
    throw StorageError(Failure::internal, "cannot start a " + algorithm + " hash");
  }
}

Hasher::~Hasher() = default;

void Hasher::update(const void* data, std::size_t size) {
  if (size > 0) EVP_DigestUpdate(impl_->context, data, size);
}

Digest Hasher::finish() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->context, raw, &length);
  static const char* const kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[raw[i] >> 4];
    hex += kHex[raw[i] & 15];
  }
  return Digest{algorithm_, hex};
}

Digest digest_of(std::string_view data, const std::string& algorithm) {
  Hasher hasher(algorithm);
  hasher.update(data);
  return hasher.finish();
}

Digest chain_id(const Digest& parent_chain, const Digest& diff_id) {
  if (parent_chain.empty()) return diff_id;
  return digest_of(parent_chain.string() + " " + diff_id.string());
}

}  // namespace deckhand::storage
